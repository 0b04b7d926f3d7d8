//! ONNX `ai.onnx.ml` TreeEnsembleClassifier / TreeEnsembleRegressor models (as written by
//! skl2onnx and onnxmltools), read in two steps: [`OnnxTrees::parse`] decodes the few
//! protobuf messages involved into the operator's parallel attribute arrays (opset 1
//! float attributes and opset 3 `*_as_tensor` doubles); [`OnnxTrees::to_ensemble`]
//! builds the trees, mapping every branch mode onto `<=` splits.
//!
//! `BRANCH_EQ` / `BRANCH_NEQ` follow ONNX Runtime exactly: `x == t` (or `x != t`) on the
//! float32 input, NaN going to the true branch when `nodes_missing_value_tracks_true`
//! says so for EQ, and always for NEQ (`NaN != t` holds). The core has only `<=`
//! splits, so `x == t` becomes `x <= t` and not `x <= next_down(t)`, and the "not
//! equal" subtree is written once on each side. A chain of EQ nodes on one feature
//! sharing their true child (how onnxmltools writes a LightGBM categorical split, one
//! node per category) is one set test: a search over the sorted members, each member
//! a point region, where every region holds a copy of its subtree. Copies are bounded:
//! a model whose expansion needs more than [`EXPANSION`] × its node values plus
//! [`EXPANSION_EXTRA`] is refused, with that figure in the message.
//!
//! The arithmetic target is the *source* model (usually scikit-learn, which casts the
//! input to float32), so splits compare the float32 input. An opset 3 file carries the
//! source's exact float64 thresholds and reproduces its decisions; an opset 1 file has
//! only float32 thresholds and leaf weights, a documented approximation (see the tests).

mod ensemble;
mod expand;
mod parse;
mod proto;

use std::collections::HashMap;
use std::fmt;

use edgewood_core::Ensemble;

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most tree nodes accepted over the whole model.
const MAX_NODES: usize = 1 << 26;

/// How many node values (a split is one, a leaf one per output) the expansion of
/// EQ/NEQ splits may write per node value of the file, on top of [`EXPANSION_EXTRA`].
pub const EXPANSION: usize = 4;

/// Node values any model may add by expansion whatever its size (some 60 MB at
/// most): onnxmltools' LightGBM categorical splits need 10× a small model (measured
/// on the `lgbm_categorical` fixture), while a small file of nested EQ nodes, each
/// doubling the tree below it, must not allocate without bound.
pub const EXPANSION_EXTRA: usize = 1 << 20;

/// Why an ONNX model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OnnxError {
    /// The protobuf bytes are malformed or truncated.
    Protobuf {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The graph holds no tree ensemble, or an operator Edgewood does not run.
    Graph(String),
    /// An attribute of the ensemble is missing or inconsistent.
    Attribute {
        /// The attribute, e.g. `nodes_truenodeids`.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Protobuf { offset, reason } => {
                write!(f, "ONNX model: {reason} at byte {offset}")
            }
            OnnxError::Graph(what) => write!(f, "ONNX model: {what}"),
            OnnxError::Attribute { name, reason } => {
                write!(f, "ONNX model: attribute {name}: {reason}")
            }
        }
    }
}

impl std::error::Error for OnnxError {}

/// The value of one operator attribute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribute {
    /// `ints`, or `i` as a single value.
    pub ints: Vec<i64>,
    /// `floats` (widened), `f`, or a float/double tensor `t`.
    pub floats: Vec<f64>,
    /// `strings`, or `s` as a single value.
    pub strings: Vec<String>,
}

/// A faithful parse: the ensemble operator's attributes and the model's input width.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxTrees {
    /// `TreeEnsembleClassifier` or `TreeEnsembleRegressor`.
    pub op_type: String,
    /// Attributes by name.
    pub attributes: HashMap<String, Attribute>,
    /// Features in the graph input's shape, when it states one.
    pub n_features: Option<usize>,
    /// The graph input's name.
    pub input_name: String,
    /// `producer_name producer_version`, e.g. `skl2onnx 1.20.0`.
    pub producer: String,
}

/// Whether `bytes` look like an ONNX model holding a tree ensemble.
pub fn sniff(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x08) && bytes.windows(12).any(|w| w == b"TreeEnsemble")
}

/// Parses and converts an ONNX tree-ensemble model, checked as [`crate::convert`]
/// checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// ONNX's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| sniff(bytes).then_some(SourceFormat::Onnx),
    read: |bytes, _, _| read_unchecked(bytes),
    read_owned: None,
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(OnnxTrees::parse(bytes)?.to_ensemble()?)
}

impl OnnxTrees {
    fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.get(name)
    }

    fn ints(&self, name: &str) -> Result<&[i64], OnnxError> {
        self.get(name)
            .map(|a| a.ints.as_slice())
            .ok_or_else(|| OnnxError::Attribute {
                name: name.into(),
                reason: "missing".into(),
            })
    }

    /// A float attribute, preferring the opset 3 `*_as_tensor` double form.
    fn floats(&self, name: &str) -> Result<&[f64], OnnxError> {
        self.get(&format!("{name}_as_tensor"))
            .or_else(|| self.get(name))
            .map(|a| a.floats.as_slice())
            .ok_or_else(|| OnnxError::Attribute {
                name: name.into(),
                reason: "missing".into(),
            })
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|a| a.strings.first())
            .map(String::as_str)
    }
}
