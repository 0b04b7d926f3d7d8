//! Integration tests of the XGBoost, LightGBM and ONNX readers.

/// Shared helpers: fixtures, CSV, prediction, ULP distance.
mod common;
/// The fuzz targets' oracle replayed on their seeds and mutations.
mod fuzz;
/// Malformed and hostile files: clear errors, no panics, bounded work.
mod hostile;
/// Every fixture of these formats against the library's own outputs, bit for bit.
mod parity;
/// The fuzz seed corpora (shared with tests/all).
#[path = "../seeds.rs"]
mod seeds;
