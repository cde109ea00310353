"""DKIM signing (dkim/sign.py) checked against dkimpy, an independent implementation:
its canonicalisation for the edge cases, its verifier for whole messages."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dkim.canonicalization import Relaxed, Simple

from newsletter.dkim.sign import (
    DkimKeyError,
    DkimSigner,
    load_private_key,
    relaxed_field,
    simple_body_hash,
    split_fields,
)
from newsletter.render.message import MessageTemplate, build_message
from newsletter.render.quoted_printable import qp_body

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer(key):
    return DkimSigner("example.com", "sel", key)


def dns_for(signer):
    record = signer.public_record().encode()
    return lambda name, timeout=5: record if name == b"sel._domainkey.example.com." else None


def verifies(message: bytes, signer) -> bool:
    return bool(dkim.verify(message, dnsfunc=dns_for(signer)))


def h_tag(message: bytes) -> list[str]:
    head = message.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "")
    return [n.strip() for n in re.search(r"\bh=([^;]*);", head).group(1).split(":")]


@pytest.mark.parametrize("field", [
    b"Subject: plain\r\n",
    b"SUBJECT:   runs   of \t white space \t \r\n",
    b"Subject : space before the colon\r\n",
    b"List-ID: folded\r\n  over\r\n\tthree lines  \r\n",
    b"Subject:\r\n",
    b"Subject: =?utf-8?q?caf=C3=A9?=\r\n",
    b"To: \"Ann, B.\" <ann@example.org>\r\n",
])
def test_relaxed_header_canonicalisation_agrees_with_dkimpy(field):
    name, _, value = field.partition(b":")
    ours = relaxed_field(field)
    (theirs,) = Relaxed.canonicalize_headers([(name, value)])
    assert ours == (name.strip().lower().decode(), theirs[0] + b":" + theirs[1])


@pytest.mark.parametrize("body", [
    b"", b"\r\n", b"\r\n\r\n\r\n", b"text", b"text\r\n", b"text\r\n\r\n\r\n",
    b"a\r\n\r\nb\r\n", b"a\r\n\r\nb", b"  spaces kept  \r\n\r\n", b"x=\r\n\r\n",
])
def test_simple_body_hash_agrees_with_dkimpy(body):
    import hashlib

    assert simple_body_hash(body) == hashlib.sha256(Simple.canonicalize_body(body)).digest()
    assert simple_body_hash(memoryview(body)) == simple_body_hash(body)


def test_split_fields_keeps_folding():
    block = b"A: 1\r\nB: 2\r\n  2b\r\n\t2c\r\nC: 3\r\n"
    assert split_fields(block) == [b"A: 1\r\n", b"B: 2\r\n  2b\r\n\t2c\r\n", b"C: 3\r\n"]


MESSAGE = (b"From: Daily <news@example.com>\r\nTo: ann@example.org\r\n"
           b"SUBJECT:   Today's   headlines \r\n  folded\tover two lines \r\n"
           b"list-id: Daily <daily.example.com>\r\nDate: Fri, 27 Nov 2026 06:00:00 +0000\r\n"
           b"Message-ID: <1@example.com>\r\nList-Unsubscribe: <https://x.example.com/u/t>\r\n"
           b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
           b"\r\nbody  with  double  spaces\r\n\r\n\r\n")


def test_signed_message_verifies_and_lists_the_oversigned_fields(signer):
    signed = signer.sign_message(MESSAGE, int(NOW.timestamp()))
    assert signed.endswith(MESSAGE) and signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple;")
    assert verifies(signed, signer)
    h = h_tag(signed)
    for name in ("from", "subject", "list-id", "list-unsubscribe", "list-unsubscribe-post", "reply-to"):
        present = MESSAGE.lower().count(b"\r\n" + name.encode() + b":") + MESSAGE.lower().startswith(name.encode())
        assert h.count(name) == present + 1, name
    assert {"to", "date", "message-id"} <= set(h) and h.count("to") == 1


def test_the_signature_field_folds_within_78_characters_whatever_the_names(key):
    """Each selector length moves where b= starts, down to a line with no room left."""
    for length in range(1, 64):
        selector = ("s" * length)[:63]
        signer = DkimSigner("example.com", selector, key)
        signed = signer.sign_message(MESSAGE, int(NOW.timestamp()))
        field = signed[:len(signed) - len(MESSAGE)]
        assert field.endswith(b"\r\n") and all(len(line) <= 78 for line in field.split(b"\r\n")), field
        record = signer.public_record().encode()
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5, r=record: r)


@pytest.mark.parametrize("change", [
    lambda m: m.replace(b"double  spaces", b"double  spaced"),  # a byte of the body
    lambda m: m.replace(b"Today's", b"Todays"),  # the subject
    lambda m: m.replace(b"\r\n\r\nbody", b"\r\nSubject: a second subject\r\n\r\nbody"),  # added, oversigned
    lambda m: m.replace(b"\r\n\r\nbody", b"\r\nReply-To: thief@example.net\r\n\r\nbody"),  # absent, oversigned
    lambda m: m.replace(b"\r\n\r\nbody", b"\r\nFrom: other@example.net\r\n\r\nbody"),
    lambda m: m.replace(b"\r\n\r\nbody", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\nbody"),
    # Added above the signed ones: a verifier takes the bottom instance first, so only
    # oversigning catches these.
    lambda m: b"Subject: a second subject\r\n" + m,
    lambda m: b"From: other@example.net\r\n" + m,
    lambda m: b"List-Unsubscribe: <https://evil.example/>\r\n" + m,
    lambda m: b"List-Id: Other <other.example.net>\r\n" + m,
])
def test_a_message_altered_after_signing_fails(signer, change):
    signed = signer.sign_message(MESSAGE, int(NOW.timestamp()))
    altered = change(signed)
    assert altered != signed
    assert not verifies(altered, signer)


def test_what_relaxed_canonicalisation_allows_still_verifies(signer):
    """A relay that re-folds or re-cases header lines does not break the signature."""
    signed = signer.sign_message(MESSAGE, int(NOW.timestamp()))
    refolded = signed.replace(b"SUBJECT:   Today's   headlines \r\n  folded", b"subject: Today's headlines folded")
    assert refolded != signed and verifies(refolded, signer)
    extra_blank_lines = signed + b"\r\n\r\n"
    assert verifies(extra_blank_lines, signer)


def template(signer=None):
    return MessageTemplate(sender_name="Daily", sender_address="news@example.com", subject="Headlines of the day",
                           reply_to="editors@example.com", list_id="Daily <daily.example.com>", signer=signer)


def render(t, name="Zoë Ångström, Jr.", url="https://news.example.com/u/" + "t" * 120):
    return t.render(to_name=name, to_address="zoe@example.org", msg_id="<m1@example.com>", date=NOW,
                    text=qp_body("Hello\n\nLine one\n"), html=qp_body("<p>Hello</p>\n"), unsubscribe_url=url)


def same_boundary(data: bytes) -> bytes:
    """Each template draws its own MIME boundary: make them comparable."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    return data.replace(boundary, b"BOUNDARY")


def test_template_signature_is_added_on_top_of_the_unsigned_bytes(signer):
    plain, signed = render(template()), render(template(signer))
    assert same_boundary(signed).endswith(same_boundary(plain))
    assert signed[:-len(plain)].startswith(b"DKIM-Signature:") and signed.count(b"DKIM-Signature") == 1
    assert verifies(signed, signer)
    h = h_tag(signed)
    assert h.count("list-unsubscribe") == 2 and h.count("list-unsubscribe-post") == 2
    assert h.count("from") == 2 and h.count("subject") == 2 and h.count("reply-to") == 2
    assert {"to", "date", "message-id", "mime-version", "content-type"} <= set(h)
    # The same input gives the same bytes (t= is the Date).
    t = template(signer)
    assert render(t) == render(t)


def test_message_without_list_unsubscribe_still_forbids_adding_one(signer):
    data = build_message(sender_name="Daily", sender_address="news@example.com", to_name="", to_address="a@example.org",
                         subject="Confirm", text="Click", html=None, msg_id="<c@example.com>", date=NOW, bulk=False,
                         signer=signer)
    assert verifies(data, signer)
    assert h_tag(data).count("list-unsubscribe") == 1
    forged = data.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n", 1)
    assert not verifies(forged, signer)


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_keys_are_checked_and_never_shown(key):
    assert load_private_key(pem(key)).key_size == 2048
    secret_part = pem(key).split(b"\n")[5].decode()
    for bad, why in [
        (pem(key)[:-60], "PEM"),
        (b"not a key at all", "PEM"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "RSA"),
    ]:
        with pytest.raises(DkimKeyError) as exc:
            load_private_key(bad)
        assert why in str(exc.value) and secret_part not in str(exc.value)
        assert exc.value.__context__ is None or exc.value.__suppress_context__  # no chained OpenSSL error
    signer = DkimSigner("example.com", "sel", key)
    assert secret_part not in repr(signer) and "sel" in repr(signer)
    with pytest.raises(DkimKeyError):
        DkimSigner("example.com", "sel", key, algorithm="rsa-sha1")
