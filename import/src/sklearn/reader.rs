//! scikit-learn's entry in the reader table: a joblib or pickle file (any joblib
//! compression) is decompressed, run by the pickle VM, and read as a forest or a
//! gradient-boosting model.

use std::borrow::Cow;

use edgewood_core::Ensemble;

use super::boosting::{is_boosting, SklearnBoosting};
use super::SklearnForest;
use crate::container::{self, Compression};
use crate::reader::Reader;
use crate::{pickle, ImportError, ImportOptions, SourceFormat};

/// Recognises and reads scikit-learn pickles.
pub(crate) const READER: Reader = Reader {
    sniff,
    read,
    read_owned: Some(read_owned),
};

/// A compressed joblib file is recognised when its first decompressed bytes are a
/// pickle header (PROTO 2–5).
fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    let compression = Compression::detect(bytes)?;
    // lzma-rs decodes a whole xz block before writing a byte of it: an xz stream past
    // 16 MiB (by its chunk headers) is taken for a joblib file unpeeked, and `read`
    // refuses it if it is past the size cap or no pickle.
    if compression == Compression::Xz
        && container::xz::output_size(bytes, 16 << 20).map_or(true, |n| n > 16 << 20)
    {
        return Some(SourceFormat::SklearnPickle(compression));
    }
    let head = container::peek(bytes, compression, 2);
    match head[..] {
        [0x80, 2..=5] => Some(SourceFormat::SklearnPickle(compression)),
        _ => None,
    }
}

fn read(
    bytes: &[u8],
    format: SourceFormat,
    options: &ImportOptions,
) -> Result<Ensemble, ImportError> {
    let SourceFormat::SklearnPickle(compression) = format else {
        return Err(ImportError::UnknownFormat);
    };
    let data = container::decompress(bytes, compression, options.max_decompressed)?;
    read_stream(&data, compression, options)
}

/// [`read`], dropping a compressed file once it is decompressed: the compressed and the
/// decompressed stream are not kept together while the trees are read.
fn read_owned(
    bytes: Vec<u8>,
    format: SourceFormat,
    options: &ImportOptions,
) -> Result<Ensemble, ImportError> {
    let SourceFormat::SklearnPickle(compression) = format else {
        return Err(ImportError::UnknownFormat);
    };
    let data = match container::decompress(&bytes, compression, options.max_decompressed)? {
        Cow::Borrowed(_) => return read_stream(&bytes, compression, options),
        Cow::Owned(data) => data,
    };
    drop(bytes);
    read_stream(&data, compression, options)
}

/// Runs the pickle stream `data` (decompressed from a file of `compression`) and reads
/// the estimator it holds.
fn read_stream(
    data: &[u8],
    compression: Compression,
    options: &ImportOptions,
) -> Result<Ensemble, ImportError> {
    // One memory budget per model: what the pickle allocates (its byte strings are
    // copies; joblib arrays are read in place) comes on top of the stream it reads, so
    // that a small file expanding to a stream within the cap cannot double it.
    let mut limits = options.pickle_limits;
    limits.max_alloc = limits
        .max_alloc
        .min(options.max_decompressed.saturating_sub(data.len()));
    let p = pickle::run(data, true, limits).map_err(super::error::from_pickle)?;
    let joblib = p
        .values
        .iter()
        .any(|v| matches!(v, pickle::Value::Array(_)));
    let container = match (joblib, compression) {
        (true, Compression::None) => format!("joblib, protocol {}", p.protocol),
        (true, c) => format!("joblib, {}, protocol {}", c.name(), p.protocol),
        (false, Compression::None) => format!("pickle, protocol {}", p.protocol),
        (false, c) => format!("pickle, {}, protocol {}", c.name(), p.protocol),
    };
    if is_boosting(&p) {
        Ok(SklearnBoosting::from_pickle(&p)?.to_ensemble(&container)?)
    } else {
        Ok(SklearnForest::ensemble_from_pickle(&p, &container)?)
    }
}
