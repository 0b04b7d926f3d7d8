//! Malformed and hostile files: every one is refused with an error that names the
//! problem, never a panic, an endless walk or an allocation the file merely claims.
//! (XGBoost 3.2 itself segfaults on a child out of range; LightGBM 4.7 loops on a cycle.)
//! One module per format.

use std::time::{Duration, Instant};

// XGBoost JSON and UBJSON files with one thing wrong.
mod xgboost;
// LightGBM text models with one field wrong.
mod lightgbm;
// Hand-built ONNX files: lengths, cycles, EQ/NEQ rules and their expansion budget.
mod onnx;
// A HistGradientBoosting joblib file with one array rewritten in place.
mod hgb;
// CatBoost JSON exports with one thing wrong, and CTRs.
mod catboost;

/// Deterministic pseudo-random byte flips; each result must be Ok or Err, quickly.
pub(crate) fn flips(bytes: &[u8], rounds: usize, read: impl Fn(&[u8]) -> bool) -> usize {
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut accepted = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut b = bytes.to_vec();
        for _ in 0..1 + (state % 4) as usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % b.len() as u64) as usize;
            b[i] = (state >> 32) as u8;
        }
        accepted += read(&b) as usize;
    }
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "flips took {:?}",
        start.elapsed()
    );
    accepted
}
