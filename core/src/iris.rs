//! The embedded default model: Iris, `RandomForestClassifier(n_estimators=100,
//! random_state=42)` fit on the whole Iris data — the reference Python service's model.
//!
//! `core/models/iris.ewm` is converted from the committed joblib fixture
//! `tests/fixtures/iris_rf100.joblib`; a test in `edgewood-import` re-converts it and
//! asserts the bytes are identical, so the two cannot drift apart. Features
//! `sepal_length, sepal_width, petal_length, petal_width` each accept 0–10 (the
//! reference service's validation); classes `setosa, versicolor, virginica`.

use crate::{FormatError, Model};

/// The `.ewm` bytes of the embedded Iris model.
pub const EWM: &[u8] = include_bytes!("../models/iris.ewm");

/// Opens the embedded Iris model (O(1): used in place).
pub fn model() -> Result<Model<'static>, FormatError> {
    Model::open(EWM)
}
