//! HistGradientBoosting's trees: `_baseline_prediction`, and `_predictors` (iterations ×
//! K `TreePredictor`s), each predictor's `nodes` record array read node by node into a
//! tree: leaves, float64 threshold splits, and categorical splits mapped back to the
//! caller's columns and category values through the [`Recoding`].

use edgewood_core::{Missing, Node, NodeStats, SplitTest, Tree};

use super::f64_array;
use super::recoding::{has, read_recoding, Bitset, Recoding};
use crate::pickle::numpy::{self, Field, Kind};
use crate::pickle::{Id, Pickle};
use crate::sklearn::{attr, bad, SklearnError};

/// HistGradientBoosting: `_baseline_prediction` and `_predictors` (iterations × K).
pub(super) fn read_hgb(
    p: &Pickle,
    root: Id,
    n_features: usize,
    k: usize,
) -> Result<(Vec<f64>, Vec<Tree>), SklearnError> {
    let recoding = read_recoding(p, root, n_features)?;
    let (_, base) = f64_array(
        p,
        attr(p, root, "", "_baseline_prediction")?,
        "_baseline_prediction",
    )?;
    if base.len() != k {
        return Err(bad(
            "_baseline_prediction",
            format!("{} values for {k} outputs", base.len()),
        ));
    }
    let list = attr(p, root, "", "_predictors")?;
    let iterations = p
        .as_seq(list)
        .ok_or_else(|| bad("_predictors", "not a list"))?;
    let mut trees = Vec::new();
    for (it, &iteration) in iterations.iter().enumerate() {
        let preds = p
            .as_seq(iteration)
            .ok_or_else(|| bad(format!("_predictors[{it}]"), "not a list"))?;
        if preds.len() != k {
            return Err(bad(
                format!("_predictors[{it}]"),
                format!("{} trees for {k} outputs", preds.len()),
            ));
        }
        for (c, &pred) in preds.iter().enumerate() {
            let at = format!("_predictors[{it}][{c}].");
            let tree = read_predictor(p, pred, &at, n_features, recoding.as_ref())?;
            trees.push(Tree {
                output: c as u32,
                ..tree
            });
        }
    }
    if trees.is_empty() {
        return Err(bad("_predictors", "the model has no trees"));
    }
    Ok((base, trees))
}

/// One `TreePredictor` (at attribute path `at`) as a tree for output 0.
fn read_predictor(
    p: &Pickle,
    pred: Id,
    at: &str,
    n_features: usize,
    recoding: Option<&Recoding>,
) -> Result<Tree, SklearnError> {
    let path = format!("{at}nodes");
    let a = numpy::array(p, attr(p, pred, at, "nodes")?).map_err(|e| bad(&path, e))?;
    let n = match a.shape[..] {
        [n] if n > 0 => n,
        _ => return Err(bad(&path, format!("shape {:?}", a.shape))),
    };
    let field = |name: &str| {
        a.dtype
            .field(name)
            .ok_or_else(|| bad(&path, format!("no field {name:?}")))
    };
    let mut records = Records {
        value: field("value")?,
        feature_idx: field("feature_idx")?,
        num_threshold: field("num_threshold")?,
        missing_go_to_left: field("missing_go_to_left")?,
        left: field("left")?,
        right: field("right")?,
        is_leaf: field("is_leaf")?,
        is_categorical: field("is_categorical")?,
        left_sets: Vec::new(),
        bitset_idx: a.dtype.field("bitset_idx"),
        // Each node's training sample count: its cover for explanations.
        count: a.dtype.field("count"),
        bytes: a.bytes(),
        size: a.dtype.itemsize,
        n,
        path: &path,
        n_features,
        recoding,
    };
    records.left_sets = left_bitsets(p, pred, at)?;
    if records.value.dtype.kind != Kind::Float || records.num_threshold.dtype.kind != Kind::Float {
        return Err(bad(&path, "value / num_threshold are not floats"));
    }
    let mut nodes = Vec::with_capacity(n);
    let mut cover = Vec::with_capacity(if records.count.is_some() { n } else { 0 });
    for i in 0..n {
        if let Some(f) = records.count {
            cover.push(records.int(f, i)? as f64);
        }
        nodes.push(records.node(i)?);
    }
    Ok(Tree {
        nodes,
        stats: (!cover.is_empty()).then(|| NodeStats {
            cover,
            leaf_ids: Vec::new(),
        }),
        output: 0,
    })
}

/// A predictor's `nodes` records: the fields read, the raw bytes, and what a node's
/// feature index and bitset index refer to.
struct Records<'a> {
    value: &'a Field,
    feature_idx: &'a Field,
    num_threshold: &'a Field,
    missing_go_to_left: &'a Field,
    left: &'a Field,
    right: &'a Field,
    is_leaf: &'a Field,
    is_categorical: &'a Field,
    bitset_idx: Option<&'a Field>,
    count: Option<&'a Field>,
    /// The predictor's `raw_left_cat_bitsets`, indexed by `bitset_idx`.
    left_sets: Vec<Bitset>,
    bytes: &'a [u8],
    size: usize,
    n: usize,
    path: &'a str,
    n_features: usize,
    recoding: Option<&'a Recoding>,
}

impl Records<'_> {
    fn int(&self, f: &Field, i: usize) -> Result<i64, SklearnError> {
        f.dtype
            .read_i64(self.bytes, i * self.size + f.offset)
            .ok_or_else(|| bad(format!("{}[{i}].{}", self.path, f.name), "unreadable"))
    }

    fn float(&self, f: &Field, i: usize) -> Result<f64, SklearnError> {
        f.dtype
            .read_f64(self.bytes, i * self.size + f.offset)
            .ok_or_else(|| bad(format!("{}[{i}].{}", self.path, f.name), "unreadable"))
    }

    /// Node `i`'s child in field `f`: another node of this tree.
    fn child(&self, f: &Field, i: usize) -> Result<u32, SklearnError> {
        let ch = self.int(f, i)?;
        u32::try_from(ch)
            .ok()
            .filter(|&x| (x as usize) < self.n && x as usize != i)
            .ok_or_else(|| {
                bad(
                    format!("{}[{i}]", self.path),
                    format!("child {ch} is not a node of this {}-node tree", self.n),
                )
            })
    }

    /// Node `i`: a leaf, a categorical split or a threshold split.
    fn node(&self, i: usize) -> Result<Node, SklearnError> {
        if self.int(self.is_leaf, i)? != 0 {
            return Ok(Node::Leaf(vec![self.float(self.value, i)?]));
        }
        let at = format!("{}[{i}]", self.path);
        let f = usize::try_from(self.int(self.feature_idx, i)?)
            .ok()
            .filter(|&f| f < self.n_features)
            .ok_or_else(|| bad(&at, "feature index out of range"))?;
        // Tree features count the transformer's re-ordered columns.
        let (feature, cats) = match self.recoding {
            Some(r) => (
                r.column[f],
                r.categories[f].as_ref().zip(r.known[f].as_ref()),
            ),
            None => (f as u32, None),
        };
        let missing_left = self.int(self.missing_go_to_left, i)? != 0;
        if self.int(self.is_categorical, i)? != 0 {
            let (cats, known) = cats.ok_or_else(|| match self.recoding {
                Some(_) => bad(&at, format!("categorical split on numerical feature {f}")),
                // Older releases kept raw categories and no column transformer.
                None => bad(
                    &at,
                    "categorical split without a `_preprocessor` column transformer \
                     (an older scikit-learn layout, not supported)",
                ),
            })?;
            let categories = self.category_set(i, &at, cats, known, missing_left)?;
            return Ok(Node::Rule {
                feature,
                test: SplitTest::InSet {
                    categories,
                    in_set_left: !missing_left,
                    // 2.5 is no category to scikit-learn's encoder: unknown,
                    // so it goes the missing way with NaN and unseen values.
                    integers_only: true,
                },
                missing: Missing {
                    left: missing_left,
                    ..Missing::default()
                },
                left: self.child(self.left, i)?,
                right: self.child(self.right, i)?,
            });
        }
        if cats.is_some() {
            return Err(bad(
                &at,
                format!("numerical split on categorical feature {f}"),
            ));
        }
        let threshold = self.float(self.num_threshold, i)?;
        if threshold.is_nan() {
            return Err(bad(&at, "the threshold is NaN"));
        }
        Ok(Node::Split {
            feature,
            threshold,
            missing_left,
            left: self.child(self.left, i)?,
            right: self.child(self.right, i)?,
        })
    }

    /// The category values of categorical split `i` that do not go the missing way.
    fn category_set(
        &self,
        i: usize,
        at: &str,
        cats: &[u32],
        known: &Bitset,
        missing_left: bool,
    ) -> Result<Vec<u32>, SklearnError> {
        let fset = self
            .bitset_idx
            .ok_or_else(|| bad(self.path, "no field \"bitset_idx\""))?;
        let b = self.int(fset, i)?;
        let left = usize::try_from(b)
            .ok()
            .and_then(|b| self.left_sets.get(b))
            .ok_or_else(|| {
                bad(
                    at,
                    format!(
                        "bitset_idx {b} of {} raw_left_cat_bitsets",
                        self.left_sets.len()
                    ),
                )
            })?;
        // scikit-learn's order: a code in the left bitset goes left, another known code
        // right, anything else where missing values go. The set holds the codes that do
        // not go the missing way (module doc).
        Ok((0..cats.len())
            .filter(|&code| {
                if missing_left {
                    !has(left, code) && has(known, code)
                } else {
                    has(left, code)
                }
            })
            .map(|code| cats[code])
            .collect())
    }
}

/// A predictor's `raw_left_cat_bitsets` (rows of 8 words).
fn left_bitsets(p: &Pickle, pred: Id, path: &str) -> Result<Vec<Bitset>, SklearnError> {
    let path = format!("{path}raw_left_cat_bitsets");
    let Some(id) = p.attr(pred, "raw_left_cat_bitsets") else {
        return Ok(Vec::new());
    };
    let a = numpy::array(p, id).map_err(|e| bad(&path, e))?;
    let rows = match a.shape[..] {
        [r, 8] => r,
        [0] | [0, _] => 0,
        _ => {
            return Err(bad(
                &path,
                format!("shape {:?} (expected rows of 8)", a.shape),
            ))
        }
    };
    if a.dtype.kind != Kind::UInt || a.dtype.itemsize != 4 {
        return Err(bad(
            &path,
            format!("dtype {} (expected <u4)", a.dtype.describe()),
        ));
    }
    let v = a.to_i64().map_err(|e| bad(&path, e))?;
    Ok((0..rows)
        .map(|r| {
            let mut b = [0u32; 8];
            for (w, x) in b.iter_mut().enumerate() {
                // Fortran order stores each word column together.
                let at = if a.fortran { w * rows + r } else { r * 8 + w };
                *x = v[at] as u32;
            }
            b
        })
        .collect())
}
