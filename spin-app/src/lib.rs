//! Edgewood's HTTP inference service as a Spin component.
//!
//! The model is embedded at build time (the Iris forest) and opened in place for each
//! request, so a request costs
//! the same whatever the model's size. A built component can also be given another
//! model without a compiler: `edgewood component` rewrites the [`ModelSlot`]. All
//! request handling lives in [`api`], plain Rust tested natively; on `wasm32` the
//! `component` module adapts it to Spin's `#[http_component]` (WASI HTTP 0.2), reading
//! the configuration `api_key`, `allowed_origins`, `max_body_bytes` and
//! `max_batch_rows` from the standard `wasi:config/store` (Spin 3.x serves its
//! component variables there), so the component imports `wasi:*` interfaces only.
//!
//! What it is not: a model converter (use `edgewood convert`) or a host (Spin,
//! SpinKube, or `edgewood serve` run it).
//!
//! ```
//! use edgewood_spin::api::{handle, Body, Config, Request};
//! let config = Config::new(edgewood_spin::model_name());
//! let body = br#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;
//! let headers = [("content-type".to_string(), "application/json".to_string())];
//! let req = Request { method: "POST", path: "/predict", headers: &headers, body: Body::Bytes(body) };
//! let resp = handle(&config, edgewood_spin::model(), &req);
//! assert_eq!(resp.status, 200);
//! ```

pub mod api;
#[cfg(target_arch = "wasm32")]
// The macro-generated export glue needs `unsafe` (WASI canonical ABI).
#[allow(unsafe_code)]
mod component;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

/// Where the component finds its model and the model's name.
///
/// A built component keeps this record in its data segment, found by [`SLOT_MAGIC`].
/// `edgewood component` appends another model to the component's memory image and
/// rewrites the two slices here (`ptr: u32, len: u32` each on wasm32) to point at it: a
/// new model, no compiler, and still no copy at request time (the pages come from the
/// memory image like any other data). The packager checks the layout before it writes:
/// the slices it replaces must point at the `.ewm` and the name this build embeds.
#[repr(C)]
pub struct ModelSlot {
    /// [`SLOT_MAGIC`], how the packager finds the record.
    pub magic: [u8; 16],
    /// The model's `.ewm` bytes, validated in full before they were embedded.
    pub model: &'static [u8],
    /// The model's name in V2 paths (a URL path segment: `[A-Za-z0-9._-]+`).
    pub name: &'static str,
}

/// The first bytes of the [`ModelSlot`] record, unique in the component's data.
pub const SLOT_MAGIC: [u8; 16] = *b"edgewood:slot:01";

/// The model this build embeds (validated in full by build.rs).
static SLOT: ModelSlot = ModelSlot {
    magic: SLOT_MAGIC,
    model: include_bytes!(concat!(env!("OUT_DIR"), "/model.ewm")),
    name: include_str!(concat!(env!("OUT_DIR"), "/model_name.txt")),
};

/// The slot as stored: `black_box` keeps the compiler from folding the build-time
/// values into the code, so a rewritten slot is read from memory.
fn slot() -> &'static ModelSlot {
    core::hint::black_box(&SLOT)
}

/// The model's `.ewm` bytes.
pub fn model_bytes() -> &'static [u8] {
    slot().model
}

/// The model's name (`iris`, or what `edgewood component` was given), used in V2 paths.
pub fn model_name() -> &'static str {
    slot().name
}

/// Opens the model: O(1), no copy (validated in full before it was embedded).
pub fn model() -> Result<edgewood_core::Model<'static>, edgewood_core::FormatError> {
    edgewood_core::Model::open(model_bytes())
}
