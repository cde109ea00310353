"""Digests are dot-free: no line starts with a dot, so SMTP sends them as they are,
without searching 34 KB for dots to double (transport/smtp_client.py). A dot that would
start a quoted-printable line is written =2E instead (render/quoted_printable.py); the message
decodes to the same text."""
from __future__ import annotations

import binascii
import email
import random
from datetime import date
from email import policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.delivery.compose import Composer, Recipient
from newsletter.delivery.driver import load
from newsletter.editions.build import build_edition
from newsletter.render.quoted_printable import _dot_free_lines, _qp_piece, dot_free, qp_body
from newsletter.transport.smtp_client import dot_stuff, with_end_of_data
from tests.helpers import add_article, at

NOW = at("2026-11-26T12:00:00")


def _decoded(encoded: bytes) -> bytes:
    return binascii.a2b_qp(encoded.replace(b"\r\n", b"\n"))


def _lines(encoded: bytes) -> list[bytes]:
    return encoded.split(b"\r\n")


def test_dot_free_says_whether_smtp_would_double_a_dot():
    for piece in (b".", b".a\r\n", b"a\r\n.b", b"a\r\n..\r\n"):
        assert not dot_free(piece) and dot_stuff(piece) != with_end_of_data(piece)
    for piece in (b"", b"a.b\r\n", b"a\r\n=2E\r\n", b"a \r\n .b"):
        assert dot_free(piece) and dot_stuff(piece) == with_end_of_data(piece)


def test_quoted_printable_never_starts_a_line_with_a_dot_and_decodes_the_same():
    rng = random.Random(20261208)
    alphabet = [".", ".", ".", "a", " ", "=", "é", "\n", "x" * 70, "." * 74]
    for _ in range(20_000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(0, 12)))
        for encoded in (qp_body(text), _qp_piece(text)):
            assert dot_free(encoded), (text, encoded)
            assert all(len(line) <= 76 for line in _lines(encoded)), (text, encoded)
        assert _decoded(qp_body(text)) == _decoded(binascii.b2a_qp(text.encode(), istext=True)), text
        assert _decoded(_qp_piece(text)) == text.encode("utf-8"), text  # a fragment: its soft break decodes to nothing


def test_a_line_made_too_long_by_the_escape_is_cut_without_splitting_an_escape():
    for line in (b"." + b"a" * 74 + b"=", b"." + b"a" * 72 + b"=3D=", b"..=3D" + b"b" * 71 + b"=", b"." * 76):
        out = _dot_free_lines(line + b"\r\n")
        assert dot_free(out) and all(len(x) <= 76 for x in _lines(out)), out
        assert _decoded(out) == _decoded(line + b"\r\n"), out


@pytest.fixture
def edition(session, publication, engine):
    add_article(session, "superpowers", ".NET and .mil: dots " + "." * 90 + " everywhere", at("2026-11-26T10:00:00"))
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=NOW)
    session.commit()
    return load(engine, ed.id)[0]


def _sign_with_a_new_key(publication, tmp_path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "dkim.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    publication.dkim_domain, publication.dkim_selector = "spacewar.example.com", "nl1"
    publication.dkim_key_file, publication.dkim_key_env = str(tmp_path / "dkim.pem"), ""


NAMES = [".", "..", ".Dot", "a" * 73 + ".b", "." * 120, "Ann . Reader", "é." * 40]


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "dkim"])
def test_composed_digests_are_dot_free_whatever_the_names_and_headlines(settings, publication, edition, tmp_path,
                                                                         signed):
    if signed:
        _sign_with_a_new_key(publication, tmp_path)
    composer = Composer(settings, edition, publication)
    record = composer.signer.public_record().encode() if signed else b""
    for i, name in enumerate(NAMES):
        composed = composer.compose(Recipient(i + 1, f"r{i}@example.org", name, None, key=10 + i,
                                              delivery_id=100 + i), NOW)
        assert composed.dot_safe and dot_free(composed.data)
        assert dot_stuff(composed.data) == with_end_of_data(composed.data)  # what SMTP sends either way
        msg = email.message_from_bytes(composed.data, policy=policy.default)
        text = msg.get_body(("plain",)).get_content()
        assert name in text and "." * 90 + " everywhere" in " ".join(text.split()), text
        if signed:
            assert dkim.verify(composed.data, dnsfunc=lambda name, timeout=5: record)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "dkim"])
def test_a_message_made_in_two_steps_is_the_message_made_in_one(settings, publication, edition, tmp_path, signed):
    """The batch drafts the next message while the relay answers the envelope and signs
    it while the relay reads the data (completion.Lookahead): the same bytes as compose."""
    from newsletter.delivery.completion import Lookahead

    if signed:
        _sign_with_a_new_key(publication, tmp_path)
    composer = Composer(settings, edition, publication)
    readers = [Recipient(i + 1, f"r{i}@example.org", name, None, key=10 + i, delivery_id=100 + i)
               for i, name in enumerate(NAMES)]
    lookahead = Lookahead(composer)
    for i, reader in enumerate(readers):
        if i % 3 == 0:  # the envelope's wait and the data's wait
            lookahead.draft(reader.delivery_id, reader, NOW)
            lookahead.finish(reader.delivery_id, reader, NOW)
        elif i % 3 == 1:  # only the data's wait (a backend with no envelope to wait for)
            lookahead.finish(reader.delivery_id, reader, NOW)
        composed, problem = lookahead.take(reader.delivery_id, reader, NOW)  # else: made at its turn
        assert problem is None and composed == composer.compose(reader, NOW)
        assert composed == composer.finish(composer.draft(reader, NOW))
