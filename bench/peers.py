"""Peers of the Iris RF100 benchmark (`cargo xtask bench`): the same rows through
scikit-learn predict_proba, ONNX Runtime (the model converted with skl2onnx) and
tl2cgen (the model compiled to C by gcc, cached under --cache), single thread,
in-process. Prints one JSON line. Not run in CI.
"""
import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import skl2onnx  # noqa: E402
import sklearn  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402


import tl2cgen  # noqa: E402
import treelite  # noqa: E402

from compiled import tl2cgen_lib, tl2cgen_predictor  # noqa: E402 (beside this script)
from timing import per_call_p50_p99_us, rows_per_s, throughput  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True, help="little-endian float64, 4 per row")
    ap.add_argument("--model", required=True, help="the Iris RF100 joblib fixture")
    ap.add_argument("--cache", required=True, help="directory for the compiled tl2cgen library")
    a = ap.parse_args()

    x = np.fromfile(a.rows, dtype="<f8").reshape(-1, 4)
    clf = joblib.load(a.model)
    clf.n_jobs = 1
    x32 = x.astype(np.float32)

    onx = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": False}},
    )
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(
        onx.SerializeToString(), so, providers=["CPUExecutionProvider"]
    )
    out_name = [o.name for o in sess.get_outputs() if "prob" in o.name][0]

    def ort_run(r):
        return sess.run([out_name], {"input": r})[0]

    lib, build_s = tl2cgen_lib(
        lambda: treelite.sklearn.import_model(clf), a.model, a.cache, "iris_rf100"
    )
    # scikit-learn casts rows to float32 before comparing with its float64
    # thresholds, so float32 rows (tl2cgen's faster input here) are exact.
    _, tl_run, tl_batch, tl_dmatrix = tl2cgen_predictor(lib, "float32")
    tl_all = tl_dmatrix(x32)

    # Warm up all three.
    clf.predict_proba(x[:10])
    ort_run(x32[:10])
    tl_run(x32[:10])
    proba = clf.predict_proba(x)
    sk_single = per_call_p50_p99_us(clf.predict_proba, x, 200)
    ort_single = per_call_p50_p99_us(ort_run, x32, 20000)
    tl_single = per_call_p50_p99_us(tl_run, x32, 20000)

    result = {
        "rows": len(x),
        "sklearn_version": sklearn.__version__,
        "onnxruntime_version": ort.__version__,
        "skl2onnx_version": skl2onnx.__version__,
        "sklearn_single_us": sk_single[0],
        "sklearn_single_p99_us": sk_single[1],
        "sklearn_batch_rows_per_s": throughput(clf.predict_proba, x, 3),
        "ort_single_us": ort_single[0],
        "ort_single_p99_us": ort_single[1],
        "ort_batch_rows_per_s": throughput(ort_run, x32, 5),
        "max_abs_diff_vs_sklearn": float(np.max(np.abs(ort_run(x32) - proba))),
        "tl2cgen_version": tl2cgen.__version__,
        "treelite_version": treelite.__version__,
        "tl2cgen_build_s": build_s,
        "tl2cgen_single_us": tl_single[0],
        "tl2cgen_single_p99_us": tl_single[1],
        "tl2cgen_batch_rows_per_s": rows_per_s(lambda: tl_batch(tl_all), len(x), 15),
        "tl2cgen_batch_with_dmatrix_rows_per_s": throughput(tl_run, x32, 15),
        "tl2cgen_max_abs_diff_vs_sklearn": float(np.max(np.abs(tl_run(x32) - proba))),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
