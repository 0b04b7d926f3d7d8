//! What the native bench harnesses share: reading the peers' little-endian float64
//! files and the median of repeated timings. Each harness includes it with `mod common;`.

use std::path::Path;

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
