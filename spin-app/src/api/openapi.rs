//! Documents generated from the embedded model's schema: `GET /` (service info),
//! `GET /v1/model` (features, ranges, classes, trees), `GET /openapi.json` (OpenAPI 3.1)
//! and `GET /docs` (a self-contained HTML page: no CDN, no external script).

use edgewood_core::float_text::DisplayF64;
use edgewood_core::{ExplanationSpace, Model, TaskKind};

use super::json::{obj, s, Json};
use super::Config;

/// The endpoints, as listed by `GET /` and the docs page: (method, path, summary).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/predict",
        "Predict one row given as an object keyed by feature name",
    ),
    ("POST", "/v1/predict", "Same as /predict"),
    (
        "POST",
        "/predict/batch",
        "Predict {\"instances\": [row, …]} (objects or arrays in feature order)",
    ),
    ("POST", "/v1/predict/batch", "Same as /predict/batch"),
    (
        "POST",
        "/v1/explain",
        "Predict one row and explain it: each feature's exact TreeSHAP contribution",
    ),
    (
        "POST",
        "/v1/explain/batch",
        "Explain {\"instances\": [row, …]}, each answer with its explanation",
    ),
    ("GET", "/", "Service and model information"),
    ("GET", "/health", "Liveness (never needs the API key)"),
    (
        "GET",
        "/v1/model",
        "The model's schema: features, ranges, classes, trees",
    ),
    ("GET", "/openapi.json", "This API as OpenAPI 3.1"),
    ("GET", "/docs", "A page documenting this API"),
    ("GET", "/v2", "Open Inference Protocol v2: server metadata"),
    ("GET", "/v2/health/live", "V2 liveness"),
    ("GET", "/v2/health/ready", "V2 readiness"),
    ("GET", "/v2/models/{name}", "V2 model metadata"),
    ("GET", "/v2/models/{name}/ready", "V2 model readiness"),
    (
        "POST",
        "/v2/models/{name}/infer",
        "V2 inference: one FP32/FP64 tensor of shape [N, n_features]",
    ),
];

fn kind(model: &Model<'_>) -> &'static str {
    match model.task() {
        TaskKind::Classification => "classification",
        TaskKind::Regression => "regression",
    }
}

fn range(r: Option<(f64, f64)>) -> Json {
    match r {
        Some((lo, hi)) => Json::Arr(vec![Json::Num(lo), Json::Num(hi)]),
        None => Json::Null,
    }
}

/// `GET /`.
pub(super) fn info(config: &Config, model: &Model<'_>) -> Json {
    obj([
        ("service", s("edgewood")),
        ("version", s(env!("CARGO_PKG_VERSION"))),
        (
            "model",
            obj([
                ("name", s(config.model_name.as_str())),
                ("task", s(kind(model))),
                ("source", s(model.source())),
                ("features", Json::Int(model.n_features() as i64)),
                ("classes", Json::Int(model.n_classes() as i64)),
                ("trees", Json::Int(model.n_trees() as i64)),
            ]),
        ),
        (
            "auth",
            Json::Bool(
                config.api_key.as_deref().is_some_and(|k| !k.is_empty()) || config.jwt.enabled(),
            ),
        ),
        (
            "endpoints",
            Json::Arr(
                ENDPOINTS
                    .iter()
                    .map(|(m, p, d)| {
                        obj([
                            ("method", s(*m)),
                            ("path", s(p.replace("{name}", &config.model_name))),
                            ("summary", s(*d)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

/// `GET /v1/model`.
pub(super) fn schema(config: &Config, model: &Model<'_>) -> Json {
    let features = (0..model.n_features())
        .map(|i| {
            obj([
                ("name", s(model.feature_name(i))),
                ("valid_range", range(model.valid_range(i))),
                ("train_range", range(model.train_range(i))),
                ("allow_missing", Json::Bool(model.allows_missing(i))),
            ])
        })
        .collect();
    let classes = (0..model.n_classes())
        .map(|k| super::predict::label_json(model, k))
        .collect();
    obj([
        ("name", s(config.model_name.as_str())),
        ("task", s(kind(model))),
        ("source", s(model.source())),
        (
            "format_version",
            Json::Int(edgewood_core::FORMAT_VERSION as i64),
        ),
        ("features", Json::Arr(features)),
        ("classes", Json::Arr(classes)),
        ("trees", Json::Int(model.n_trees() as i64)),
        ("split_nodes", Json::Int(model.n_split_nodes() as i64)),
        ("leaves", Json::Int(model.n_leaves() as i64)),
        ("bytes", Json::Int(model.as_bytes().len() as i64)),
    ])
}

fn number_schema(model: &Model<'_>, i: usize) -> Json {
    let mut f = vec![(
        "type".to_string(),
        if model.allows_missing(i) {
            Json::Arr(vec![s("number"), s("null")])
        } else {
            s("number")
        },
    )];
    // An unbounded side (a range of `-inf:5`, say) has no JSON number to state it,
    // and `"minimum": null` would not be a schema: it is left out.
    if let Some((lo, hi)) = model.valid_range(i) {
        if lo.is_finite() {
            f.push(("minimum".into(), Json::Num(lo)));
        }
        if hi.is_finite() {
            f.push(("maximum".into(), Json::Num(hi)));
        }
    }
    Json::Obj(f)
}

/// A constant part of the document, written as JSON: smaller in the component than the
/// code that would build it. It holds no number (the reader gives floats, the document
/// integers).
fn literal(json: &str) -> Json {
    super::json::parse(json.as_bytes()).unwrap_or(Json::Null)
}

fn r(name: &str) -> Json {
    obj([("$ref", s(format!("#/components/schemas/{name}")))])
}

fn json_body(schema: Json) -> Json {
    obj([
        ("required", Json::Bool(true)),
        (
            "content",
            obj([("application/json", obj([("schema", schema)]))]),
        ),
    ])
}

fn answer(desc: &str, schema: Json) -> Json {
    obj([
        ("description", s(desc)),
        (
            "content",
            obj([("application/json", obj([("schema", schema)]))]),
        ),
    ])
}

/// An operation. `secured`: it needs the key when one is configured; `keyed`: one is,
/// so the document declares the requirement and its 401 (without a key the server asks
/// for nothing, and the document must not promise a refusal that never comes).
fn op(summary: &str, body: Option<Json>, ok: Json, secured: bool, keyed: bool) -> Json {
    let mut responses = vec![("200".to_string(), ok)];
    if body.is_some() {
        responses.push(("413".into(), answer("Body or batch too large", r("Error"))));
        responses.push(("415".into(), answer("Not JSON", r("Error"))));
        responses.push((
            "422".into(),
            answer("Validation error", r("HTTPValidationError")),
        ));
    }
    if secured && keyed {
        responses.push((
            "401".into(),
            answer(
                "Missing or invalid API key (when one is configured)",
                r("Error"),
            ),
        ));
    }
    let mut f = vec![("summary".to_string(), s(summary))];
    if let Some(b) = body {
        f.push(("requestBody".into(), b));
    }
    f.push(("responses".into(), Json::Obj(responses)));
    if !secured && keyed {
        f.push(("security".into(), Json::Arr(Vec::new())));
    }
    Json::Obj(f)
}

/// One operation of the OpenAPI document's `paths`.
struct Operation {
    /// `{name}` stands for the model's name.
    path: &'static str,
    summary: &'static str,
    /// The request body's schema (a POST), or none (a GET).
    body: Option<&'static str>,
    /// The 200 answer's description and schema (none: any JSON).
    answer: &'static str,
    schema: Option<&'static str>,
    /// Needs the credentials when some are configured.
    secured: bool,
    /// One more documented answer, after the others: status and description (an Error).
    also: Option<(&'static str, &'static str)>,
}

/// Why /v1/explain may answer 501.
const NO_COVER: Option<(&str, &str)> = Some((
    "501",
    "The model records no cover, so it cannot explain (ONNX models, or converted with --no-cover)",
));

/// The document's operations, in its order. A table rather than code: built one by
/// one, they were the largest function of the component.
const OPERATIONS: &[Operation] = &[
    Operation {
        path: "/predict",
        summary: "Predict one row",
        body: Some("Row"),
        answer: "The prediction",
        schema: Some("Prediction"),
        secured: true,
        also: None,
    },
    Operation {
        path: "/v1/predict",
        summary: "Predict one row (same as /predict)",
        body: Some("Row"),
        answer: "The prediction",
        schema: Some("Prediction"),
        secured: true,
        also: None,
    },
    Operation {
        path: "/predict/batch",
        summary: "Predict a batch of rows",
        body: Some("Batch"),
        answer: "One prediction per row, in order",
        schema: Some("BatchPrediction"),
        secured: true,
        also: None,
    },
    Operation {
        path: "/v1/predict/batch",
        summary: "Predict a batch of rows (same as /predict/batch)",
        body: Some("Batch"),
        answer: "One prediction per row",
        schema: Some("BatchPrediction"),
        secured: true,
        also: None,
    },
    Operation {
        path: "/v1/explain",
        summary: "Predict one row and explain it (exact TreeSHAP)",
        body: Some("Row"),
        answer: "The prediction and its explanation",
        schema: Some("ExplainedPrediction"),
        secured: true,
        also: NO_COVER,
    },
    Operation {
        path: "/v1/explain/batch",
        summary: "Explain a batch of rows",
        body: Some("Batch"),
        answer: "One explained prediction per row, in order",
        schema: Some("BatchExplanation"),
        secured: true,
        also: NO_COVER,
    },
    Operation {
        path: "/",
        summary: "Service and model information",
        body: None,
        answer: "Information",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/health",
        summary: "Liveness",
        body: None,
        answer: "Healthy",
        schema: None,
        secured: false,
        also: None,
    },
    Operation {
        path: "/v1/model",
        summary: "The model's schema",
        body: None,
        answer: "Schema",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/openapi.json",
        summary: "This document",
        body: None,
        answer: "OpenAPI 3.1",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/v2",
        summary: "V2 server metadata",
        body: None,
        answer: "Metadata",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/v2/health/live",
        summary: "V2 liveness",
        body: None,
        answer: "Live",
        schema: None,
        secured: false,
        also: None,
    },
    Operation {
        path: "/v2/health/ready",
        summary: "V2 readiness",
        body: None,
        answer: "Ready",
        schema: None,
        secured: false,
        also: None,
    },
    Operation {
        path: "/v2/models/{name}",
        summary: "V2 model metadata",
        body: None,
        answer: "Metadata",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/v2/models/{name}/ready",
        summary: "V2 model readiness",
        body: None,
        answer: "Ready",
        schema: None,
        secured: true,
        also: None,
    },
    Operation {
        path: "/v2/models/{name}/infer",
        summary: "V2 inference: one FP32/FP64 tensor of shape [N, n_features], in JSON or (with Inference-Header-Content-Length) in binary",
        body: Some("InferRequest"),
        answer: "label and probabilities (or predict) outputs",
        schema: None,
        secured: true,
        also: Some((
            "400",
            "A tensor the protocol refuses: its shape, datatype or data length (`error` and `detail` say which)",
        )),
    },
];

/// `GET /openapi.json`: OpenAPI 3.1, generated from the model's schema.
pub(super) fn openapi(config: &Config, model: &Model<'_>) -> Json {
    let has_key = config.api_key.as_deref().is_some_and(|k| !k.is_empty());
    // Either credential lets a request in: the key (header or bearer) or a JWT.
    let keyed = has_key || config.jwt.enabled();
    let op = |summary: &str, body: Option<Json>, ok: Json, secured: bool| {
        op(summary, body, ok, secured, keyed)
    };
    let nf = model.n_features();
    let props = (0..nf)
        .map(|i| (model.feature_name(i).to_string(), number_schema(model, i)))
        .collect();
    let required = (0..nf).map(|i| s(model.feature_name(i))).collect();
    let row = obj([
        ("type", s("object")),
        ("properties", Json::Obj(props)),
        ("required", Json::Arr(required)),
    ]);
    let example = (0..nf)
        .map(|i| {
            let x = model.valid_range(i).map_or(0.0, |(lo, hi)| {
                if hi.is_finite() && lo.is_finite() {
                    (lo + hi) / 2.0
                } else {
                    0.0
                }
            });
            (model.feature_name(i).to_string(), Json::Num(x))
        })
        .collect::<Vec<_>>();
    let prediction = match model.task() {
        TaskKind::Classification => {
            let classes = (0..model.n_classes())
                .map(|k| super::predict::label_json(model, k))
                .collect();
            let probs = (0..model.n_classes())
                .map(|k| {
                    (
                        model.class_label(k).to_string(),
                        obj([("type", s("number"))]),
                    )
                })
                .collect();
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([
                        ("prediction", obj([("enum", Json::Arr(classes))])),
                        ("confidence", obj([("type", s("number"))])),
                        (
                            "probabilities",
                            obj([("type", s("object")), ("properties", Json::Obj(probs))]),
                        ),
                    ]),
                ),
                (
                    "required",
                    Json::Arr(vec![s("prediction"), s("confidence"), s("probabilities")]),
                ),
            ])
        }
        TaskKind::Regression => literal(
            r#"{"type":"object","properties":{"prediction":{"type":"number"}},"required":["prediction"]}"#,
        ),
    };
    let mut answer_one = prediction.clone();
    if let Json::Obj(f) = &mut answer_one {
        if let Some((_, Json::Obj(p))) = f.iter_mut().find(|(k, _)| k == "properties") {
            p.push(("input".into(), r("Row")));
        }
    }
    let explanation = explanation_schema(model);
    let with_explanation = |answer: &Json, input: bool| {
        let mut answer = answer.clone();
        if let Json::Obj(f) = &mut answer {
            for (k, v) in f.iter_mut() {
                match (k.as_str(), v) {
                    ("properties", Json::Obj(p)) => {
                        p.push(("explanation".into(), r("Explanation")));
                        if input {
                            p.push(("input".into(), r("Row")));
                        }
                    }
                    ("required", Json::Arr(req)) => req.push(s("explanation")),
                    _ => {}
                }
            }
        }
        answer
    };
    let explained_one = with_explanation(&prediction, true);
    let explained = with_explanation(&prediction, false);
    let paths = Json::Obj(
        OPERATIONS
            .iter()
            .map(|o| {
                let ok = answer(o.answer, o.schema.map_or_else(|| Json::Obj(Vec::new()), r));
                let mut op = op(o.summary, o.body.map(|b| json_body(r(b))), ok, o.secured);
                if let Some((code, description)) = o.also {
                    op = with_response(op, code, answer(description, r("Error")));
                }
                let method = if o.body.is_some() { "post" } else { "get" };
                (
                    o.path.replace("{name}", &config.model_name),
                    obj([(method, op)]),
                )
            })
            .collect(),
    );
    // A row as an array: each position has its feature's own type and range, as the
    // object form's properties do, and nothing after the last feature.
    let positional = (0..nf).map(|i| number_schema(model, i)).collect();
    let row_or_array = obj([(
        "oneOf",
        Json::Arr(vec![
            r("Row"),
            obj([
                ("type", s("array")),
                ("prefixItems", Json::Arr(positional)),
                ("items", Json::Bool(false)),
                ("minItems", Json::Int(nf as i64)),
                ("maxItems", Json::Int(nf as i64)),
            ]),
        ]),
    )]);
    // A V2 tensor is [N, n_features] with 1 ≤ N ≤ the row limit. That `data` holds
    // exactly N × n_features values is beyond JSON Schema: the server's 400 says so.
    // Row-major values, flat or nested by row.
    let tensor_data = obj([
        ("type", s("array")),
        (
            "items",
            obj([("type", Json::Arr(vec![s("number"), s("array")]))]),
        ),
        ("minItems", Json::Int(1)),
        ("maxItems", Json::Int((nf * config.max_batch_rows) as i64)),
    ]);
    let tensor_shape = obj([
        ("type", s("array")),
        (
            "prefixItems",
            Json::Arr(vec![
                obj([
                    ("type", s("integer")),
                    ("minimum", Json::Int(1)),
                    ("maximum", Json::Int(config.max_batch_rows as i64)),
                ]),
                obj([("const", Json::Int(nf as i64))]),
            ]),
        ),
        ("items", Json::Bool(false)),
        ("minItems", Json::Int(2)),
        ("maxItems", Json::Int(2)),
    ]);
    let schemas = obj([
        ("Row", {
            let mut row = row;
            if let Json::Obj(f) = &mut row {
                f.push(("example".into(), Json::Obj(example)));
            }
            row
        }),
        ("Prediction", answer_one),
        (
            "Batch",
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([(
                        "instances",
                        obj([
                            ("type", s("array")),
                            ("items", row_or_array),
                            ("minItems", Json::Int(1)),
                            ("maxItems", Json::Int(config.max_batch_rows as i64)),
                        ]),
                    )]),
                ),
                ("required", Json::Arr(vec![s("instances")])),
            ]),
        ),
        (
            "BatchPrediction",
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([(
                        "predictions",
                        obj([("type", s("array")), ("items", prediction)]),
                    )]),
                ),
            ]),
        ),
        ("Explanation", explanation),
        ("ExplainedPrediction", explained_one),
        (
            "BatchExplanation",
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([(
                        "explanations",
                        obj([("type", s("array")), ("items", explained)]),
                    )]),
                ),
                ("required", Json::Arr(vec![s("explanations")])),
            ]),
        ),
        (
            "InferRequest",
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([
                        ("id", obj([("type", s("string"))])),
                        (
                            "inputs",
                            obj([
                                ("type", s("array")),
                                ("minItems", Json::Int(1)),
                                ("maxItems", Json::Int(1)),
                                (
                                    "items",
                                    obj([
                                        ("type", s("object")),
                                        (
                                            "properties",
                                            obj([
                                                ("name", obj([("type", s("string"))])),
                                                ("shape", tensor_shape),
                                                (
                                                    "datatype",
                                                    obj([(
                                                        "enum",
                                                        Json::Arr(vec![s("FP32"), s("FP64")]),
                                                    )]),
                                                ),
                                                ("data", tensor_data),
                                            ]),
                                        ),
                                        (
                                            "required",
                                            Json::Arr(vec![
                                                s("name"),
                                                s("shape"),
                                                s("datatype"),
                                                s("data"),
                                            ]),
                                        ),
                                    ]),
                                ),
                            ]),
                        ),
                    ]),
                ),
                ("required", Json::Arr(vec![s("inputs")])),
            ]),
        ),
        (
            "HTTPValidationError",
            literal(
                r#"{"type":"object","properties":{"detail":{"type":"array","items":{"type":"object","properties":{"loc":{"type":"array","items":{"type":["string","integer"]}},"msg":{"type":"string"},"type":{"type":"string"}},"required":["loc","msg","type"]}}}}"#,
            ),
        ),
        (
            "Error",
            literal(r#"{"type":"object","properties":{"detail":{"type":"string"}}}"#),
        ),
    ]);
    let mut doc = obj([
        ("openapi", s("3.1.0")),
        (
            "info",
            obj([
                ("title", s(format!("Edgewood: {}", config.model_name))),
                ("version", s(env!("CARGO_PKG_VERSION"))),
                (
                    "description",
                    s(format!(
                        "Tree-ensemble inference ({}, {} trees) as a WebAssembly component.",
                        model.source(),
                        model.n_trees()
                    )),
                ),
            ]),
        ),
        ("paths", paths),
        (
            "components",
            if keyed {
                obj([
                    ("schemas", schemas),
                    (
                        "securitySchemes",
                        Json::Obj(security_schemes(config, has_key)),
                    ),
                ])
            } else {
                obj([("schemas", schemas)])
            },
        ),
    ]);
    if keyed {
        if let Json::Obj(f) = &mut doc {
            let alternatives = security_schemes(config, has_key)
                .into_iter()
                .map(|(name, _)| obj([(name, Json::Arr(Vec::new()))]))
                .collect();
            f.push(("security".into(), Json::Arr(alternatives)));
        }
    }
    doc
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /docs`: one self-contained page (inline CSS and script, no network).
pub(super) fn docs(config: &Config, model: &Model<'_>) -> String {
    let mut features = String::new();
    let mut example = Vec::new();
    for i in 0..model.n_features() {
        let (lo, hi) = model
            .valid_range(i)
            .map_or(("any".to_string(), String::new()), |(lo, hi)| {
                (DisplayF64(lo).to_string(), DisplayF64(hi).to_string())
            });
        features.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(model.feature_name(i)),
            lo,
            hi,
            if model.allows_missing(i) { "yes" } else { "no" }
        ));
        let x = model.valid_range(i).map_or(0.0, |(lo, hi)| {
            if lo.is_finite() && hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                0.0
            }
        });
        example.push((model.feature_name(i).to_string(), Json::Num(x)));
    }
    let example = Json::Obj(example).to_json();
    let classes = (0..model.n_classes())
        .map(|k| format!("<code>{}</code>", html_escape(model.class_label(k))))
        .collect::<Vec<_>>()
        .join(", ");
    let endpoints: String = ENDPOINTS
        .iter()
        .map(|(m, p, d)| {
            format!(
                "<tr><td>{m}</td><td><code>{}</code></td><td>{}</td></tr>",
                html_escape(&p.replace("{name}", &config.model_name)),
                html_escape(d)
            )
        })
        .collect();
    let mut example_js = String::new();
    super::json::write_str(&mut example_js, &example);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edgewood API: {name}</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}
code,pre,textarea{{font:13px ui-monospace,monospace}}pre{{background:#f4f4f4;padding:.75rem;overflow:auto}}
textarea{{width:100%;height:8rem}}</style></head><body>
<h1>Edgewood API: {name}</h1>
<p>{task} model from <code>{source}</code>: {trees} trees, {nf} features{classes_line}.
The machine-readable description is <a href="openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Endpoints</h2><table><tr><th>Method</th><th>Path</th><th>What</th></tr>{endpoints}</table>
<h2>Input features</h2><table><tr><th>Name</th><th>Min</th><th>Max</th><th>Missing (null/NaN) allowed</th></tr>{features}</table>
<h2>Example</h2><pre>curl -s -X POST http://127.0.0.1:3000/predict -H 'Content-Type: application/json' \
  -d '{example_html}'</pre>
<p>Errors: 422 with <code>{{"detail": [{{"loc": [...], "msg": "...", "type": "..."}}]}}</code> when the body does not match the schema
(missing field, wrong type, NaN or infinity, out of range, not JSON); 400/401/404/405/413/415 with <code>{{"detail": "..."}}</code>
for other mistakes. When an API key is configured, send it as <code>X-API-Key</code> or <code>Authorization: Bearer</code>
(health endpoints excepted).</p>
<h2>Try it</h2><p>API key (if the server needs one): <input id="key" type="password"></p>
<textarea id="body"></textarea><p><button id="go">POST /predict</button></p><pre id="out"></pre>
<script>
document.getElementById('body').value = {example_js};
document.getElementById('go').onclick = async () => {{
  const headers = {{'Content-Type': 'application/json'}};
  const key = document.getElementById('key').value;
  if (key) headers['X-API-Key'] = key;
  const r = await fetch('predict', {{method: 'POST', headers, body: document.getElementById('body').value}});
  document.getElementById('out').textContent = r.status + '\n' + JSON.stringify(await r.json(), null, 2);
}};
</script></body></html>
"#,
        name = html_escape(&config.model_name),
        task = kind(model),
        source = html_escape(model.source()),
        trees = model.n_trees(),
        nf = model.n_features(),
        classes_line = if classes.is_empty() {
            String::new()
        } else {
            format!(", classes {classes}")
        },
        example_html = html_escape(&example),
    )
}

/// The `explanation` of an answer for this model: per class for a classifier.
fn explanation_schema(model: &Model<'_>) -> Json {
    let nf = model.n_features();
    let number = || obj([("type", s("number"))]);
    let contributions = obj([
        ("type", s("object")),
        (
            "properties",
            Json::Obj(
                (0..nf)
                    .map(|i| (model.feature_name(i).to_string(), number()))
                    .collect(),
            ),
        ),
        (
            "required",
            Json::Arr((0..nf).map(|i| s(model.feature_name(i))).collect()),
        ),
    ]);
    let output = obj([
        ("type", s("object")),
        (
            "properties",
            obj([("base", number()), ("contributions", contributions)]),
        ),
        ("required", Json::Arr(vec![s("base"), s("contributions")])),
    ]);
    let space = (
        "space",
        obj([
            ("enum", Json::Arr(vec![s(ExplanationSpace::of(model).name())])),
            (
                "description",
                s("What the base plus the contributions equal: a forest classifier's probability, a boosted model's margin (before its link), or the value"),
            ),
        ]),
    );
    match model.task() {
        TaskKind::Regression => {
            let Json::Obj(mut f) = output else {
                unreachable!("an object")
            };
            if let Some((_, Json::Obj(p))) = f.iter_mut().find(|(k, _)| k == "properties") {
                p.insert(0, (space.0.into(), space.1));
            }
            if let Some((_, Json::Arr(r))) = f.iter_mut().find(|(k, _)| k == "required") {
                r.push(s("space"));
            }
            Json::Obj(f)
        }
        TaskKind::Classification => {
            let classes = (0..model.n_classes())
                .map(|c| (model.class_label(c).to_string(), output.clone()))
                .collect();
            let required = (0..model.n_classes())
                .map(|c| s(model.class_label(c)))
                .collect();
            obj([
                ("type", s("object")),
                (
                    "properties",
                    obj([
                        space,
                        (
                            "classes",
                            obj([
                                ("type", s("object")),
                                ("properties", Json::Obj(classes)),
                                ("required", Json::Arr(required)),
                            ]),
                        ),
                    ]),
                ),
                ("required", Json::Arr(vec![s("space"), s("classes")])),
            ])
        }
    }
}

/// `op` with one more documented answer.
fn with_response(mut op: Json, code: &str, answer: Json) -> Json {
    if let Json::Obj(f) = &mut op {
        if let Some((_, Json::Obj(responses))) = f.iter_mut().find(|(k, _)| k == "responses") {
            responses.push((code.to_string(), answer));
        }
    }
    op
}

/// The credentials the server accepts: the API key in its header (when one is set) and
/// a bearer token, which is the key or, when JWT is configured, a JWT.
fn security_schemes(config: &Config, has_key: bool) -> Vec<(String, Json)> {
    let mut schemes = Vec::new();
    if has_key {
        schemes.push((
            "ApiKey".to_string(),
            literal(r#"{"type":"apiKey","in":"header","name":"X-API-Key"}"#),
        ));
    }
    let mut bearer = vec![("type", s("http")), ("scheme", s("bearer"))];
    if config.jwt.enabled() {
        bearer.push(("bearerFormat", s("JWT")));
    }
    schemes.push(("Bearer".to_string(), obj(bearer)));
    schemes
}
