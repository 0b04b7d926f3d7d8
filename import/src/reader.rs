//! The table of readers: how each supported format is recognised from its bytes and
//! read into an [`Ensemble`]. A new format is a module of its own plus one entry in
//! [`READERS`] (and its [`SourceFormat`] variant); [`crate::convert`] does the rest.

use edgewood_core::{Ensemble, Feature};

use crate::{catboost, lightgbm, onnx, sklearn, xgboost, ImportError, ImportOptions, SourceFormat};

/// One supported format: a sniffer and a reader.
pub(crate) struct Reader {
    /// Recognises the format from the bytes themselves (`None`: not this format).
    pub sniff: fn(&[u8]) -> Option<SourceFormat>,
    /// Reads bytes that `sniff` recognised as the given format. The ensemble is not
    /// yet encoded: [`crate::convert`] applies the options, encodes and validates it.
    pub read: fn(&[u8], SourceFormat, &ImportOptions) -> Result<Ensemble, ImportError>,
    /// Reads bytes handed over, dropping them as soon as the reader no longer needs
    /// them (a compressed file once it is decompressed); `None`: [`Reader::read`], after
    /// which [`crate::convert_owned`] drops them.
    pub read_owned: Option<ReadOwned>,
}

/// [`Reader::read_owned`]: what [`Reader::read`] does, with the bytes handed over.
pub(crate) type ReadOwned =
    fn(Vec<u8>, SourceFormat, &ImportOptions) -> Result<Ensemble, ImportError>;

/// Every reader, in the order they are tried. The text formats come first: their
/// sniffers look for a marker (`"learner"`, a `tree` line, `TreeEnsemble`), while a
/// pickle is recognised by a compression magic or a PROTO opcode.
pub(crate) const READERS: &[Reader] = &[
    xgboost::READER,
    lightgbm::READER,
    onnx::READER,
    catboost::READER,
    sklearn::reader::READER,
];

/// The first reader that recognises `bytes`, and the format it recognised.
pub(crate) fn recognise(bytes: &[u8]) -> Option<(&'static Reader, SourceFormat)> {
    READERS
        .iter()
        .find_map(|r| (r.sniff)(bytes).map(|format| (r, format)))
}

/// `n` features that accept NaN (the boosting libraries route it by their missing-value
/// rules), named as the file names them, and `<unnamed><i>` where it does not
/// (XGBoost's `f0`, LightGBM's `Column_0`).
pub(crate) fn named_features(names: &[String], n: usize, unnamed: &str) -> Vec<Feature> {
    (0..n)
        .map(|i| Feature {
            allow_missing: true,
            ..Feature::named(
                names
                    .get(i)
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("{unnamed}{i}")),
            )
        })
        .collect()
}
