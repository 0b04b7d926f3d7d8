"""Peers of `cargo xtask bench-boost`: trains (once, cached) a 300-tree depth-8 XGBoost
model on 50 synthetic features and a 300-tree 255-leaf LightGBM model, saves them with
the rows to predict, then times, single thread, in-process, each library's own predict
and the stronger peers on the same model files: tl2cgen (compiled C, cached under
--out), daal4py / oneDAL (`daal4py.mb.convert_model`) and, with --lleaves, lleaves
(LightGBM compiled by LLVM, cached under --out; its first compile is very slow).
Single rows are timed one call each over different rows (p50, p99); every peer's
outputs are compared with the library's (largest absolute difference). Prints one
JSON line. Not run in CI.
"""
import argparse
import json
import os
import time

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


from timing import per_call_p50_p99_us, per_call_us, rows_per_s, throughput  # noqa: E402


def peer(report, key, single, batch, rows, reference, calls, reps=7):
    """Times one peer and records `key`_single_us, _single_p99_us, _batch_rows_per_s,
    _max_abs_diff and _rows_off (rows more than 1e-6 away), against `reference`, the
    library's own outputs. `batch` is a no-argument call predicting all rows (so its
    input can be prepared beforehand)."""
    single(rows[:10])
    out = np.asarray(batch()).reshape(len(rows), -1)[:, -1]
    p50, p99 = per_call_p50_p99_us(single, rows, calls)
    report[f"{key}_single_us"] = p50
    report[f"{key}_single_p99_us"] = p99
    report[f"{key}_batch_rows_per_s"] = rows_per_s(batch, len(rows), reps)
    report[f"{key}_max_abs_diff"] = float(np.max(np.abs(out - reference)))
    report[f"{key}_rows_off"] = int(np.sum(np.abs(out - reference) > 1e-6))


def tl2cgen_peers(report, a, xgb_path, lgb_path, rows, xgb_ref, lgb_ref):
    import tl2cgen
    import treelite
    from compiled import tl2cgen_lib, tl2cgen_predictor

    report["tl2cgen"] = tl2cgen.__version__
    report["treelite"] = treelite.__version__
    cache = os.path.join(a.out, "tl2cgen")
    # XGBoost compares float32 rows with float32 thresholds: float32 input is exact.
    # LightGBM compares in double: float64 rows (the model's threshold type).
    for key, path, load, dtype, ref in (
        ("xgb", xgb_path, treelite.frontend.load_xgboost_model, "float32", xgb_ref),
        ("lgbm", lgb_path, treelite.frontend.load_lightgbm_model, None, lgb_ref),
    ):
        lib, build_s = tl2cgen_lib(lambda: load(path), path, cache, f"{key}_bench",
                                   parallel_comp=16)
        report[f"{key}_tl2cgen_build_s"] = build_s
        _, single, batch, dmatrix = tl2cgen_predictor(lib, dtype)
        d = dmatrix(rows)
        peer(report, f"{key}_tl2cgen", single, lambda: batch(d), rows, ref, a.calls)


def daal4py_peers(report, a, booster, lgbm, rows, xgb_ref, lgb_ref):
    from importlib.metadata import version

    import daal4py

    daal4py.daalinit(1)
    report["daal4py"] = version("scikit-learn-intelex")
    for key, model, ref in (("xgb", booster, xgb_ref), ("lgbm", lgbm, lgb_ref)):
        m = daal4py.mb.convert_model(model)
        f = lambda r: m.predict_proba(r)[:, 1]  # noqa: E731
        peer(report, f"{key}_daal4py", f, lambda: f(rows), rows, ref, a.calls)


def lleaves_peer(report, a, lgb_path, rows, lgb_ref):
    from importlib.metadata import version

    import lleaves

    from compiled import file_key

    report["lleaves"] = version("lleaves")
    cache = os.path.join(a.out, "lleaves")
    os.makedirs(cache, exist_ok=True)
    lib = os.path.join(cache, f"lgbm_bench-{file_key(lgb_path)}-{report['lleaves']}.so")
    m = lleaves.Model(model_file=lgb_path)
    t = time.perf_counter()
    m.compile(cache=lib)  # loads the cached library when present
    report["lgbm_lleaves_compile_s"] = time.perf_counter() - t
    f = lambda r: m.predict(r, n_jobs=1)  # noqa: E731
    peer(report, "lgbm_lleaves", f, lambda: f(rows), rows, lgb_ref, a.calls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="directory for models, rows, predictions")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=2_000)
    ap.add_argument("--stronger", action="store_true", help="also tl2cgen and daal4py")
    ap.add_argument("--lleaves", action="store_true", help="also lleaves (slow first compile)")
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

    xgb_ref = xgb_inplace(rows)
    lgb_ref = lgb_predict(rows)
    xgb_ref.astype("<f8").tofile(os.path.join(a.out, "xgb_pred.f64"))
    lgb_ref.astype("<f8").tofile(os.path.join(a.out, "lgbm_pred.f64"))

    xgb_single = per_call_p50_p99_us(xgb_inplace, rows, a.calls)
    lgb_single = per_call_p50_p99_us(lgb_predict, rows, a.calls)
    report = {
        "xgboost": xgb.__version__,
        "lightgbm": lgb.__version__,
        "rows": a.rows,
        "xgb_single_us": xgb_single[0],
        "xgb_single_p99_us": xgb_single[1],
        "xgb_single_dmatrix_us": per_call_us(xgb_dmatrix, rows, a.calls),
        "xgb_batch_rows_per_s": throughput(xgb_inplace, rows, 7),
        "xgb_batch_dmatrix_rows_per_s": throughput(xgb_dmatrix, rows, 7),
        "lgbm_single_us": lgb_single[0],
        "lgbm_single_p99_us": lgb_single[1],
        "lgbm_batch_rows_per_s": throughput(lgb_predict, rows, 7),
    }
    if a.stronger:
        tl2cgen_peers(report, a, xgb_path, lgb_path, rows, xgb_ref, lgb_ref)
        daal4py_peers(report, a, booster, lgbm, rows, xgb_ref, lgb_ref)
    if a.lleaves:
        lleaves_peer(report, a, lgb_path, rows, lgb_ref)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
