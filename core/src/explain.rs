//! Why a prediction: exact path-dependent TreeSHAP over the trees' covers (§11), and
//! the leaf each tree gives a row.
//!
//! [`Explainer`] decodes a model's trees once into linked nodes with their covers, and
//! then explains rows with the recursive TreeSHAP algorithm of Lundberg et al. (2018),
//! in the operation order of `shap`'s `tree_shap.h` (which XGBoost and LightGBM share):
//! per tree, the base gains the tree's expected value and each feature on the row's
//! path its Shapley value, so that base + contributions = the raw output (the margin of
//! a boosted model, the averaged probability or value of a forest).
//!
//! Trees whose paths are short enough take a faster route, in the spirit of FastTreeSHAP
//! v2 (Yang, 2021): what a leaf adds to each feature depends only on which of its
//! path's features the row satisfies, so the weights of every such pattern are computed
//! once per leaf; explaining is then one pass of decisions over the tree and, per leaf,
//! a pattern and a few multiply-adds. The weights are the recursion's own (the same
//! path extensions), so both routes agree to rounding.
//!
//! Nothing here is linked unless a caller explains: the prediction paths do not use it.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{FormatError, PredictError};
use crate::layout::*;
use crate::model::{decode_node, Model, NodeRecord};

/// A split or a leaf of a decoded tree (a knot of the explainer's net).
#[derive(Clone, Copy, Debug)]
struct Knot {
    /// The split's §6 record (unused for a leaf).
    record: NodeRecord,
    /// Left child (an index into the explainer's nodes), or [`LEAF`].
    left: u32,
    /// Right child, or the absolute §8 leaf index of a leaf.
    right: u32,
    /// The node's cover.
    cover: f64,
}

/// [`Knot::left`] of a leaf.
const LEAF: u32 = u32::MAX;

/// One tree's place among the decoded nodes.
#[derive(Clone, Copy, Debug)]
struct TreeSpan {
    /// Index of the root in [`Explainer::nodes`].
    root: u32,
    /// The output this tree adds to (`leaf_width == 1`), else 0.
    output: u32,
    /// Splits in the tree.
    n: u32,
    /// Its leaves' precomputed weights: a range of [`Explainer::leaves`], or `None`
    /// for the recursion.
    tabled: Option<(u32, u32)>,
    /// Its whole explanation per cell of the input space: an index into
    /// [`Explainer::cell_trees`].
    cells: Option<u32>,
}

/// A tree explained ahead of time for every cell of the input space that its
/// thresholds cut out (see [`Explainer::tabulate_cells`]).
#[derive(Clone, Copy, Debug)]
struct CellTree {
    /// Its features: a range of [`Explainer::cell_features`].
    features: (u32, u32),
    /// Where its table starts in [`Explainer::cell_phi`]: per cell, per feature (in
    /// the order of `features`), `leaf_width` contributions.
    table: u32,
}

/// A feature of a [`CellTree`].
#[derive(Clone, Copy, Debug)]
struct CellFeature {
    feature: u32,
    /// Its thresholds in the tree, ascending: a range of [`Explainer::cuts`].
    cuts: (u32, u32),
    /// Cells of the features before it (its mixed-radix weight).
    stride: u32,
}

/// A leaf's precomputed weights (see the module docs).
#[derive(Clone, Copy, Debug)]
struct TabledLeaf {
    /// The leaf's knot.
    knot: u32,
    /// Its path: a range of [`Explainer::steps`].
    steps: (u32, u32),
    /// Its `m` distinct path features: a range of [`Explainer::slots`].
    slots: u32,
    m: u32,
    /// `2^m × m` weights in [`Explainer::weights`]: for each pattern of satisfied
    /// features, each feature's weight (times the leaf value, its contribution).
    weights: u32,
}

/// One split on a tabled leaf's path.
#[derive(Clone, Copy, Debug)]
struct Step {
    /// The split, relative to its tree's root.
    split: u32,
    /// The path goes left at it.
    left: bool,
    /// Which of the leaf's features it tests (bit of the pattern).
    slot: u8,
}

/// Most weights kept for all tabled leaves together (32 MB of f64).
const TABLE_BUDGET: usize = 1 << 22;
/// Most contributions kept for all cell tables together (16 MB of f64).
const CELL_BUDGET: usize = 1 << 21;
/// Most distinct features on a tabled leaf's path.
const TABLE_MAX_FEATURES: usize = 10;

/// One element of the decision path of the TreeSHAP recursion.
#[derive(Clone, Copy, Debug, Default)]
struct PathElement {
    feature: u32,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Sorts `v` by `less` (heapsort: in place, O(n log n), not stable). The slice's own
/// sorts are several KB of wasm each, which the npm package's lazily loaded explainer
/// (15 KB gzipped) cannot afford; an O(n²) sort would stall on a deep tree's thousands
/// of thresholds. Stability is not needed: the keys sorted here are distinct or equal
/// in every bit.
fn heap_sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    // Moves `v[root]` down the max-heap `v[..end]`.
    let sift_down = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    for start in (0..v.len() / 2).rev() {
        sift_down(v, start, v.len());
    }
    for end in (1..v.len()).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// The feature of the path's root element (no feature).
const NO_FEATURE: u32 = u32::MAX;

/// What the base plus the contributions of an explanation equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplanationSpace {
    /// A forest classifier's averaged class probability.
    Probability,
    /// A boosted model's raw score, before its link (sigmoid, softmax, exp).
    Margin,
    /// A regressor's prediction.
    Value,
}

impl ExplanationSpace {
    /// The space `model`'s explanations are in.
    pub fn of(model: &Model<'_>) -> Self {
        match (model.sum_link, model.task()) {
            (None, crate::TaskKind::Classification) => ExplanationSpace::Probability,
            (Some(crate::Link::Identity), _) | (None, _) => ExplanationSpace::Value,
            (Some(_), _) => ExplanationSpace::Margin,
        }
    }

    /// Its name in answers: `probability`, `margin` or `value`.
    pub fn name(self) -> &'static str {
        match self {
            ExplanationSpace::Probability => "probability",
            ExplanationSpace::Margin => "margin",
            ExplanationSpace::Value => "value",
        }
    }
}

/// A model prepared for explanations: its trees decoded with their covers.
#[derive(Clone, Debug)]
pub struct Explainer<'a> {
    model: Model<'a>,
    nodes: Vec<Knot>,
    trees: Vec<TreeSpan>,
    /// Leaf values, scaled as the contributions are (`1 / n_trees` for forests).
    values: Vec<f64>,
    /// The expected value of every output: base margin plus each tree's expectation.
    base: Vec<f64>,
    /// Path buffer length (from the deepest tree).
    path_len: usize,
    leaves: Vec<TabledLeaf>,
    steps: Vec<Step>,
    /// Features of the tabled leaves' paths.
    slots: Vec<u32>,
    weights: Vec<f64>,
    /// Splits in the largest tabled tree (scratch for its decisions).
    widest: usize,
    cell_trees: Vec<CellTree>,
    cell_features: Vec<CellFeature>,
    cuts: Vec<f64>,
    cell_phi: Vec<f64>,
}

impl<'a> Explainer<'a> {
    /// Decodes `model`'s trees for explanations and precomputes what fits (cell
    /// tables up to 16 MB, leaf weights up to 32 MB): the fast route for many rows
    /// (Iris RF100: 14 ms to prepare, then 2.4 µs per row). A model without covers
    /// (§11; ONNX records none) is refused with [`PredictError::NoCover`].
    pub fn new(model: Model<'a>) -> Result<Self, PredictError> {
        let mut explainer = Self::untabled(model)?;
        explainer.tabulate_cells(CELL_BUDGET)?;
        explainer.tabulate(TABLE_BUDGET);
        Ok(explainer)
    }

    /// Decodes `model`'s trees for explanations and precomputes nothing: the route for
    /// a row or two (a request that opens its model; Iris RF100: 70 µs to prepare,
    /// then tens of µs per row), with the same numbers as [`Explainer::new`] to
    /// rounding. A model without covers is refused with [`PredictError::NoCover`].
    pub fn untabled(model: Model<'a>) -> Result<Self, PredictError> {
        if !model.has_cover() {
            return Err(PredictError::NoCover);
        }
        let corrupt = |tree: usize, reason: &'static str| FormatError::BadTree { tree, reason };
        let width = model.leaf_width;
        // Forests average: shap scales every leaf by 1 / n_trees before explaining.
        let scale = match model.sum_link {
            None => Some(1.0 / model.n_trees as f64),
            Some(_) => None,
        };
        let values: Vec<f64> = model
            .leaves
            .chunks_exact(8)
            .map(|v| {
                let v = f64::from_le_bytes(v.try_into().unwrap_or([0; 8]));
                scale.map_or(v, |s| v * s)
            })
            .collect();
        let split_cover = |i: usize| f64_at(model.stats, i * STATS_SPLIT_SIZE);
        let leaf_cover = |l: usize| f64_at(model.stats, model.n_nodes * STATS_SPLIT_SIZE + l * 8);
        let node_size = model.node_size();
        let mut nodes = Vec::with_capacity(model.n_nodes + model.n_leaves);
        let mut trees = Vec::with_capacity(model.n_trees);
        let mut deepest = 0usize;
        let mut expected = vec![0.0; model.n_outputs];
        let mut node_values: Vec<f64> = Vec::new();
        for t in 0..model.n_trees {
            let tree = model.tree(t).ok_or(corrupt(t, "record out of bounds"))?;
            let (n, root) = (tree.n_nodes, nodes.len());
            let output = if width == 1 { tree.output } else { 0 };
            if output >= model.n_outputs {
                return Err(corrupt(t, "output index out of range").into());
            }
            // Splits `root .. root + n` in pre-order, then leaves `root + n ..= root + 2n`.
            let leaf_at = |rel: usize| (root + n + rel) as u32;
            for i in 0..n {
                let at = (tree.first_node + i) * node_size;
                let raw = model
                    .nodes
                    .get(at..at + node_size)
                    .ok_or(corrupt(t, "node out of bounds"))?;
                let record = decode_node(raw, model.wide);
                let child = record.child as usize;
                let left_leaf = record.flags & NODE_LEFT_LEAF != 0;
                let right_leaf = record.flags & NODE_RIGHT_LEAF != 0;
                let split = |s: usize| {
                    if s > i && s < n {
                        Ok((root + s) as u32)
                    } else {
                        Err(corrupt(t, "child split index out of range"))
                    }
                };
                let leaf = |l: usize| {
                    if l <= n {
                        Ok(leaf_at(l))
                    } else {
                        Err(corrupt(t, "leaf index out of range"))
                    }
                };
                let left = if left_leaf {
                    leaf(child)?
                } else {
                    split(i + 1)?
                };
                let right = match (left_leaf, right_leaf) {
                    (_, true) => leaf(child + left_leaf as usize)?,
                    (true, false) => split(i + 1)?,
                    (false, false) => split(child)?,
                };
                let cover = split_cover(tree.first_node + i).ok_or(corrupt(t, "no cover"))?;
                nodes.push(Knot {
                    record,
                    left,
                    right,
                    cover,
                });
            }
            for l in 0..=n {
                let leaf = tree.first_leaf + l;
                if leaf >= model.n_leaves {
                    return Err(corrupt(t, "leaf index out of range").into());
                }
                let cover = leaf_cover(leaf).ok_or(corrupt(t, "no cover"))?;
                nodes.push(Knot {
                    record: NodeRecord {
                        feature: 0,
                        flags: 0,
                        threshold: 0.0,
                        child: 0,
                    },
                    left: LEAF,
                    right: leaf as u32,
                    cover,
                });
            }
            trees.push(TreeSpan {
                root: root as u32,
                output: output as u32,
                n: n as u32,
                tabled: None,
                cells: None,
            });
            deepest = deepest.max(depth(&nodes, root, n));
            // shap's `compute_expectations`: each split's value is its children's
            // cover-weighted mean; the root's is the tree's expected value. Splits
            // follow their parents in pre-order, so a reverse sweep sees children first.
            node_values.clear();
            node_values.resize((2 * n + 1) * width, 0.0);
            for l in 0..=n {
                let at = nodes[root + n + l].right as usize * width;
                node_values[(n + l) * width..(n + l + 1) * width]
                    .copy_from_slice(&values[at..at + width]);
            }
            for i in (0..n).rev() {
                let link = nodes[root + i];
                let (li, ri) = (link.left as usize - root, link.right as usize - root);
                let (lw, rw) = (nodes[root + li].cover, nodes[root + ri].cover);
                for k in 0..width {
                    node_values[i * width + k] = if lw == 0.0 && rw == 0.0 {
                        0.0
                    } else {
                        (lw * node_values[li * width + k] + rw * node_values[ri * width + k])
                            / (lw + rw)
                    };
                }
            }
            // (The root is split 0, or leaf 0 of a tree without splits: index 0 both.)
            for k in 0..width {
                expected[output + k] += node_values[k];
            }
        }
        // shap adds the base offset after the trees' expectations.
        if model.sum_link.is_some() {
            for (k, e) in expected.iter_mut().enumerate() {
                let mut b = f64_at(model.base, k * 8).unwrap_or(0.0);
                if model.accumulate_f32 {
                    b = b as f32 as f64;
                }
                *e += b;
            }
        }
        let maxd = deepest + 2;
        Ok(Explainer {
            model,
            nodes,
            trees,
            values,
            base: expected,
            path_len: maxd * (maxd + 1) / 2,
            leaves: Vec::new(),
            steps: Vec::new(),
            slots: Vec::new(),
            weights: Vec::new(),
            widest: 0,
            cell_trees: Vec::new(),
            cell_features: Vec::new(),
            cuts: Vec::new(),
            cell_phi: Vec::new(),
        })
    }

    /// Precomputed leaf weights and the recursion, no cell tables (for tests).
    #[doc(hidden)]
    pub fn without_cells(model: Model<'a>) -> Result<Self, PredictError> {
        let mut explainer = Self::untabled(model)?;
        explainer.tabulate(TABLE_BUDGET);
        Ok(explainer)
    }

    /// Explains ahead of time every tree without rule nodes whose table fits in what
    /// is left of `budget`: a tree's explanation is constant on each cell of the grid
    /// its thresholds cut the input space into (per feature, each interval between
    /// consecutive thresholds, and missing), so one row per cell, explained by the
    /// recursion, gives it. A row then costs, per tree and feature, finding its
    /// interval, and a few additions.
    fn tabulate_cells(&mut self, budget: usize) -> Result<(), PredictError> {
        let width = self.model.leaf_width;
        let nf = self.model.n_features;
        let stride = nf + 1;
        let mut row = vec![0.0; nf];
        let mut phi = vec![0.0; stride * width];
        let mut path = vec![PathElement::default(); self.path_len];
        for t in 0..self.trees.len() {
            let span = self.trees[t];
            let (root, n) = (span.root as usize, span.n as usize);
            let splits = &self.nodes[root..root + n];
            if n == 0 || splits.iter().any(|k| k.record.flags & NODE_RULE_FLAGS != 0) {
                continue;
            }
            let mut features: Vec<(u32, Vec<f64>)> = Vec::new();
            for k in splits {
                let f = k.record.feature as u32;
                match features.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, cuts)) => cuts.push(k.record.threshold),
                    None => features.push((f, vec![k.record.threshold])),
                }
            }
            heap_sort(&mut features, |a, b| a.0 < b.0);
            let mut cells = 1usize;
            for (_, cuts) in &mut features {
                heap_sort(cuts, |a, b| a.total_cmp(b).is_lt());
                cuts.dedup();
                // One cell per interval, one more above the last threshold, one for NaN.
                cells = cells.saturating_mul(cuts.len() + 2);
            }
            let size = cells.saturating_mul(features.len() * width);
            if self.cell_phi.len().saturating_add(size) > budget {
                continue;
            }
            let table = self.cell_phi.len();
            let first = self.cell_features.len();
            let mut radix = 1u32;
            for (f, cuts) in &features {
                self.cell_features.push(CellFeature {
                    feature: *f,
                    cuts: (
                        self.cuts.len() as u32,
                        (self.cuts.len() + cuts.len()) as u32,
                    ),
                    stride: radix,
                });
                self.cuts.extend_from_slice(cuts);
                radix *= cuts.len() as u32 + 2;
            }
            for cell in 0..cells {
                // A representative of the cell: the threshold ending its interval,
                // just above the last threshold, or NaN.
                let mut rest = cell;
                for (f, cuts) in &features {
                    let k = rest % (cuts.len() + 2);
                    rest /= cuts.len() + 2;
                    row[*f as usize] = match k {
                        k if k < cuts.len() => cuts[k],
                        k if k == cuts.len() => {
                            let last = cuts[k - 1];
                            if self.model.wide {
                                last.next_up()
                            } else {
                                (last as f32).next_up() as f64
                            }
                        }
                        _ => f64::NAN,
                    };
                }
                phi.fill(0.0);
                let walk = Walk {
                    explainer: self,
                    row: &row,
                    tree: t,
                    phi: &mut phi,
                    stride,
                };
                walk.run(root, &mut path)?;
                for (f, _) in &features {
                    for k in 0..width {
                        self.cell_phi.push(phi[k * stride + *f as usize]);
                    }
                }
            }
            self.cell_trees.push(CellTree {
                features: (first as u32, self.cell_features.len() as u32),
                table: table as u32,
            });
            self.trees[t].cells = Some(self.cell_trees.len() as u32 - 1);
        }
        Ok(())
    }

    /// Adds a cell-tabled tree's contributions for `row` onto `phi`.
    #[inline]
    fn add_cells(&self, tree: &CellTree, row: &[f64], phi: &mut [f64], stride: usize) {
        let features = &self.cell_features[tree.features.0 as usize..tree.features.1 as usize];
        let mut cell = 0usize;
        for cf in features {
            let x = row[cf.feature as usize];
            let cuts = &self.cuts[cf.cuts.0 as usize..cf.cuts.1 as usize];
            let k = if x.is_nan() {
                cuts.len() + 1
            } else {
                let x = if self.model.wide { x } else { x as f32 as f64 };
                // The thresholds `x` does not go left at: those below it.
                cuts.partition_point(|&c| c < x)
            };
            cell += k * cf.stride as usize;
        }
        let width = self.model.leaf_width;
        let at = tree.table as usize + cell * features.len() * width;
        let values = &self.cell_phi[at..at + features.len() * width];
        for (cf, v) in features.iter().zip(values.chunks_exact(width)) {
            for (k, v) in v.iter().enumerate() {
                phi[k * stride + cf.feature as usize] += v;
            }
        }
    }

    /// Precomputes the weights of every leaf of every tree that fits in `budget`
    /// weights in all, tree by tree in order.
    fn tabulate(&mut self, budget: usize) {
        let mut path = vec![PathElement::default(); TABLE_MAX_FEATURES + 1];
        for t in 0..self.trees.len() {
            let span = self.trees[t];
            let (root, n) = (span.root as usize, span.n as usize);
            if n == 0 || span.cells.is_some() || span.tabled.is_some() {
                continue;
            }
            // Each knot's parent and the side it hangs on.
            let mut parent = vec![(u32::MAX, false); 2 * n + 1];
            for i in 0..n {
                let k = self.nodes[root + i];
                parent[k.left as usize - root] = (i as u32, true);
                parent[k.right as usize - root] = (i as u32, false);
            }
            let mut cost = 0usize;
            let mut fits = true;
            let mut paths = Vec::with_capacity(n + 1);
            for l in 0..=n {
                let mut steps = Vec::new();
                let mut at = n + l;
                while at != 0 {
                    let (p, left) = parent[at];
                    if p == u32::MAX {
                        fits = false;
                        break;
                    }
                    steps.push((p as usize, left));
                    at = p as usize;
                }
                steps.reverse();
                let mut features: Vec<u32> = Vec::new();
                for &(p, _) in &steps {
                    let f = self.nodes[root + p].record.feature as u32;
                    if !features.contains(&f) {
                        features.push(f);
                    }
                }
                let m = features.len();
                if m > TABLE_MAX_FEATURES {
                    fits = false;
                    break;
                }
                cost += m << m;
                paths.push((steps, features));
            }
            if !fits || self.weights.len() + cost > budget {
                continue;
            }
            let first = self.leaves.len();
            for (l, (steps, features)) in paths.into_iter().enumerate() {
                let m = features.len();
                // Each feature's zero fraction: the product of its splits' cover shares.
                let mut zero = [1.0f64; TABLE_MAX_FEATURES];
                let step_start = self.steps.len();
                for &(p, left) in &steps {
                    let k = self.nodes[root + p];
                    let child = if left { k.left } else { k.right } as usize;
                    let slot = features
                        .iter()
                        .position(|&f| f == k.record.feature as u32)
                        .unwrap_or(0);
                    zero[slot] *= self.nodes[child].cover / k.cover;
                    self.steps.push(Step {
                        split: p as u32,
                        left,
                        slot: slot as u8,
                    });
                }
                let weights = self.weights.len();
                for pattern in 0..1usize << m {
                    extend(&mut path, 0, 1.0, 1.0, NO_FEATURE);
                    for (j, z) in zero[..m].iter().enumerate() {
                        let one = if pattern >> j & 1 != 0 { 1.0 } else { 0.0 };
                        extend(&mut path, j + 1, *z, one, j as u32);
                    }
                    for j in 0..m {
                        let el = path[j + 1];
                        self.weights
                            .push(unwound_sum(&path, m, j + 1) * (el.one - el.zero));
                    }
                }
                self.leaves.push(TabledLeaf {
                    knot: (root + n + l) as u32,
                    steps: (step_start as u32, self.steps.len() as u32),
                    slots: self.slots.len() as u32,
                    m: m as u32,
                    weights: weights as u32,
                });
                self.slots.extend_from_slice(&features);
            }
            self.trees[t].tabled = Some((first as u32, self.leaves.len() as u32));
            self.widest = self.widest.max(n);
        }
    }

    /// Adds a tabled tree's contributions for `row` onto `phi` (`stride` per output).
    fn tabled(
        &self,
        t: usize,
        span: &TreeSpan,
        row: &[f64],
        phi: &mut [f64],
        stride: usize,
        goes: &mut [bool],
    ) -> Result<(), PredictError> {
        let root = span.root as usize;
        let (first, end) = span.tabled.unwrap_or((0, 0));
        let walk = Walk {
            explainer: self,
            row,
            tree: t,
            phi: &mut [],
            stride,
        };
        for (i, g) in goes[..span.n as usize].iter_mut().enumerate() {
            *g = walk.goes_left(&self.nodes[root + i].record)?;
        }
        let width = self.model.leaf_width;
        for leaf in &self.leaves[first as usize..end as usize] {
            let m = leaf.m as usize;
            let mut pattern = (1usize << m) - 1;
            for step in &self.steps[leaf.steps.0 as usize..leaf.steps.1 as usize] {
                if goes[step.split as usize] != step.left {
                    pattern &= !(1 << step.slot);
                }
            }
            let at = leaf.weights as usize + pattern * m;
            let weights = &self.weights[at..at + m];
            let features = &self.slots[leaf.slots as usize..leaf.slots as usize + m];
            let v = self.nodes[leaf.knot as usize].right as usize * width;
            let values = &self.values[v..v + width];
            for (w, &f) in weights.iter().zip(features) {
                for (k, value) in values.iter().enumerate() {
                    phi[k * stride + f as usize] += w * value;
                }
            }
        }
        Ok(())
    }

    /// The model explained.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Length of an explanation: `(n_features + 1) × n_outputs`.
    pub fn explanation_len(&self) -> usize {
        (self.model.n_features + 1) * self.model.n_outputs
    }

    /// Number of outputs explained: the model's accumulators (one margin for a binary
    /// boosted classifier, one probability per class for a forest classifier).
    pub fn n_outputs(&self) -> usize {
        self.model.n_outputs
    }

    /// The expected value (base) of every output.
    pub fn base(&self) -> &[f64] {
        &self.base
    }

    /// Explains one row (NaN = missing) into `out`, which holds
    /// [`explanation_len`](Explainer::explanation_len) values: for each output `k`,
    /// `out[k × (n_features + 1) + f]` is feature `f`'s contribution and
    /// `out[k × (n_features + 1) + n_features]` the base, the layout of XGBoost's
    /// `pred_contribs` and LightGBM's `pred_contrib`. The base plus the contributions
    /// is the raw output: the margin of a boosted model (before its link), the
    /// averaged leaf values of a forest.
    pub fn explain_into(&self, row: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let nf = self.model.n_features;
        if row.len() != nf {
            return Err(crate::InputError::RowLength {
                expected: nf,
                found: row.len(),
            }
            .into());
        }
        if out.len() != self.explanation_len() {
            return Err(PredictError::OutputLength {
                expected: self.explanation_len(),
                found: out.len(),
            });
        }
        out.fill(0.0);
        let mut path = vec![PathElement::default(); self.path_len];
        let mut goes = vec![false; self.widest];
        let stride = nf + 1;
        for (t, span) in self.trees.iter().enumerate() {
            if let Some(c) = span.cells {
                let phi = &mut out[span.output as usize * stride..];
                self.add_cells(&self.cell_trees[c as usize], row, phi, stride);
                continue;
            }
            if span.tabled.is_some() {
                let phi = &mut out[span.output as usize * stride..];
                self.tabled(t, span, row, phi, stride, &mut goes)?;
                continue;
            }
            let walk = Walk {
                explainer: self,
                row,
                tree: t,
                phi: &mut out[span.output as usize * stride..],
                stride,
            };
            walk.run(span.root as usize, &mut path)?;
        }
        let width = self.model.leaf_width;
        for (k, b) in self.base.iter().enumerate() {
            out[k * stride + nf] = *b;
        }
        // LightGBM's random-forest mode divides the summed margins by the rounds.
        if self.model.divide_by_rounds {
            let rounds = (self.model.n_trees / self.model.n_outputs) as f64;
            out.iter_mut().for_each(|v| *v /= rounds);
        }
        debug_assert!(width == 1 || width == self.model.n_outputs);
        Ok(())
    }

    /// The contributions and base of class `class` (`n_features + 1` values, the base
    /// last) in an explanation from [`explain_into`](Explainer::explain_into); for a
    /// regressor, class 0 is its one output. A binary boosted classifier explains one
    /// margin, the second class's: the first class's margin is its negation, and so are
    /// its contributions.
    pub fn class_contributions<'e>(
        &self,
        explanation: &'e [f64],
        class: usize,
    ) -> impl Iterator<Item = f64> + 'e {
        let stride = self.model.n_features + 1;
        let single = self.model.n_outputs == 1;
        let output = if single { 0 } else { class };
        let negate = single
            && class == 0
            && self.model.task() == crate::TaskKind::Classification
            && self.model.n_classes == 2;
        explanation[output * stride..(output + 1) * stride]
            .iter()
            // (`0.0 - x` rather than `-x`: a zero contribution stays 0, not -0.)
            .map(move |&x| if negate { 0.0 - x } else { x })
    }

    /// Whether every split's cover (§11) is the sum of its children's to within `rel`
    /// (relative), as the source libraries write them. The precomputed routes agree with
    /// the recursion only then (the fuzz oracle compares them only then): a cover
    /// corrupted out of that relation gives each route its own answer.
    #[doc(hidden)]
    pub fn covers_add_up(&self, rel: f64) -> bool {
        self.nodes.iter().all(|k| {
            k.left == LEAF
                || match (
                    self.nodes.get(k.left as usize),
                    self.nodes.get(k.right as usize),
                ) {
                    (Some(l), Some(r)) => {
                        let sum = l.cover + r.cover;
                        (k.cover - sum).abs() <= rel * k.cover.abs().max(sum.abs())
                    }
                    _ => false,
                }
        })
    }

    /// What an explanation adds up to: the averaged probability of a forest classifier,
    /// the margin of a boosted model with a link (before the link), or the value.
    pub fn space(&self) -> ExplanationSpace {
        ExplanationSpace::of(&self.model)
    }

    /// Writes into `out` (one entry per tree) the leaf each tree gives `row`: the
    /// number the source library gives it (§11: scikit-learn `apply`, XGBoost and
    /// LightGBM `pred_leaf`), or without §11 its depth-first index in its tree.
    pub fn leaves_into(&self, row: &[f64], out: &mut [u32]) -> Result<(), PredictError> {
        self.model.leaves_into(row, out)
    }
}

impl Model<'_> {
    /// Writes into `out` (one entry per tree) the leaf each tree gives `row`: the
    /// number the source library gives it (§11: scikit-learn `apply`, XGBoost and
    /// LightGBM `pred_leaf`), or without §11 its depth-first index in its tree.
    pub fn leaves_into(&self, row: &[f64], out: &mut [u32]) -> Result<(), PredictError> {
        if row.len() != self.n_features {
            return Err(crate::InputError::RowLength {
                expected: self.n_features,
                found: row.len(),
            }
            .into());
        }
        if out.len() != self.n_trees {
            return Err(PredictError::OutputLength {
                expected: self.n_trees,
                found: out.len(),
            });
        }
        let ids = self.n_nodes * STATS_SPLIT_SIZE + self.n_leaves * 8;
        for (t, o) in out.iter_mut().enumerate() {
            let tree = self.tree(t).ok_or(FormatError::BadTree {
                tree: t,
                reason: "record out of bounds",
            })?;
            let leaf = self.leaf_of(t, &tree, row)?;
            *o = if self.has_cover() {
                u32_at(self.stats, ids + leaf * 4).ok_or(FormatError::BadTree {
                    tree: t,
                    reason: "leaf id out of bounds",
                })?
            } else {
                (leaf - tree.first_leaf) as u32
            };
        }
        Ok(())
    }
}

/// The depth of the deepest leaf below split `root` (a tree of `n` splits).
fn depth(nodes: &[Knot], root: usize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    // Splits are in pre-order and every child index is greater than its parent's, so
    // one forward sweep gives each node its depth.
    let mut depths = vec![0usize; 2 * n + 1];
    let mut deepest = 0;
    for i in 0..n {
        let link = &nodes[root + i];
        let d = depths[i] + 1;
        for child in [link.left, link.right] {
            let c = child as usize - root;
            depths[c] = d;
            deepest = deepest.max(d);
        }
    }
    deepest
}

/// One tree's TreeSHAP recursion for one row.
struct Walk<'e, 'a, 'r> {
    explainer: &'e Explainer<'a>,
    row: &'r [f64],
    tree: usize,
    /// The contributions of the tree's first output onward (`stride` per output).
    phi: &'r mut [f64],
    stride: usize,
}

impl Walk<'_, '_, '_> {
    fn run(mut self, root: usize, path: &mut [PathElement]) -> Result<(), PredictError> {
        self.recurse(root, 0, path, 0, 1.0, 1.0, NO_FEATURE)
    }

    /// `shap`'s `tree_shap_recursive` (condition 0): `path[start..]` is the parent's
    /// path of `depth + 1` elements (the last one is extended here).
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        node: usize,
        mut depth: usize,
        path: &mut [PathElement],
        parent: usize,
        zero: f64,
        one: f64,
        feature: u32,
    ) -> Result<(), PredictError> {
        let me = parent + depth + 1;
        if me + depth + 1 > path.len() {
            return Err(FormatError::BadTree {
                tree: self.tree,
                reason: "deeper than its depth",
            }
            .into());
        }
        path.copy_within(parent..parent + depth + 1, me);
        extend(&mut path[me..], depth, zero, one, feature);
        let link = self.explainer.nodes[node];
        if link.left == LEAF {
            let width = self.explainer.model.leaf_width;
            let at = link.right as usize * width;
            let values = &self.explainer.values[at..at + width];
            let unique = &path[me..me + depth + 1];
            for i in 1..=depth {
                let w = unwound_sum(unique, depth, i);
                let el = unique[i];
                let scale = w * (el.one - el.zero);
                let f = el.feature as usize;
                for (k, v) in values.iter().enumerate() {
                    self.phi[k * self.stride + f] += scale * v;
                }
            }
            return Ok(());
        }
        let split = link.record.feature as u32;
        let hot_left = self.goes_left(&link.record)?;
        let (hot, cold) = if hot_left {
            (link.left, link.right)
        } else {
            (link.right, link.left)
        };
        let (hot, cold) = (hot as usize, cold as usize);
        let nodes = &self.explainer.nodes;
        let hot_zero = nodes[hot].cover / link.cover;
        let cold_zero = nodes[cold].cover / link.cover;
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        if let Some(k) = (0..=depth).find(|&k| path[me + k].feature == split) {
            incoming_zero = path[me + k].zero;
            incoming_one = path[me + k].one;
            unwind(&mut path[me..], depth, k);
            depth -= 1;
        }
        self.recurse(
            hot,
            depth + 1,
            path,
            me,
            hot_zero * incoming_zero,
            incoming_one,
            split,
        )?;
        self.recurse(
            cold,
            depth + 1,
            path,
            me,
            cold_zero * incoming_zero,
            0.0,
            split,
        )
    }

    /// Whether the row goes left at a split, by the model's own rules (§6).
    #[inline]
    fn goes_left(&self, node: &NodeRecord) -> Result<bool, PredictError> {
        let model = &self.explainer.model;
        let x = *self
            .row
            .get(node.feature as usize)
            .ok_or(FormatError::BadNode {
                tree: self.tree,
                node: 0,
                reason: "feature index out of range",
            })?;
        // Narrow models see the float32 input everywhere, rules included.
        let x = if model.wide { x } else { x as f32 as f64 };
        if node.flags & NODE_RULE_FLAGS != 0 {
            return model.rule_goes_left(node, x).ok_or_else(|| {
                FormatError::BadNode {
                    tree: self.tree,
                    node: 0,
                    reason: "categorical set out of bounds",
                }
                .into()
            });
        }
        Ok(if x.is_nan() {
            node.flags & NODE_MISSING_LEFT != 0
        } else {
            x <= node.threshold
        })
    }
}

/// Extends the path by one element (`shap`'s `extend_path`).
#[inline]
fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: u32) {
    path[depth] = PathElement {
        feature,
        zero,
        one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / d1;
        path[i].weight = zero * path[i].weight * (depth - i) as f64 / d1;
    }
}

/// Undoes the extension of element `index` (`shap`'s `unwind_path`).
#[inline]
fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let (one, zero) = (path[index].one, path[index].zero);
    let mut next_one = path[depth].weight;
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one * d1 / ((i + 1) as f64 * one);
            next_one = tmp - path[i].weight * zero * (depth - i) as f64 / d1;
        } else {
            path[i].weight = (path[i].weight * d1) / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// The total permutation weight if element `index` were unwound (`shap`'s
/// `unwound_path_sum`).
#[inline]
fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let (one, zero) = (path[index].one, path[index].zero);
    let mut next_one = path[depth].weight;
    let mut total = 0.0;
    // Multiplications by reciprocals rather than divisions: the loop is one chain of
    // dependent operations, and a division's latency is three multiplications'. (It
    // moves results by an ulp or two from shap's.)
    if one != 0.0 {
        let inverse = 1.0 / one;
        for i in (0..depth).rev() {
            let share = reciprocal(i + 1) * inverse;
            total += next_one * share;
            // (The factors off the chain are multiplied first.)
            next_one = path[i].weight - next_one * (share * zero * (depth - i) as f64);
        }
    } else {
        let inverse = 1.0 / zero;
        for i in (0..depth).rev() {
            total += path[i].weight * (inverse * reciprocal(depth - i));
        }
    }
    total * (depth + 1) as f64
}

/// `1 / k`, from a table for the path lengths of real trees.
#[inline(always)]
fn reciprocal(k: usize) -> f64 {
    const TABLE: [f64; 65] = {
        let mut table = [0.0; 65];
        let mut k = 1;
        while k < 65 {
            table[k] = 1.0 / k as f64;
            k += 1;
        }
        table
    };
    match TABLE.get(k) {
        Some(&r) => r,
        None => 1.0 / k as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::heap_sort;
    use alloc::vec::Vec;

    #[test]
    fn heap_sort_orders_like_the_slice_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in [0usize, 1, 2, 3, 7, 64, 1000] {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 50) as f64 - 25.0
                })
                .collect();
            v.extend([-0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY]);
            let mut want = v.clone();
            want.sort_by(f64::total_cmp);
            heap_sort(&mut v, |a, b| a.total_cmp(b).is_lt());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&want), "n = {n}");
        }
    }
}
