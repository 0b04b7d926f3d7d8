//! XGBoost models saved with `save_model` as JSON or UBJSON (also from the
//! scikit-learn wrappers), read in two steps: [`XgbModel::parse`] keeps what the file
//! says, [`XgbModel::to_ensemble`] turns it into an [`Ensemble`] with XGBoost's own
//! arithmetic: float32 `x < t` decisions, float32 accumulation onto the base margin,
//! categorical sets whose members go right, and float32 sigmoid / softmax.

mod ensemble;
mod parse;
mod ubjson;

use std::fmt;

use edgewood_core::Ensemble;

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most trees and nodes per tree accepted (far beyond real models; bounds memory).
const MAX_TREES: usize = 1 << 20;
const MAX_NODES: usize = 1 << 24;

/// Why an XGBoost model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum XgbError {
    /// The JSON text is malformed.
    Json(String),
    /// The UBJSON bytes are malformed or truncated.
    Ubjson {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A field is missing or has the wrong type.
    Field {
        /// JSON path of the field.
        path: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A value is outside what the format allows.
    Invalid {
        /// JSON path (or tree and node) of the value.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A model feature this reader does not support (named).
    Unsupported(String),
}

impl fmt::Display for XgbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XgbError::Json(e) => write!(f, "XGBoost JSON: {e}"),
            XgbError::Ubjson { offset, reason } => {
                write!(f, "XGBoost UBJSON: {reason} at byte {offset}")
            }
            XgbError::Field { path, expected } => {
                write!(f, "XGBoost model: {path} is missing or not {expected}")
            }
            XgbError::Invalid { path, reason } => write!(f, "XGBoost model: {path}: {reason}"),
            XgbError::Unsupported(what) => write!(f, "XGBoost model: unsupported {what}"),
        }
    }
}

impl std::error::Error for XgbError {}

/// The objectives Edgewood reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// `binary:logistic`: sigmoid of the margin, two classes.
    BinaryLogistic,
    /// `binary:logitraw`: the raw margin (answered as a regression value).
    BinaryLogitRaw,
    /// `multi:softprob`: softmax over the class margins.
    SoftProb,
    /// `multi:softmax`: the class of highest margin (probabilities given as softmax).
    SoftMax,
    /// `reg:squarederror` and other identity-link regressions.
    Identity,
    /// `reg:logistic`: sigmoid of the margin as a value.
    RegLogistic,
    /// `count:poisson` and other log-link regressions: `exp` of the margin.
    Exp,
}

/// One tree as stored (parallel arrays, index = node id).
#[derive(Clone, Debug, PartialEq)]
pub struct XgbTree {
    /// Left child of each node, `-1` at leaves.
    pub left_children: Vec<i64>,
    /// Right child of each node.
    pub right_children: Vec<i64>,
    /// Feature of each split.
    pub split_indices: Vec<i64>,
    /// Threshold of each split, value of each leaf.
    pub split_conditions: Vec<f32>,
    /// Where a missing value goes at each split.
    pub default_left: Vec<bool>,
    /// `0` numeric, `1` categorical.
    pub split_type: Vec<u8>,
    /// Categories of each categorical node: (node id, categories).
    pub categories: Vec<(usize, Vec<u32>)>,
    /// Each node's `sum_hessian` (its cover for explanations); empty when absent.
    pub sum_hessian: Vec<f32>,
}

/// A faithful parse of an XGBoost model file.
#[derive(Clone, Debug, PartialEq)]
pub struct XgbModel {
    /// `version` of the writer, e.g. `[3, 2, 0]`.
    pub version: Vec<i64>,
    /// `learner.objective.name`.
    pub objective_name: String,
    /// The objective, recognised.
    pub objective: Objective,
    /// Number of input features.
    pub num_feature: usize,
    /// Number of classes (0 for single-output objectives).
    pub num_class: usize,
    /// `base_score` values as stored (probability space for logistic objectives).
    pub base_score: Vec<f32>,
    /// Feature names (may be empty).
    pub feature_names: Vec<String>,
    /// The trees in order.
    pub trees: Vec<XgbTree>,
    /// Output group (class) of each tree.
    pub tree_info: Vec<usize>,
    /// DART weights, one per tree, when the booster is `dart`.
    pub weight_drop: Option<Vec<f32>>,
    /// `classes_` from the scikit-learn wrapper's attributes, when stored.
    pub classes: Option<Vec<String>>,
}

/// Whether `bytes` look like an XGBoost UBJSON model (an object whose first key has a
/// UBJSON length marker) rather than JSON text.
pub fn is_ubjson(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
        && matches!(
            bytes.get(1),
            Some(b'U' | b'i' | b'I' | b'l' | b'L' | b'$' | b'#')
        )
}

/// Whether `bytes` look like an XGBoost model, JSON or UBJSON.
pub fn sniff(bytes: &[u8]) -> bool {
    if is_ubjson(bytes) {
        return bytes.windows(7).take(64).any(|w| w == b"learner");
    }
    let head = &bytes[..bytes.len().min(256)];
    let text = String::from_utf8_lossy(head);
    text.trim_start().starts_with('{') && text.contains("\"learner\"")
}

/// Reads a model from JSON or UBJSON bytes and converts it, checked as
/// [`crate::convert`] checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// XGBoost's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| {
        sniff(bytes).then(|| {
            if is_ubjson(bytes) {
                SourceFormat::XgboostUbjson
            } else {
                SourceFormat::XgboostJson
            }
        })
    },
    read: |bytes, _, _| read_unchecked(bytes),
    read_owned: None,
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(XgbModel::parse(bytes)?.to_ensemble()?)
}
