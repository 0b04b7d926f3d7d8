//! Integration tests of `edgewood-core`, grouped by feature.

/// The complete-tree walk (AVX-512) bit for bit with the reference and the node walk.
mod complete;
/// The deep walk (forests bigger than the cache), forced, bit for bit the reference.
mod deep;
/// TreeSHAP equals brute-force Shapley values; leaves per tree.
mod explain;
/// f64 text identical to `format!`'s `{}` and `{:?}`.
mod float_text;
/// glibc-exact `exp` / `expf` (the boosting libraries' link functions).
mod glibc_exp;
/// Arbitrary, truncated and flipped bytes: errors, never panics or endless walks.
mod hostile;
mod intervals;
/// numpy's AVX-512 `exp`/`log`, CatBoost's fast `exp`: reference outputs bit for bit.
mod library_math;
/// Oblivious trees walked as a bit index, bit for bit the model's walk.
mod oblivious;
/// The prepared walk decides LightGBM's numeric rules exactly as the model does.
mod prepared;
/// A naive reference evaluator and random-ensemble generators shared by the tests.
mod reference;
/// Random ensembles: encode → open → predict equals a naive evaluator of the arena.
mod roundtrip;
/// Schema validation of inputs.
mod schema;
/// Big batches of lopsided trees, walked in rounds, bit for bit the reference.
mod span;
/// §11 node statistics and the format version they bring.
mod stats;
