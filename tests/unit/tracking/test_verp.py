"""VERP bounce addresses: bounces+<token>@<domain>, the token naming a delivery."""
import re

import pytest

from newsletter.tracking.tokens import InvalidToken, Tokens

IDS = [0, 1, 255, 256, 65_535, 123_456_789, 2**40 + 7, 2**63 - 1]


@pytest.mark.parametrize("delivery_id", IDS)
def test_round_trip_in_any_case(delivery_id):
    t = Tokens("secret")
    address = t.verp_address(delivery_id, "bounces.example.com")
    local, _, domain = address.partition("@")
    assert domain == "bounces.example.com"
    assert re.fullmatch(r"bounces\+[a-z2-7]+", local) and len(local) <= 64
    assert t.read_verp_address(address) == delivery_id
    assert t.read_verp_address(address.upper()) == delivery_id  # a relay that upper-cases local parts
    assert t.read_verp_address(f"Mail Delivery <{address}>") == delivery_id
    assert t.read_verp_address(f"  <{address}>  ") == delivery_id
    assert t.read_verp(local.removeprefix("bounces+").upper()) == delivery_id


def test_tampered_tokens_are_refused():
    t = Tokens("secret")
    token = t.verp(4242)
    for i in range(len(token)):
        for other in "a7":
            if token[i] == other:
                continue
            forged = token[:i] + other + token[i + 1:]
            with pytest.raises(InvalidToken):
                t.read_verp(forged)
    # Another delivery's MAC on this id: the signature covers the id.
    other = t.verp(4243)
    with pytest.raises(InvalidToken):
        t.read_verp(token[:4] + other[4:])


def test_other_secret_other_purpose_and_garbage_are_refused():
    token = Tokens("secret").verp(7)
    with pytest.raises(InvalidToken):
        Tokens("other-secret").read_verp(token)
    unsubscribe = Tokens("secret").unsubscribe(7, 1, 1, 1)
    for junk in ("", "x", "a" * 18, "a" * 200, "bounces", "1" * 20, unsubscribe, token + "a", token[:-1]):
        with pytest.raises(InvalidToken):
            Tokens("secret").read_verp(junk)
    for address in ("newsletter@example.com", f"bounce+{token}@example.com", f"bounces+{token}", "",
                    f"bounces+{token}x@example.com"):
        with pytest.raises(InvalidToken):
            Tokens("secret").read_verp_address(address)


def test_the_domain_does_not_matter_the_signature_does():
    t = Tokens("secret")
    address = t.verp_address(99, "old-bounces.example.com")
    assert t.read_verp_address(address.replace("old-bounces", "new-bounces")) == 99
