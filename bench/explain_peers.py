"""Peers of `cargo xtask bench-explain`: the libraries' own explanations, single thread,
in-process. Iris RF100 (the committed fixture) through shap.TreeExplainer
(tree_path_dependent), one row per call; the bench-boost XGBoost model (300 trees,
depth 8, 50 features; trained by boost_peers.py if missing) through
Booster.predict(pred_contribs=True) on a batch. Saves each library's contributions for
the native harness to compare with, and prints one JSON line. Not run in CI.
"""
import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import shap  # noqa: E402
import sklearn  # noqa: E402
import xgboost as xgb  # noqa: E402

from boost_peers import data, train  # noqa: E402 (beside this script)
from timing import per_call_us  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory for models, rows, outputs")
    ap.add_argument("--fixtures", required=True, help="tests/fixtures")
    ap.add_argument("--rows", type=int, default=1_000)
    ap.add_argument("--calls", type=int, default=1_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    # Iris RF100: shap's per-row time, and its values for every input row.
    forest = joblib.load(os.path.join(a.fixtures, "iris_rf100.joblib"))
    path = os.path.join(a.fixtures, "iris_rf100.input.csv")
    iris = np.genfromtxt(path, delimiter=",", skip_header=1)  # an empty cell is NaN
    iris = iris[~np.isnan(iris).any(axis=1)]
    iris.astype("<f8").tofile(os.path.join(a.out, "iris_rows.f64"))
    explainer = shap.TreeExplainer(forest, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(iris))  # (rows, features, classes)
    values.transpose(0, 2, 1).astype("<f8").tofile(os.path.join(a.out, "iris_shap.f64"))
    iris_us = per_call_us(explainer.shap_values, iris, a.calls)

    # XGBoost 300 x depth 8: pred_contribs on a batch (rows x (features + base)).
    xgb_path, _ = train(a.out)
    rows, _ = data(a.rows, 7)
    rows.astype("<f8").tofile(os.path.join(a.out, "xgb_rows.f64"))
    booster = xgb.Booster(model_file=xgb_path)
    booster.set_param({"nthread": 1})
    matrix = xgb.DMatrix(rows, nthread=1)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        contribs = booster.predict(matrix, pred_contribs=True)
        times.append((time.perf_counter() - t) / len(rows))
    contribs.astype("<f8").tofile(os.path.join(a.out, "xgb_contribs.f64"))

    print(json.dumps({
        "shap": shap.__version__,
        "sklearn": sklearn.__version__,
        "xgboost": xgb.__version__,
        "iris_rows": int(len(iris)),
        "iris_shap_us": iris_us,
        "xgb_rows": int(len(rows)),
        "xgb_pred_contribs_us": float(np.median(times)) * 1e6,
    }))


if __name__ == "__main__":
    main()
