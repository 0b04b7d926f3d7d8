//! Which input column holds each of the model's features: by header name, or by
//! position for a model that stored no names (scikit-learn's rule for a bare array).

use anyhow::bail;
use edgewood_core::Model;

/// For each model feature, the input column holding it.
pub fn match_columns(
    model: &Model<'_>,
    header: &csv::ByteRecord,
    in_name: &str,
) -> anyhow::Result<Vec<usize>> {
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned())
        .collect();
    let nf = model.n_features();
    let by_name = (0..nf).all(|i| names.iter().any(|n| n == model.feature_name(i)));
    if !by_name && names.len() == nf && has_placeholder_names(model) {
        // scikit-learn's rule for a model fit on a bare array: columns by position.
        eprintln!(
            "edgewood: warning: {in_name}: the model stored no feature names ({}, …): taking the {nf} columns in order",
            model.feature_name(0)
        );
        return Ok((0..nf).collect());
    }
    let mut columns = Vec::with_capacity(nf);
    for i in 0..nf {
        let feature = model.feature_name(i);
        let mut at = names.iter().enumerate().filter(|(_, n)| *n == feature);
        let Some((c, _)) = at.next() else {
            let all: Vec<&str> = (0..model.n_features())
                .map(|i| model.feature_name(i))
                .collect();
            bail!(
                "{in_name}:1: missing column '{feature}' (the model's features are {})",
                all.join(", ")
            );
        };
        if at.next().is_some() {
            bail!("{in_name}:1: column '{feature}' appears more than once");
        }
        columns.push(c);
    }
    let unused: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(c, _)| !columns.contains(c))
        .map(|(_, n)| n.as_str())
        .collect();
    if !unused.is_empty() {
        eprintln!(
            "edgewood: warning: {in_name}: ignoring columns the model does not use: {}",
            unused.join(", ")
        );
    }
    Ok(columns)
}

/// Whether the model's feature names are the placeholders an importer gives a model
/// that stored none: one prefix, not ending in a digit, then the column index (`x0`,
/// `f0`, `Column_0`, `X_0`).
fn has_placeholder_names(model: &Model<'_>) -> bool {
    let Some(prefix) = model.feature_name(0).strip_suffix('0') else {
        return false;
    };
    !prefix.ends_with(|c: char| c.is_ascii_digit())
        && (0..model.n_features()).all(|i| {
            let name = model.feature_name(i);
            name.strip_prefix(prefix) == Some(i.to_string().as_str())
        })
}
