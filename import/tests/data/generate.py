"""Small fixtures of edgewood-import's own (the shared ones live in tests/fixtures).

Run with the fixture venv of tests/fixtures (scikit-learn 1.9.1):
    python generate.py
"""
import numpy as np
import joblib
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["sepal length", "sepal width", "petal length", "petal width"]
# Labels as a numpy '<U10' array: classes_ is then a fixed-width unicode array, and
# the model carries feature_names_in_ (an object array, a nested pickle in joblib).
labels = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
rf = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, labels)
joblib.dump(rf, "frame_rf3.joblib", compress=("gzip", 6))

rows = X.to_numpy()[::7]
proba = rf.predict_proba(X.iloc[::7])
pred = rf.predict(X.iloc[::7])
with open("frame_rf3.input.csv", "w") as f:
    f.write(",".join(X.columns) + "\n")
    for r in rows:
        f.write(",".join(repr(float(v)) for v in r) + "\n")
with open("frame_rf3.expected.csv", "w") as f:
    f.write("label," + ",".join(f"p_{c}" for c in rf.classes_) + "\n")
    for p, l in zip(proba, pred):
        f.write(l + "," + ",".join(repr(float(v)) for v in p) + "\n")
