//! `POST /v1/explain` and `POST /v1/explain/batch`: a prediction with each feature's
//! exact TreeSHAP contribution (path-dependent, from the trees' stored cover), the
//! numbers of `shap.TreeExplainer`, XGBoost's `pred_contribs` and LightGBM's
//! `pred_contrib`.
//!
//! The bodies are those of `/predict` and `/predict/batch`. Each answer adds
//! `explanation`: what it adds up to (`space`: the averaged probability of a forest
//! classifier, a boosted model's margin before its link, or the value) and, per class
//! for a classifier, the `base` (the expected value) and the `contributions` by feature;
//! the base plus the contributions is that output. The model is prepared per request
//! without tables ([`Explainer::untabled`]): a request explains a few rows.

use edgewood_core::{Explainer, Model, PredictError, TaskKind};

use super::json::{obj, s, Json};
use super::predict::{input_json, instances, predict_row, prediction_fields, single_row};
use super::{Config, Response};

/// Prepares the model, or answers why it cannot explain (501: the model records no
/// cover, which no request can change).
fn explainer<'a>(model: &Model<'a>) -> Result<Explainer<'a>, Response> {
    Explainer::untabled(*model).map_err(|e| match e {
        PredictError::NoCover => Response::detail(
            501,
            "Not Implemented: this model cannot explain its predictions, it records no \
             cover (ONNX models, and models converted with --no-cover)",
        ),
        other => Response::detail(
            500,
            format!("the embedded model failed to explain: {other}"),
        ),
    })
}

/// The `explanation` of one row.
fn explanation(
    explainer: &Explainer<'_>,
    row: &[f64],
    scratch: &mut [f64],
) -> Result<Json, Response> {
    explainer
        .explain_into(row, scratch)
        .map_err(|e| Response::detail(500, format!("the embedded model failed to explain: {e}")))?;
    let model = explainer.model();
    let nf = model.n_features();
    let one = |class: usize| {
        let values: Vec<f64> = explainer.class_contributions(scratch, class).collect();
        let contributions = (0..nf)
            .map(|f| (model.feature_name(f).to_string(), Json::Num(values[f])))
            .collect();
        (Json::Num(values[nf]), Json::Obj(contributions))
    };
    let space = ("space".to_string(), s(explainer.space().name()));
    Ok(match model.task() {
        TaskKind::Regression => {
            let (base, contributions) = one(0);
            Json::Obj(vec![
                space,
                ("base".into(), base),
                ("contributions".into(), contributions),
            ])
        }
        TaskKind::Classification => {
            let classes = (0..model.n_classes())
                .map(|c| {
                    let (base, contributions) = one(c);
                    (
                        model.class_label(c).to_string(),
                        obj([("base", base), ("contributions", contributions)]),
                    )
                })
                .collect();
            Json::Obj(vec![space, ("classes".into(), Json::Obj(classes))])
        }
    })
}

/// `POST /v1/explain`: the answer of `/predict` plus `explanation`.
pub(super) fn one(model: &Model<'_>, body: &[u8]) -> Response {
    let row = match single_row(model, body) {
        Ok(row) => row,
        Err(resp) => return resp,
    };
    let answer = explainer(model).and_then(|explainer| {
        let prediction = predict_row(model, &row)?;
        let mut scratch = vec![0.0; explainer.explanation_len()];
        let mut fields = prediction_fields(model, prediction);
        fields.push((
            "explanation".into(),
            explanation(&explainer, &row, &mut scratch)?,
        ));
        fields.push(("input".into(), input_json(model, &row)));
        Ok(Json::Obj(fields))
    });
    match answer {
        Ok(answer) => {
            let mut resp = Response::json(200, &answer);
            resp.rows = 1;
            resp
        }
        Err(resp) => resp,
    }
}

/// `POST /v1/explain/batch`: `{"instances": [row, …]}` → `{"explanations": [answer, …]}`,
/// each answer a `/predict/batch` prediction plus its `explanation`.
pub(super) fn batch(config: &Config, model: &Model<'_>, body: &[u8]) -> Response {
    let rows = match instances(config, model, body) {
        Ok(rows) => rows,
        Err(resp) => return resp,
    };
    let answers = explainer(model).and_then(|explainer| {
        let mut scratch = vec![0.0; explainer.explanation_len()];
        rows.iter()
            .map(|row| {
                let mut fields = prediction_fields(model, predict_row(model, row)?);
                fields.push((
                    "explanation".into(),
                    explanation(&explainer, row, &mut scratch)?,
                ));
                Ok(Json::Obj(fields))
            })
            .collect::<Result<Vec<_>, Response>>()
    });
    match answers {
        Ok(answers) => {
            let mut resp = Response::json(200, &obj([("explanations", Json::Arr(answers))]));
            resp.rows = rows.len();
            resp
        }
        Err(resp) => resp,
    }
}
