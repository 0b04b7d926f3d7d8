//! The Open Inference Protocol v2 (KServe, Triton, MLServer): metadata, readiness and
//! `POST /v2/models/{name}/infer` with one FP32/FP64 tensor of shape `[N, n_features]`,
//! in JSON or through the binary tensor data extension (see [`binary`]), which Triton's
//! and KServe's clients use by default.
//!
//! Errors follow the protocol: `{"error": "…"}` (with the same text under `detail`, so
//! clients of the other endpoints read it too), 400 for a bad request, 404 for an
//! unknown model name.

use edgewood_core::{Model, TaskKind};

mod binary;
mod request;

use super::json::{obj, s, Json};
use super::predict::label_json;
use super::{Config, Response};
use request::InferRequest;

fn error(status: u16, msg: impl Into<String>) -> Response {
    let msg = msg.into();
    Response::json(
        status,
        &obj([("error", s(msg.as_str())), ("detail", s(msg))]),
    )
}

fn not_found(config: &Config, name: &str) -> Response {
    error(
        404,
        format!(
            "model '{name}' not found: this server serves '{}'",
            config.model_name
        ),
    )
}

/// `GET /v2`.
pub(super) fn server_metadata() -> Json {
    obj([
        ("name", s("edgewood")),
        ("version", s(env!("CARGO_PKG_VERSION"))),
        ("extensions", Json::Arr(vec![s("binary_tensor_data")])),
    ])
}

fn shape(dims: &[i64]) -> Json {
    Json::Arr(dims.iter().map(|&d| Json::Int(d)).collect())
}

fn tensor_meta(name: &str, datatype: &str, dims: &[i64]) -> Json {
    obj([
        ("name", s(name)),
        ("datatype", s(datatype)),
        ("shape", shape(dims)),
    ])
}

/// `GET /v2/models/{name}`.
pub(super) fn model_metadata(config: &Config, model: &Model<'_>, name: &str) -> Response {
    if name != config.model_name {
        return not_found(config, name);
    }
    let nf = model.n_features() as i64;
    let outputs = match model.task() {
        TaskKind::Classification => vec![
            tensor_meta(
                "label",
                if model.integer_labels() {
                    "INT64"
                } else {
                    "BYTES"
                },
                &[-1],
            ),
            tensor_meta("probabilities", "FP64", &[-1, model.n_classes() as i64]),
        ],
        TaskKind::Regression => vec![tensor_meta("predict", "FP64", &[-1])],
    };
    let features = (0..model.n_features())
        .map(|i| s(model.feature_name(i)))
        .collect();
    let mut input = tensor_meta("input-0", "FP64", &[-1, nf]);
    if let Json::Obj(fields) = &mut input {
        fields.push((
            "parameters".into(),
            obj([("features", Json::Arr(features))]),
        ));
    }
    Response::json(
        200,
        &obj([
            ("name", s(config.model_name.as_str())),
            ("versions", Json::Arr(vec![s("1")])),
            ("platform", s("edgewood")),
            ("inputs", Json::Arr(vec![input])),
            ("outputs", Json::Arr(outputs)),
        ]),
    )
}

/// `GET /v2/models/{name}/ready`.
pub(super) fn model_ready(config: &Config, name: &str) -> Response {
    if name != config.model_name {
        return not_found(config, name);
    }
    Response::json(200, &obj([("name", s(name)), ("ready", Json::Bool(true))]))
}

/// `POST /v2/models/{name}/infer`. `header_len` is the request's
/// `Inference-Header-Content-Length`, present when tensors are sent in binary.
pub(super) fn infer(
    config: &Config,
    model: &Model<'_>,
    name: &str,
    body: &[u8],
    header_len: Option<&str>,
) -> Response {
    if name != config.model_name {
        return not_found(config, name);
    }
    let req = match binary::split(body, header_len)
        .map_err(|msg| (400, msg))
        .and_then(|(header, tensors)| request::read(config, model, header, tensors))
    {
        Ok(req) => req,
        Err((status, msg)) => return error(status, msg),
    };
    let len = model.prediction_len();
    let mut out = vec![0.0; req.n * len];
    if let Err(e) = model.predict_batch(&req.values, &mut out) {
        return error(500, format!("the embedded model failed to predict: {e}"));
    }
    let mut resp = answer(config, model, &req, &out);
    resp.rows = req.n;
    resp
}

/// The answer: JSON outputs carry `data`; binary ones carry
/// `parameters.binary_data_size` and their bytes follow the JSON, in output order.
fn answer(config: &Config, model: &Model<'_>, req: &InferRequest, out: &[f64]) -> Response {
    let (n, len) = (req.n, model.prediction_len());
    let labels = || out.chunks_exact(len).map(edgewood_core::first_max);
    let integer_labels = model.integer_labels();
    let mut tensors = Vec::new();
    let mut outputs = Vec::new();
    for &(name, in_binary) in &req.outputs {
        let (datatype, dims) = match name {
            "label" => (
                if integer_labels { "INT64" } else { "BYTES" },
                vec![n as i64],
            ),
            "probabilities" => ("FP64", vec![n as i64, len as i64]),
            _ => ("FP64", vec![n as i64]),
        };
        let mut fields = vec![
            ("name".to_string(), s(name)),
            ("datatype".to_string(), s(datatype)),
            ("shape".to_string(), shape(&dims)),
        ];
        if in_binary {
            let start = tensors.len();
            match (name, integer_labels) {
                ("label", true) => binary::put_i64(
                    &mut tensors,
                    labels().map(|c| model.class_label(c).parse::<i64>().unwrap_or(0)),
                ),
                ("label", false) => {
                    binary::put_bytes(&mut tensors, labels().map(|c| model.class_label(c)))
                }
                _ => binary::put_f64(&mut tensors, out.iter().copied()),
            }
            let size = Json::Int((tensors.len() - start) as i64);
            fields.push(("parameters".into(), obj([("binary_data_size", size)])));
        } else {
            let data = match name {
                "label" => labels().map(|c| label_json(model, c)).collect(),
                _ => out.iter().map(|&p| Json::Num(p)).collect(),
            };
            fields.push(("data".into(), Json::Arr(data)));
        }
        outputs.push(Json::Obj(fields));
    }
    let mut fields = vec![
        ("model_name".to_string(), s(config.model_name.as_str())),
        ("model_version".to_string(), s("1")),
    ];
    if let Some(id) = &req.id {
        fields.push(("id".into(), s(id.as_str())));
    }
    fields.push(("outputs".into(), Json::Arr(outputs)));
    let mut resp = Response::json(200, &Json::Obj(fields));
    if !tensors.is_empty() {
        let header_len = resp.body.len();
        resp.body.extend_from_slice(&tensors);
        resp.headers = vec![
            ("content-type".into(), "application/octet-stream".into()),
            (
                "inference-header-content-length".into(),
                header_len.to_string(),
            ),
        ];
    }
    resp
}
