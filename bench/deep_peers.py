"""Peer of `cargo xtask bench-deep`: a forest far bigger than the CPU's caches. Trains
(once, cached) a scikit-learn RandomForestClassifier of 150 trees of unlimited depth on
200,000 rows of 20 synthetic features (about 4 million nodes), saves it uncompressed
with joblib beside the rows to predict and scikit-learn's own probabilities, then times
`predict_proba` on one thread. Prints one JSON line. Not run in CI.

scikit-learn walks one tree over the whole batch before the next, so each tree stays in
cache while every row walks it: the layout Edgewood's batch walk must beat here.
"""
import argparse
import json
import os
import time

import joblib
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

N_FEATURES = 20


def data(n, seed):
    return make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=12, n_redundant=4,
        n_classes=3, n_clusters_per_class=2, flip_y=0.05, random_state=seed)


def train(path, rows):
    if os.path.exists(path):
        return joblib.load(path)
    x, y = data(rows, 1)
    forest = RandomForestClassifier(n_estimators=150, random_state=1, n_jobs=-1).fit(x, y)
    joblib.dump(forest, path)
    return forest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory for the model, rows, predictions")
    ap.add_argument("--train-rows", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    forest = train(os.path.join(a.out, "deep_forest.joblib"), a.train_rows)
    forest.set_params(n_jobs=1)
    rows, _ = data(a.rows, 7)
    rows.astype("<f8").tofile(os.path.join(a.out, "rows.f64"))
    proba = forest.predict_proba(rows)
    proba.astype("<f8").tofile(os.path.join(a.out, "proba.f64"))
    times = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        forest.predict_proba(rows)
        times.append(time.perf_counter() - t)
    nodes = sum(e.tree_.node_count for e in forest.estimators_)
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "rows": a.rows,
        "features": N_FEATURES,
        "trees": len(forest.estimators_),
        "nodes": nodes,
        "joblib_bytes": os.path.getsize(os.path.join(a.out, "deep_forest.joblib")),
        "sklearn_s": sorted(times)[len(times) // 2],
    }))


if __name__ == "__main__":
    main()
