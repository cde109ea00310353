import email
import quopri
from datetime import UTC, datetime
from email import policy

from newsletter.render.message import build_message, message_id
from newsletter.render.quoted_printable import QPBody, qp_body

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def _kw(**over):
    kw = dict(sender_name="SpaceWar Daily", sender_address="news@spacewar.example.com",
              to_name="Ann Reader", to_address="ann@example.org", subject="Today",
              text="Hello\n", html="<p>Hello</p>\n", msg_id="<a.1@spacewar.example.com>", date=NOW,
              reply_to="editors@spacewar.example.com", list_id="SpaceWar Daily <daily.spacewar.example.com>",
              unsubscribe_url="https://news.example.com/u/TOKEN")
    kw.update(over)
    return kw


def _msg(**over):
    return email.message_from_bytes(build_message(**_kw(**over)), policy=policy.default)


def test_cr_lf_in_subject_and_name_cannot_create_headers():
    msg = _msg(subject="Big news\r\nBcc: victim@example.com", to_name="Eve\nBcc: other@example.com")
    assert len(msg.get_all("Subject")) == 1 and msg.get_all("Bcc") is None
    assert msg["Subject"] == "Big news Bcc: victim@example.com"
    assert msg["To"].addresses[0].addr_spec == "ann@example.org"


def test_list_headers_and_text_part_first():
    msg = _msg()
    assert msg["List-Unsubscribe"] == "<https://news.example.com/u/TOKEN>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Precedence"] == "bulk" and msg["Auto-Submitted"] == "auto-generated"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_non_ascii_display_name_is_encoded():
    msg = _msg(to_name="Chloé Moreau")
    assert msg["To"].addresses[0].display_name == "Chloé Moreau"


def test_message_id_is_deterministic_and_carries_the_domain():
    a = message_id("edition", (3, 42), "spacewar.example.com", "k")
    assert a == message_id("edition", (3, 42), "spacewar.example.com", "k")
    assert a != message_id("edition", (3, 43), "spacewar.example.com", "k")
    assert a.startswith("<edition.3.42.") and a.endswith("@spacewar.example.com>")


def test_quoted_printable_lines_stay_within_76_and_round_trip():
    text = ("word " * 40 + "trailing   \n") * 20 + "x" * 300 + " é = \t\n"
    body = qp_body(text)
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert quopri.decodestring(body.replace(b"\r\n", b"\n")).decode() == text


def test_spliced_values_are_escaped_and_decode_exactly():
    body = QPBody("<a href='PH'>" + "x" * 100 + "PH</a>\n", {"v": "PH"},
                  escape=lambda v: v.replace("&", "&amp;").replace("<", "&lt;"))
    out = body.render({"v": "https://a.example/?a=1&b=<2>" + "y" * 90})
    assert max(len(line) for line in out.split(b"\r\n")) <= 76
    decoded = quopri.decodestring(out.replace(b"\r\n", b"\n")).decode()
    assert decoded.count("https://a.example/?a=1&amp;b=&lt;2>") == 2


def test_long_words_fold_as_the_policy_folds_them():
    from newsletter.render.message import POLICY, fold

    for n in range(30, 78):
        value = "<https://n.example.com/u/" + "Ab-_." * 20
        value = value[:n - 1] + ">"
        assert fold("List-Unsubscribe", value) == POLICY.fold_binary(
            "List-Unsubscribe", POLICY.header_factory("List-Unsubscribe", value)), n


def test_long_urls_in_headers_stay_whole():
    for n in (40, 60, 100, 300, 900):
        url = "https://news.example.com/u/" + "A" * n
        raw = build_message(**_kw(unsubscribe_url=url))
        head = raw.split(b"\r\n\r\n")[0]
        assert b"=?" not in head and max(len(line) for line in head.split(b"\r\n")) <= 998
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert msg["List-Unsubscribe"].strip() == f"<{url}>"


def test_the_mailto_unsubscribe_goes_beside_the_url_on_a_line_of_its_own():
    url = "https://news.example.com/u/" + "T" * 60
    mailto = "unsubscribe+" + "a" * 48 + "@bounces.bücher.example"  # an IDN domain goes in IDNA
    raw = build_message(**_kw(unsubscribe_url=url, unsubscribe_mailto=mailto))
    head = raw.split(b"\r\n\r\n", 1)[0]
    field = head[head.index(b"List-Unsubscribe:"):].split(b"\r\nList-Unsubscribe-Post")[0]
    assert field.endswith(b",\r\n <mailto:unsubscribe+" + b"a" * 48 + b"@bounces.xn--bcher-kva.example>")
    assert field.isascii() and all(len(line) <= 998 for line in field.split(b"\r\n"))
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert [o.strip() for o in str(msg["List-Unsubscribe"]).split(",")] == [
        f"<{url}>", "<mailto:unsubscribe+" + "a" * 48 + "@bounces.xn--bcher-kva.example>"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    without = email.message_from_bytes(build_message(**_kw(unsubscribe_url="", unsubscribe_mailto="x@y")),
                                       policy=policy.default)
    assert without["List-Unsubscribe"] is None  # a mailto: needs the URL (RFC 8058)
