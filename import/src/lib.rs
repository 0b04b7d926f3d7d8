//! Readers of foreign model formats, producing [`edgewood_core::Ensemble`]s.
//!
//! [`convert`] is the one way from a model file to checked `.ewm` bytes: it recognises
//! the model by its content ([`detect`]), reads it with the reader of that format,
//! applies the caller's [`ImportOptions`], encodes once and validates once. Import
//! normally runs once, ahead of time (`edgewood convert`), but the crate also builds for
//! `wasm32-unknown-unknown`, so a web page can convert a model a user drops on it.
//! [`import_bytes`] stops at the [`Ensemble`], checked the same way, for callers that
//! work on the trees themselves.
//!
//! What this crate is *not*: a Python runtime. A scikit-learn pickle is run by a small
//! VM ([`pickle`]) that resolves globals against an allow-list and never calls
//! anything; every size the file claims is checked against the bytes actually present,
//! and decompression stops at [`ImportOptions::max_decompressed`].
//!
//! ```no_run
//! use edgewood_import::{convert, ImportOptions};
//!
//! let bytes = std::fs::read("model.joblib").unwrap();
//! let converted = convert(&bytes, &ImportOptions::default()).unwrap();
//! std::fs::write("model.ewm", &converted.ewm).unwrap();
//! ```
#![deny(missing_docs)]

pub mod catboost;
mod container;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod lightgbm;
pub mod onnx;
pub mod pickle;
mod reader;
pub mod sklearn;
pub mod xgboost;

use std::fmt;

use edgewood_core::{Ensemble, Model, Task};

pub use container::Compression;
pub use error::ImportError;

/// A model format recognised by [`detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceFormat {
    /// Edgewood's own `.ewm` bytes.
    Ewm,
    /// A scikit-learn estimator saved with joblib (any joblib compression) or `pickle`.
    SklearnPickle(Compression),
    /// An XGBoost model saved with `save_model` as JSON.
    XgboostJson,
    /// An XGBoost model saved with `save_model` as UBJSON (`.ubj`).
    XgboostUbjson,
    /// A LightGBM text model (`Booster.save_model`).
    LightGbm,
    /// An ONNX model whose graph is an `ai.onnx.ml` tree ensemble.
    Onnx,
    /// A CatBoost model exported as JSON (`save_model(..., format="json")`).
    CatboostJson,
    /// A native CatBoost model (`.cbm`: FlatBuffers after a `CBM1` header).
    CatboostCbm,
}

impl fmt::Display for SourceFormat {
    /// How the format is named in summaries (`scikit-learn pickle (zlib compressed)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFormat::Ewm => f.write_str("Edgewood model"),
            SourceFormat::SklearnPickle(Compression::None) => f.write_str("scikit-learn pickle"),
            SourceFormat::SklearnPickle(c) => {
                write!(f, "scikit-learn pickle ({} compressed)", c.name())
            }
            SourceFormat::XgboostJson => f.write_str("XGBoost JSON"),
            SourceFormat::XgboostUbjson => f.write_str("XGBoost UBJSON"),
            SourceFormat::LightGbm => f.write_str("LightGBM text"),
            SourceFormat::Onnx => f.write_str("ONNX"),
            SourceFormat::CatboostJson => f.write_str("CatBoost JSON"),
            SourceFormat::CatboostCbm => f.write_str("CatBoost .cbm"),
        }
    }
}

/// A model converted by [`convert`]: `.ewm` bytes that are known to validate.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Converted {
    /// The validated `.ewm` bytes.
    pub ewm: Vec<u8>,
    /// The format the input was recognised as ([`SourceFormat::Ewm`] when it already
    /// was an `.ewm` model, returned unchanged).
    pub format: SourceFormat,
}

/// A per-feature valid range to record in the model (inputs outside are refused).
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureRange {
    /// The feature's name (after renaming), or `None` for every feature.
    pub feature: Option<String>,
    /// The smallest valid value.
    pub min: f64,
    /// The largest valid value.
    pub max: f64,
}

/// The default of [`ImportOptions::max_decompressed`]: 256 MiB, several times the
/// largest forests seen in practice; `edgewood --max-model-mib` raises it.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 256 << 20;

/// Choices a caller (such as `edgewood convert`) can make about an import.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Replaces the feature names (one per feature, in column order).
    pub feature_names: Option<Vec<String>>,
    /// Replaces the class labels (one per class, in the model's class order).
    pub class_names: Option<Vec<String>>,
    /// Valid ranges; a later entry for the same feature wins.
    pub valid_ranges: Vec<FeatureRange>,
    /// Overrides whether missing values (NaN) are accepted, for every feature.
    pub allow_missing: Option<bool>,
    /// The most bytes a model's pickle stream may take once decompressed (default
    /// [`DEFAULT_MAX_DECOMPRESSED`], 256 MiB), checked against the size the container
    /// declares and while decoding. What the pickle then allocates (copies of its byte
    /// strings; joblib's arrays are read in place) shares this budget with the stream.
    pub max_decompressed: usize,
    /// Bounds of the pickle VM.
    pub pickle_limits: pickle::Limits,
    /// Keeps the trees' covers and leaf ids (§11) where the source has them (default);
    /// without them the model is smaller, predicts the same, and cannot explain.
    pub covers: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            feature_names: None,
            class_names: None,
            valid_ranges: Vec::new(),
            allow_missing: None,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            pickle_limits: pickle::Limits::default(),
            covers: true,
        }
    }
}

/// Recognises a model format from the bytes themselves (the table of readers in
/// `reader.rs`).
pub fn detect(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.starts_with(&edgewood_core::layout::MAGIC) {
        return Some(SourceFormat::Ewm);
    }
    reader::recognise(bytes).map(|(_, format)| format)
}

/// Converts model bytes, in whichever supported format they are, to validated `.ewm`
/// bytes: read, apply `options`, encode once, validate once.
///
/// `.ewm` input is validated and returned unchanged when `options` are the defaults,
/// and refused with [`ImportError::AlreadyEwm`] otherwise (there is nothing to rename).
pub fn convert(bytes: &[u8], options: &ImportOptions) -> Result<Converted, ImportError> {
    if bytes.starts_with(&edgewood_core::layout::MAGIC) {
        check_ewm(bytes, options)?;
        return Ok(Converted {
            ewm: bytes.to_vec(),
            format: SourceFormat::Ewm,
        });
    }
    let (ensemble, format) = read(bytes, options)?;
    Ok(Converted {
        ewm: encode_validated(ensemble)?,
        format,
    })
}

/// [`convert`] for bytes the caller hands over: they are dropped as soon as the model
/// is read, before it is encoded, and the model's trees before the encoding is
/// validated, so that no two of the source, the trees and the encoding are in memory
/// together more than they must be (a large forest's peak is the source plus its
/// trees). `.ewm` input is returned as the same buffer.
pub fn convert_owned(bytes: Vec<u8>, options: &ImportOptions) -> Result<Converted, ImportError> {
    if bytes.starts_with(&edgewood_core::layout::MAGIC) {
        check_ewm(&bytes, options)?;
        return Ok(Converted {
            ewm: bytes,
            format: SourceFormat::Ewm,
        });
    }
    let (reader, format) = reader::recognise(&bytes).ok_or(ImportError::UnknownFormat)?;
    let mut ensemble = match reader.read_owned {
        Some(read_owned) => read_owned(bytes, format, options)?,
        None => {
            let ensemble = (reader.read)(&bytes, format, options)?;
            drop(bytes);
            ensemble
        }
    };
    apply_options(&mut ensemble, options)?;
    Ok(Converted {
        ewm: encode_validated(ensemble)?,
        format,
    })
}

/// What [`convert`] checks of `.ewm` input: it validates, and no option asks to change it.
fn check_ewm(bytes: &[u8], options: &ImportOptions) -> Result<(), ImportError> {
    if *options != ImportOptions::default() {
        return Err(ImportError::AlreadyEwm);
    }
    Model::open_validated(bytes)?;
    Ok(())
}

/// Imports a model from its bytes, in whichever supported format they are, as an
/// [`Ensemble`] checked as [`convert`] checks it (it encodes and validates).
pub fn import_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Ensemble, ImportError> {
    if bytes.starts_with(&edgewood_core::layout::MAGIC) {
        return Err(ImportError::AlreadyEwm);
    }
    let (ensemble, _) = read(bytes, options)?;
    checked(ensemble)
}

/// Recognises and reads a source format (not `.ewm`) and applies the options; the
/// result is not yet encoded.
fn read(bytes: &[u8], options: &ImportOptions) -> Result<(Ensemble, SourceFormat), ImportError> {
    let (reader, format) = reader::recognise(bytes).ok_or(ImportError::UnknownFormat)?;
    let mut ensemble = (reader.read)(bytes, format, options)?;
    apply_options(&mut ensemble, options)?;
    Ok((ensemble, format))
}

/// [`encode_checked`], dropping the ensemble once it is encoded (before validation).
fn encode_validated(ensemble: Ensemble) -> Result<Vec<u8>, ImportError> {
    let ewm = ensemble.encode()?;
    drop(ensemble);
    Model::open_validated(&ewm).map_err(ImportError::Validate)?;
    Ok(ewm)
}

/// The ensemble, once [`encode_checked`] accepts it.
pub(crate) fn checked(ensemble: Ensemble) -> Result<Ensemble, ImportError> {
    encode_checked(&ensemble)?;
    Ok(ensemble)
}

/// Encodes an imported ensemble and validates the bytes: the encoder's walk refuses
/// cycles, shared subtrees and bad indices that node records can still describe, and
/// validation then proves every later prediction safe.
pub(crate) fn encode_checked(ensemble: &Ensemble) -> Result<Vec<u8>, ImportError> {
    let ewm = ensemble.encode()?;
    Model::open_validated(&ewm).map_err(ImportError::Validate)?;
    Ok(ewm)
}

/// Applies the caller's renamings, ranges and missing-value choice to an imported model.
pub fn apply_options(ensemble: &mut Ensemble, options: &ImportOptions) -> Result<(), ImportError> {
    if let Some(names) = &options.feature_names {
        if names.len() != ensemble.features.len() {
            return Err(ImportError::Options(format!(
                "{} feature names given, the model has {} features",
                names.len(),
                ensemble.features.len()
            )));
        }
        for (f, n) in ensemble.features.iter_mut().zip(names) {
            f.name = n.clone();
        }
    }
    if let Some(names) = &options.class_names {
        match &mut ensemble.task {
            Task::Classification {
                classes,
                integer_labels,
            } => {
                if names.len() != classes.len() {
                    return Err(ImportError::Options(format!(
                        "{} class names given, the model has {} classes",
                        names.len(),
                        classes.len()
                    )));
                }
                *classes = names.clone();
                *integer_labels = false;
            }
            Task::Regression => {
                return Err(ImportError::Options(
                    "class names given for a regression model".into(),
                ))
            }
        }
    }
    for r in &options.valid_ranges {
        // Written so that a NaN bound is refused too.
        if r.min.partial_cmp(&r.max).is_none_or(|o| o.is_gt()) {
            return Err(ImportError::Options(format!(
                "the valid range {}..{} is empty or not a number",
                r.min, r.max
            )));
        }
        let mut found = false;
        for f in ensemble.features.iter_mut() {
            if r.feature.as_deref().is_none_or(|n| n == f.name) {
                f.valid_range = Some((r.min, r.max));
                found = true;
            }
        }
        if !found {
            return Err(ImportError::Options(format!(
                "a valid range names feature {:?}, which the model does not have",
                r.feature.as_deref().unwrap_or("")
            )));
        }
    }
    if !options.covers {
        ensemble.trees.iter_mut().for_each(|t| t.stats = None);
    }
    if let Some(allow) = options.allow_missing {
        ensemble
            .features
            .iter_mut()
            .for_each(|f| f.allow_missing = allow);
    }
    Ok(())
}
