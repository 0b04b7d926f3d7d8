//! CatBoost models, read in two steps: a faithful parse of either file CatBoost writes
//! (the JSON export, [`json`], or the native `.cbm`, [`cbm`]) into one [`CbModel`], then
//! [`CbModel::to_ensemble`] with CatBoost's arithmetic.
//!
//! CatBoost's trees are oblivious (symmetric): every level of a tree tests one split, the
//! same for all its nodes, and a row's leaf index is the bit pattern of those tests
//! (level `i` sets bit `i`). A float split sets its bit when the float32 input is
//! `> border`; NaN sets it only when the feature's `nan_value_treatment` is `AsTrue`
//! (`nan_mode` Max). A one-hot split sets it when the input's category is the split's.
//! The raw value is `(0.0 + Σ leaves in tree order) × scale + bias`, in double.
//!
//! Not read: CTRs (target statistics over hashed categories), which CatBoost computes
//! with its own hashing and tables; text and embedding features; non-symmetric trees
//! (`grow_policy` Depthwise / Lossguide). Each is refused with a message that names it.

pub mod cbm;
mod ensemble;
pub mod hash;
pub mod json;

use std::fmt;

use edgewood_core::Ensemble;

use crate::reader::Reader;
use crate::{ImportError, ImportOptions, SourceFormat};

/// The deepest tree accepted (CatBoost itself trains at most 16 levels).
pub const MAX_DEPTH: usize = 16;
/// Most trees accepted.
const MAX_TREES: usize = 1 << 20;
/// Most outputs (classes) accepted.
const MAX_DIMENSION: usize = 1 << 16;
/// Most features accepted.
const MAX_FEATURES: usize = 65_535;

/// Why a CatBoost model could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CbError {
    /// A field is missing, of the wrong type, or inconsistent.
    Malformed {
        /// Where, as a JSON path (`oblivious_trees[3].leaf_values`) or a FlatBuffers
        /// table and field (`TModelCore.ModelTrees`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The model uses CTRs (target statistics of categorical features).
    Ctr {
        /// Where the first CTR appears.
        path: String,
    },
    /// A model feature Edgewood does not read (named).
    Unsupported(String),
}

impl fmt::Display for CbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CbError::Malformed { path, reason } => write!(f, "CatBoost model: {path}: {reason}"),
            CbError::Ctr { path } => write!(
                f,
                "CatBoost model: {path} uses CTRs (target statistics of categorical features), \
                 which Edgewood does not support; train with one_hot_max_size above the number \
                 of categories of every categorical feature so that only one-hot splits are used"
            ),
            CbError::Unsupported(what) => write!(f, "CatBoost model: unsupported {what}"),
        }
    }
}

impl std::error::Error for CbError {}

pub(crate) fn malformed(path: impl Into<String>, reason: impl Into<String>) -> CbError {
    CbError::Malformed {
        path: path.into(),
        reason: reason.into(),
    }
}

/// How a float feature's NaN is binarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NanTreatment {
    /// NaN compares as it is: `NaN > border` is false (no NaN seen in training).
    AsIs,
    /// NaN never sets a bit (`nan_mode` Min).
    AsFalse,
    /// NaN sets every bit (`nan_mode` Max).
    AsTrue,
}

/// A float feature: its column and borders.
#[derive(Clone, Debug, PartialEq)]
pub struct CbFloatFeature {
    /// The column among all features (`flat_feature_index`).
    pub flat_index: usize,
    /// The feature's name (may be empty).
    pub name: String,
    /// Where NaN goes.
    pub nan: NanTreatment,
}

/// A categorical feature: its column.
#[derive(Clone, Debug, PartialEq)]
pub struct CbCatFeature {
    /// The column among all features (`flat_feature_index`).
    pub flat_index: usize,
    /// The feature's name (may be empty).
    pub name: String,
}

/// One level of an oblivious tree.
#[derive(Clone, Debug, PartialEq)]
pub enum CbSplit {
    /// `x > border` (float32) sets the bit.
    Float {
        /// Index into [`CbModel::float_features`].
        feature: usize,
        /// The border.
        border: f32,
    },
    /// The input's category hash equals `hash` sets the bit.
    OneHot {
        /// Index into [`CbModel::cat_features`].
        feature: usize,
        /// CatBoost's 32-bit hash of the category's text.
        hash: u32,
    },
}

/// An oblivious tree: `splits[i]` sets bit `i` of the leaf index; leaf `j`'s values are
/// `leaf_values[j * dimension..][..dimension]`.
#[derive(Clone, Debug, PartialEq)]
pub struct CbTree {
    /// The levels, bit 0 first.
    pub splits: Vec<CbSplit>,
    /// `dimension << splits.len()` values.
    pub leaf_values: Vec<f64>,
    /// Training weight of each leaf (its cover), when the file has them.
    pub leaf_weights: Vec<f64>,
}

/// A faithful parse of a CatBoost model, from either file format.
#[derive(Clone, Debug, PartialEq)]
pub struct CbModel {
    /// Float features, by their `feature_index`.
    pub float_features: Vec<CbFloatFeature>,
    /// Categorical features, by their `feature_index`.
    pub cat_features: Vec<CbCatFeature>,
    /// Category texts by hash, where the file names them (a JSON export saved with its
    /// training pool); a one-hot split whose category is not named is refused.
    pub category_names: Vec<(u32, String)>,
    /// The trees in order.
    pub trees: Vec<CbTree>,
    /// Values per leaf: 1, or the number of classes (MultiClass).
    pub dimension: usize,
    /// Multiplies the sum of leaves.
    pub scale: f64,
    /// Added after scaling, one per output.
    pub bias: Vec<f64>,
    /// The training parameters (`model_info.params`), when present.
    pub params: Option<serde_json::Value>,
    /// `model_info.class_params`, when present.
    pub class_params: Option<serde_json::Value>,
}

/// Whether `bytes` look like a CatBoost JSON export: an object whose first key is one of
/// the export's (CatBoost writes them sorted: `ctr_data` or `features_info` first).
pub fn sniff_json(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    let text = String::from_utf8_lossy(head);
    let Some(rest) = text.trim_start().strip_prefix('{') else {
        return false;
    };
    let rest = rest.trim_start();
    ["\"ctr_data\"", "\"features_info\"", "\"oblivious_trees\""]
        .iter()
        .any(|key| rest.starts_with(key))
}

/// Whether `bytes` are a native CatBoost model (`CBM1`).
pub fn sniff_cbm(bytes: &[u8]) -> bool {
    bytes.starts_with(cbm::MAGIC)
}

/// Parses and converts a CatBoost model (JSON export or `.cbm`), checked as
/// [`crate::convert`] checks it.
pub fn read(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    let format = if sniff_cbm(bytes) {
        SourceFormat::CatboostCbm
    } else {
        SourceFormat::CatboostJson
    };
    crate::checked(read_unchecked(bytes, format, &ImportOptions::default())?)
}

/// CatBoost's entry in the reader table: its JSON export and its `.cbm`.
pub(crate) const READER: Reader = Reader {
    sniff: |bytes| {
        if sniff_cbm(bytes) {
            Some(SourceFormat::CatboostCbm)
        } else {
            sniff_json(bytes).then_some(SourceFormat::CatboostJson)
        }
    },
    read: read_unchecked,
    read_owned: None,
};

fn read_unchecked(
    bytes: &[u8],
    format: SourceFormat,
    _: &ImportOptions,
) -> Result<Ensemble, ImportError> {
    let model = if format == SourceFormat::CatboostCbm {
        cbm::parse(bytes)?
    } else {
        json::parse(bytes)?
    };
    Ok(model.to_ensemble()?)
}
