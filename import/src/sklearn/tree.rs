//! The Cython `sklearn.tree._tree.Tree` of one estimator, read from its pickled state
//! (`nodes` record array, `values`, node count, the cover of each node) into a
//! [`SklearnTree`], every child index and feature index checked.

use super::{attr, bad, usize_attr, SklearnError, SklearnNode, SklearnTree};
use crate::pickle::numpy::{self, Kind};
use crate::pickle::{Id, Pickle, Role};

pub(super) fn read_tree(
    p: &Pickle,
    id: Id,
    path: &str,
    n_features: usize,
) -> Result<SklearnTree, SklearnError> {
    match p.object(id) {
        Some(o) if o.class.role == Role::SklearnTree => {}
        _ => {
            return Err(bad(
                path,
                format!(
                    "expected sklearn.tree._tree.Tree, found {}",
                    p.type_name(id)
                ),
            ))
        }
    }
    let _ = n_features;
    let dot = format!("{path}.");
    let node_count = usize_attr(p, id, &dot, "node_count")?;
    let Records {
        nodes,
        cover,
        has_missing_field,
    } = read_records(p, id, path, node_count)?;
    let (values, width) = read_values(p, id, path, node_count)?;
    Ok(SklearnTree {
        cover,
        nodes,
        has_missing_field,
        values,
        width,
    })
}

/// What the `nodes` record array holds: each node's record, each node's cover
/// (`weighted_n_node_samples`, when recorded), and whether the layout has
/// `missing_go_to_left` (scikit-learn ≥ 1.3).
struct Records {
    nodes: Vec<SklearnNode>,
    cover: Vec<f64>,
    has_missing_field: bool,
}

/// The tree's `nodes` record array, `node_count` records.
fn read_records(
    p: &Pickle,
    id: Id,
    path: &str,
    node_count: usize,
) -> Result<Records, SklearnError> {
    let dot = format!("{path}.");
    let nodes_path = format!("{path}.nodes");
    let nodes = numpy::array(p, attr(p, id, &dot, "nodes")?).map_err(|e| bad(&nodes_path, e))?;
    if nodes.shape != [node_count] || node_count == 0 {
        return Err(bad(
            &nodes_path,
            format!(
                "shape {:?} does not match node_count {node_count}",
                nodes.shape
            ),
        ));
    }
    let field = |name: &str| {
        nodes.dtype.field(name).ok_or_else(|| {
            bad(
                &nodes_path,
                format!("the node record has no field {name:?}"),
            )
        })
    };
    let (left, right, feature, threshold) = (
        field("left_child")?,
        field("right_child")?,
        field("feature")?,
        field("threshold")?,
    );
    if threshold.dtype.kind != Kind::Float {
        return Err(bad(&nodes_path, "threshold is not a float field"));
    }
    let missing = nodes.dtype.field("missing_go_to_left");
    let weighted = nodes
        .dtype
        .field("weighted_n_node_samples")
        .filter(|f| f.dtype.kind == Kind::Float);
    let size = nodes.dtype.itemsize;
    let bytes = nodes.bytes();
    let int = |f: &numpy::Field, base: usize, i: usize| {
        f.dtype
            .read_i64(bytes, base + f.offset)
            .ok_or_else(|| bad(format!("{nodes_path}[{i}].{}", f.name), "not an integer"))
    };
    let mut records = Vec::with_capacity(node_count);
    // Exactly sized: the covers become the tree's statistics as they are, and a vector
    // grown by doubling would keep up to twice their size for the rest of the import.
    let mut cover = Vec::with_capacity(if weighted.is_some() { node_count } else { 0 });
    for i in 0..node_count {
        let base = i * size;
        if let Some(w) = weighted {
            cover.push(w.dtype.read_f64(bytes, base + w.offset).ok_or_else(|| {
                bad(
                    format!("{nodes_path}[{i}].weighted_n_node_samples"),
                    "unreadable",
                )
            })?);
        }
        records.push(SklearnNode {
            left_child: int(left, base, i)?,
            right_child: int(right, base, i)?,
            feature: int(feature, base, i)?,
            threshold: threshold
                .dtype
                .read_f64(bytes, base + threshold.offset)
                .ok_or_else(|| bad(format!("{nodes_path}[{i}].threshold"), "unreadable"))?,
            missing_go_to_left: match missing {
                Some(m) => int(m, base, i)? != 0,
                None => false,
            },
        });
    }
    Ok(Records {
        nodes: records,
        cover,
        has_missing_field: missing.is_some(),
    })
}

/// The tree's `values` (node_count × 1 × width) in row-major order, and the width.
fn read_values(
    p: &Pickle,
    id: Id,
    path: &str,
    node_count: usize,
) -> Result<(Vec<f64>, usize), SklearnError> {
    let dot = format!("{path}.");
    let values_path = format!("{path}.values");
    let values = numpy::array(p, attr(p, id, &dot, "values")?).map_err(|e| bad(&values_path, e))?;
    let (rows, outputs, width) = match values.shape[..] {
        [a, b, c] => (a, b, c),
        _ => {
            return Err(bad(
                &values_path,
                format!("expected 3 dimensions, found shape {:?}", values.shape),
            ))
        }
    };
    if rows != node_count || outputs != 1 || width == 0 {
        return Err(bad(
            &values_path,
            format!(
                "shape {:?} does not match {node_count} nodes and 1 output",
                values.shape
            ),
        ));
    }
    let raw = values.to_f64().map_err(|e| bad(&values_path, e))?;
    let values = if values.fortran {
        // Column-major: element (i, 0, k) is at i + k × node_count.
        let mut v = vec![0.0; raw.len()];
        for i in 0..rows {
            for k in 0..width {
                v[i * width + k] = raw[i + k * rows];
            }
        }
        v
    } else {
        raw
    };
    Ok((values, width))
}
