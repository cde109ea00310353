"""TOTP against RFC 6238's Appendix B test vectors (and RFC 4226's HOTP vectors), codes
that work once, the drift allowed, and the sealed secret."""
import base64
import hashlib

import pytest

from newsletter.staff import totp

SHA1 = base64.b32encode(b"12345678901234567890").decode()
SHA256 = base64.b32encode(b"12345678901234567890123456789012").decode()
SHA512 = base64.b32encode(b"1234567890123456789012345678901234567890123456789012345678901234").decode()


@pytest.mark.parametrize("when, sha1, sha256, sha512", [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
])
def test_rfc6238_appendix_b(when, sha1, sha256, sha512):
    assert totp.code_at(SHA1, when, 8, hashlib.sha1) == sha1
    assert totp.code_at(SHA256, when, 8, hashlib.sha256) == sha256
    assert totp.code_at(SHA512, when, 8, hashlib.sha512) == sha512


def test_rfc4226_appendix_d():
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(b"12345678901234567890", n) for n in range(10)] == expected


def test_a_code_works_once_within_a_step_either_side():
    secret, now = totp.new_secret(), 1_700_000_000
    step = now // totp.STEP
    code = totp.code_at(secret, now)
    assert totp.step_of(secret, code, 0, now) == step
    assert totp.step_of(secret, f" {code[:3]} {code[3:]} ", 0, now) == step  # spaces as apps show it
    assert totp.step_of(secret, code, step, now) is None  # used: never again
    assert totp.step_of(secret, totp.code_at(secret, now - 30), 0, now) == step - 1  # a slow clock
    assert totp.step_of(secret, totp.code_at(secret, now + 30), 0, now) == step + 1
    assert totp.step_of(secret, totp.code_at(secret, now - 90), 0, now) is None
    for wrong in ("", "12345", "1234567", "abcdef", "٠١٢٣٤٥"):
        assert totp.step_of(secret, wrong, 0, now) is None


def test_the_secret_is_sealed_under_the_key_and_the_qr_is_inline_svg():
    secret = totp.new_secret()
    sealed = totp.seal("k" * 40, secret)
    assert secret not in sealed and totp.unseal("k" * 40, sealed) == secret
    assert totp.unseal("another key" * 4, sealed) == ""
    uri = totp.provisioning_uri(secret, "ann@staff.example.org", "Newsletter")
    assert uri.startswith("otpauth://totp/Newsletter:ann@staff.example.org?secret=" + secret)
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "http" not in svg.split(">", 1)[1]  # nothing loaded from elsewhere
