"""Peer of `cargo xtask bench-predict`: the job `edgewood predict` does, done the usual
Python way. pandas `read_csv` of the Iris CSV (`read_parquet` of the same rows with
`--parquet`, written here with pyarrow's defaults, Snappy, the first time), the seed's
RandomForestClassifier
(`tests/fixtures/iris_rf100.joblib`) `predict_proba` with `n_jobs=-1` (every core, as
`edgewood predict` uses by default), and `to_csv` of `label,p_<class>…` in the same
format (`to_parquet` with `--parquet-out`). Each step is timed; the last run's output
is kept for the comparison.
Prints one JSON line, with the process's peak RSS. Not run in CI.
"""
import argparse
import json
import os
import resource
import statistics
import time

import joblib
import numpy as np
import pandas as pd
import sklearn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True, help="the input: an Iris CSV with a header")
    ap.add_argument("--model", required=True, help="the Iris RF100 joblib fixture")
    ap.add_argument("--out", required=True, help="where to write the predictions")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parquet", help="read this Parquet file (written from --csv if absent)")
    ap.add_argument("--parquet-out", action="store_true", help="write Parquet (to_parquet)")
    a = ap.parse_args()
    if a.parquet and not os.path.exists(a.parquet):
        pd.read_csv(a.csv).to_parquet(a.parquet + ".tmp", index=False)
        os.rename(a.parquet + ".tmp", a.parquet)

    clf = joblib.load(a.model)
    clf.set_params(n_jobs=-1)
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    labels = np.asarray(clf.classes_)
    reads, predicts, writes, totals = [], [], [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        df = pd.read_parquet(a.parquet) if a.parquet else pd.read_csv(a.csv)
        t1 = time.perf_counter()
        # The fixture was fit on a bare array: columns by name, as edgewood takes them.
        proba = clf.predict_proba(df[features].to_numpy(dtype=np.float64))
        t2 = time.perf_counter()
        out = pd.DataFrame(proba, columns=[f"p_{c}" for c in labels])
        out.insert(0, "label", labels[np.argmax(proba, axis=1)])
        if a.parquet_out:
            out.to_parquet(a.out, index=False)
        else:
            out.to_csv(a.out, index=False)
        t3 = time.perf_counter()
        reads.append(t1 - t0)
        predicts.append(t2 - t1)
        writes.append(t3 - t2)
        totals.append(t3 - t0)
        del df, proba, out
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "pandas": pd.__version__,
        "rows": int(sum(1 for _ in open(a.csv, "rb")) - 1),
        "read_s": statistics.median(reads),
        "predict_s": statistics.median(predicts),
        "write_s": statistics.median(writes),
        "total_s": statistics.median(totals),
        "totals_s": totals,
        # Linux reports kilobytes.
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
