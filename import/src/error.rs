//! [`ImportError`]: everything that can go wrong turning foreign bytes into an ensemble.
//!
//! One shape: what any format can hit (an unknown format, a decompression failure, a
//! size limit, options that do not fit, an encoding that fails) is a variant of its
//! own, and each reader's own error is one variant that nests it ([`PickleError`],
//! [`SklearnError`], [`XgbError`], [`LgbmError`], [`OnnxError`], [`CbError`]), as are the core's
//! ([`EncodeError`], [`FormatError`]).
//!
//! [`Display`](fmt::Display) is the whole message on one line, what the CLI and the npm
//! converter print; [`source`](std::error::Error::source) returns the nested error, for
//! programs that match on its kind. Print the one or walk the other, not both.
//!
//! Messages name what the user can act on: the pickle global that was refused, the
//! opcode and byte offset where a stream broke, the estimator class that is not
//! supported, or the attribute path (`estimators_[3].tree_.nodes`) that is malformed.

use std::fmt;

use edgewood_core::{EncodeError, FormatError};

use crate::catboost::CbError;
use crate::lightgbm::LgbmError;
use crate::onnx::OnnxError;
use crate::pickle::PickleError;
use crate::sklearn::SklearnError;
use crate::xgboost::XgbError;

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
    /// The decompressed size limit was reached.
    Limit {
        /// What was limited.
        what: &'static str,
        /// The limit that was reached.
        limit: usize,
    },
    /// The pickle VM refused the stream (malformed, over a limit, or naming a global
    /// that is not allowed).
    Pickle(PickleError),
    /// A pickle is not a scikit-learn model Edgewood reads, or its attributes are wrong.
    Sklearn(SklearnError),
    /// An XGBoost JSON / UBJSON model is malformed or unsupported.
    Xgboost(XgbError),
    /// A LightGBM text model is malformed or unsupported.
    LightGbm(LgbmError),
    /// An ONNX tree-ensemble model is malformed or unsupported.
    Onnx(OnnxError),
    /// A CatBoost model is malformed or unsupported (CTRs among others).
    Catboost(CbError),
    /// The import options do not fit the model (e.g. 3 names for 4 features).
    Options(String),
    /// The imported ensemble could not be encoded.
    Encode(EncodeError),
    /// The `.ewm` bytes given are invalid.
    Format(FormatError),
    /// The `.ewm` bytes encoded from an imported model do not validate (a reader let
    /// through what the core refuses: a bug, which the fuzz targets look for).
    Validate(FormatError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ImportError::*;
        match self {
            UnknownFormat => write!(
                f,
                "unrecognised model format (expected a scikit-learn joblib/pickle file, an XGBoost JSON/UBJSON, LightGBM text, ONNX tree-ensemble or CatBoost (JSON or .cbm) model, or an .ewm model)"
            ),
            AlreadyEwm => write!(
                f,
                "the bytes are already an Edgewood model (.ewm); there is nothing to import"
            ),
            Decompress { codec, message } => {
                write!(f, "cannot decompress the {codec} stream: {message}")
            }
            Limit { what, limit } => {
                write!(f, "refusing the model: {what} exceeds the limit of {limit}")
            }
            Pickle(e) => e.fmt(f),
            Sklearn(e) => e.fmt(f),
            Xgboost(e) => e.fmt(f),
            LightGbm(e) => e.fmt(f),
            Onnx(e) => e.fmt(f),
            Catboost(e) => e.fmt(f),
            Options(message) => write!(f, "invalid import options: {message}"),
            Encode(e) => write!(f, "cannot build the model: {e}"),
            Format(e) => e.fmt(f),
            Validate(e) => write!(f, "the converted model does not validate: {e}"),
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
            Limit { .. } | Pickle(PickleError::Limit { .. }) => "limit_exceeded",
            Pickle(PickleError::RefusedGlobal { .. })
            | Sklearn(SklearnError::RefusedGlobal { .. }) => "refused_global",
            Pickle(_) => "bad_pickle",
            Sklearn(SklearnError::UnsupportedEstimator { .. }) => "unsupported_estimator",
            Encode(_) | Validate(_) => "encode_failed",
            Format(_) => "corrupt_model",
            AlreadyEwm | Sklearn(_) | Options(_) | Xgboost(_) | LightGbm(_) | Onnx(_)
            | Catboost(_) => "import_failed",
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        use ImportError::*;
        match self {
            Pickle(e) => Some(e),
            Sklearn(e) => Some(e),
            Xgboost(e) => Some(e),
            LightGbm(e) => Some(e),
            Onnx(e) => Some(e),
            Catboost(e) => Some(e),
            Encode(e) => Some(e),
            Format(e) | Validate(e) => Some(e),
            UnknownFormat | AlreadyEwm | Decompress { .. } | Limit { .. } | Options(_) => None,
        }
    }
}

/// `From` for every nested error, so readers can use `?`.
macro_rules! nest {
    ($($error:ty => $variant:ident),* $(,)?) => {$(
        impl From<$error> for ImportError {
            fn from(e: $error) -> Self {
                ImportError::$variant(e)
            }
        }
    )*};
}

nest! {
    PickleError => Pickle,
    SklearnError => Sklearn,
    XgbError => Xgboost,
    LgbmError => LightGbm,
    OnnxError => Onnx,
    CbError => Catboost,
    EncodeError => Encode,
    FormatError => Format,
}
