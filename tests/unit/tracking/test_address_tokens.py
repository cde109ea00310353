"""Tokens in an address's local part besides the edition's VERP: the VERP of a personal
email (which email, which row, a tag of its request or address) and the mailto:
unsubscribe address."""
import re

import pytest

from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import InvalidToken, Tokens

T = Tokens("secret")


@pytest.mark.parametrize("kind", list(PersonalKind))
@pytest.mark.parametrize("row, tag", [(1, 0), (42, 2**24 - 1), (2**31 - 1, 123_456)])
def test_personal_verp_round_trips_in_any_case_and_fits_what_bounce_readers_scan(kind, row, tag):
    address = T.personal_verp_address(kind, row, tag, "bounces.example.com")
    local = address.partition("@")[0]
    # bounces/parse.py finds VERP addresses anywhere in a report by this shape
    assert re.fullmatch(r"bounces\+[a-z2-7]{18,29}", local)
    for form in (address, address.upper(), f"Mailer <{address}>"):
        claim = T.read_personal_verp_address(form)
        assert (claim.kind, claim.row_id, claim.tag) == (kind, row, tag)


def test_edition_and_personal_verp_tokens_never_read_as_each_other():
    personal = T.personal_verp_address(PersonalKind.CONFIRM, 7, 9, "b.example.com")
    edition = T.verp_address(7, "b.example.com")
    with pytest.raises(InvalidToken):
        T.read_verp_address(personal)
    with pytest.raises(InvalidToken):
        T.read_personal_verp_address(edition)
    with pytest.raises(InvalidToken):
        Tokens("other-secret").read_personal_verp_address(personal)


def test_tampered_personal_verp_is_refused():
    token = T.personal_verp_address(PersonalKind.WELCOME, 77, 5, "b.example.com").partition("@")[0]
    for i in range(len("bounces+"), len(token)):
        other = "b" if token[i] != "b" else "c"
        with pytest.raises(InvalidToken):
            T.read_personal_verp_address(token[:i] + other + token[i + 1:] + "@b.example.com")


def test_tags_recognise_a_value_without_carrying_it():
    assert T.tag("ann@example.org") == T.tag("ann@example.org") < 2**24
    assert T.tag("ann@example.org") != T.tag("bob@example.org")
    assert Tokens("other-secret").tag(12345) != T.tag(12345)


@pytest.mark.parametrize("edition", [None, 1, 2**31 - 1])
def test_mailto_unsubscribe_round_trips_and_stays_within_rfc_5321(edition):
    address = T.mailto_unsubscribe_address(2**31 - 1, 2**62 + 5, 3, edition, "bounces.example.com")
    local = address.partition("@")[0]
    assert re.fullmatch(r"unsubscribe\+[a-z2-7]+", local) and len(local) <= 64
    for form in (address, address.upper(), f"<{address}>"):
        claim = T.read_mailto_unsubscribe(form)
        assert (claim.subscriber_id, claim.key, claim.publication_id, claim.edition_id) == (
            2**31 - 1, 2**62 + 5, 3, edition)


def test_forged_or_foreign_mailto_tokens_are_refused():
    address = T.mailto_unsubscribe_address(5, 6, 7, 8, "b.example.com")
    local, _, domain = address.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    for bad in (forged, address.replace("unsubscribe+", "bounces+"), "unsubscribe+abc@b.example.com",
                "unsubscribe+@b.example.com", "someone@b.example.com", "",
                T.verp_address(5, "b.example.com").replace("bounces+", "unsubscribe+")):
        with pytest.raises(InvalidToken):
            T.read_mailto_unsubscribe(bad)
    with pytest.raises(InvalidToken):
        Tokens("other-secret").read_mailto_unsubscribe(address)


def test_the_base32_is_the_standard_ones_in_lower_case():
    import base64
    import os

    from newsletter.tracking.local_part import b32 as _b32

    for size in range(1, 41):
        data = os.urandom(size)
        assert _b32(data) == base64.b32encode(data).decode().rstrip("=").lower(), size
