//! Edgewood's HTTP inference service as a Spin component.
//!
//! The model is embedded at build time (the Iris forest by default, or the `.ewm` file
//! named by `EDGEWOOD_MODEL`) and opened in place for each request, so a request costs
//! the same whatever the model's size. All request handling lives in [`api`], plain Rust
//! tested natively; on `wasm32` the `component` module adapts it to Spin's
//! `#[http_component]` (WASI HTTP 0.2), reading the Spin variables `api_key`,
//! `allowed_origins`, `max_body_bytes` and `max_batch_rows`.
//!
//! What it is not: a model converter (use `edgewood convert`) or a host (Spin,
//! SpinKube, or `edgewood serve` run it).
//!
//! ```
//! use edgewood_spin::api::{handle, Body, Config, Request};
//! let config = Config::new(edgewood_spin::MODEL_NAME);
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

/// The embedded model's `.ewm` bytes.
pub static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.ewm"));

/// The embedded model's name (the file's stem, or `EDGEWOOD_MODEL_NAME`), used in V2 paths.
pub const MODEL_NAME: &str = include_str!(concat!(env!("OUT_DIR"), "/model_name.txt"));

/// Opens the embedded model: O(1), no copy (validated in full at build time).
pub fn model() -> Result<edgewood_core::Model<'static>, edgewood_core::FormatError> {
    edgewood_core::Model::open(MODEL)
}
