"""Composing's shortcuts give the bytes of the general paths they skip: tokens against
itsdangerous itself, the Date header against format_datetime, header folding against
the email policy, quoted-printable fragments against b2a_qp; over random inputs."""
from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import URLSafeSerializer
from itsdangerous.encoding import base64_encode

from newsletter.render import message, quoted_printable
from newsletter.render.message import POLICY, date_header, fold
from newsletter.render.quoted_printable import _qp_piece, _qp_piece_encoded
from newsletter.tracking.tokens import Tokens


def _ints(rng: random.Random, n: int) -> list[int]:
    return [rng.choice([0, rng.randrange(1, 1000), rng.randrange(0, 2 ** rng.randrange(1, 64))]) for _ in range(n)]


def test_tokens_equal_itsdangerous_own_over_random_inputs():
    """itsdangerous signs the compact JSON, base64: the same token. Its `dumps` also tries
    zlib, which wins on a rare input (repeated digits); the token then stays uncompressed,
    as it always was, and its `loads` reads it all the same."""
    rng = random.Random(12)
    compressed = 0
    for secret in ("s3cret", "another key, longer than the digest" * 3, "ünïcode"):
        tokens = Tokens(secret)
        for salt, make, n in (("unsubscribe", tokens.unsubscribe, 4), ("preferences", tokens.preferences, 3)):
            serializer = URLSafeSerializer(secret, salt=salt)
            signer = serializer.make_signer()
            for _ in range(2000):
                values = _ints(rng, n)
                token = make(*values)
                assert token == signer.sign(base64_encode(json.dumps(values, separators=(",", ":")))).decode()
                theirs = serializer.dumps(values)
                if theirs.startswith("."):
                    compressed += 1
                else:
                    assert token == theirs
                assert serializer.loads(token) == values
    assert compressed < 60  # of 12,000


def test_verp_tokens_keep_their_value():
    """The one-shot HMAC gives the MAC the HMAC object gave (a fixed example)."""
    tokens = Tokens("s3cret")
    assert tokens.verp(123456) == "ahrebvzyg7n4bxpd37afm"  # as made before the change
    assert tokens.read_verp_address(tokens.verp_address(2**62 + 5, "b.example")) == 2**62 + 5


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), None])
def test_date_header_equals_format_datetime_second_by_second(zone):
    rng = random.Random(4)
    start = datetime(2026, 3, 29, 0, 59, 58, tzinfo=UTC)  # a DST change in Paris
    for _ in range(3000):
        at = start + timedelta(microseconds=rng.randrange(0, 5_000_000))
        at = at.replace(tzinfo=None) if zone is None else at.astimezone(zone)
        assert date_header(at) == format_datetime(at)


def test_date_header_tells_naive_from_aware_and_offsets_apart():
    at = datetime(2026, 11, 28, 6, 0, 0, tzinfo=UTC)
    for value in (at, at.replace(tzinfo=None), at.astimezone(ZoneInfo("Asia/Tokyo")), at, at.replace(tzinfo=None)):
        assert date_header(value) == format_datetime(value)


def test_fold_fast_path_equals_the_policy():
    rng = random.Random(9)
    alphabet = string.printable + "\x00\x1c\x7f"
    for _ in range(20_000):
        name = rng.choice(["To", "Message-ID", "List-Unsubscribe", "X-Long-Header-Name"])
        value = "".join(rng.choices(alphabet, k=rng.randrange(0, 80 - len(name))))
        if len(name) + len(value) + 2 <= 78:
            assert fold(name, value) == POLICY.fold_binary(name, value), value


def test_fold_keeps_one_long_word_whole_and_sends_white_space_the_general_way():
    for length in range(50, 78):  # too long for one line with its name, short enough to move
        word = "<https://example.org/u/" + "A" * (length - 25) + ">"
        assert fold("List-Unsubscribe", word) == POLICY.fold_binary(
            "List-Unsubscribe", POLICY.header_factory("List-Unsubscribe", word))
    for space in "\t\x0b\x0c\x1c\x1f ":
        value = "<https://example.org/u/" + "A" * 60 + space + "B>"
        assert fold("List-Unsubscribe", value) == POLICY.fold_binary(
            "List-Unsubscribe", POLICY.header_factory("List-Unsubscribe", value))
    assert all(bool(message._ASCII_SPACE.search(chr(c))) == chr(c).isspace() for c in range(128))


_NOT_PLAIN = str.maketrans("", "", "=é\n\t\r")  # deleted: what the fast path does not take


def test_qp_fragments_of_plain_values_equal_b2a_qp_over_random_inputs():
    rng = random.Random(2)
    alphabet = [chr(i) for i in range(32, 127)] + ["é", "\n", "\t", "=", ".", " ", "\r"]
    taken = 0
    for _ in range(40_000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(0, 300)))  # choices: a tenth of choice()'s time
        if rng.random() < 0.6:
            text = text.translate(_NOT_PLAIN)
        taken += bool(quoted_printable._QP_PLAIN.fullmatch(text))
        assert _qp_piece(text) == _qp_piece_encoded(text), text
    for length in range(1, 400):
        for last in "a. ":
            text = "x" * (length - 1) + last
            assert _qp_piece(text) == _qp_piece_encoded(text)
    assert taken > 10_000  # the fast path was exercised
