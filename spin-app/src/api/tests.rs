//! Native tests of the HTTP API: routing, validation, auth, CORS, V2, documents.

use super::json::{parse, Json};
use super::*;

fn config() -> Config {
    Config::new("iris")
}

fn call(
    config: &Config,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Response, Json) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let req = Request {
        method,
        path,
        headers: &headers,
        body: Body::Bytes(body),
    };
    let resp = handle(config, crate::model(), &req);
    let json = if resp.get_header("content-type") == Some("application/json") {
        parse(&resp.body).expect("answers are valid JSON")
    } else {
        Json::Null
    };
    (resp, json)
}

fn post(path: &str, body: &str) -> (Response, Json) {
    call(
        &config(),
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

const SETOSA: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

fn num(v: &Json) -> f64 {
    match v {
        Json::Num(x) => *x,
        Json::Int(n) => *n as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_reference_request_works_unchanged() {
    let (resp, v) = post("/predict", SETOSA);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let model = crate::model().unwrap();
    let row = [5.1, 3.5, 1.4, 0.2];
    let edgewood_core::Prediction::Class {
        label,
        confidence,
        probabilities,
    } = model.predict(&row).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        v.get("prediction"),
        Some(&Json::Str(model.class_label(label).into()))
    );
    assert_eq!(
        num(v.get("confidence").unwrap()).to_bits(),
        confidence.to_bits()
    );
    let probs = v.get("probabilities").unwrap();
    for (k, p) in probabilities.iter().enumerate() {
        assert_eq!(
            num(probs.get(model.class_label(k)).unwrap()).to_bits(),
            p.to_bits()
        );
    }
    let input = v.get("input").unwrap();
    assert_eq!(input.get("petal_width"), Some(&Json::Num(0.2)));
    assert_eq!(resp.rows, 1);
    // The same request under /v1 and with a trailing slash.
    assert_eq!(post("/v1/predict", SETOSA).0.body, resp.body);
    assert_eq!(post("/predict/", SETOSA).0.body, resp.body);
}

#[test]
fn keys_may_come_in_any_order_and_extra_keys_are_ignored() {
    let (a, _) = post("/predict", SETOSA);
    let (b, _) = post(
        "/predict",
        r#"{"petal_width":0.2,"note":"x","petal_length":1.4,"sepal_width":3.5,"sepal_length":5.1}"#,
    );
    assert_eq!(a.body, b.body);
}

fn problems(v: &Json) -> Vec<(String, String)> {
    let Some(Json::Arr(items)) = v.get("detail") else {
        panic!("no detail list: {v:?}")
    };
    items
        .iter()
        .map(|p| {
            let Some(Json::Arr(loc)) = p.get("loc") else {
                panic!()
            };
            let loc = loc.iter().map(|l| match l {
                Json::Str(s) => s.clone(),
                other => format!("{}", num(other)),
            });
            let Some(Json::Str(kind)) = p.get("type") else {
                panic!()
            };
            let Some(Json::Str(msg)) = p.get("msg") else {
                panic!()
            };
            assert!(!msg.is_empty());
            (loc.collect::<Vec<_>>().join("."), kind.clone())
        })
        .collect()
}

#[test]
fn validation_errors_are_422_in_fastapi_shape() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}"#,
            "body.petal_width",
            "missing",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":null}"#,
            "body.petal_width",
            "float_type",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":"0.2"}"#,
            "body.petal_width",
            "float_type",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":[0.2]}"#,
            "body.petal_width",
            "float_type",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":true}"#,
            "body.petal_width",
            "float_type",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":NaN}"#,
            "body.petal_width",
            "finite_number",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":Infinity}"#,
            "body.petal_width",
            "finite_number",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":1e400}"#,
            "body.petal_width",
            "finite_number",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":-0.1}"#,
            "body.petal_width",
            "greater_than_equal",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":10.5}"#,
            "body.petal_width",
            "less_than_equal",
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":1,"petal_width":2}"#,
            "body.petal_width",
            "duplicate_field",
        ),
        (r#"[5.1,3.5,1.4,0.2]"#, "body", "model_attributes_type"),
        ("", "body", "missing"),
        ("   ", "body", "missing"),
        ("{", "body.1", "json_invalid"),
        ("not json", "body.0", "json_invalid"),
    ];
    for (body, loc, kind) in cases {
        let (resp, v) = post("/predict", body);
        assert_eq!(resp.status, 422, "{body}");
        let p = problems(&v);
        assert!(
            p.contains(&(loc.to_string(), kind.to_string())),
            "{body}: {p:?}"
        );
    }
    // Every problem at once.
    let (_, v) = post("/predict", r#"{"sepal_length":-1,"petal_width":"x"}"#);
    assert_eq!(problems(&v).len(), 4, "{v:?}");
}

#[test]
fn deep_nesting_is_a_422_not_a_crash() {
    let body = "[".repeat(100_000);
    let (resp, v) = post("/predict", &body);
    assert_eq!(resp.status, 422);
    assert_eq!(problems(&v)[0].1, "json_invalid");
}

#[test]
fn other_client_errors_have_a_detail_string() {
    let c = config();
    let cases: Vec<(Response, u16)> = vec![
        (call(&c, "GET", "/nope", &[], b"").0, 404),
        (call(&c, "GET", "/v2/models", &[], b"").0, 404),
        (call(&c, "GET", "/predict", &[], b"").0, 405),
        (call(&c, "DELETE", "/health", &[], b"").0, 405),
        (
            call(
                &c,
                "POST",
                "/predict",
                &[("content-type", "text/plain")],
                SETOSA.as_bytes(),
            )
            .0,
            415,
        ),
        (
            call(
                &c,
                "POST",
                "/predict",
                &[("content-type", "application/x-www-form-urlencoded")],
                b"a=1",
            )
            .0,
            415,
        ),
        (
            handle(
                &c,
                crate::model(),
                &Request {
                    method: "POST",
                    path: "/predict",
                    headers: &[],
                    body: Body::TooLarge,
                },
            ),
            413,
        ),
    ];
    for (resp, status) in cases {
        assert_eq!(resp.status, status);
        let v = parse(&resp.body).unwrap();
        assert!(
            matches!(v.get("detail"), Some(Json::Str(m)) if !m.is_empty()),
            "{v:?}"
        );
    }
    assert_eq!(
        call(&c, "GET", "/predict", &[], b"").0.get_header("allow"),
        Some("POST, OPTIONS")
    );
    // No Content-Type is read as JSON, as FastAPI does; charset parameters are fine.
    assert_eq!(
        call(&c, "POST", "/predict", &[], SETOSA.as_bytes())
            .0
            .status,
        200
    );
    assert_eq!(
        call(
            &c,
            "POST",
            "/predict",
            &[("content-type", "application/json; charset=utf-8")],
            SETOSA.as_bytes()
        )
        .0
        .status,
        200
    );
}

#[test]
fn batches_predict_each_row_and_enforce_the_row_limit() {
    let model = crate::model().unwrap();
    let body = format!(r#"{{"instances":[{SETOSA},[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5]]}}"#);
    let (resp, v) = post("/predict/batch", &body);
    assert_eq!(resp.status, 200, "{v:?}");
    assert_eq!(resp.rows, 3);
    let Some(Json::Arr(preds)) = v.get("predictions") else {
        panic!()
    };
    for (p, row) in preds.iter().zip([
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
        [5.9, 3.0, 4.2, 1.5],
    ]) {
        let edgewood_core::Prediction::Class {
            label, confidence, ..
        } = model.predict(&row).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            p.get("prediction"),
            Some(&Json::Str(model.class_label(label).into()))
        );
        assert_eq!(
            num(p.get("confidence").unwrap()).to_bits(),
            confidence.to_bits()
        );
    }
    let (_, one) = post("/predict", SETOSA);
    assert_eq!(preds[0].get("probabilities"), one.get("probabilities"));

    let mut small = config();
    small.max_batch_rows = 2;
    let (resp, _) = call(&small, "POST", "/predict/batch", &[], body.as_bytes());
    assert_eq!(resp.status, 413);

    for (body, loc, kind) in [
        (r#"{}"#, "body.instances", "missing"),
        (r#"{"instances":{}}"#, "body.instances", "list_type"),
        (r#"{"instances":[]}"#, "body.instances", "too_short"),
        (
            r#"{"instances":[[1,2,3]]}"#,
            "body.instances.0",
            "row_length",
        ),
        (
            r#"{"instances":[[1,2,3,4],{"sepal_length":1}]}"#,
            "body.instances.1.sepal_width",
            "missing",
        ),
        (
            r#"{"instances":[[1,2,3,11]]}"#,
            "body.instances.0.petal_width",
            "less_than_equal",
        ),
        (
            r#"{"instances":[7]}"#,
            "body.instances.0",
            "model_attributes_type",
        ),
    ] {
        let (resp, v) = post("/v1/predict/batch", body);
        assert_eq!(resp.status, 422, "{body}");
        assert!(
            problems(&v).contains(&(loc.to_string(), kind.to_string())),
            "{body}: {v:?}"
        );
    }
}

#[test]
fn api_key_guards_everything_but_health() {
    let mut c = config();
    c.api_key = Some("s3cret".into());
    let json = ("content-type", "application/json");
    assert_eq!(
        call(&c, "POST", "/predict", &[json], SETOSA.as_bytes())
            .0
            .status,
        401
    );
    assert_eq!(
        call(
            &c,
            "POST",
            "/predict",
            &[json, ("x-api-key", "wrong")],
            SETOSA.as_bytes()
        )
        .0
        .status,
        401
    );
    assert_eq!(
        call(
            &c,
            "POST",
            "/predict",
            &[json, ("x-api-key", "s3cret")],
            SETOSA.as_bytes()
        )
        .0
        .status,
        200
    );
    assert_eq!(
        call(
            &c,
            "POST",
            "/predict",
            &[json, ("Authorization", "Bearer s3cret")],
            SETOSA.as_bytes()
        )
        .0
        .status,
        200
    );
    assert_eq!(
        call(
            &c,
            "POST",
            "/predict",
            &[json, ("Authorization", "Basic s3cret")],
            SETOSA.as_bytes()
        )
        .0
        .status,
        401
    );
    for path in [
        "/",
        "/v1/model",
        "/openapi.json",
        "/docs",
        "/v2",
        "/v2/models/iris",
    ] {
        assert_eq!(call(&c, "GET", path, &[], b"").0.status, 401, "{path}");
    }
    for path in ["/health", "/v2/health/live", "/v2/health/ready"] {
        assert_eq!(call(&c, "GET", path, &[], b"").0.status, 200, "{path}");
    }
    // Unknown routes stay 404 (no oracle for which paths exist is withheld by auth).
    assert_eq!(call(&c, "GET", "/nope", &[], b"").0.status, 404);
    // An empty key means no auth.
    c.api_key = Some(String::new());
    assert_eq!(
        call(&c, "POST", "/predict", &[json], SETOSA.as_bytes())
            .0
            .status,
        200
    );
}

#[test]
fn constant_time_eq_is_equality() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abd", b"abc"));
    assert!(!constant_time_eq(b"ab", b"abc"));
    assert!(!constant_time_eq(b"abcabc", b"abc"));
    assert!(!constant_time_eq(b"", b"abc"));
    assert!(constant_time_eq(b"", b""));
}

#[test]
fn cors_answers_preflights_for_allowed_origins_only() {
    let mut c = config();
    c.api_key = Some("k".into());
    c.allowed_origins = Config::parse_origins("https://app.example, https://other.example/");
    let pre = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "POST"),
    ];
    let (resp, _) = call(&c, "OPTIONS", "/predict", &pre, b"");
    assert_eq!(resp.status, 204);
    assert_eq!(
        resp.get_header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(resp
        .get_header("access-control-allow-headers")
        .unwrap()
        .contains("x-api-key"));
    assert!(resp
        .get_header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let (resp, _) = call(
        &c,
        "OPTIONS",
        "/predict",
        &[("origin", "https://evil.example")],
        b"",
    );
    assert_eq!(resp.get_header("access-control-allow-origin"), None);
    // Simple requests get the header too, errors included.
    let (resp, _) = call(&c, "GET", "/", &[("origin", "https://other.example")], b"");
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.get_header("access-control-allow-origin"),
        Some("https://other.example")
    );
    c.allowed_origins = vec!["*".into()];
    let (resp, _) = call(
        &c,
        "GET",
        "/health",
        &[("origin", "https://any.example")],
        b"",
    );
    assert_eq!(resp.get_header("access-control-allow-origin"), Some("*"));
    c.allowed_origins.clear();
    let (resp, _) = call(
        &c,
        "GET",
        "/health",
        &[("origin", "https://any.example")],
        b"",
    );
    assert_eq!(resp.get_header("access-control-allow-origin"), None);
}

#[test]
fn v2_protocol() {
    let c = config();
    let (resp, v) = call(&c, "GET", "/v2", &[], b"");
    assert_eq!(resp.status, 200);
    assert_eq!(v.get("name"), Some(&Json::Str("edgewood".into())));
    assert_eq!(
        call(&c, "GET", "/v2/health/live", &[], b"").1.get("live"),
        Some(&Json::Bool(true))
    );
    assert_eq!(
        call(&c, "GET", "/v2/health/ready", &[], b"").1.get("ready"),
        Some(&Json::Bool(true))
    );
    assert_eq!(
        call(&c, "GET", "/v2/models/iris/ready", &[], b"")
            .1
            .get("ready"),
        Some(&Json::Bool(true))
    );
    assert_eq!(
        call(&c, "GET", "/v2/models/other/ready", &[], b"").0.status,
        404
    );
    let (_, meta) = call(&c, "GET", "/v2/models/iris", &[], b"");
    assert_eq!(meta.get("name"), Some(&Json::Str("iris".into())));

    let body = r#"{"id":"r1","inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}]}"#;
    let (resp, v) = call(
        &c,
        "POST",
        "/v2/models/iris/infer",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{v:?}");
    assert_eq!(v.get("id"), Some(&Json::Str("r1".into())));
    let Some(Json::Arr(outputs)) = v.get("outputs") else {
        panic!()
    };
    let model = crate::model().unwrap();
    let mut expected = vec![0.0; 6];
    let rows: Vec<f64> = [5.1f32, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]
        .iter()
        .map(|&x| x as f64)
        .collect();
    model.predict_batch(&rows, &mut expected).unwrap();
    let probs = outputs
        .iter()
        .find(|o| o.get("name") == Some(&Json::Str("probabilities".into())))
        .unwrap();
    let Some(Json::Arr(data)) = probs.get("data") else {
        panic!()
    };
    assert_eq!(
        data.iter().map(|d| num(d).to_bits()).collect::<Vec<_>>(),
        expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let labels = outputs
        .iter()
        .find(|o| o.get("name") == Some(&Json::Str("label".into())))
        .unwrap();
    assert_eq!(labels.get("datatype"), Some(&Json::Str("BYTES".into())));

    // Flat data, FP64, and a requested output subset.
    let body = r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}],"outputs":[{"name":"label"}]}"#;
    let (resp, v) = call(&c, "POST", "/v2/models/iris/infer", &[], body.as_bytes());
    assert_eq!(resp.status, 200, "{v:?}");
    let Some(Json::Arr(outputs)) = v.get("outputs") else {
        panic!()
    };
    assert_eq!(outputs.len(), 1);

    for (body, status) in [
        ("", 400),
        ("[]", 400),
        ("{", 400),
        (r#"{}"#, 400),
        (r#"{"inputs":[]}"#, 400),
        (
            r#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"INT8","data":[1,2,3,4]}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[1,2,3,4]}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,"4"]}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,40]}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"nope"}]}"#,
            400,
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[5000,4],"datatype":"FP32","data":[]}]}"#,
            413,
        ),
    ] {
        let (resp, v) = call(&c, "POST", "/v2/models/iris/infer", &[], body.as_bytes());
        assert_eq!(resp.status, status, "{body}: {v:?}");
        assert!(
            matches!(v.get("error"), Some(Json::Str(m)) if !m.is_empty()),
            "{body}"
        );
    }
    let (resp, _) = call(&c, "POST", "/v2/models/nope/infer", &[], b"{}");
    assert_eq!(resp.status, 404);
}

/// A binary V2 request: the JSON header, then the FP32 rows; the header length as
/// Triton's client sends it.
fn binary_request(
    rows: &[[f32; 4]],
    json_tail: &str,
    declared: Option<usize>,
) -> (String, Vec<u8>) {
    let size = declared.unwrap_or(rows.len() * 16);
    let header = format!(
        r#"{{"inputs":[{{"name":"input-0","shape":[{},4],"datatype":"FP32","parameters":{{"binary_data_size":{size}}}}}]{json_tail}}}"#,
        rows.len()
    );
    let mut body = header.clone().into_bytes();
    for x in rows.iter().flatten() {
        body.extend_from_slice(&x.to_le_bytes());
    }
    (header.len().to_string(), body)
}

#[test]
fn v2_binary_tensors_in_and_out() {
    let c = config();
    let rows = [[5.1f32, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
    let model = crate::model().unwrap();
    let flat: Vec<f64> = rows.iter().flatten().map(|&x| f64::from(x)).collect();
    let mut expected = vec![0.0; 6];
    model.predict_batch(&flat, &mut expected).unwrap();

    let (len, body) = binary_request(&rows, r#","parameters":{"binary_data_output":true}"#, None);
    let (resp, _) = call(
        &c,
        "POST",
        "/v2/models/iris/infer",
        &[("inference-header-content-length", &len)],
        &body,
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(
        resp.get_header("content-type"),
        Some("application/octet-stream")
    );
    let header_len: usize = resp
        .get_header("inference-header-content-length")
        .unwrap()
        .parse()
        .unwrap();
    let header = parse(&resp.body[..header_len]).unwrap();
    let tail = &resp.body[header_len..];
    let Some(Json::Arr(outputs)) = header.get("outputs") else {
        panic!("{header:?}")
    };
    let sizes: Vec<usize> = outputs
        .iter()
        .map(|o| {
            num(o
                .get("parameters")
                .unwrap()
                .get("binary_data_size")
                .unwrap()) as usize
        })
        .collect();
    assert!(outputs.iter().all(|o| o.get("data").is_none()));
    assert_eq!(sizes.iter().sum::<usize>(), tail.len());
    // Labels (BYTES: 4-byte length, then the name), then the FP64 probabilities.
    let (labels, probs) = tail.split_at(sizes[0]);
    assert_eq!(&labels[..4], &6u32.to_le_bytes());
    assert_eq!(&labels[4..10], b"setosa");
    let got: Vec<u64> = probs
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        got,
        expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );

    // Binary in, JSON out for the output that says binary_data: false.
    let (len, body) = binary_request(
        &rows,
        r#","outputs":[{"name":"probabilities","parameters":{"binary_data":false}}]"#,
        None,
    );
    let (resp, v) = call(
        &c,
        "POST",
        "/v2/models/iris/infer",
        &[
            ("inference-header-content-length", &len),
            ("content-type", "application/octet-stream"),
        ],
        &body,
    );
    assert_eq!(resp.status, 200, "{v:?}");
    assert_eq!(resp.get_header("inference-header-content-length"), None);
    let Some(Json::Arr(outputs)) = v.get("outputs") else {
        panic!()
    };
    let Some(Json::Arr(data)) = outputs[0].get("data") else {
        panic!()
    };
    assert_eq!(
        data.iter().map(|d| num(d).to_bits()).collect::<Vec<_>>(),
        expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn v2_bad_binary_framing_is_a_400_naming_the_length() {
    let c = config();
    let rows = [[5.1f32, 3.5, 1.4, 0.2]];
    let (len, body) = binary_request(&rows, "", None);
    let past_body = (body.len() + 1).to_string();
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (past_body, body.clone(), "Inference-Header-Content-Length"),
        ("-1".into(), body.clone(), "Inference-Header-Content-Length"),
        (
            "99999999999999999999999".into(),
            body.clone(),
            "Inference-Header-Content-Length",
        ),
        (
            len.clone(),
            body[..body.len() - 1].to_vec(),
            "binary_data_size",
        ),
        (
            len.clone(),
            [body.clone(), vec![0]].concat(),
            "binary_data_size",
        ),
        // Cutting the header short leaves JSON that does not parse.
        ("5".into(), body.clone(), "JSON"),
    ];
    for (header, body, names) in cases {
        let (resp, v) = call(
            &c,
            "POST",
            "/v2/models/iris/infer",
            &[("inference-header-content-length", &header)],
            &body,
        );
        assert_eq!(resp.status, 400, "{header}: {v:?}");
        let Some(Json::Str(msg)) = v.get("error") else {
            panic!("{v:?}")
        };
        assert!(msg.contains(names), "{header}: {msg}");
    }
    for declared in [15, 17, 0] {
        let (len, body) = binary_request(&rows, "", Some(declared));
        let (resp, v) = call(
            &c,
            "POST",
            "/v2/models/iris/infer",
            &[("inference-header-content-length", &len)],
            &body,
        );
        assert_eq!(resp.status, 400, "{declared}: {v:?}");
    }
    // Negative and overflowing sizes in the JSON header.
    for declared in ["-16", "1e30", "16.5", "\"16\""] {
        let header = format!(
            r#"{{"inputs":[{{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{{"binary_data_size":{declared}}}}}]}}"#
        );
        let mut body = header.clone().into_bytes();
        body.extend_from_slice(&[0; 16]);
        let (resp, v) = call(
            &c,
            "POST",
            "/v2/models/iris/infer",
            &[("inference-header-content-length", &header.len().to_string())],
            &body,
        );
        assert_eq!(resp.status, 400, "{declared}: {v:?}");
    }
    // Binary bytes without the header length are not JSON.
    let (_, body) = binary_request(&rows, "", None);
    let (resp, _) = call(&c, "POST", "/v2/models/iris/infer", &[], &body);
    assert_eq!(resp.status, 400);
}

#[test]
fn documents_describe_the_model() {
    let c = config();
    let (resp, v) = call(&c, "GET", "/", &[], b"");
    assert_eq!(resp.status, 200);
    assert!(v.get("endpoints").is_some());
    let (_, schema) = call(&c, "GET", "/v1/model", &[], b"");
    let Some(Json::Arr(features)) = schema.get("features") else {
        panic!()
    };
    assert_eq!(features.len(), 4);
    assert_eq!(
        features[3].get("name"),
        Some(&Json::Str("petal_width".into()))
    );
    assert_eq!(
        features[3].get("valid_range"),
        Some(&Json::Arr(vec![Json::Num(0.0), Json::Num(10.0)]))
    );
    let Some(Json::Arr(classes)) = schema.get("classes") else {
        panic!()
    };
    assert_eq!(
        classes,
        &vec![
            Json::Str("setosa".into()),
            Json::Str("versicolor".into()),
            Json::Str("virginica".into())
        ]
    );
    let (_, api) = call(&c, "GET", "/openapi.json", &[], b"");
    assert_eq!(api.get("openapi"), Some(&Json::Str("3.1.0".into())));
    let row = api
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(|s| s.get("Row"))
        .unwrap();
    let pw = row
        .get("properties")
        .and_then(|p| p.get("petal_width"))
        .unwrap();
    assert_eq!(pw.get("maximum"), Some(&Json::Num(10.0)));
    assert!(api
        .get("paths")
        .and_then(|p| p.get("/v2/models/iris/infer"))
        .is_some());
    let (resp, _) = call(&c, "GET", "/docs", &[], b"");
    assert_eq!(resp.status, 200);
    let page = String::from_utf8(resp.body).unwrap();
    assert!(page.contains("petal_width") && page.contains("/predict"));
    assert!(
        !page.contains("http://") || !page.contains("<script src"),
        "no external script"
    );
    assert!(!page.contains("<script src") && !page.contains("<link"));
}

#[test]
fn log_lines_are_json_without_the_key() {
    let headers = vec![
        ("x-api-key".to_string(), "s3cret".to_string()),
        ("x-request-id".to_string(), "abc-1".to_string()),
    ];
    let req = Request {
        method: "POST",
        path: "/predict?x=1",
        headers: &headers,
        body: Body::Bytes(SETOSA.as_bytes()),
    };
    let mut c = config();
    c.api_key = Some("s3cret".into());
    let resp = handle(&c, crate::model(), &req);
    let id = request_id(&req, || "generated".into());
    assert_eq!(id, "abc-1");
    let line = log_line(&req, &resp, 0.1234, &id);
    assert!(!line.contains("s3cret"));
    let v = parse(line.as_bytes()).unwrap();
    assert_eq!(num(v.get("status").unwrap()), 200.0);
    assert_eq!(v.get("path"), Some(&Json::Str("/predict".into())));
    assert_eq!(num(v.get("rows").unwrap()), 1.0);
    assert_eq!(v.get("request_id"), Some(&Json::Str("abc-1".into())));
    let bad = vec![("x-request-id".to_string(), "a b\n".to_string())];
    let req = Request {
        method: "GET",
        path: "/",
        headers: &bad,
        body: Body::Bytes(b""),
    };
    assert_eq!(request_id(&req, || "generated".into()), "generated");
}

#[test]
fn the_openapi_document_declares_security_only_when_a_key_is_set() {
    let document = |config: &Config| {
        let (resp, json) = call(config, "GET", "/openapi.json", &[("X-API-Key", "k")], b"");
        assert_eq!(resp.status, 200, "{}", json.to_json());
        json.to_json()
    };
    let open = document(&config());
    for absent in ["\"security\"", "securitySchemes", "\"401\""] {
        assert!(!open.contains(absent), "{absent} without a key");
    }
    let mut keyed = config();
    keyed.api_key = Some("k".into());
    let keyed = document(&keyed);
    for present in ["\"security\"", "securitySchemes", "\"401\""] {
        assert!(keyed.contains(present), "{present} missing with a key");
    }
    // The V2 protocol's 400 is documented.
    assert!(open.contains("A tensor the protocol refuses"));
    // With JWT as well: the bearer scheme says JWT, beside the key's scheme.
    let mut jwt = config();
    jwt.api_key = Some("k".into());
    jwt.jwt.hs256_secret = Some("secret".into());
    let jwt = document(&jwt);
    for present in ["\"bearerFormat\":\"JWT\"", "\"ApiKey\"", "\"401\""] {
        assert!(jwt.contains(present), "{present} missing with JWT");
    }
    assert!(!keyed.contains("bearerFormat"), "JWT declared without JWT");
}

#[test]
fn the_openapi_documents_constant_parts_are_written_in_full() {
    // They are JSON text read at run time (`openapi::literal`): a typo would be a null.
    let mut keyed = config();
    keyed.api_key = Some("k".into());
    let (_, json) = call(&keyed, "GET", "/openapi.json", &[("X-API-Key", "k")], b"");
    let schemas = json
        .get("components")
        .and_then(|c| c.get("schemas"))
        .unwrap();
    assert_eq!(
        schemas.get("Error").unwrap().to_json(),
        r#"{"type":"object","properties":{"detail":{"type":"string"}}}"#
    );
    let detail = schemas
        .get("HTTPValidationError")
        .unwrap()
        .get("properties");
    let item = detail
        .and_then(|p| p.get("detail"))
        .and_then(|d| d.get("items"));
    assert_eq!(
        item.and_then(|i| i.get("required")).unwrap().to_json(),
        r#"["loc","msg","type"]"#
    );
    let schemes = json
        .get("components")
        .and_then(|c| c.get("securitySchemes"));
    assert_eq!(
        schemes.and_then(|s| s.get("ApiKey")).unwrap().to_json(),
        r#"{"type":"apiKey","in":"header","name":"X-API-Key"}"#
    );
}

#[test]
fn a_half_open_range_documents_only_its_finite_side() {
    use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Link, Node, Task, Tree};
    let feature = |name: &str, range| Feature {
        valid_range: Some(range),
        ..Feature::named(name)
    };
    let ensemble = Ensemble {
        features: vec![
            feature("above", (0.0, f64::INFINITY)),
            feature("below", (f64::NEG_INFINITY, 5.0)),
        ],
        task: Task::Regression,
        aggregation: Aggregation::Sum {
            base: vec![0.0],
            link: Link::Identity,
            accumulate_f32: false,
            divide_by_rounds: false,
        },
        comparison: Comparison::F64LessEqual,
        leaf_width: 1,
        trees: vec![Tree {
            stats: None,
            output: 0,
            nodes: vec![
                Node::Split {
                    feature: 0,
                    threshold: 1.0,
                    missing_left: false,
                    left: 1,
                    right: 2,
                },
                Node::Leaf(vec![-1.0]),
                Node::Leaf(vec![1.0]),
            ],
        }],
        source: "test".into(),
    };
    let bytes = ensemble.encode().unwrap();
    let req = Request {
        method: "GET",
        path: "/openapi.json",
        headers: &[],
        body: Body::Bytes(b""),
    };
    let resp = handle(
        &config(),
        edgewood_core::Model::open_validated(&bytes),
        &req,
    );
    let doc = parse(&resp.body).unwrap();
    let row = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(|s| s.get("Row"))
        .and_then(|r| r.get("properties"))
        .expect("a Row schema");
    let above = row.get("above").unwrap();
    assert_eq!(above.get("minimum"), Some(&Json::Num(0.0)));
    assert_eq!(above.get("maximum"), None);
    let below = row.get("below").unwrap();
    assert_eq!(below.get("minimum"), None);
    assert_eq!(below.get("maximum"), Some(&Json::Num(5.0)));
}
