"""Timing helpers shared by the peer benchmarks (bench/peers.py, bench/boost_peers.py)."""

import statistics
import time


def per_call_us(fn, rows, calls):
    """Median latency of fn(one_row) in microseconds, one call per row."""
    return per_call_p50_p99_us(fn, rows, calls)[0]


def per_call_p50_p99_us(fn, rows, calls):
    """p50 and p99 latency of fn(one_row) in microseconds, one call per row, cycling
    through `rows` so that each call sees a different row."""
    times = []
    for i in range(calls):
        r = rows[i % len(rows)][None, :]
        t = time.perf_counter_ns()
        fn(r)
        times.append(time.perf_counter_ns() - t)
    times.sort()
    p99 = times[min(len(times) - 1, (len(times) * 99) // 100)]
    return statistics.median(times) / 1000.0, p99 / 1000.0


def throughput(fn, rows, reps):
    """Median rows per second of fn(all rows)."""
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(rows)
        rates.append(len(rows) / (time.perf_counter() - t))
    return statistics.median(rates)


def rows_per_s(call, n, reps):
    """Median rows per second of call(), which predicts n rows prepared beforehand."""
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)
