"""Peers of `cargo xtask bench-catboost`: trains (once, cached) two CatBoost models with
CatBoost's default shape (oblivious trees of depth 6) on 50 synthetic numeric features:
a 1000-tree Logloss classifier and a 500-round, 3-class MultiClass classifier. Saves
them as `.cbm` with the rows to predict and CatBoost's own raw values and
probabilities, then times CatBoost's own `predict`, single thread, in-process:
single-row latency over varied rows (p50 and p99) and 10k-row batch throughput.
Prints one JSON line. Not run in CI.
"""
import argparse
import json
import os
import time

import catboost  # noqa: E402
import numpy as np  # noqa: E402

N_FEATURES = 50
MODELS = {
    # name: (loss, iterations, classes)
    "binary": ("Logloss", 1000, 2),
    "multiclass": ("MultiClass", 500, 3),
}


def data(n, seed, classes):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    score = (
        np.sin(x[:, 0] * 2) + x[:, 1] * x[:, 2] - np.abs(x[:, 3]) + 0.5 * x[:, 4:10].sum(axis=1)
        + np.where(x[:, 10] > 0.3, 1.5, -0.5) * x[:, 11]
        + rng.normal(scale=0.5, size=n)
    )
    if classes == 2:
        y = (score > 0).astype(np.int64)
    else:
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    # A few missing values, which CatBoost's default nan_mode (Min) sends left.
    x[rng.random(size=x.shape) < 0.01] = np.nan
    return x, y


def train(out, name):
    path = os.path.join(out, f"cb_{name}.cbm")
    if os.path.exists(path):
        return path
    loss, iterations, classes = MODELS[name]
    x, y = data(40_000, 1, classes)
    model = catboost.CatBoostClassifier(
        loss_function=loss, iterations=iterations, depth=6, random_seed=1, thread_count=2,
        verbose=False, allow_writing_files=False,
    )
    model.fit(x, y)
    model.save_model(path)
    return path


def per_call_us(fn, rows, calls):
    """Median and 99th percentile latency of fn(one row), in microseconds."""
    times = []
    for i in range(calls):
        r = rows[i % len(rows)]
        t = time.perf_counter_ns()
        fn(r)
        times.append(time.perf_counter_ns() - t)
    times.sort()
    return times[len(times) // 2] / 1000.0, times[len(times) * 99 // 100] / 1000.0


from timing import throughput  # noqa: E402 (beside this script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory for models, rows, predictions")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=2_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows, _ = data(a.rows, 7, 2)
    rows.astype("<f8").tofile(os.path.join(a.out, "rows.f64"))
    report = {"catboost": catboost.__version__, "rows": a.rows}
    for name in MODELS:
        model = catboost.CatBoost()
        model.load_model(train(a.out, name))
        predict = lambda r: model.predict(r, prediction_type="Probability", thread_count=1)  # noqa: E731,B023
        raw = model.predict(rows, prediction_type="RawFormulaVal", thread_count=1)
        np.asarray(raw, dtype="<f8").tofile(os.path.join(a.out, f"cb_{name}_raw.f64"))
        np.asarray(predict(rows), dtype="<f8").tofile(os.path.join(a.out, f"cb_{name}_proba.f64"))
        # CatBoost's fastest single-row call: a 2-D array of one row, or one row as a
        # plain list (its single-object path); the table takes the faster.
        as_matrix = per_call_us(lambda r: predict(r[None, :]), rows, a.calls)  # noqa: B023
        as_list = per_call_us(lambda r: predict(r.tolist()), rows, a.calls)  # noqa: B023
        p50, p99 = min(as_matrix, as_list)
        report[f"{name}_single_p50_us"] = p50
        report[f"{name}_single_p99_us"] = p99
        report[f"{name}_single_path"] = "list" if as_list < as_matrix else "matrix"
        report[f"{name}_batch_rows_per_s"] = throughput(predict, rows, 7)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
