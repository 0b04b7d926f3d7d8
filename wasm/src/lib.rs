//! The WebAssembly engine of the `edgewood` npm package: wasm-bindgen bindings over
//! `edgewood-core`.
//!
//! This crate is the low-level half of the package. The hand-written JavaScript in
//! `wasm/js/` is the public API (`Model.iris()`, `Model.load()`, `model.predict({…})`);
//! it talks to the [`Engine`] exported here through a deliberately narrow interface:
//!
//! - rows travel through buffers that live in wasm memory ([`Engine::row_ptr`],
//!   [`Engine::reserve`]), which JavaScript fills through typed-array views, so a
//!   prediction crosses the boundary without allocating or copying objects;
//! - failures are reported by a status return plus [`last_error_code`],
//!   [`last_error_message`], [`last_error_feature`] and [`last_error_row`], so the
//!   JavaScript side can throw an `Error` with stable `code` and `feature` fields
//!   without this crate pulling in `js-sys`.
//!
//! Every check (feature names, missing and out-of-range values, corrupt models) is the
//! core's own, so the page refuses exactly what the CLI and the HTTP service refuse,
//! with the same words. What this crate is *not*: a reader of foreign formats (that is
//! the separately built converter in `wasm/convert/`, kept out of this binary so that
//! the default package stays small).

use std::cell::RefCell;

use edgewood_core::{
    first_max, FormatError, InputError, Model, PredictError, PreparedModel, TaskKind,
};
use self_cell::self_cell;
use wasm_bindgen::prelude::*;

/// The last failure, read by JavaScript right after a call returned a failure status.
struct LastError {
    code: &'static str,
    message: String,
    feature: Option<String>,
    row: Option<usize>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_error(code: &'static str, message: String, feature: Option<String>, row: Option<usize>) {
    LAST_ERROR.with(|e| {
        *e.borrow_mut() = Some(LastError {
            code,
            message,
            feature,
            row,
        })
    });
}

fn set_input_error(e: &InputError, row: Option<usize>) {
    let message = match row {
        Some(r) => format!("row {r}: {e}"),
        None => e.to_string(),
    };
    set_error(e.code(), message, e.feature().map(str::to_owned), row);
}

/// A stable code for each way `.ewm` bytes can be refused.
fn format_code(e: &FormatError) -> &'static str {
    match e {
        FormatError::NotEwm => "not_ewm",
        FormatError::UnsupportedVersion(_) => "unsupported_version",
        FormatError::Truncated { .. } => "truncated",
        _ => "corrupt_model",
    }
}

fn set_predict_error(e: &PredictError, row: Option<usize>) {
    match e {
        PredictError::Input(e) => set_input_error(e, row),
        PredictError::Corrupt(f) => set_error(format_code(f), e.to_string(), None, row),
        PredictError::NoCover => set_error("no_cover", e.to_string(), None, row),
        // Sums that overflow to NaN or infinity (FORMAT.md §9): named, never returned.
        PredictError::NotFinite { row: r } => set_error(
            "prediction_not_finite",
            e.to_string(),
            None,
            row.or(Some(*r)),
        ),
        _ => set_error("internal", e.to_string(), None, row),
    }
}

/// The code of the last failure (`""` if none).
#[wasm_bindgen]
pub fn last_error_code() -> String {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or("", |e| e.code).to_owned())
}

/// The message of the last failure, in words.
#[wasm_bindgen]
pub fn last_error_message() -> String {
    LAST_ERROR.with(|e| {
        e.borrow()
            .as_ref()
            .map_or_else(String::new, |e| e.message.clone())
    })
}

/// The feature the last failure is about, if it is about one.
#[wasm_bindgen]
pub fn last_error_feature() -> Option<String> {
    LAST_ERROR.with(|e| e.borrow().as_ref().and_then(|e| e.feature.clone()))
}

/// The batch row the last failure is about, if it is about one.
#[wasm_bindgen]
pub fn last_error_row() -> Option<u32> {
    LAST_ERROR.with(|e| e.borrow().as_ref().and_then(|e| e.row.map(|r| r as u32)))
}

/// The crate (and package) version.
#[wasm_bindgen]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Whether this is the engine's SIMD build (with the interval-mask walk), which the
/// package's loaders pick where WebAssembly SIMD runs.
#[wasm_bindgen]
pub fn engine_simd() -> bool {
    cfg!(target_feature = "simd128")
}

/// The `.ewm` format version this engine reads.
#[wasm_bindgen]
pub fn format_version() -> u16 {
    edgewood_core::FORMAT_VERSION
}

/// Model bytes: the embedded Iris model is used in place, loaded ones are owned.
enum Bytes {
    Static(&'static [u8]),
    Owned(Box<[u8]>),
}

impl Bytes {
    fn get(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Owned(b) => b,
        }
    }
}

/// The opened model, and its trees once decoded.
struct Walk<'a> {
    model: Model<'a>,
    /// The trees decoded once ([`PreparedModel`]), which walk measurably faster than
    /// the model's bytes. None until [`Engine::decode`]: the embedded Iris model starts
    /// so, and a page's first prediction then walks the bytes, without waiting for the
    /// decoding or compiling its code and the decoded walk's (V8 compiles a wasm
    /// function on its first call); JavaScript asks for the decoding after it.
    decoded: Option<PreparedModel<'a>>,
}

self_cell!(
    /// The model's bytes and, borrowing them, the model with (once decoded) its trees:
    /// nothing is re-opened per call.
    struct Prepared {
        owner: Bytes,
        #[covariant]
        dependent: Walk,
    }
);

/// One opened model plus the wasm-memory buffers JavaScript reads and writes.
#[wasm_bindgen]
pub struct Engine {
    prepared: Prepared,
    n_features: usize,
    prediction_len: usize,
    classifier: bool,
    /// One row, written by JavaScript before [`Engine::predict_one`].
    row: Vec<f64>,
    /// The prediction of [`Engine::predict_one`].
    out: Vec<f64>,
    /// A batch of rows, sized by [`Engine::reserve`].
    batch_in: Vec<f64>,
    batch_out: Vec<f64>,
    batch_labels: Vec<u32>,
}

impl Engine {
    /// Opens `bytes` with `open`, without decoding the trees ([`Walk::decoded`]). `open`
    /// is a function pointer, so that the opening stays a function of its own in the
    /// wasm: V8 compiles each function on its first call, and the embedded model's
    /// first call then compiles no validation code it does not run.
    fn new(bytes: Bytes, open: fn(&[u8]) -> Result<Model<'_>, FormatError>) -> Option<Engine> {
        let prepared = Prepared::try_new(bytes, |bytes| {
            open(bytes.get()).map(|model| Walk {
                model,
                decoded: None,
            })
        });
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                set_error(format_code(&e), e.to_string(), None, None);
                return None;
            }
        };
        let model = &prepared.borrow_dependent().model;
        let (n_features, prediction_len) = (model.n_features(), model.prediction_len());
        let classifier = model.task() == TaskKind::Classification;
        Some(Engine {
            prepared,
            n_features,
            prediction_len,
            classifier,
            row: vec![0.0; n_features],
            out: vec![0.0; prediction_len],
            batch_in: Vec::new(),
            batch_out: Vec::new(),
            batch_labels: Vec::new(),
        })
    }

    /// The model view (schema, labels, validation).
    fn model(&self) -> &Model<'_> {
        &self.prepared.borrow_dependent().model
    }
}

#[wasm_bindgen]
impl Engine {
    /// The embedded Iris model. Its bytes are part of this binary and a test validates
    /// them (`embedded_iris_is_valid`), so the page's cold start skips the full
    /// validation: only the header is read. Its trees are decoded after the first
    /// prediction (see `Walk::decoded`).
    pub fn iris() -> Option<Engine> {
        Engine::new(Bytes::Static(edgewood_core::iris::EWM), |b| Model::open(b))
    }

    /// Opens and fully validates `.ewm` bytes, and decodes the trees; `undefined` (and
    /// a last error) if refused.
    pub fn load(bytes: Vec<u8>) -> Option<Engine> {
        let mut engine = Engine::new(Bytes::Owned(bytes.into_boxed_slice()), |b| {
            Model::open_validated(b)
        })?;
        engine.decode().then_some(engine)
    }

    /// Decodes the trees if they are not yet (see `Walk`). Returns false after
    /// recording the error if the decoding refuses the model (a structural fault that
    /// the full validation of loaded models and the test of the embedded one rule out).
    pub fn decode(&mut self) -> bool {
        let decoded = self
            .prepared
            .with_dependent_mut(|_, walk| match walk.decoded {
                None => PreparedModel::new(walk.model).map(|p| walk.decoded = Some(p)),
                Some(_) => Ok(()),
            });
        if let Err(e) = &decoded {
            set_error(format_code(e), e.to_string(), None, None);
        }
        decoded.is_ok()
    }

    /// Number of input features.
    pub fn n_features(&self) -> u32 {
        self.n_features as u32
    }

    /// Values per prediction: the number of classes, or 1 for a regressor.
    pub fn prediction_len(&self) -> u32 {
        self.prediction_len as u32
    }

    /// Whether the model is a classifier.
    pub fn is_classifier(&self) -> bool {
        self.classifier
    }

    /// Whether the class labels were integers in the source model.
    pub fn integer_labels(&self) -> bool {
        self.model().integer_labels()
    }

    /// Name of feature `i`.
    pub fn feature_name(&self, i: u32) -> String {
        self.model().feature_name(i as usize).to_owned()
    }

    /// `[min, max]` of the valid range of feature `i`, or an empty array.
    pub fn valid_range(&self, i: u32) -> Vec<f64> {
        self.model()
            .valid_range(i as usize)
            .map_or_else(Vec::new, |(a, b)| vec![a, b])
    }

    /// `[min, max]` seen in training for feature `i`, or an empty array.
    pub fn train_range(&self, i: u32) -> Vec<f64> {
        self.model()
            .train_range(i as usize)
            .map_or_else(Vec::new, |(a, b)| vec![a, b])
    }

    /// Whether feature `i` accepts a missing value (NaN).
    pub fn allows_missing(&self, i: u32) -> bool {
        self.model().allows_missing(i as usize)
    }

    /// Label of class `i`.
    pub fn class_label(&self, i: u32) -> String {
        self.model().class_label(i as usize).to_owned()
    }

    /// Where the model came from, e.g. `scikit-learn 1.9.1 RandomForestClassifier`.
    pub fn source(&self) -> String {
        self.model().source().to_owned()
    }

    /// Number of trees.
    pub fn n_trees(&self) -> u32 {
        self.model().n_trees() as u32
    }

    /// Greatest tree depth.
    pub fn max_depth(&self) -> u32 {
        self.model().max_depth() as u32
    }

    /// Size of the model in bytes.
    pub fn byte_len(&self) -> u32 {
        self.prepared.borrow_owner().get().len() as u32
    }

    /// Where the model's bytes are, for the explainer (`edgewood-wasm-explain`), which
    /// takes a copy of them ([`Engine::byte_len`] bytes).
    pub fn bytes_ptr(&self) -> *const u8 {
        self.prepared.borrow_owner().get().as_ptr()
    }

    /// Whether the model can be explained; if not, records why (`no_cover`: it records
    /// no covers, §11).
    pub fn check_explainable(&self) -> bool {
        let explainable = self.model().has_cover();
        if !explainable {
            set_predict_error(&PredictError::NoCover, None);
        }
        explainable
    }

    /// Validates the row at [`Engine::row_ptr`] without predicting (the explainer
    /// explains only rows the engine accepts). Returns false after recording the error.
    pub fn validate_one(&self) -> bool {
        match self.model().validate_row(&self.row) {
            Ok(()) => true,
            Err(e) => {
                set_input_error(&e, None);
                false
            }
        }
    }

    /// Validates the first `n_rows` rows of the reserved batch without predicting.
    /// Returns false after recording the first refused row's error (with its index).
    pub fn validate_batch(&self, n_rows: u32) -> bool {
        let nf = self.n_features;
        let rows = self.batch_in.chunks_exact(nf).take(n_rows as usize);
        for (r, row) in rows.enumerate() {
            if let Err(e) = self.model().validate_row(row) {
                set_input_error(&e, Some(r));
                return false;
            }
        }
        true
    }

    /// Where JavaScript writes the row for [`Engine::predict_one`] (`n_features` f64).
    /// Stable for the engine's life.
    pub fn row_ptr(&self) -> *const f64 {
        self.row.as_ptr()
    }

    /// Where [`Engine::predict_one`] leaves its prediction (`prediction_len` f64).
    /// Stable for the engine's life.
    pub fn out_ptr(&self) -> *const f64 {
        self.out.as_ptr()
    }

    /// Validates and predicts the row at [`Engine::row_ptr`]. Returns the class index
    /// (0 for a regressor), or -1 after recording the error.
    pub fn predict_one(&mut self) -> i32 {
        let walk = self.prepared.borrow_dependent();
        if let Err(e) = walk.model.validate_row(&self.row) {
            set_input_error(&e, None);
            return -1;
        }
        let predicted = match &walk.decoded {
            Some(prepared) => predict_decoded(prepared, &self.row, &mut self.out),
            None => walk.model.predict_into(&self.row, &mut self.out),
        };
        if let Err(e) = predicted {
            set_predict_error(&e, None);
            return -1;
        }
        if self.classifier {
            first_max(&self.out) as i32
        } else {
            0
        }
    }

    /// Records why a row given by feature names is refused: the core's own check of
    /// unknown, duplicate and missing names and of each value, in the caller's order.
    /// Returns whether the row is acceptable.
    pub fn check_named(&self, names: Vec<String>, values: Vec<f64>) -> bool {
        let pairs = names.iter().map(String::as_str).zip(values.iter().copied());
        match self.model().row_from_named(pairs) {
            Ok(_) => true,
            Err(e) => {
                set_input_error(&e, None);
                false
            }
        }
    }

    /// Makes room for a batch of `n_rows` and returns where JavaScript writes its
    /// `n_rows × n_features` f64 values. Invalidates earlier batch pointers.
    pub fn reserve(&mut self, n_rows: u32) -> *mut f64 {
        let n = n_rows as usize;
        self.batch_in.resize(n * self.n_features, 0.0);
        self.batch_out.resize(n * self.prediction_len, 0.0);
        self.batch_labels.resize(n, 0);
        self.batch_in.as_mut_ptr()
    }

    /// Where [`Engine::predict_batch`] leaves `n_rows × prediction_len` f64 values.
    pub fn batch_out_ptr(&self) -> *const f64 {
        self.batch_out.as_ptr()
    }

    /// Where [`Engine::predict_batch`] leaves one class index (u32) per row.
    pub fn batch_labels_ptr(&self) -> *const u32 {
        self.batch_labels.as_ptr()
    }

    /// Validates and predicts the first `n_rows` rows of the reserved batch. Returns
    /// false after recording the first refused row's error (with its row index).
    pub fn predict_batch(&mut self, n_rows: u32) -> bool {
        let n = n_rows as usize;
        let (nf, len) = (self.n_features, self.prediction_len);
        if n * nf > self.batch_in.len() {
            set_error(
                "internal",
                format!("{n} rows were not reserved"),
                None,
                None,
            );
            return false;
        }
        // Batches are where the decoded walk pays most.
        if !self.decode() {
            return false;
        }
        let Some(prepared) = &self.prepared.borrow_dependent().decoded else {
            return false;
        };
        let (model, classify) = (prepared.model(), self.classifier);
        let rows = &self.batch_in[..n * nf];
        // Validate every row first (the first refused row is reported with its index),
        // then predict the whole batch in one call: the decoded trees walk rows in lock-step.
        for (r, row) in rows.chunks_exact(nf).enumerate() {
            if let Err(e) = model.validate_row(row) {
                set_input_error(&e, Some(r));
                return false;
            }
        }
        let out = &mut self.batch_out[..n * len];
        if let Err(e) = prepared.predict_batch(rows, out) {
            set_predict_error(&e, None);
            return false;
        }
        for (label, o) in self.batch_labels.iter_mut().zip(out.chunks_exact(len)) {
            *label = if classify { first_max(o) as u32 } else { 0 };
        }
        true
    }
}

/// [`PreparedModel::predict_into`], a function of its own: V8 compiles a wasm function
/// as a whole on its first call, so `predict_one`'s first call, which walks the bytes
/// ([`Walk::decoded`]), does not compile the decoded walks (22 KB of wasm). `cargo
/// xtask wasm` keeps wasm-opt from inlining it back.
#[inline(never)]
fn predict_decoded(
    prepared: &PreparedModel,
    row: &[f64],
    out: &mut [f64],
) -> Result<(), PredictError> {
    prepared.predict_into(row, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Engine::iris`] skips the full validation because of this test.
    #[test]
    fn embedded_iris_is_valid() {
        let model = Model::open_validated(edgewood_core::iris::EWM).unwrap();
        // Nor does its decoding (`Engine::decode`) refuse it.
        assert!(PreparedModel::new(model).is_ok());
    }
}
