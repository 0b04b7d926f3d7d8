"""Peers of `cargo xtask bench-boost`: trains (once, cached) a 300-tree depth-8 XGBoost
model on 50 synthetic features and a 300-tree 255-leaf LightGBM model, saves them with
the rows to predict, then times each library's own predict, single thread, in-process:
single-row latency and batch throughput. Prints one JSON line. Not run in CI.
"""
import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

N_FEATURES = 50


def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    logit = (
        np.sin(x[:, 0] * 2) + x[:, 1] * x[:, 2] - np.abs(x[:, 3]) + 0.5 * x[:, 4:10].sum(axis=1)
        + np.where(x[:, 10] > 0.3, 1.5, -0.5) * x[:, 11]
    )
    y = (logit + rng.normal(scale=0.5, size=n) > 0).astype(np.float64)
    return x, y


def train(out):
    xgb_path = os.path.join(out, "xgb_bench.json")
    lgb_path = os.path.join(out, "lgbm_bench.txt")
    if os.path.exists(xgb_path) and os.path.exists(lgb_path):
        return xgb_path, lgb_path
    x, y = data(40_000, 1)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 8, "eta": 0.1, "nthread": 2,
         "tree_method": "hist", "seed": 1},
        xgb.DMatrix(x, label=y), num_boost_round=300)
    booster.save_model(xgb_path)
    model = lgb.train(
        {"objective": "binary", "num_leaves": 255, "min_data_in_leaf": 5, "learning_rate": 0.05,
         "num_threads": 2, "verbose": -1, "seed": 1, "max_depth": -1},
        lgb.Dataset(x, label=y), num_boost_round=300)
    model.save_model(lgb_path)
    return xgb_path, lgb_path


from timing import per_call_us, throughput  # noqa: E402 (beside this script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory for models, rows, predictions")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=2_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    xgb_path, lgb_path = train(a.out)
    rows, _ = data(a.rows, 7)
    rows.astype("<f8").tofile(os.path.join(a.out, "rows.f64"))

    booster = xgb.Booster(model_file=xgb_path)
    booster.set_param({"nthread": 1})
    lgbm = lgb.Booster(model_file=lgb_path)

    # Each library's fastest own call: XGBoost's inplace_predict (no DMatrix), and
    # Booster.predict with DMatrix for reference; LightGBM's Booster.predict.
    xgb_inplace = lambda r: booster.inplace_predict(r)  # noqa: E731
    xgb_dmatrix = lambda r: booster.predict(xgb.DMatrix(r, nthread=1))  # noqa: E731
    lgb_predict = lambda r: lgbm.predict(r, num_threads=1)  # noqa: E731

    xgb_inplace(rows).astype("<f8").tofile(os.path.join(a.out, "xgb_pred.f64"))
    lgb_predict(rows).astype("<f8").tofile(os.path.join(a.out, "lgbm_pred.f64"))

    report = {
        "xgboost": xgb.__version__,
        "lightgbm": lgb.__version__,
        "rows": a.rows,
        "xgb_single_us": per_call_us(xgb_inplace, rows, a.calls),
        "xgb_single_dmatrix_us": per_call_us(xgb_dmatrix, rows, a.calls),
        "xgb_batch_rows_per_s": throughput(xgb_inplace, rows, 7),
        "xgb_batch_dmatrix_rows_per_s": throughput(xgb_dmatrix, rows, 7),
        "lgbm_single_us": per_call_us(lgb_predict, rows, a.calls),
        "lgbm_batch_rows_per_s": throughput(lgb_predict, rows, 7),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
