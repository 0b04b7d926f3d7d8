"""The reference Python service: FastAPI + scikit-learn serving the Iris forest.

This is the service Edgewood's Spin component replaces; `cargo xtask loadtest` runs it
under uvicorn (one worker) beside `edgewood serve` and puts the same load on both.
It loads the committed fixture tests/fixtures/iris_rf100.joblib (the model embedded in
Edgewood as core/models/iris.ewm) and validates each measurement to 0-10.

Run: uvicorn reference_service:app --host 127.0.0.1 --port 8000
(EDGEWOOD_IRIS_JOBLIB overrides the model path.)
"""

import os
from pathlib import Path

import joblib
from fastapi import FastAPI
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[2]
MODEL_PATH = os.environ.get("EDGEWOOD_IRIS_JOBLIB", str(ROOT / "tests/fixtures/iris_rf100.joblib"))
model = joblib.load(MODEL_PATH)
# Class labels as the service names them (the fixture may store names or 0-2 codes).
IRIS = ["setosa", "versicolor", "virginica"]
LABELS = [c if isinstance(c, str) else IRIS[int(c)] for c in model.classes_]

app = FastAPI(title="Iris classifier (reference)")


class IrisInput(BaseModel):
    sepal_length: float = Field(..., ge=0, le=10)
    sepal_width: float = Field(..., ge=0, le=10)
    petal_length: float = Field(..., ge=0, le=10)
    petal_width: float = Field(..., ge=0, le=10)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(x: IrisInput):
    row = [[x.sepal_length, x.sepal_width, x.petal_length, x.petal_width]]
    probabilities = model.predict_proba(row)[0]
    label = int(probabilities.argmax())
    return {
        "prediction": LABELS[label],
        "confidence": float(probabilities[label]),
        "probabilities": {LABELS[i]: float(p) for i, p in enumerate(probabilities)},
        "input": x.model_dump(),
    }
