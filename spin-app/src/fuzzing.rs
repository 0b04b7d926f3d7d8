//! The HTTP fuzz target's oracle (`fuzz/fuzz_targets/http_request.rs`), shared with the
//! stable replay in `cargo test` (`tests/fuzz.rs`). Built only with the `fuzzing`
//! feature: it is no part of the component.
//!
//! The input is a request in a small text form, so that seeds can be read and written
//! by hand: a first line `METHOD PATH`, header lines `name: value`, an empty line, then
//! the body's bytes. Two pseudo-headers set the service's configuration and are not
//! sent: `x-fuzz-api-key: K` requires key `K`, `x-fuzz-body-too-large` stands for a body
//! the adapter refused to read.
//!
//! The request goes through [`crate::api::handle`] with the embedded model, exactly as
//! the component's adapter calls it. The invariants: it never panics, and the answer is
//! a 4xx with a JSON body, a 204 to a preflight, or a 200 whose numbers equal the core's
//! prediction (what the CLI prints): a one-row answer is recomputed from its echoed
//! input, a batch answers as each of its rows sent alone, a V2 answer carries no
//! `null` (a NaN or infinity) and a binary V2 answer's JSON header parses.

use edgewood_core::{Model, PreparedModel, TaskKind};
use serde_json::{Map, Value};

use crate::api::{handle, route_of, Body, Config, Request, Response};

/// A request decoded from fuzz bytes, with the configuration it asks for.
struct FuzzRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    too_large: bool,
    config: Config,
}

/// Decodes the text form (see the module doc); any bytes decode to some request.
fn decode(bytes: &[u8]) -> FuzzRequest {
    let split = bytes.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&bytes[..at], &bytes[at + 2..]),
        None => (bytes, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, path) = first.split_once(' ').unwrap_or((first, "/"));
    let mut config = Config::new(crate::model_name());
    let mut too_large = false;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim_start();
        match name.to_ascii_lowercase().as_str() {
            "x-fuzz-api-key" => config.api_key = Some(value.to_string()),
            "x-fuzz-body-too-large" => too_large = true,
            _ => headers.push((name.to_string(), value.to_string())),
        }
    }
    FuzzRequest {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body: body.to_vec(),
        too_large,
        config,
    }
}

/// Sends `req` through the API as the component does.
fn send(req: &FuzzRequest) -> Response {
    let request = Request {
        method: &req.method,
        path: &req.path,
        headers: &req.headers,
        body: if req.too_large {
            Body::TooLarge
        } else {
            Body::Bytes(&req.body)
        },
    };
    handle(&req.config, crate::model(), &request)
}

/// The status the API answers to `bytes` decoded as a request (for tests that check
/// what each seed reaches).
pub fn status(bytes: &[u8]) -> u16 {
    send(&decode(bytes)).status
}

/// The oracle: decode `bytes` as a request, answer it, check the answer.
pub fn http_request(bytes: &[u8]) {
    let req = decode(bytes);
    let resp = send(&req);
    let what = || format!("{} {} answered {}", req.method, req.path, resp.status);
    match resp.status {
        204 => assert!(
            req.method == "OPTIONS" && resp.body.is_empty(),
            "{}",
            what()
        ),
        400..=499 => {
            let json: Result<Value, _> = serde_json::from_slice(&resp.body);
            assert!(
                matches!(json, Ok(Value::Object(_))),
                "{}: the body is not a JSON object: {}",
                what(),
                String::from_utf8_lossy(&resp.body)
            );
        }
        200 => check_ok(&req, &resp),
        _ => panic!("{}: {}", what(), String::from_utf8_lossy(&resp.body)),
    }
}

/// A 200: JSON (HTML for `/docs`, a JSON header then tensors for binary V2) whose
/// numbers are the core's.
fn check_ok(req: &FuzzRequest, resp: &Response) {
    let content_type = resp.get_header("content-type").unwrap_or("");
    if content_type.starts_with("text/html") {
        return;
    }
    let json_len = match resp.get_header("inference-header-content-length") {
        Some(n) => n.parse::<usize>().expect("a header length"),
        None => resp.body.len(),
    };
    let header = resp.body.get(..json_len).expect("the JSON header fits");
    let json: Value = serde_json::from_slice(header).unwrap_or_else(|e| {
        panic!(
            "{} {}: a 200 whose body is not JSON ({e}): {}",
            req.method,
            req.path,
            String::from_utf8_lossy(&resp.body)
        )
    });
    let model = crate::model().expect("the embedded model opens");
    match route_of(&req.path).unwrap_or("") {
        "/predict" | "/v1/predict" => check_one(&model, &json),
        "/predict/batch" | "/v1/predict/batch" => check_batch(req, &model, &json),
        "/v2/models/{name}/infer" => {
            assert!(
                !has_null(&json["outputs"]),
                "V2 outputs carry null (NaN or infinity): {json}"
            );
        }
        _ => {}
    }
}

/// Whether `v` holds a JSON `null` anywhere.
fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

/// A one-row answer: recompute its echoed `input` with the core's prepared walk (the
/// CLI's) and compare every number bit for bit.
fn check_one(model: &Model<'_>, json: &Value) {
    let input = json["input"]
        .as_object()
        .expect("a one-row answer echoes its input");
    let row: Vec<f64> = (0..model.n_features())
        .map(|i| match &input[model.feature_name(i)] {
            Value::Null => f64::NAN,
            v => v.as_f64().expect("an echoed number"),
        })
        .collect();
    let prepared = PreparedModel::new(*model).expect("the embedded model prepares");
    let mut want = vec![0.0; model.prediction_len()];
    prepared
        .predict_into(&row, &mut want)
        .expect("a row the API answered predicts");
    let number = |v: &Value| v.as_f64().expect("a number").to_bits();
    match model.task() {
        TaskKind::Regression => {
            assert_eq!(number(&json["prediction"]), want[0].to_bits(), "{json}");
        }
        TaskKind::Classification => {
            let label = edgewood_core::first_max(&want);
            assert_eq!(number(&json["confidence"]), want[label].to_bits(), "{json}");
            for (k, p) in want.iter().enumerate() {
                let got = &json["probabilities"][model.class_label(k)];
                assert_eq!(number(got), p.to_bits(), "class {k}: {json}");
            }
        }
    }
}

/// A batch answer: each row, sent alone to `/predict` (as an object keyed by feature
/// name), answers the same fields, which [`check_one`] checks against the core.
fn check_batch(req: &FuzzRequest, model: &Model<'_>, json: &Value) {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        // The API's parser took what serde_json refuses (e.g. a number beyond f64):
        // the rows cannot be rebuilt here.
        return;
    };
    let (Some(instances), Some(predictions)) =
        (body["instances"].as_array(), json["predictions"].as_array())
    else {
        panic!("a 200 batch without instances or predictions: {json}");
    };
    assert_eq!(instances.len(), predictions.len(), "{json}");
    for (r, (instance, prediction)) in instances.iter().zip(predictions).enumerate() {
        let object: Map<String, Value> = match instance {
            Value::Object(o) => o.clone(),
            Value::Array(values) => (0..model.n_features())
                .map(|i| (model.feature_name(i).to_string(), values[i].clone()))
                .collect(),
            other => panic!("row {r}: a batch took {other}"),
        };
        let single = FuzzRequest {
            method: "POST".into(),
            path: "/predict".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&Value::Object(object)).expect("JSON"),
            too_large: false,
            config: Config::new(crate::model_name()),
        };
        let resp = send(&single);
        assert_eq!(
            resp.status,
            200,
            "row {r} alone: {}",
            String::from_utf8_lossy(&resp.body)
        );
        let mut alone: Value = serde_json::from_slice(&resp.body).expect("JSON");
        check_one(model, &alone);
        if let Value::Object(o) = &mut alone {
            o.remove("input");
        }
        assert_eq!(
            &alone, prediction,
            "row {r}: the batch differs from the row alone"
        );
    }
}
