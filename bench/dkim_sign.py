"""Benchmark: DKIM signing per message, our signer against dkimpy's `dkim.sign`.

    .venv/bin/python bench/dkim_sign.py [--messages 2000] [--bits 2048]

Builds today's sample edition in a throwaway SQLite database, then composes the same
personal messages with the publication's DKIM off and on (CPU time, process_time),
and breaks the signature's cost down: body hash, the RSA signature alone, the rest.
For reference, dkimpy signs a few of the same messages. Figures, not a test.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dkim  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from newsletter.config import Settings, sample_file  # noqa: E402
from newsletter.db import utcnow  # noqa: E402
from newsletter.delivery.compose import Composer, Recipient  # noqa: E402
from newsletter.demo import sample_articles  # noqa: E402
from newsletter.editions.build import build_edition, window_for  # noqa: E402
from newsletter.ingest.load import store_records  # noqa: E402
from newsletter.publications.load import load_publications  # noqa: E402
from newsletter.publications.schedule import local_date  # noqa: E402
from newsletter.runtime import engine_for  # noqa: E402


def cpu_us_per(fn, n: int, rounds: int = 3) -> float:
    """Best of a few rounds of n calls, CPU microseconds a call."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - t) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    n = args.messages
    tmp = Path(tempfile.mkdtemp(prefix="nl-dkim-bench-"))
    try:
        settings = Settings(var_dir=tmp, secret_key="bench", publications_file=sample_file("publications.toml"))
        key = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        (tmp / "dkim.pem").write_bytes(pem)
        with Session(engine_for(settings), expire_on_commit=False) as s:
            pub = load_publications(s, settings.publications_file)[0]
            now = utcnow()
            day = local_date(pub.timezone, now)
            store_records(s, sample_articles(window_for(s, pub, day, now)[1]))
            edition, _ = build_edition(s, pub, day, now)
            s.commit()
            _ = edition.items, pub.sections

        recipients = [Recipient(i + 1, f"reader{i}@example.org", f"Reader {i}", None, key=i, delivery_id=i + 1)
                      for i in range(n)]
        off = Composer(settings, edition, pub)
        pub.dkim_domain, pub.dkim_selector, pub.dkim_key_file = "spacewar.example.com", "bench", str(tmp / "dkim.pem")
        on = Composer(settings, edition, pub)
        off.compose(recipients[0], now), on.compose(recipients[0], now)  # render the variant once each

        compose_off = cpu_us_per(lambda i: off.compose(recipients[i], now), n)
        compose_on = cpu_us_per(lambda i: on.compose(recipients[i], now), n)
        sample = off.compose(recipients[0], now).data
        body = sample[sample.index(b"\r\n\r\n") + 4:]
        hash_us = cpu_us_per(lambda i: hashlib.sha256(body).digest(), n)
        to_sign = b"x" * 1200  # about the size of the canonical signed header fields
        rsa_us = cpu_us_per(lambda i: key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()), n)
        signed = on.compose(recipients[0], now).data
        record = on.signer.public_record().encode()
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record), "our signature does not verify"

        k = max(20, n // 50)
        dkimpy = [0.0] * k
        for i in range(k):
            t = time.process_time()
            dkim.sign(sample, b"bench", b"spacewar.example.com", pem,
                      include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"list-id",
                                       b"list-unsubscribe", b"list-unsubscribe-post"])
            dkimpy[i] = (time.process_time() - t) * 1e6
        dkimpy_us = statistics.median(dkimpy)

        signing = compose_on - compose_off
        print(f"message: {len(sample):,} bytes (body {len(body):,}); RSA-{args.bits}; {n:,} messages, CPU time")
        print(f"compose, DKIM off:      {compose_off:8.1f} us/message")
        print(f"compose, DKIM on:       {compose_on:8.1f} us/message")
        print(f"signing (on - off):     {signing:8.1f} us/message  (target: about 1,000)")
        print(f"  of which RSA sign:    {rsa_us:8.1f} us; body SHA-256 {hash_us:.1f} us; "
              f"the rest (canonical headers, folding) {signing - rsa_us - hash_us:.1f} us")
        print(f"dkimpy dkim.sign:       {dkimpy_us:8.1f} us/message (median of {k}) = "
              f"{dkimpy_us / max(signing, 1e-9):.0f}x ours")
        print(f"compose on / off:       {compose_on / compose_off:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
