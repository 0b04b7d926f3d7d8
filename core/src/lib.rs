//! Edgewood's format-blind tree-ensemble engine: `no_std` + `alloc`, no I/O.
//!
//! The core knows one model representation and one file format. Importers (the
//! `edgewood-import` crate) turn scikit-learn, XGBoost, LightGBM or ONNX files into an
//! [`Ensemble`]; [`Ensemble::encode`] writes it as `.ewm` bytes (specified in
//! `core/FORMAT.md`); [`Model::open`] views such bytes in O(1) and predicts from them
//! in place. [`PreparedModel`] decodes a model's trees once into a layout walked with
//! selects rather than branches: the fast path of the CLI and the browser package,
//! with answers bit-identical to the model's. The browser package, the Spin component
//! and the CLI all call this crate, which is why they give bit-identical answers.
//!
//! What the core is *not*: a reader of foreign formats, a trainer, or anything that
//! touches files, clocks or the network.
//!
//! ```
//! use edgewood_core::{Ensemble, Feature, Task, Aggregation, Comparison, Tree, Node, Model, Prediction};
//!
//! // A one-split classifier: petal_length <= 2.45 → setosa, else versicolor.
//! let ensemble = Ensemble {
//!     features: vec![Feature::named("petal_length")],
//!     task: Task::Classification { classes: vec!["setosa".into(), "versicolor".into()], integer_labels: false },
//!     aggregation: Aggregation::Average,
//!     comparison: Comparison::F32LessEqual,
//!     leaf_width: 2,
//!     trees: vec![Tree { output: 0, stats: None, nodes: vec![
//!         Node::Split { feature: 0, threshold: 2.45, missing_left: false, left: 1, right: 2 },
//!         Node::Leaf(vec![1.0, 0.0]),
//!         Node::Leaf(vec![0.0, 1.0]),
//!     ]}],
//!     source: "example".into(),
//! };
//! let bytes = ensemble.encode().unwrap();
//! let model = Model::open(&bytes).unwrap();
//! let Prediction::Class { label, .. } = model.predict(&[1.4]).unwrap() else { unreachable!() };
//! assert_eq!(model.class_label(label), "setosa");
//! ```
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(not(target_arch = "wasm32"))]
mod complete;
mod cpu;
#[cfg(not(target_arch = "wasm32"))]
mod deep;
mod encode;
mod ensemble;
#[allow(missing_docs)] // Variant fields are named for what they hold.
mod error;
mod explain;
pub mod float_text;
pub mod fmath_exp;
pub mod glibc_exp;
// Natively, and in WebAssembly built with SIMD (the npm package's second engine). The
// condition is written out where needed: a build script naming it made the Spin
// component 626 B bigger, over its budget, with no code of its own.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
mod intervals;
#[cfg(feature = "iris")]
pub mod iris;
#[allow(missing_docs)] // Offsets are documented in FORMAT.md.
pub mod layout;
mod model;
#[cfg(not(target_arch = "wasm32"))]
mod oblivious;
mod predict;
mod prepared;
pub mod rcp14;
mod schema;
mod softmax;
pub mod svml_exp;
pub mod svml_log;

pub use cpu::VectorIsa;
pub use ensemble::{
    f32_at_or_below, next_down_f32, Aggregation, Comparison, Ensemble, Feature, Link, LogSumExp,
    Missing, Node, NodeStats, RowSum, SplitTest, Task, Tree, MAX_CATEGORY, ZERO_THRESHOLD,
};
pub use error::{EncodeError, FormatError, InputError, PredictError};
pub use explain::{Explainer, ExplanationSpace};
pub use model::{Model, TaskKind};
pub use predict::{first_max, Prediction};
pub use prepared::PreparedModel;

/// The `.ewm` format version this build reads and writes.
pub const FORMAT_VERSION: u16 = layout::VERSION;
