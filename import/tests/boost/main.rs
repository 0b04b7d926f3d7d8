//! Integration tests of the XGBoost, LightGBM and ONNX readers.

/// Shared helpers: fixtures, CSV, prediction, ULP distance.
mod common;
/// Malformed and hostile files: clear errors, no panics, bounded work.
mod hostile;
/// Every fixture of these formats against the library's own outputs, bit for bit.
mod parity;
