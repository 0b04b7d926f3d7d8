"""Timing helpers shared by the peer benchmarks (bench/peers.py, bench/boost_peers.py)."""

import statistics
import time


def per_call_us(fn, rows, calls):
    """Median latency of fn(one_row) in microseconds, one call per row."""
    times = []
    for i in range(calls):
        r = rows[i % len(rows)][None, :]
        t = time.perf_counter_ns()
        fn(r)
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000.0


def throughput(fn, rows, reps):
    """Median rows per second of fn(all rows)."""
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(rows)
        rates.append(len(rows) / (time.perf_counter() - t))
    return statistics.median(rates)
