//! The Open Inference Protocol v2 (KServe, Triton, MLServer): metadata, readiness and
//! `POST /v2/models/{name}/infer` with one FP32/FP64 tensor of shape `[N, n_features]`.
//!
//! Errors follow the protocol: `{"error": "…"}` (with the same text under `detail`, so
//! clients of the other endpoints read it too), 400 for a bad request, 404 for an
//! unknown model name.

use edgewood_core::{Model, TaskKind};

use super::json::{self, obj, s, Json};
use super::predict::label_json;
use super::{Config, Response};

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
        ("extensions", Json::Arr(Vec::new())),
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

/// Flattens row-major nested arrays (the protocol allows both flat and nested data).
fn flatten<'j>(v: &'j Json, out: &mut Vec<&'j Json>) {
    match v {
        Json::Arr(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

/// `POST /v2/models/{name}/infer`.
pub(super) fn infer(config: &Config, model: &Model<'_>, name: &str, body: &[u8]) -> Response {
    if name != config.model_name {
        return not_found(config, name);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return error(
            400,
            "the body is empty: send an inference request {\"inputs\": [ … ]}",
        );
    }
    let req = match json::parse(body) {
        Ok(v @ Json::Obj(_)) => v,
        Ok(other) => {
            return error(
                400,
                format!("the body must be a JSON object, got {}", other.type_name()),
            )
        }
        Err(e) => return error(400, format!("JSON decode error: {e}")),
    };
    let inputs = match req.get("inputs") {
        Some(Json::Arr(items)) if items.len() == 1 => &items[0],
        Some(Json::Arr(items)) => {
            return error(
                400,
                format!(
                    "expected exactly 1 input tensor of shape [N, {}], got {}",
                    model.n_features(),
                    items.len()
                ),
            )
        }
        Some(_) => return error(400, "'inputs' must be an array of tensors"),
        None => return error(
            400,
            "missing 'inputs': send {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}",
        ),
    };
    let tensor_name = match inputs.get("name") {
        Some(Json::Str(n)) => n.clone(),
        _ => return error(400, "input tensor: 'name' must be a string"),
    };
    let f32_input = match inputs.get("datatype") {
        Some(Json::Str(d)) if d == "FP32" => true,
        Some(Json::Str(d)) if d == "FP64" => false,
        Some(Json::Str(d)) => {
            return error(
                400,
                format!("input '{tensor_name}': datatype {d} is not supported, use FP32 or FP64"),
            )
        }
        _ => {
            return error(
                400,
                format!("input '{tensor_name}': 'datatype' must be a string (FP32 or FP64)"),
            )
        }
    };
    let nf = model.n_features();
    let n = match inputs.get("shape") {
        Some(Json::Arr(dims)) => match dims.as_slice() {
            [Json::Num(r), Json::Num(c)] if *r >= 0.0 && r.fract() == 0.0 && *c == nf as f64 => {
                *r as usize
            }
            _ => {
                return error(
                    400,
                    format!(
                        "input '{tensor_name}': shape must be [N, {nf}], got {}",
                        Json::Arr(dims.clone()).to_json()
                    ),
                )
            }
        },
        _ => {
            return error(
                400,
                format!("input '{tensor_name}': 'shape' must be an array [N, {nf}]"),
            )
        }
    };
    if n == 0 {
        return error(
            400,
            format!("input '{tensor_name}': the tensor has no rows"),
        );
    }
    if n > config.max_batch_rows {
        return error(
            413,
            format!(
                "{n} rows, the limit is {} per request",
                config.max_batch_rows
            ),
        );
    }
    let Some(data) = inputs.get("data") else {
        return error(400, format!("input '{tensor_name}': 'data' is missing"));
    };
    let mut flat = Vec::with_capacity(n * nf);
    flatten(data, &mut flat);
    if flat.len() != n * nf {
        return error(
            400,
            format!(
                "input '{tensor_name}': shape [{n}, {nf}] needs {} values, 'data' holds {}",
                n * nf,
                flat.len()
            ),
        );
    }
    let mut rows = Vec::with_capacity(n * nf);
    for (k, v) in flat.iter().enumerate() {
        let (r, i) = (k / nf, k % nf);
        let Json::Num(x) = v else {
            return error(
                400,
                format!(
                    "input '{tensor_name}': row {r}, feature '{}': expected a number, got {}",
                    model.feature_name(i),
                    v.type_name()
                ),
            );
        };
        let x = if f32_input { *x as f32 as f64 } else { *x };
        if let Err(e) = model.validate_value(i, x) {
            return error(400, format!("input '{tensor_name}': row {r}: {e}"));
        }
        rows.push(x);
    }
    let classification = model.task() == TaskKind::Classification;
    let available: &[&str] = if classification {
        &["label", "probabilities"]
    } else {
        &["predict"]
    };
    let wanted: Vec<String> = match req.get("outputs") {
        None => available.iter().map(|o| o.to_string()).collect(),
        Some(Json::Arr(items)) => {
            let mut names = Vec::new();
            for item in items {
                match item.get("name") {
                    Some(Json::Str(o)) if available.contains(&o.as_str()) => names.push(o.clone()),
                    Some(Json::Str(o)) => {
                        return error(
                            400,
                            format!(
                                "unknown output '{o}': this model gives {}",
                                available.join(", ")
                            ),
                        )
                    }
                    _ => return error(400, "each requested output needs a string 'name'"),
                }
            }
            names
        }
        Some(_) => return error(400, "'outputs' must be an array"),
    };
    let len = model.prediction_len();
    let mut out = vec![0.0; n * len];
    if let Err(e) = model.predict_batch(&rows, &mut out) {
        return error(500, format!("the embedded model failed to predict: {e}"));
    }
    let mut outputs = Vec::new();
    for o in &wanted {
        let (datatype, dims, data): (&str, Vec<i64>, Vec<Json>) = match o.as_str() {
            "label" => (
                if model.integer_labels() {
                    "INT64"
                } else {
                    "BYTES"
                },
                vec![n as i64],
                out.chunks_exact(len)
                    .map(|p| label_json(model, edgewood_core::first_max(p)))
                    .collect(),
            ),
            "probabilities" => (
                "FP64",
                vec![n as i64, len as i64],
                out.iter().map(|&p| Json::Num(p)).collect(),
            ),
            _ => (
                "FP64",
                vec![n as i64],
                out.iter().map(|&p| Json::Num(p)).collect(),
            ),
        };
        outputs.push(obj([
            ("name", s(o.as_str())),
            ("datatype", s(datatype)),
            ("shape", shape(&dims)),
            ("data", Json::Arr(data)),
        ]));
    }
    let mut fields = vec![
        ("model_name".to_string(), s(config.model_name.as_str())),
        ("model_version".to_string(), s("1")),
    ];
    if let Some(Json::Str(id)) = req.get("id") {
        fields.push(("id".into(), s(id.as_str())));
    }
    fields.push(("outputs".into(), Json::Arr(outputs)));
    let mut resp = Response::json(200, &Json::Obj(fields));
    resp.rows = n;
    resp
}
