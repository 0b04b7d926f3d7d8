"""Writes the benchmark peers of the Iris model into web/bench/peers/ (gitignored):
m2cgen-generated JavaScript of tests/fixtures/iris_rf100.joblib, as an ES module, and
a copy of the committed skl2onnx model tests/fixtures/rf_iris.onnx.

Run by `cargo xtask bench-web` with the venv in web/bench/.venv."""

import pathlib
import shutil
import sys

import joblib
import m2cgen

here = pathlib.Path(__file__).resolve().parent
fixtures = here.parent.parent / "tests" / "fixtures"
peers = here / "peers"
peers.mkdir(exist_ok=True)

sys.setrecursionlimit(100_000)  # m2cgen recurses once per tree level and per tree
model = joblib.load(fixtures / "iris_rf100.joblib")
code = m2cgen.export_to_javascript(model)
(peers / "m2cgen_iris.js").write_text(code + "\nexport { score };\n")
shutil.copyfile(fixtures / "rf_iris.onnx", peers / "rf_iris.onnx")
print(f"wrote {peers / 'm2cgen_iris.js'} ({len(code)} bytes) and rf_iris.onnx")
