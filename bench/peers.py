"""Peers of the Iris RF100 benchmark (`cargo xtask bench`): the same rows through
scikit-learn predict_proba and ONNX Runtime (the model converted with skl2onnx),
single thread, in-process. Prints one JSON line. Not run in CI.
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


from timing import per_call_us, throughput  # noqa: E402 (beside this script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True, help="little-endian float64, 4 per row")
    ap.add_argument("--model", required=True, help="the Iris RF100 joblib fixture")
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

    # Warm up both.
    clf.predict_proba(x[:10])
    ort_run(x32[:10])

    result = {
        "rows": len(x),
        "sklearn_version": sklearn.__version__,
        "onnxruntime_version": ort.__version__,
        "skl2onnx_version": skl2onnx.__version__,
        "sklearn_single_us": per_call_us(clf.predict_proba, x, 200),
        "sklearn_batch_rows_per_s": throughput(clf.predict_proba, x, 3),
        "ort_single_us": per_call_us(ort_run, x32, 20000),
        "ort_batch_rows_per_s": throughput(ort_run, x32, 5),
        "max_abs_diff_vs_sklearn": float(
            np.max(np.abs(ort_run(x32) - clf.predict_proba(x)))
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
