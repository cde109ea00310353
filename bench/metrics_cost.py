"""Benchmark: what the metrics cost on the send path, per message.

    .venv/bin/python bench/metrics_cost.py [--messages 200000]

The batch loop does, per message: two perf_counter() calls around backend.send, one
counter increment and one histogram observation (`metrics.message_sent`). This
measures that, in a single process (the web, the inline dispatcher) and in
prometheus_client's multiprocess mode (Celery's pool: values in mmap'ed files), each
in a fresh interpreter because the mode is chosen when prometheus_client is imported.
Figures, not a test. For scale: the whole pipeline costs about 770 us of worker CPU
per message (README, bench/delivery.py).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(n: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from newsletter import metrics

    metrics.get()
    latencies = [0.0001 * (i % 50) for i in range(1000)]  # spread over the histogram's buckets

    def loop_bare():
        for i in range(n):
            started = time.perf_counter()
            _ = time.perf_counter() - started + latencies[i % 1000]

    def loop_metrics():
        for i in range(n):
            started = time.perf_counter()
            metrics.message_sent(time.perf_counter() - started + latencies[i % 1000])

    results = {}
    for name, fn in (("bare loop with the two clock reads", loop_bare), ("with metrics.message_sent", loop_metrics)):
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
        results[name] = best / n * 1e9
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--child", choices=["single", "multiprocess"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        for name, ns in measure(args.messages).items():
            print(f"{name};{ns:.0f}")
        return
    print(f"{args.messages:,} messages, CPU time per message (best of 3)")
    for mode in ("single", "multiprocess"):
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "NEWSLETTER_METRICS_DIR")}
        with tempfile.TemporaryDirectory() as tmp:
            if mode == "multiprocess":
                env["NEWSLETTER_METRICS_DIR"] = tmp
            out = subprocess.run([sys.executable, __file__, "--messages", str(args.messages), "--child", mode],
                                 env=env, capture_output=True, text=True, check=True).stdout
        rows = dict(line.split(";") for line in out.splitlines())
        bare, with_metrics = (float(v) for v in rows.values())
        print(f"  {mode:>12}: {with_metrics:6.0f} ns with metrics, {bare:6.0f} ns without: "
              f"metrics cost {with_metrics - bare:5.0f} ns = {(with_metrics - bare) / 770e3:.2%} of 770 us")


if __name__ == "__main__":
    main()
