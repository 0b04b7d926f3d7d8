//! The JSON export (`model.save_model(path, format="json")`) parsed into a [`CbModel`]:
//! `features_info` (float features with their NaN treatment, categorical features and,
//! when saved with the training pool, `cat_features_hash`: each category's text by
//! hash), `oblivious_trees` (`splits`, `leaf_values`, `leaf_weights`),
//! `scale_and_bias` and `model_info` (training parameters, classes).

use serde_json::Value;

use super::{
    malformed, CbCatFeature, CbError, CbFloatFeature, CbModel, CbSplit, CbTree, NanTreatment,
    MAX_DEPTH, MAX_DIMENSION, MAX_FEATURES, MAX_TREES,
};

/// Parses a CatBoost JSON export.
pub fn parse(bytes: &[u8]) -> Result<CbModel, CbError> {
    let root: Value = serde_json::from_slice(bytes)
        .map_err(|e| malformed("(document)", format!("not JSON: {e}")))?;
    let root = root
        .as_object()
        .ok_or_else(|| malformed("(document)", "not a JSON object"))?;
    if root.contains_key("ctr_data") {
        return Err(CbError::Ctr {
            path: "ctr_data".into(),
        });
    }
    if root.contains_key("trees") && !root.contains_key("oblivious_trees") {
        return Err(CbError::Unsupported(
            "non-symmetric trees (grow_policy Depthwise or Lossguide)".into(),
        ));
    }
    let info = get(root, "features_info", "")?;
    let info = object(info, "features_info")?;
    for key in ["text_features", "embedding_features"] {
        if info
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(CbError::Unsupported(format!("features_info.{key}")));
        }
    }
    let float_features = features(info, "float_features", |f, path| {
        let nan = match f.get("nan_value_treatment").and_then(Value::as_str) {
            None | Some("AsIs") => NanTreatment::AsIs,
            Some("AsFalse") => NanTreatment::AsFalse,
            Some("AsTrue") => NanTreatment::AsTrue,
            Some(other) => {
                return Err(malformed(
                    format!("{path}.nan_value_treatment"),
                    format!("unknown value {other:?}"),
                ))
            }
        };
        Ok(CbFloatFeature {
            flat_index: usize_field(f, "flat_feature_index", path)?,
            name: name(f),
            nan,
        })
    })?;
    let cat_features = features(info, "categorical_features", |f, path| {
        Ok(CbCatFeature {
            flat_index: usize_field(f, "flat_feature_index", path)?,
            name: name(f),
        })
    })?;
    let mut category_names = Vec::new();
    if let Some(list) = info.get("cat_features_hash").filter(|v| !v.is_null()) {
        let list = array(list, "features_info.cat_features_hash")?;
        for (i, h) in list.iter().enumerate() {
            let path = format!("features_info.cat_features_hash[{i}]");
            let h = object(h, &path)?;
            let hash = get(h, "hash", &path)?
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| malformed(format!("{path}.hash"), "not a 32-bit hash"))?;
            let text = get(h, "value", &path)?
                .as_str()
                .ok_or_else(|| malformed(format!("{path}.value"), "not a string"))?;
            category_names.push((hash, text.to_string()));
        }
    }

    let trees_value = get(root, "oblivious_trees", "")?;
    let list = array(trees_value, "oblivious_trees")?;
    if list.len() > MAX_TREES {
        return Err(CbError::Unsupported(format!("{} trees", list.len())));
    }
    let mut trees = Vec::with_capacity(list.len());
    for (t, tree) in list.iter().enumerate() {
        let path = format!("oblivious_trees[{t}]");
        let tree = object(tree, &path)?;
        let splits = array(get(tree, "splits", &path)?, &format!("{path}.splits"))?;
        if splits.len() > MAX_DEPTH {
            return Err(CbError::Unsupported(format!(
                "{path}: depth {} (at most {MAX_DEPTH})",
                splits.len()
            )));
        }
        let splits = splits
            .iter()
            .enumerate()
            .map(|(i, s)| split(s, &format!("{path}.splits[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let leaf_values = numbers(get(tree, "leaf_values", &path)?, &path, "leaf_values")?;
        let leaf_weights = match tree.get("leaf_weights") {
            Some(w) => numbers(w, &path, "leaf_weights")?,
            None => Vec::new(),
        };
        trees.push(CbTree {
            splits,
            leaf_values,
            leaf_weights,
        });
    }

    let (scale, bias) = match root.get("scale_and_bias") {
        None => (1.0, Vec::new()),
        Some(sb) => {
            let path = "scale_and_bias";
            let sb = array(sb, path)?;
            let scale = sb
                .first()
                .and_then(Value::as_f64)
                .ok_or_else(|| malformed(path, "no scale"))?;
            let bias = match sb.get(1) {
                None => Vec::new(),
                Some(Value::Array(_)) => numbers(&sb[1], path, "bias")?,
                Some(v) => vec![v
                    .as_f64()
                    .ok_or_else(|| malformed(path, "bias is not a number"))?],
            };
            (scale, bias)
        }
    };
    let dimension = dimension(&trees, &bias)?;
    let model_info = root.get("model_info").and_then(Value::as_object);
    // `params` and `class_params` are objects in the export (strings in a `.cbm`).
    let info_json = |key: &str| -> Option<Value> {
        match model_info?.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            v => Some(v.clone()),
        }
    };
    Ok(CbModel {
        float_features,
        cat_features,
        category_names,
        trees,
        dimension,
        scale,
        bias: match bias.len() {
            0 => vec![0.0; dimension],
            1 => vec![bias[0]; dimension],
            _ => bias,
        },
        params: info_json("params"),
        class_params: info_json("class_params"),
    })
}

/// The values per leaf, the same in every tree and equal to the number of biases.
pub(crate) fn dimension(trees: &[CbTree], bias: &[f64]) -> Result<usize, CbError> {
    let mut dimension = None;
    for (t, tree) in trees.iter().enumerate() {
        let leaves = 1usize << tree.splits.len();
        let n = tree.leaf_values.len();
        if n == 0 || !n.is_multiple_of(leaves) {
            return Err(malformed(
                format!("tree {t}"),
                format!("{n} leaf values for depth {}", tree.splits.len()),
            ));
        }
        let d = n / leaves;
        if *dimension.get_or_insert(d) != d {
            return Err(malformed(
                format!("tree {t}"),
                format!(
                    "{d} values per leaf, other trees have {}",
                    dimension.unwrap_or(0)
                ),
            ));
        }
        if !tree.leaf_weights.is_empty() && tree.leaf_weights.len() != leaves {
            return Err(malformed(
                format!("tree {t}"),
                format!(
                    "{} leaf weights for {leaves} leaves",
                    tree.leaf_weights.len()
                ),
            ));
        }
    }
    let dimension = match (dimension, bias.len()) {
        (Some(d), 0) => d,
        (Some(d), b) if d == b || b == 1 => d,
        (None, b) if b > 0 => b,
        (d, b) => {
            return Err(malformed(
                "scale_and_bias",
                format!("{b} biases for {} values per leaf", d.unwrap_or(0)),
            ))
        }
    };
    if dimension > MAX_DIMENSION {
        return Err(CbError::Unsupported(format!("{dimension} outputs")));
    }
    Ok(dimension)
}

fn split(s: &Value, path: &str) -> Result<CbSplit, CbError> {
    let s = object(s, path)?;
    let kind = get(s, "split_type", path)?.as_str().unwrap_or("");
    match kind {
        "FloatFeature" => {
            let border = get(s, "border", path)?
                .as_f64()
                .ok_or_else(|| malformed(format!("{path}.border"), "not a number"))?;
            // Borders are float32 values written as doubles.
            if (border as f32) as f64 != border && !border.is_nan() {
                return Err(malformed(
                    format!("{path}.border"),
                    format!("{border} is not a float32 value"),
                ));
            }
            Ok(CbSplit::Float {
                feature: usize_field(s, "float_feature_index", path)?,
                border: border as f32,
            })
        }
        "OneHotFeature" => {
            let value = get(s, "value", path)?
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| malformed(format!("{path}.value"), "not a 32-bit hash"))?;
            Ok(CbSplit::OneHot {
                feature: usize_field(s, "cat_feature_index", path)?,
                hash: value as u32,
            })
        }
        "OnlineCtr" => Err(CbError::Ctr { path: path.into() }),
        other => Err(CbError::Unsupported(format!(
            "{path}: split type {other:?}"
        ))),
    }
}

/// The features of one kind, placed by their `feature_index`.
fn features<T>(
    info: &serde_json::Map<String, Value>,
    key: &str,
    read: impl Fn(&serde_json::Map<String, Value>, &str) -> Result<T, CbError>,
) -> Result<Vec<T>, CbError> {
    let Some(list) = info.get(key).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = array(list, &format!("features_info.{key}"))?;
    if list.len() > MAX_FEATURES {
        return Err(CbError::Unsupported(format!("{} {key}", list.len())));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let path = format!("features_info.{key}[{i}]");
        let f = object(f, &path)?;
        let index = usize_field(f, "feature_index", &path)?;
        if index != i {
            return Err(malformed(
                format!("{path}.feature_index"),
                format!("{index}, expected {i}"),
            ));
        }
        out.push(read(f, &path)?);
    }
    Ok(out)
}

fn name(f: &serde_json::Map<String, Value>) -> String {
    ["feature_name", "feature_id"]
        .iter()
        .find_map(|k| f.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .unwrap_or("")
        .to_string()
}

fn get<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, CbError> {
    map.get(key).ok_or_else(|| {
        let at = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        malformed(at, "missing")
    })
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a serde_json::Map<String, Value>, CbError> {
    v.as_object()
        .ok_or_else(|| malformed(path, "not an object"))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, CbError> {
    v.as_array().ok_or_else(|| malformed(path, "not an array"))
}

fn usize_field(
    map: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<usize, CbError> {
    get(map, key, path)?
        .as_u64()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v < MAX_FEATURES)
        .ok_or_else(|| malformed(format!("{path}.{key}"), "not a feature index"))
}

fn numbers(v: &Value, path: &str, key: &str) -> Result<Vec<f64>, CbError> {
    array(v, &format!("{path}.{key}"))?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64()
                .ok_or_else(|| malformed(format!("{path}.{key}[{i}]"), "not a number"))
        })
        .collect()
}
