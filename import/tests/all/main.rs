//! edgewood-import's integration tests: one binary, a module per concern.

// Bit-exact parity with scikit-learn on every forest/tree fixture in tests/fixtures.
mod parity;
// Hostile inputs: forbidden globals, truncation, byte flips, nesting, bombs.
mod hostile;
// The pickle VM and numpy readers on handcrafted streams.
mod pickle;
// Stable-Rust replay of the fuzz seeds and random mutations through the fuzz oracles.
mod fuzz;
// The embedded Iris model in core/models/iris.ewm is the conversion of its fixture.
mod iris;
// Per-node cover reaches the model from every library that records it.
mod cover;
// TreeSHAP and leaves against shap, XGBoost and LightGBM on their fixtures.
mod explain;
// Shared helpers: fixture paths, CSV reading, a pickle writer.
mod util;
// The fuzz seed corpora (shared with tests/boost).
#[path = "../seeds.rs"]
mod seeds;
