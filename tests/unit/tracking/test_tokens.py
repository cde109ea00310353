import pytest

from newsletter.tracking.token_claims import ConfirmClaim
from newsletter.tracking.tokens import InvalidToken, Tokens


def test_round_trip_and_no_email_inside():
    t = Tokens("secret")
    token = t.unsubscribe(12, 555, 3, 99)
    claim = t.read_unsubscribe(token)
    assert (claim.subscriber_id, claim.key, claim.publication_id, claim.edition_id) == (12, 555, 3, 99)
    assert "@" not in token


def test_changing_any_character_invalidates():
    t = Tokens("secret")
    token = t.unsubscribe(12, 555, 3, 99)
    for i in range(len(token)):
        swapped = "A" if token[i] != "A" else "B"
        forged = token[:i] + swapped + token[i + 1:]
        with pytest.raises(InvalidToken):
            t.read_unsubscribe(forged)


def test_other_key_other_purpose_and_garbage_are_refused():
    token = Tokens("secret").unsubscribe(1, 2, 1, 1)
    with pytest.raises(InvalidToken):
        Tokens("other-secret").read_unsubscribe(token)
    with pytest.raises(InvalidToken):
        Tokens("secret").read_preferences(token)
    for junk in ("", "x", "a" * 1000, "..."):
        with pytest.raises(InvalidToken):
            Tokens("secret").read_unsubscribe(junk)


def test_confirm_tokens_expire():
    t = Tokens("secret")
    token = t.confirm(5, 77, 9)
    assert t.read_confirm(token, max_age=60) == ConfirmClaim(5, 77, 9)
    with pytest.raises(InvalidToken, match="expired"):
        t.read_confirm(token, max_age=-1)


def test_fast_tokens_are_what_itsdangerous_makes():
    from itsdangerous import URLSafeSerializer

    t = Tokens("secret")
    expected = URLSafeSerializer("secret", salt="unsubscribe").dumps([123456, 2**61, 7, 99])
    assert t.unsubscribe(123456, 2**61, 7, 99) == expected
    assert t.preferences(5, 9, None) == URLSafeSerializer("secret", salt="preferences").dumps([5, 9, 0])


def test_undo_tokens_are_their_own_purpose_and_expire():
    from newsletter.tracking.token_claims import UndoClaim

    t = Tokens("secret")
    token = t.undo_unsubscribe(12, 555, 3, 4242)
    assert t.read_undo_unsubscribe(token, max_age=60) == UndoClaim(12, 555, 3, 4242)
    with pytest.raises(InvalidToken, match="expired"):
        t.read_undo_unsubscribe(token, max_age=-1)
    link = t.unsubscribe(12, 555, 3, 4242)
    for other in (link, t.confirm(12, 555, 3), t.address_change(12, 555, 3)):
        with pytest.raises(InvalidToken):
            t.read_undo_unsubscribe(other, max_age=60)  # the List-Unsubscribe link is not an undo
    with pytest.raises(InvalidToken):
        t.read_unsubscribe(token)
    with pytest.raises(InvalidToken):
        Tokens("other-secret").read_undo_unsubscribe(token, max_age=60)
