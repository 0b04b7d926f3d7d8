"""Compiled peers shared by the benchmarks: tl2cgen (a treelite model turned into C and
built with gcc), with the built library cached under target/bench and rebuilt only
when missing. The file name carries a hash of the model file and the tl2cgen version,
so a retrained model or a new pin builds a new library.
"""
import hashlib
import os
import time

import numpy as np
import tl2cgen
import treelite


def file_key(path):
    """The first 12 hex digits of the SHA-256 of a file."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def tl2cgen_lib(load_model, model_path, cache_dir, name, parallel_comp=None):
    """The path of the tl2cgen library for the model at `model_path`, building it when
    missing: `load_model()` gives the treelite model. gcc with tl2cgen's own flags
    (-O3 -fPIC -std=c99). Returns (path, seconds spent building, 0 when cached)."""
    os.makedirs(cache_dir, exist_ok=True)
    key = f"{file_key(model_path)}-{tl2cgen.__version__}-{treelite.__version__}"
    lib = os.path.join(cache_dir, f"{name}-{key}.so")
    if os.path.exists(lib):
        return lib, 0.0
    params = {"parallel_comp": parallel_comp} if parallel_comp else {}
    t = time.perf_counter()
    tmp = lib + ".tmp.so"
    tl2cgen.export_lib(load_model(), toolchain="gcc", libpath=tmp, params=params,
                       nthread=os.cpu_count())
    os.replace(tmp, lib)
    return lib, time.perf_counter() - t


def tl2cgen_predictor(lib, dtype=None):
    """A one-thread tl2cgen predictor, as two functions of numpy rows: `predict(x)`
    builds the DMatrix inside the call (what a caller holding a numpy row pays), and
    `batch(d)` predicts a DMatrix made beforehand by `dmatrix(x)` (the peer's best
    case for batches). Rows are passed as `dtype`, by default the model's threshold
    type (float32 input is faster, and exact where the library itself rounds rows to
    float32 first, as scikit-learn's forests do); outputs are flattened to (rows, k)."""
    pred = tl2cgen.Predictor(lib, nthread=1)
    dtype = dtype or pred.threshold_type

    def dmatrix(x):
        return tl2cgen.DMatrix(np.ascontiguousarray(x, dtype=dtype), dtype=dtype)

    def predict(x):
        return pred.predict(dmatrix(x)).reshape(len(x), -1)

    def batch(d):
        return pred.predict(d).reshape(d.shape[0], -1)

    return pred, predict, batch, dmatrix
