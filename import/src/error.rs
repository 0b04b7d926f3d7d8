//! [`ImportError`]: everything that can go wrong turning foreign bytes into an ensemble.
//!
//! Messages name what the user can act on: the pickle global that was refused, the
//! opcode and byte offset where a stream broke, the estimator class that is not
//! supported, or the attribute path (`estimators_[3].tree_.nodes`) that is malformed.

use std::fmt;

use edgewood_core::{EncodeError, FormatError};

/// Why a model could not be imported.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not in any format this crate recognises.
    UnknownFormat,
    /// The bytes are already an `.ewm` model: there is nothing to import.
    AlreadyEwm,
    /// A compressed container could not be decompressed.
    Decompress {
        /// The compression codec (`zlib`, `gzip`, `bz2`, `xz`, `lzma`, `lz4`).
        codec: &'static str,
        /// The decompressor's own message.
        message: String,
    },
    /// A resource limit was reached (decompressed size, pickle stack, memo, allocation).
    Limit {
        /// What was limited.
        what: &'static str,
        /// The limit that was reached.
        limit: usize,
        /// Byte offset in the (decompressed) stream, where one applies.
        offset: Option<usize>,
    },
    /// A pickle names a global that is not on the allow-list; nothing was called.
    RefusedGlobal {
        /// The global's module, e.g. `os`.
        module: String,
        /// The global's name, e.g. `system`.
        name: String,
        /// Byte offset of the opcode that named it.
        offset: usize,
    },
    /// The pickle stream is malformed.
    Pickle {
        /// Byte offset of the offending opcode.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The pickle holds something other than a supported estimator.
    UnsupportedEstimator {
        /// The class (`sklearn.svm._classes.SVC`) or Python type (`dict`) found.
        class: String,
    },
    /// A supported estimator whose attributes are missing or inconsistent.
    Sklearn {
        /// The attribute path, e.g. `estimators_[3].tree_.nodes`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The import options do not fit the model (e.g. 3 names for 4 features).
    Options(String),
    /// The imported ensemble could not be encoded.
    Encode(EncodeError),
    /// The `.ewm` bytes given are invalid.
    Format(FormatError),
    /// The `.ewm` bytes encoded from an imported model do not validate (a reader let
    /// through what the core refuses: a bug, which the fuzz targets look for).
    Validate(FormatError),
    /// An XGBoost JSON / UBJSON model is malformed or unsupported.
    Xgboost(crate::xgboost::XgbError),
    /// A LightGBM text model is malformed or unsupported.
    LightGbm(crate::lightgbm::LgbmError),
    /// An ONNX tree-ensemble model is malformed or unsupported.
    Onnx(crate::onnx::OnnxError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ImportError::*;
        match self {
            UnknownFormat => write!(
                f,
                "unrecognised model format (expected a scikit-learn joblib/pickle file, an XGBoost JSON/UBJSON, LightGBM text or ONNX tree-ensemble model, or an .ewm model)"
            ),
            AlreadyEwm => write!(
                f,
                "the bytes are already an Edgewood model (.ewm); there is nothing to import"
            ),
            Decompress { codec, message } => {
                write!(f, "cannot decompress the {codec} stream: {message}")
            }
            Limit {
                what,
                limit,
                offset: Some(offset),
            } => write!(
                f,
                "refusing the model: {what} exceeds the limit of {limit} (at byte {offset})"
            ),
            Limit {
                what,
                limit,
                offset: None,
            } => write!(f, "refusing the model: {what} exceeds the limit of {limit}"),
            RefusedGlobal {
                module,
                name,
                offset,
            } => write!(
                f,
                "refusing pickle global {module}.{name} (at byte {offset}): it is not a scikit-learn tree model class, and Edgewood never calls anything a pickle names"
            ),
            Pickle { offset, reason } => write!(f, "invalid pickle at byte {offset}: {reason}"),
            UnsupportedEstimator { class } => write!(
                f,
                "unsupported estimator {class} (supported: RandomForest, ExtraTrees, DecisionTree and ExtraTree classifiers and regressors)"
            ),
            Sklearn { path, reason } => {
                write!(f, "invalid scikit-learn model: {path}: {reason}")
            }
            Options(message) => write!(f, "invalid import options: {message}"),
            Encode(e) => write!(f, "cannot build the model: {e}"),
            Format(e) => e.fmt(f),
            Validate(e) => write!(f, "the converted model does not validate: {e}"),
            Xgboost(e) => e.fmt(f),
            LightGbm(e) => e.fmt(f),
            Onnx(e) => e.fmt(f),
        }
    }
}

impl ImportError {
    /// A stable code per kind of failure, for programs (the npm converter's
    /// `EdgewoodError.code`).
    pub fn code(&self) -> &'static str {
        use ImportError::*;
        match self {
            UnknownFormat => "unknown_format",
            Decompress { .. } => "decompress_failed",
            Limit { .. } => "limit_exceeded",
            RefusedGlobal { .. } => "refused_global",
            Pickle { .. } => "bad_pickle",
            UnsupportedEstimator { .. } => "unsupported_estimator",
            Encode(_) | Validate(_) => "encode_failed",
            Format(_) => "corrupt_model",
            AlreadyEwm | Sklearn { .. } | Options(_) | Xgboost(_) | LightGbm(_) | Onnx(_) => {
                "import_failed"
            }
        }
    }
}

impl std::error::Error for ImportError {}

impl From<EncodeError> for ImportError {
    fn from(e: EncodeError) -> Self {
        ImportError::Encode(e)
    }
}

impl From<crate::xgboost::XgbError> for ImportError {
    fn from(e: crate::xgboost::XgbError) -> Self {
        ImportError::Xgboost(e)
    }
}

impl From<crate::lightgbm::LgbmError> for ImportError {
    fn from(e: crate::lightgbm::LgbmError) -> Self {
        ImportError::LightGbm(e)
    }
}

impl From<crate::onnx::OnnxError> for ImportError {
    fn from(e: crate::onnx::OnnxError) -> Self {
        ImportError::Onnx(e)
    }
}

impl From<FormatError> for ImportError {
    fn from(e: FormatError) -> Self {
        ImportError::Format(e)
    }
}
