//! `POST /predict` and `POST /predict/batch`: the reference service's request shape.
//!
//! A row is an object keyed by feature name. Every problem in a body is reported at
//! once, each with its location, as FastAPI does, so a client can fix them all in one go.
//! Keys that are not features are ignored, as pydantic ignores them.

use edgewood_core::float_text::DisplayF64;
use edgewood_core::{Model, Prediction};

use super::json::{self, obj, s, Json};
use super::{unprocessable, Config, Problem, Response};

/// Parses a body that must be a JSON object, or says why it is not (422).
pub(super) fn parse_object(body: &[u8]) -> Result<Json, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(unprocessable(vec![Problem::new(
            vec![s("body")],
            "missing",
            "Field required: the body is empty, send a JSON object",
        )]));
    }
    let value = json::parse(body).map_err(|e| {
        unprocessable(vec![Problem::new(
            vec![s("body"), Json::Int(e.offset as i64)],
            "json_invalid",
            format!("JSON decode error: {e}"),
        )])
    })?;
    if !matches!(value, Json::Obj(_)) {
        let mut p = Problem::new(
            vec![s("body")],
            "model_attributes_type",
            format!(
                "Input should be a valid dictionary or object to extract fields from, got {}",
                value.type_name()
            ),
        );
        p.input = Some(value);
        return Err(unprocessable(vec![p]));
    }
    Ok(value)
}

/// Checks one value of feature `i` at `loc`; returns the number or records a problem.
pub(super) fn check_value(
    model: &Model<'_>,
    i: usize,
    value: &Json,
    loc: Vec<Json>,
    problems: &mut Vec<Problem>,
) -> f64 {
    let x = match value {
        Json::Num(x) => *x,
        Json::Int(n) => *n as f64,
        other => {
            let mut p = Problem::new(
                loc,
                "float_type",
                format!("Input should be a valid number, got {}", other.type_name()),
            );
            p.input = Some(other.clone());
            problems.push(p);
            return f64::NAN;
        }
    };
    if let Err(e) = model.validate_value(i, x) {
        let (kind, msg) = match e {
            edgewood_core::InputError::OutOfRange { min, max, .. } if x < min => (
                "greater_than_equal",
                {
                    let (min, max) = (DisplayF64(min), DisplayF64(max));
                    format!("Input should be greater than or equal to {min} (valid range {min} to {max})")
                },
            ),
            edgewood_core::InputError::OutOfRange { min, max, .. } => (
                "less_than_equal",
                {
                    let (min, max) = (DisplayF64(min), DisplayF64(max));
                    format!("Input should be less than or equal to {max} (valid range {min} to {max})")
                },
            ),
            _ if x.is_nan() => ("finite_number", "Input should be a finite number: this feature does not accept a missing value (NaN)".to_string()),
            _ => ("finite_number", "Input should be a finite number".to_string()),
        };
        let mut p = Problem::new(loc, kind, msg);
        // JSON cannot hold NaN or infinity: the input is echoed as text then.
        p.input = Some(if x.is_finite() {
            Json::Num(x)
        } else {
            s(DisplayF64(x).to_string())
        });
        problems.push(p);
    }
    x
}

/// Reads a row given as an object keyed by feature name.
pub(super) fn row_from_object(
    model: &Model<'_>,
    value: &Json,
    loc: &[Json],
    problems: &mut Vec<Problem>,
) -> Vec<f64> {
    let Json::Obj(pairs) = value else {
        let mut l = loc.to_vec();
        l.truncate(loc.len());
        let mut p = Problem::new(
            l,
            "model_attributes_type",
            format!(
                "Input should be an object keyed by feature name, got {}",
                value.type_name()
            ),
        );
        p.input = Some(value.clone());
        problems.push(p);
        return Vec::new();
    };
    let mut row = Vec::with_capacity(model.n_features());
    for i in 0..model.n_features() {
        let name = model.feature_name(i);
        let mut at = loc.to_vec();
        at.push(s(name));
        let mut found = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (found.next(), found.next()) {
            (None, _) => {
                problems.push(Problem::new(
                    at,
                    "missing",
                    format!("Field required: feature '{name}' is missing"),
                ));
                row.push(f64::NAN);
            }
            (Some(_), Some(_)) => {
                problems.push(Problem::new(
                    at,
                    "duplicate_field",
                    format!("feature '{name}' is given more than once"),
                ));
                row.push(f64::NAN);
            }
            (Some(v), None) => row.push(check_value(model, i, v, at, problems)),
        }
    }
    row
}

/// Reads a row given as an array of values in feature order.
fn row_from_array(
    model: &Model<'_>,
    items: &[Json],
    loc: &[Json],
    problems: &mut Vec<Problem>,
) -> Vec<f64> {
    if items.len() != model.n_features() {
        problems.push(Problem::new(
            loc.to_vec(),
            "row_length",
            format!(
                "a row needs {} values (features in order: {}), got {}",
                model.n_features(),
                feature_list(model),
                items.len()
            ),
        ));
        return Vec::new();
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut at = loc.to_vec();
            at.push(s(model.feature_name(i)));
            check_value(model, i, v, at, problems)
        })
        .collect()
}

fn feature_list(model: &Model<'_>) -> String {
    (0..model.n_features())
        .map(|i| model.feature_name(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A class label as JSON: a number when the source model's labels were integers.
pub(super) fn label_json(model: &Model<'_>, label: usize) -> Json {
    let text = model.class_label(label);
    if model.integer_labels() {
        if let Ok(n) = text.parse::<i64>() {
            return Json::Int(n);
        }
    }
    s(text)
}

/// The answer fields of one prediction (without `input`).
pub(super) fn prediction_fields(model: &Model<'_>, p: Prediction) -> Vec<(String, Json)> {
    match p {
        Prediction::Value(v) => vec![("prediction".into(), Json::Num(v))],
        Prediction::Class {
            label,
            confidence,
            probabilities,
        } => vec![
            ("prediction".into(), label_json(model, label)),
            ("confidence".into(), Json::Num(confidence)),
            (
                "probabilities".into(),
                Json::Obj(
                    probabilities
                        .iter()
                        .enumerate()
                        .map(|(k, &p)| (model.class_label(k).to_string(), Json::Num(p)))
                        .collect(),
                ),
            ),
        ],
    }
}

pub(super) fn predict_row(model: &Model<'_>, row: &[f64]) -> Result<Prediction, Response> {
    model
        .predict(row)
        .map_err(|e| Response::detail(500, format!("the embedded model failed to predict: {e}")))
}

/// The row of a one-row body (an object keyed by feature name), checked; or the answer
/// that refuses it (422).
pub(super) fn single_row(model: &Model<'_>, body: &[u8]) -> Result<Vec<f64>, Response> {
    let value = parse_object(body)?;
    let mut problems = Vec::new();
    let row = row_from_object(model, &value, &[s("body")], &mut problems);
    if !problems.is_empty() {
        return Err(unprocessable(problems));
    }
    Ok(row)
}

/// The `input` echoed in a one-row answer.
pub(super) fn input_json(model: &Model<'_>, row: &[f64]) -> Json {
    Json::Obj(
        (0..model.n_features())
            .map(|i| (model.feature_name(i).to_string(), Json::Num(row[i])))
            .collect(),
    )
}

/// `POST /predict`.
pub(super) fn one(model: &Model<'_>, body: &[u8]) -> Response {
    let row = match single_row(model, body) {
        Ok(row) => row,
        Err(resp) => return resp,
    };
    let p = match predict_row(model, &row) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let mut fields = prediction_fields(model, p);
    fields.push(("input".into(), input_json(model, &row)));
    let mut resp = Response::json(200, &Json::Obj(fields));
    resp.rows = 1;
    resp
}

/// Most problems listed in one 422 answer: enough to fix a body, bounded for a huge one.
const MAX_PROBLEMS: usize = 100;

/// The rows of a batch body, `{"instances": [row, …]}`, each row an object or an
/// array, all checked; or the answer that refuses it (422, or 413 over the row limit).
pub(super) fn instances(
    config: &Config,
    model: &Model<'_>,
    body: &[u8],
) -> Result<Vec<Vec<f64>>, Response> {
    let value = parse_object(body)?;
    let instances = match value.get("instances") {
        Some(Json::Arr(items)) => items,
        None => {
            return Err(unprocessable(vec![Problem::new(
                vec![s("body"), s("instances")],
                "missing",
                "Field required: send {\"instances\": [row, …]}",
            )]))
        }
        Some(other) => {
            let mut p = Problem::new(
                vec![s("body"), s("instances")],
                "list_type",
                format!(
                    "Input should be a valid list of rows, got {}",
                    other.type_name()
                ),
            );
            p.input = Some(other.clone());
            return Err(unprocessable(vec![p]));
        }
    };
    if instances.is_empty() {
        return Err(unprocessable(vec![Problem::new(
            vec![s("body"), s("instances")],
            "too_short",
            "List should have at least 1 row",
        )]));
    }
    if instances.len() > config.max_batch_rows {
        return Err(Response::detail(
            413,
            format!(
                "Payload Too Large: {} rows, the limit is {} per request",
                instances.len(),
                config.max_batch_rows
            ),
        ));
    }
    let mut problems = Vec::new();
    let mut rows = Vec::with_capacity(instances.len());
    for (r, item) in instances.iter().enumerate() {
        let loc = [s("body"), s("instances"), Json::Int(r as i64)];
        let row = match item {
            Json::Arr(values) => row_from_array(model, values, &loc, &mut problems),
            other => row_from_object(model, other, &loc, &mut problems),
        };
        rows.push(row);
        if problems.len() >= MAX_PROBLEMS {
            problems.truncate(MAX_PROBLEMS);
            break;
        }
    }
    if !problems.is_empty() {
        return Err(unprocessable(problems));
    }
    Ok(rows)
}

/// `POST /predict/batch`: `{"instances": [row, …]}`, each row an object or an array.
pub(super) fn batch(config: &Config, model: &Model<'_>, body: &[u8]) -> Response {
    let rows = match instances(config, model, body) {
        Ok(rows) => rows,
        Err(resp) => return resp,
    };
    let mut predictions = Vec::with_capacity(rows.len());
    for row in &rows {
        match predict_row(model, row) {
            Ok(p) => predictions.push(Json::Obj(prediction_fields(model, p))),
            Err(resp) => return resp,
        }
    }
    let mut resp = Response::json(200, &obj([("predictions", Json::Arr(predictions))]));
    resp.rows = rows.len();
    resp
}
