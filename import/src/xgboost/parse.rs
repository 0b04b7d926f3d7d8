//! [`XgbModel::parse`]: an XGBoost JSON or UBJSON document read into [`XgbModel`] as the
//! file says it (objective, base score, trees' parallel arrays), every size and index
//! checked against the bounds of the parent module.

use serde_json::Value;

use edgewood_core::MAX_CATEGORY;

use super::{is_ubjson, ubjson, Objective, XgbError, XgbModel, XgbTree, MAX_NODES, MAX_TREES};

fn field<'v>(v: &'v Value, path: &str) -> Result<&'v Value, XgbError> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.get(key).ok_or_else(|| XgbError::Field {
            path: path.to_string(),
            expected: "present",
        })?;
    }
    Ok(cur)
}

fn as_array<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, XgbError> {
    v.as_array().ok_or_else(|| XgbError::Field {
        path: path.to_string(),
        expected: "an array",
    })
}

/// An integer stored as a number or as a decimal string (XGBoost writes both).
fn as_int(v: &Value, path: &str) -> Result<i64, XgbError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
    .ok_or_else(|| XgbError::Field {
        path: path.to_string(),
        expected: "an integer",
    })
}

fn ints(v: &Value, path: &str) -> Result<Vec<i64>, XgbError> {
    as_array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| as_int(x, &format!("{path}[{i}]")))
        .collect()
}

fn floats(v: &Value, path: &str) -> Result<Vec<f32>, XgbError> {
    as_array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64().map(|x| x as f32).ok_or_else(|| XgbError::Field {
                path: format!("{path}[{i}]"),
                expected: "a number",
            })
        })
        .collect()
}

fn count(v: &Value, path: &str, max: usize) -> Result<usize, XgbError> {
    let n = as_int(v, path)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| XgbError::Invalid {
            path: path.to_string(),
            reason: format!("{n} is not a count between 0 and {max}"),
        })
}

/// `base_score` as stored: `"5E-1"` or `"[5E-1]"` or `"[a,b,c]"`.
fn parse_base_score(s: &str) -> Result<Vec<f32>, XgbError> {
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| XgbError::Invalid {
                    path: "learner.learner_model_param.base_score".into(),
                    reason: format!("{s:?} is not a number or list of numbers"),
                })
        })
        .collect()
}

impl XgbModel {
    /// Parses JSON or UBJSON bytes, keeping the file's own structure.
    pub fn parse(bytes: &[u8]) -> Result<Self, XgbError> {
        let root: Value = if is_ubjson(bytes) {
            ubjson::parse(bytes)?
        } else {
            serde_json::from_slice(bytes).map_err(|e| XgbError::Json(e.to_string()))?
        };
        Self::from_value(&root)
    }

    /// Reads the model out of the parsed document.
    pub fn from_value(root: &Value) -> Result<Self, XgbError> {
        let version = root
            .get("version")
            .map(|v| ints(v, "version"))
            .transpose()?;
        let learner = field(root, "learner")?;
        let (objective_name, objective) = read_objective(learner)?;
        let (num_feature, num_class, base_score) = read_model_param(learner)?;
        let feature_names = match learner.get("feature_names") {
            Some(v) => as_array(v, "learner.feature_names")?
                .iter()
                .map(|n| n.as_str().unwrap_or("").to_string())
                .collect(),
            None => Vec::new(),
        };
        let Booster {
            trees,
            tree_info,
            weight_drop,
        } = read_booster(learner)?;
        let classes = sklearn_classes(learner);
        Ok(XgbModel {
            version: version.unwrap_or_default(),
            objective_name,
            objective,
            num_feature,
            num_class,
            base_score,
            feature_names,
            trees,
            tree_info,
            weight_drop,
            classes,
        })
    }
}

/// `learner.objective.name` and what it means for the output.
fn read_objective(learner: &Value) -> Result<(String, Objective), XgbError> {
    let objective_name = field(learner, "objective.name")?
        .as_str()
        .ok_or(XgbError::Field {
            path: "learner.objective.name".into(),
            expected: "a string",
        })?
        .to_string();
    let objective = match objective_name.as_str() {
        "binary:logistic" => Objective::BinaryLogistic,
        "binary:logitraw" => Objective::BinaryLogitRaw,
        "multi:softprob" => Objective::SoftProb,
        "multi:softmax" => Objective::SoftMax,
        "reg:squarederror"
        | "reg:linear"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "reg:squaredlogerror" => Objective::Identity,
        "reg:logistic" => Objective::RegLogistic,
        "count:poisson" | "reg:gamma" | "reg:tweedie" => Objective::Exp,
        other => return Err(XgbError::Unsupported(format!("objective {other:?}"))),
    };
    Ok((objective_name, objective))
}

/// `learner.learner_model_param`: the feature count, class count and base score (a
/// single-target model only).
fn read_model_param(learner: &Value) -> Result<(usize, usize, Vec<f32>), XgbError> {
    let param = field(learner, "learner_model_param")?;
    let p = "learner.learner_model_param";
    let num_feature = count(
        field(param, "num_feature")?,
        &format!("{p}.num_feature"),
        65_535,
    )?;
    let num_class = count(
        field(param, "num_class")?,
        &format!("{p}.num_class"),
        65_535,
    )?;
    if let Some(t) = param.get("num_target") {
        if count(t, &format!("{p}.num_target"), 65_535)? > 1 {
            return Err(XgbError::Unsupported(
                "multi-target model (num_target > 1)".into(),
            ));
        }
    }
    let base_score = parse_base_score(field(param, "base_score")?.as_str().ok_or(
        XgbError::Field {
            path: format!("{p}.base_score"),
            expected: "a string",
        },
    )?)?;
    Ok((num_feature, num_class, base_score))
}

/// What `learner.gradient_booster` holds: the trees, each one's output group, and
/// DART's tree weights.
struct Booster {
    trees: Vec<XgbTree>,
    tree_info: Vec<usize>,
    weight_drop: Option<Vec<f32>>,
}

/// `learner.gradient_booster`, gbtree or DART.
fn read_booster(learner: &Value) -> Result<Booster, XgbError> {
    let booster = field(learner, "gradient_booster")?;
    let name = field(booster, "name")?.as_str().unwrap_or("");
    let (model, weight_drop) = match name {
        "gbtree" => (field(booster, "model")?, None),
        "dart" => (
            field(booster, "gbtree.model")?,
            Some(floats(
                field(booster, "weight_drop")?,
                "learner.gradient_booster.weight_drop",
            )?),
        ),
        other => return Err(XgbError::Unsupported(format!("booster {other:?}"))),
    };
    let mp = "learner.gradient_booster.model";
    let trees_v = as_array(field(model, "trees")?, &format!("{mp}.trees"))?;
    if trees_v.len() > MAX_TREES {
        return Err(XgbError::Invalid {
            path: format!("{mp}.trees"),
            reason: format!("{} trees is more than {MAX_TREES}", trees_v.len()),
        });
    }
    let tree_info: Vec<usize> = ints(field(model, "tree_info")?, &format!("{mp}.tree_info"))?
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            usize::try_from(g).map_err(|_| XgbError::Invalid {
                path: format!("{mp}.tree_info[{i}]"),
                reason: format!("negative output group {g}"),
            })
        })
        .collect::<Result<_, _>>()?;
    let mut trees = Vec::with_capacity(trees_v.len());
    for (t, tv) in trees_v.iter().enumerate() {
        trees.push(parse_tree(tv, &format!("{mp}.trees[{t}]"))?);
    }
    Ok(Booster {
        trees,
        tree_info,
        weight_drop,
    })
}

/// The class labels the scikit-learn wrapper saved in the model's attributes, if any.
fn sklearn_classes(learner: &Value) -> Option<Vec<String>> {
    learner
        .get("attributes")
        .and_then(|a| a.get("scikit_learn"))
        .and_then(|s| s.as_str())
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|s| {
            s.get("classes_").and_then(|c| {
                let c = c.get("data").unwrap_or(c);
                c.as_array().map(|a| {
                    a.iter()
                        .map(|x| match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
            })
        })
}

fn parse_tree(tv: &Value, path: &str) -> Result<XgbTree, XgbError> {
    let num_nodes = count(
        field(tv, "tree_param.num_nodes")?,
        &format!("{path}.tree_param.num_nodes"),
        MAX_NODES,
    )?;
    if let Some(s) = tv.get("tree_param").and_then(|p| p.get("size_leaf_vector")) {
        if as_int(s, path)? > 1 {
            return Err(XgbError::Unsupported(format!(
                "vector-leaf tree at {path} (multi_strategy=multi_output_tree)"
            )));
        }
    }
    let get = |name: &str| field(tv, name).map(|v| (v, format!("{path}.{name}")));
    let check_len = |name: &str, len: usize| {
        if len != num_nodes {
            Err(XgbError::Invalid {
                path: format!("{path}.{name}"),
                reason: format!("{len} entries for num_nodes {num_nodes}"),
            })
        } else {
            Ok(())
        }
    };
    let (v, p) = get("left_children")?;
    let left_children = ints(v, &p)?;
    check_len("left_children", left_children.len())?;
    let (v, p) = get("right_children")?;
    let right_children = ints(v, &p)?;
    check_len("right_children", right_children.len())?;
    let (v, p) = get("split_indices")?;
    let split_indices = ints(v, &p)?;
    check_len("split_indices", split_indices.len())?;
    let (v, p) = get("split_conditions")?;
    let split_conditions = floats(v, &p)?;
    check_len("split_conditions", split_conditions.len())?;
    let (v, p) = get("default_left")?;
    let default_left: Vec<bool> = ints(v, &p)?.into_iter().map(|x| x != 0).collect();
    check_len("default_left", default_left.len())?;
    let split_type: Vec<u8> = match tv.get("split_type") {
        Some(v) => ints(v, &format!("{path}.split_type"))?
            .into_iter()
            .map(|x| x as u8)
            .collect(),
        None => vec![0; num_nodes],
    };
    check_len("split_type", split_type.len())?;
    let sum_hessian = match tv.get("sum_hessian") {
        Some(v) => {
            let h = floats(v, &format!("{path}.sum_hessian"))?;
            check_len("sum_hessian", h.len())?;
            h
        }
        None => Vec::new(),
    };
    let categories = match tv.get("categories_nodes") {
        Some(nodes) => read_categories(tv, nodes, path, num_nodes)?,
        None => Vec::new(),
    };
    Ok(XgbTree {
        left_children,
        right_children,
        split_indices,
        split_conditions,
        default_left,
        split_type,
        categories,
        sum_hessian,
    })
}

/// A tree's categorical splits: for each node listed in `categories_nodes`, its
/// category set (a segment of `categories`), each category checked below
/// `MAX_CATEGORY`.
fn read_categories(
    tv: &Value,
    nodes: &Value,
    path: &str,
    num_nodes: usize,
) -> Result<Vec<(usize, Vec<u32>)>, XgbError> {
    let mut categories = Vec::new();
    let nodes = ints(nodes, &format!("{path}.categories_nodes"))?;
    let segments = ints(
        field(tv, "categories_segments")?,
        &format!("{path}.categories_segments"),
    )?;
    let sizes = ints(
        field(tv, "categories_sizes")?,
        &format!("{path}.categories_sizes"),
    )?;
    let cats = ints(field(tv, "categories")?, &format!("{path}.categories"))?;
    if segments.len() != nodes.len() || sizes.len() != nodes.len() {
        return Err(XgbError::Invalid {
            path: format!("{path}.categories_segments"),
            reason: format!(
                "{} segments and {} sizes for {} categorical nodes",
                segments.len(),
                sizes.len(),
                nodes.len()
            ),
        });
    }
    for (k, ((&node, &seg), &size)) in nodes.iter().zip(&segments).zip(&sizes).enumerate() {
        let bad = |reason: String| XgbError::Invalid {
            path: format!("{path}.categories_nodes[{k}]"),
            reason,
        };
        let node = usize::try_from(node)
            .ok()
            .filter(|&n| n < num_nodes)
            .ok_or_else(|| bad(format!("node {node} out of range")))?;
        let (seg, size) = (seg.max(-1), size.max(-1));
        let range = usize::try_from(seg)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(s, n)| Some(s..s.checked_add(n)?))
            .filter(|r| r.end <= cats.len())
            .ok_or_else(|| {
                bad(format!(
                    "segment {seg}+{size} outside {} categories",
                    cats.len()
                ))
            })?;
        let list = cats[range]
            .iter()
            .map(|&c| {
                u32::try_from(c)
                    .ok()
                    .filter(|&c| c < MAX_CATEGORY)
                    .ok_or_else(|| bad(format!("category {c} out of range")))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        categories.push((node, list));
    }
    Ok(categories)
}
