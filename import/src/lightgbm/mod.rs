//! LightGBM text models (`Booster.save_model`, `model.txt`), read in two steps:
//! [`LgbmModel::parse`] is a bounded, line-based parse of the header and `Tree=` blocks;
//! [`LgbmModel::to_ensemble`] builds an [`Ensemble`] with LightGBM's arithmetic:
//! float64 `x <= t`, the missing types None / Zero / NaN, categorical bitsets whose
//! members go left, float64 sums, and the objective's transform.

mod ensemble;
mod parse;

use std::fmt;

use edgewood_core::Ensemble;

use crate::reader::Reader;
use crate::{ImportError, SourceFormat};

/// Most trees, and leaves per tree, accepted (bounds memory on hostile files).
const MAX_TREES: usize = 1 << 20;
const MAX_LEAVES: usize = 1 << 24;

/// Why a LightGBM model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LgbmError {
    /// The text is not a LightGBM model.
    NotLightGbm,
    /// A line or field is malformed (line numbers start at 1).
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A header or tree field is missing.
    Missing {
        /// The tree, or `None` for the header.
        tree: Option<usize>,
        /// The field name.
        field: &'static str,
    },
    /// A tree is inconsistent (lengths, children, categories).
    Tree {
        /// The `Tree=` number.
        tree: usize,
        /// What is wrong.
        reason: String,
    },
    /// A model feature this reader does not support (named).
    Unsupported(String),
}

impl fmt::Display for LgbmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LgbmError::NotLightGbm => {
                write!(f, "not a LightGBM text model (no `tree` header line)")
            }
            LgbmError::Syntax { line, reason } => write!(f, "LightGBM model line {line}: {reason}"),
            LgbmError::Missing { tree: None, field } => {
                write!(f, "LightGBM model: header field `{field}` is missing")
            }
            LgbmError::Missing {
                tree: Some(t),
                field,
            } => write!(f, "LightGBM model: Tree={t} has no `{field}`"),
            LgbmError::Tree { tree, reason } => write!(f, "LightGBM model: Tree={tree}: {reason}"),
            LgbmError::Unsupported(what) => write!(f, "LightGBM model: unsupported {what}"),
        }
    }
}

impl std::error::Error for LgbmError {}

/// One `Tree=` block as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LgbmTree {
    /// Leaves in the tree (splits are one fewer).
    pub num_leaves: usize,
    /// Feature index of each split.
    pub split_feature: Vec<i64>,
    /// Threshold of each split (a `cat_boundaries` index for categorical ones).
    pub threshold: Vec<f64>,
    /// Bit 0 categorical, bit 1 default left, bits 2–3 missing type.
    pub decision_type: Vec<u8>,
    /// Left child: a split index, or `!leaf` when negative.
    pub left_child: Vec<i64>,
    /// Right child, as `left_child`.
    pub right_child: Vec<i64>,
    /// Value of each leaf.
    pub leaf_value: Vec<f64>,
    /// Word ranges of each categorical set in `cat_threshold`.
    pub cat_boundaries: Vec<i64>,
    /// Bitset words of the categorical sets.
    pub cat_threshold: Vec<u32>,
    /// Linear leaves (not supported).
    pub is_linear: bool,
    /// Training rows that reached each split (its cover for explanations).
    pub internal_count: Vec<f64>,
    /// Training rows that reached each leaf.
    pub leaf_count: Vec<f64>,
}

/// A faithful parse of a LightGBM text model.
#[derive(Clone, Debug, PartialEq)]
pub struct LgbmModel {
    /// `version=` of the writer, e.g. `v4`.
    pub version: String,
    /// `num_class=`.
    pub num_class: usize,
    /// Trees per boosting round (one per class for multiclass).
    pub num_tree_per_iteration: usize,
    /// Highest feature index (features are one more).
    pub max_feature_idx: usize,
    /// The `objective=` line, e.g. `binary sigmoid:1`.
    pub objective: String,
    /// `average_output` (random-forest mode).
    pub average_output: bool,
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// The `Tree=` blocks in order.
    pub trees: Vec<LgbmTree>,
}

/// Whether `bytes` look like a LightGBM text model.
pub fn sniff(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.starts_with(b"tree\n") || head.starts_with(b"tree\r\n")
}

/// Parses and converts a LightGBM text model, checked as [`crate::convert`] checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    crate::checked(read_unchecked(bytes)?)
}

/// LightGBM's entry in the reader table.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| sniff(bytes).then_some(SourceFormat::LightGbm),
    read: |bytes, _, _| read_unchecked(bytes),
    read_owned: None,
};

fn read_unchecked(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    Ok(LgbmModel::parse(bytes)?.to_ensemble()?)
}
