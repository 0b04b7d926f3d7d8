//! What the native bench harnesses share: reading the peers' little-endian float64
//! files and the median of repeated timings. Each harness includes it with `mod common;`.

use std::path::{Path, PathBuf};

/// The median of `v` (the upper one of an even count).
#[allow(dead_code)] // Not every harness takes medians.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A file of little-endian float64 values, as the Python peers write them.
#[allow(dead_code)] // The Iris harness reads CSV instead.
pub fn f64s(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The value after `--dir` in `args` (the harness's command line), where the peer
/// script left its models and rows.
#[allow(dead_code)] // The Iris and explain harnesses take other arguments.
pub fn dir_arg(args: &[String], harness: &str) -> PathBuf {
    args.iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("usage: {harness} --dir DIR [--smoke]"))
}
