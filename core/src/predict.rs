//! Prediction: walking the trees of a [`Model`] and combining their leaves.
//!
//! The arithmetic is the source libraries' own, in their order (see `core/FORMAT.md`
//! §9): forests sum float64 leaf vectors
//! in tree order and divide by the tree count; boosted models start from their base
//! margins and add leaves in tree order, in float32 where the library does.

use core::ops::Range;

use alloc::vec;
use alloc::vec::Vec;

use crate::ensemble::{Link, ZERO_THRESHOLD};
use crate::error::{FormatError, PredictError};
use crate::layout::*;
use crate::model::{decode_node, Model, NodeRecord, TaskKind, TreeRecord};

/// A prediction for one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// A regressor's value.
    Value(f64),
    /// A classifier's answer.
    Class {
        /// Index of the predicted class (the first of highest probability).
        label: usize,
        /// The predicted class's probability.
        confidence: f64,
        /// One probability per class.
        probabilities: Vec<f64>,
    },
}

/// Index of the first maximum (scikit-learn's `argmax`; NaN never wins).
pub fn first_max(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] || (values[best].is_nan() && !v.is_nan()) {
            best = i;
        }
    }
    best
}

fn corrupt(tree: usize, node: usize, reason: &'static str) -> FormatError {
    FormatError::BadNode { tree, node, reason }
}

impl<'a> Model<'a> {
    /// Predicts one row of `n_features` values (NaN = missing) into `out`, which holds
    /// [`prediction_len`](Model::prediction_len) values: class probabilities, or the
    /// regression value. The row is not validated against the schema here; see
    /// [`Model::validate_row`].
    pub fn predict_into(&self, row: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        self.check_row(row.len(), out.len())?;
        self.start(out);
        // The common case (narrow nodes) takes the lean walk; a node
        // with a library rule (categorical, LightGBM missing types) sends the row to
        // the general walk, which starts the sums again.
        let lean = !self.wide && self.lean(row, &mut out[..self.n_outputs])?;
        if !lean {
            self.start(out);
            for (t, record) in self.trees.chunks_exact(TREE_SIZE).enumerate() {
                let tree = TreeRecord::decode(record);
                let leaf = self.leaf_of(t, &tree, row)?;
                self.add_leaf(t, &tree, leaf, out)?;
            }
        }
        self.finish(out);
        finite_rows(out, out.len())
    }

    /// Checks the lengths of one row and its output.
    pub(crate) fn check_row(&self, row: usize, out: usize) -> Result<(), PredictError> {
        if row != self.n_features {
            return Err(crate::InputError::RowLength {
                expected: self.n_features,
                found: row,
            }
            .into());
        }
        let len = self.prediction_len();
        if out != len {
            return Err(PredictError::OutputLength {
                expected: len,
                found: out,
            });
        }
        Ok(())
    }

    /// Checks the lengths of a batch and its output; returns the row count.
    pub(crate) fn batch_rows(&self, rows: usize, out: usize) -> Result<usize, PredictError> {
        let (nf, len) = (self.n_features, self.prediction_len());
        if !rows.is_multiple_of(nf) {
            return Err(crate::InputError::RowLength {
                expected: nf,
                found: rows % nf,
            }
            .into());
        }
        let n = rows / nf;
        if out != n * len {
            return Err(PredictError::OutputLength {
                expected: n * len,
                found: out,
            });
        }
        Ok(n)
    }

    /// [`Model::lean_sums`] in the model's accumulation precision.
    #[inline]
    fn lean(&self, row: &[f64], acc: &mut [f64]) -> Result<bool, FormatError> {
        if self.accumulate_f32 {
            self.lean_sums::<true>(row, acc)
        } else {
            self.lean_sums::<false>(row, acc)
        }
    }

    /// Adds every tree's leaf for `row` onto `acc` in tree order, walking narrow
    /// (§6, 12-byte) nodes with as few checks as safety allows: one bounds check per
    /// node, per feature read and per leaf. Returns `Ok(false)`, leaving `acc` partly
    /// summed, when it meets a node with a rule flag (the general walk handles those).
    #[inline]
    fn lean_sums<const F32: bool>(
        &self,
        row: &[f64],
        acc: &mut [f64],
    ) -> Result<bool, FormatError> {
        let (nodes, _) = self.nodes.as_chunks::<NODE_SIZE_NARROW>();
        let (leaves, _) = self.leaves.as_chunks::<8>();
        let (trees, _) = self.trees.as_chunks::<TREE_SIZE>();
        let width = self.leaf_width;
        let word = |b: &[u8; TREE_SIZE], i: usize| {
            u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]) as usize
        };
        for (t, record) in trees.iter().enumerate() {
            let (first, n, first_leaf, output) = (
                word(record, 0),
                word(record, 1),
                word(record, 2),
                word(record, 3),
            );
            let tree_nodes = nodes
                .get(first..first.wrapping_add(n))
                .ok_or_else(|| corrupt(t, 0, "out of bounds"))?;
            let mut rel = 0usize;
            if n != 0 {
                let mut i = 0usize;
                rel = loop {
                    let Some(raw) = tree_nodes.get(i) else {
                        return Err(corrupt(t, i, "out of bounds"));
                    };
                    let flags = u16::from_le_bytes([raw[2], raw[3]]);
                    if flags & NODE_RULE_FLAGS != 0 {
                        return Ok(false);
                    }
                    let feature = u16::from_le_bytes([raw[0], raw[1]]) as usize;
                    let Some(&x) = row.get(feature) else {
                        return Err(corrupt(t, i, "feature index out of range"));
                    };
                    let threshold = f32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
                    let child = u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize;
                    let go_left =
                        ((x as f32) <= threshold) | (x.is_nan() & (flags & NODE_MISSING_LEFT != 0));
                    let left_leaf = flags & NODE_LEFT_LEAF != 0;
                    let right_leaf = flags & NODE_RIGHT_LEAF != 0;
                    // §6, as selects: left is leaf `child` or split i + 1; right is
                    // leaf `child + left_leaf`, split i + 1 after a left leaf, or `child`.
                    let left = if left_leaf { child } else { i + 1 };
                    let right = if right_leaf {
                        child.wrapping_add(left_leaf as usize)
                    } else if left_leaf {
                        i + 1
                    } else {
                        child
                    };
                    let (target, is_leaf) = if go_left {
                        (left, left_leaf)
                    } else {
                        (right, right_leaf)
                    };
                    if is_leaf {
                        break target;
                    }
                    // Every step goes to a strictly later split: the walk ends on any bytes.
                    if target <= i || target >= n {
                        return Err(corrupt(t, i, "child split index out of range"));
                    }
                    i = target;
                };
            }
            if rel > n {
                return Err(corrupt(t, 0, "leaf index out of range"));
            }
            let at = first_leaf.wrapping_add(rel).wrapping_mul(width);
            let values = leaves
                .get(at..at.wrapping_add(width))
                .filter(|_| first_leaf.wrapping_add(rel) < self.n_leaves)
                .ok_or_else(|| corrupt(t, 0, "leaf index out of range"))?;
            if width == 1 {
                let a = acc.get_mut(output).ok_or(FormatError::BadTree {
                    tree: t,
                    reason: "output out of range",
                })?;
                *a = add::<F32>(*a, f64::from_le_bytes(values[0]));
            } else {
                for (a, v) in acc.iter_mut().zip(values) {
                    *a = add::<F32>(*a, f64::from_le_bytes(*v));
                }
            }
        }
        Ok(true)
    }

    /// The tree record `t`, or the corruption error.
    #[inline]
    fn tree_record(&self, t: usize) -> Result<TreeRecord, FormatError> {
        self.tree(t).ok_or(FormatError::BadTree {
            tree: t,
            reason: "record out of bounds",
        })
    }

    /// Sets the accumulators (`out[..n_outputs]`) to their starting values.
    #[inline]
    pub(crate) fn start(&self, out: &mut [f64]) {
        let acc = &mut out[..self.n_outputs];
        match self.sum_link {
            None => acc.fill(0.0),
            Some(_) => {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = f64_at(self.base, k * 8).unwrap_or(0.0);
                    if self.accumulate_f32 {
                        *a = *a as f32 as f64;
                    }
                }
            }
        }
    }

    /// Adds the values of absolute leaf `leaf` of tree `t` onto the accumulators.
    #[inline]
    fn add_leaf(
        &self,
        t: usize,
        tree: &TreeRecord,
        leaf: usize,
        out: &mut [f64],
    ) -> Result<(), FormatError> {
        let acc = &mut out[..self.n_outputs];
        let at = leaf * self.leaf_width * 8;
        let values = self
            .leaves
            .get(at..at + self.leaf_width * 8)
            .ok_or(FormatError::BadTree {
                tree: t,
                reason: "leaf out of bounds",
            })?;
        let values = values
            .chunks_exact(8)
            .map(|v| f64::from_le_bytes(v.try_into().unwrap_or([0; 8])));
        if self.leaf_width == 1 {
            let a = acc.get_mut(tree.output).ok_or(FormatError::BadTree {
                tree: t,
                reason: "output out of range",
            })?;
            for v in values {
                *a = if self.accumulate_f32 {
                    ((*a as f32) + (v as f32)) as f64
                } else {
                    *a + v
                };
            }
        } else if self.accumulate_f32 {
            for (a, v) in acc.iter_mut().zip(values) {
                *a = ((*a as f32) + (v as f32)) as f64;
            }
        } else {
            for (a, v) in acc.iter_mut().zip(values) {
                *a += v;
            }
        }
        Ok(())
    }

    /// What [`Model::finish`] divides the sums by when that is all it does (a forest
    /// without a link: its tree count), for callers that divide several rows at once;
    /// `None` otherwise. [`Model::start`] then sets the sums to zero.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn average_divisor(&self) -> Option<f64> {
        self.sum_link.is_none().then_some(self.n_trees as f64)
    }

    /// Turns the summed accumulators into the prediction (averaging or link).
    #[inline]
    pub(crate) fn finish(&self, out: &mut [f64]) {
        let acc = &mut out[..self.n_outputs];
        match self.sum_link {
            None => {
                let n = self.n_trees as f64;
                acc.iter_mut().for_each(|a| *a /= n);
            }
            Some(link) => {
                if self.divide_by_rounds {
                    // LightGBM's `average_output`: divide by the iterations, in double.
                    let rounds = (self.n_trees / self.n_outputs) as f64;
                    acc.iter_mut().for_each(|a| *a /= rounds);
                }
                self.apply_link(link, out)
            }
        }
    }

    /// Whether `x` goes left at a node with any of the [`NODE_RULE_FLAGS`] (§6):
    /// LightGBM's zero and missing handling, and categorical sets.
    #[cold]
    pub(crate) fn rule_goes_left(&self, node: &NodeRecord, mut x: f64) -> Option<bool> {
        let flags = node.flags;
        if flags & NODE_TINY_AS_ZERO != 0 && x.abs() <= ZERO_THRESHOLD {
            x = 0.0;
        }
        if flags & NODE_NAN_AS_ZERO != 0 && x.is_nan() {
            x = 0.0;
        }
        if x.is_nan() || (flags & NODE_ZERO_MISSING != 0 && x.abs() <= ZERO_THRESHOLD) {
            return Some(flags & NODE_MISSING_LEFT != 0);
        }
        if flags & NODE_CATEGORICAL == 0 {
            return Some(if self.wide {
                x <= node.threshold
            } else {
                ((x as f32) as f64) <= node.threshold
            });
        }
        let set = self.category_set(node)?;
        // XGBoost (narrow) takes the float32 input and refuses negatives before
        // truncating; LightGBM (wide) truncates the double and refuses negatives after.
        let c = if self.wide {
            libm::trunc(x)
        } else {
            let x = (x as f32) as f64;
            if x < 0.0 {
                -1.0
            } else {
                libm::trunc(x)
            }
        };
        // (`x` is already the float32 input for a narrow model.)
        let c = if flags & NODE_INTEGERS_ONLY != 0 && c != x {
            -1.0
        } else {
            c
        };
        let in_set = c >= 0.0 && c < (set.len() * 8) as f64 && {
            let c = c as usize;
            set[c / 32 * 4 + (c % 32) / 8] & (1 << (c % 8)) != 0
        };
        Some(in_set == (flags & NODE_IN_SET_LEFT != 0))
    }

    /// Turns summed margins (in `out[..n_outputs]`) into the prediction.
    fn apply_link(&self, link: Link, out: &mut [f64]) {
        let f32_math = self.accumulate_f32;
        match link {
            Link::Identity => {}
            Link::Exp => {
                for v in out[..self.n_outputs].iter_mut() {
                    *v = if f32_math {
                        crate::glibc_exp::expf(*v as f32) as f64
                    } else {
                        crate::glibc_exp::exp(*v)
                    };
                }
            }
            Link::Sigmoid => {
                for v in out[..self.n_outputs].iter_mut() {
                    *v = if f32_math {
                        // XGBoost's `common::Sigmoid(float)`: the exponent is clamped
                        // at 88.7 so that expf stays finite.
                        let e = crate::glibc_exp::expf((-(*v as f32)).min(88.7f32));
                        (1.0f32 / (e + 1.0f32)) as f64
                    } else {
                        1.0 / (1.0 + crate::glibc_exp::exp(-*v))
                    };
                }
            }
            Link::ScaledSigmoid(scale) => {
                for v in out[..self.n_outputs].iter_mut() {
                    *v = 1.0 / (1.0 + crate::glibc_exp::exp(-scale * *v));
                }
            }
            Link::Softmax => {
                let v = &mut out[..self.n_outputs];
                if f32_math {
                    // XGBoost's `common::Softmax`: float32 max and expf, the
                    // denominator summed in double and divided as float32.
                    let max = v
                        .iter()
                        .map(|&x| x as f32)
                        .fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0f64;
                    for x in v.iter_mut() {
                        let e = crate::glibc_exp::expf(*x as f32 - max);
                        *x = e as f64;
                        sum += e as f64;
                    }
                    let sum = sum as f32;
                    v.iter_mut().for_each(|x| *x = (*x as f32 / sum) as f64);
                } else {
                    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mut sum = 0.0;
                    for x in v.iter_mut() {
                        *x = crate::glibc_exp::exp(*x - max);
                        sum += *x;
                    }
                    v.iter_mut().for_each(|x| *x /= sum);
                }
            }
            Link::SoftmaxSvml(sum) => crate::softmax::numpy_svml(&mut out[..self.n_outputs], sum),
            Link::LogSumExp(kind) => {
                crate::softmax::scipy_logsumexp(&mut out[..self.n_outputs], kind)
            }
            Link::SoftmaxCatBoost => crate::softmax::catboost(&mut out[..self.n_outputs]),
        }
        // A binary classifier with one margin: [P(class 0), P(class 1)].
        if self.task == TaskKind::Classification && self.n_outputs == 1 && self.n_classes == 2 {
            let p = out[0];
            out[1] = p;
            // XGBClassifier takes `1 - p` in float32.
            out[0] = if f32_math {
                (1.0f32 - p as f32) as f64
            } else {
                1.0 - p
            };
        }
    }

    /// Predicts one row and returns the label, confidence and probabilities.
    pub fn predict(&self, row: &[f64]) -> Result<Prediction, PredictError> {
        let mut out = vec![0.0; self.prediction_len()];
        self.predict_into(row, &mut out)?;
        Ok(self.prediction_from(out))
    }

    /// The [`Prediction`] for a row's `predict_into` output.
    pub(crate) fn prediction_from(&self, out: Vec<f64>) -> Prediction {
        match self.task {
            TaskKind::Regression => Prediction::Value(out[0]),
            TaskKind::Classification => {
                let label = first_max(&out);
                Prediction::Class {
                    label,
                    confidence: out[label],
                    probabilities: out,
                }
            }
        }
    }

    /// Predicts a row-major batch: `rows` holds `n × n_features` values and `out`
    /// receives `n × prediction_len` values.
    pub fn predict_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let (nf, len) = (self.n_features, self.prediction_len());
        self.batch_rows(rows.len(), out.len())?;
        // Small narrow models: the lean walk row by row measured twice the rows/s of
        // the interleaved block walk below on the Iris forest. Larger models keep the
        // block walk, which holds one tree in cache while a block of rows walks it.
        // A row that meets a rule node hands it and the rest to the block walk.
        let mut done = 0;
        if !self.wide && self.nodes.len() <= LEAN_BATCH_MAX_NODE_BYTES {
            for (row, o) in rows.chunks_exact(nf).zip(out.chunks_exact_mut(len)) {
                self.start(o);
                if !self.lean(row, &mut o[..self.n_outputs])? {
                    break;
                }
                self.finish(o);
                done += 1;
            }
        }
        let out_all = &mut *out;
        let (rows, out) = (&rows[done * nf..], &mut out_all[done * len..]);
        // Tree-major over blocks of rows: one tree's nodes stay in cache while every
        // row of the block walks it. A model bigger than the cache walks groups of
        // trees instead, each over every block of a pass before the next group, so
        // the model is read from memory once per pass rather than once per block.
        // Each row still adds its leaves in tree order, so the answers are
        // bit-identical to `predict_into`.
        const BLOCK: usize = 128;
        let groups = self.tree_groups()?;
        let pass = if groups.len() > 1 {
            GROUP_PASS_ROWS
        } else {
            BLOCK
        };
        let mut narrow: Vec<f32> = Vec::new();
        for (rows, out) in rows.chunks(pass * nf).zip(out.chunks_mut(pass * len)) {
            out.chunks_exact_mut(len).for_each(|o| self.start(o));
            if !self.wide {
                narrow.clear();
                narrow.extend(rows.iter().map(|&x| x as f32));
            }
            for group in &groups {
                for (b, out) in out.chunks_mut(BLOCK * len).enumerate() {
                    let block = b * BLOCK * nf..((b + 1) * BLOCK * nf).min(rows.len());
                    for t in group.clone() {
                        let tree = self.tree_record(t)?;
                        if self.wide {
                            self.tree_over_block::<true, f64>(t, &tree, &rows[block.clone()], out)?;
                        } else {
                            self.tree_over_block::<false, f32>(
                                t,
                                &tree,
                                &narrow[block.clone()],
                                out,
                            )?;
                        }
                    }
                }
            }
            out.chunks_exact_mut(len).for_each(|o| self.finish(o));
        }
        finite_rows(out_all, len)
    }

    /// The model's trees in groups of at most [`TREE_GROUP_BYTES`] of node records
    /// (see [`group_trees`]); a single group when the model fits.
    fn tree_groups(&self) -> Result<Vec<Range<usize>>, FormatError> {
        if self.nodes.len() <= TREE_GROUP_BYTES {
            return Ok(core::iter::once(0..self.n_trees).collect());
        }
        let size = self.node_size();
        let bytes = (0..self.n_trees)
            .map(|t| Ok(self.tree_record(t)?.n_nodes.saturating_mul(size)))
            .collect::<Result<Vec<usize>, FormatError>>()?;
        Ok(group_trees(bytes))
    }

    /// The tree-relative leaf index plus the tree's first leaf: the absolute leaf that
    /// `row` reaches in tree `t`. Each step moves to a strictly later split or ends at a
    /// leaf, so the walk ends even on corrupt bytes.
    #[inline]
    pub(crate) fn leaf_of(
        &self,
        t: usize,
        tree: &TreeRecord,
        row: &[f64],
    ) -> Result<usize, FormatError> {
        let rel = if tree.n_nodes == 0 {
            0
        } else if self.wide {
            self.walk::<true>(t, tree, row)?
        } else {
            self.walk::<false>(t, tree, row)?
        };
        self.absolute_leaf(t, tree, rel)
    }

    /// Checks a tree-relative leaf index and makes it absolute.
    #[inline(always)]
    fn absolute_leaf(&self, t: usize, tree: &TreeRecord, rel: usize) -> Result<usize, FormatError> {
        if rel > tree.n_nodes {
            return Err(corrupt(t, 0, "leaf index out of range"));
        }
        tree.first_leaf
            .checked_add(rel)
            .filter(|&l| l < self.n_leaves)
            .ok_or_else(|| corrupt(t, 0, "leaf index out of range"))
    }

    /// The §6 nodes of a tree, bounds-checked once.
    #[inline(always)]
    fn tree_nodes<const WIDE: bool>(
        &self,
        t: usize,
        tree: &TreeRecord,
    ) -> Result<&'a [u8], FormatError> {
        let size = if WIDE {
            NODE_SIZE_WIDE
        } else {
            NODE_SIZE_NARROW
        };
        tree.first_node
            .checked_mul(size)
            .and_then(|start| {
                self.nodes
                    .get(start..start.checked_add(tree.n_nodes.checked_mul(size)?)?)
            })
            .ok_or_else(|| corrupt(t, 0, "out of bounds"))
    }

    /// One step from split `i`: `Ok(Err(leaf))` at a leaf, `Ok(Ok(next split))`
    /// otherwise. The child is chosen with selects rather than branches: which way a
    /// row goes is data, and a mispredicted branch per node costs more than the work.
    #[inline(always)]
    fn step<const WIDE: bool, X: Input>(
        &self,
        t: usize,
        nodes: &[u8],
        n: usize,
        i: usize,
        row: &[X],
    ) -> Result<Result<usize, usize>, FormatError> {
        let size = if WIDE {
            NODE_SIZE_WIDE
        } else {
            NODE_SIZE_NARROW
        };
        let raw = nodes
            .get(i * size..i * size + size)
            .ok_or_else(|| corrupt(t, i, "out of bounds"))?;
        let feature = u16::from_le_bytes([raw[0], raw[1]]) as usize;
        let flags = u16::from_le_bytes([raw[2], raw[3]]);
        let x = *row
            .get(feature)
            .ok_or_else(|| corrupt(t, i, "feature index out of range"))?;
        let (le, child) = if WIDE {
            let child = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
            let threshold = f64::from_le_bytes([
                raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15],
            ]);
            (x.wide() <= threshold, child)
        } else {
            let threshold = f32::from_bits(u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]));
            let child = u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
            (x.narrow() <= threshold, child)
        };
        // Narrow models see the float32 input everywhere, rules included.
        let x = if WIDE { x.wide() } else { x.narrow() as f64 };
        let go_left = if flags & NODE_RULE_FLAGS != 0 {
            self.rule_goes_left(&decode_node(raw, WIDE), x)
                .ok_or_else(|| corrupt(t, i, "categorical set out of bounds"))?
        } else {
            le | (x.is_nan() & (flags & NODE_MISSING_LEFT != 0))
        };
        let child = child as usize;
        let left_leaf = flags & NODE_LEFT_LEAF != 0;
        let right_leaf = flags & NODE_RIGHT_LEAF != 0;
        // §6: left is split i + 1 or leaf `child`; right is leaf `child + left_leaf`,
        // else split `child`, or split i + 1 when the left child is a leaf.
        let left = if left_leaf { child } else { i + 1 };
        let right_split = if left_leaf { i + 1 } else { child };
        let right = if right_leaf {
            child.saturating_add(left_leaf as usize)
        } else {
            right_split
        };
        let target = if go_left { left } else { right };
        if (go_left & left_leaf) | (!go_left & right_leaf) {
            return Ok(Err(target));
        }
        // Every step goes to a strictly later split: the walk ends on any bytes.
        if target <= i || target >= n {
            return Err(corrupt(t, i, "child split index out of range"));
        }
        Ok(Ok(target))
    }

    /// Walks the splits of a tree with at least one split to its tree-relative leaf.
    /// `WIDE` selects the §6 node layout, so the hot loop has no layout branch.
    #[inline(always)]
    fn walk<const WIDE: bool>(
        &self,
        t: usize,
        tree: &TreeRecord,
        row: &[f64],
    ) -> Result<usize, FormatError> {
        // (A single row is not converted up front: most of its values are never read.)
        let nodes = self.tree_nodes::<WIDE>(t, tree)?;
        let mut i = 0usize;
        loop {
            match self.step::<WIDE, f64>(t, nodes, tree.n_nodes, i, row)? {
                Ok(next) => i = next,
                Err(leaf) => return Ok(leaf),
            }
        }
    }

    /// [`Model::walk`] for `LANES` rows at once, interleaved step by step so that the
    /// rows' independent chains of loads overlap instead of waiting on each other.
    #[inline(always)]
    fn walk_lanes<const WIDE: bool, const LANES: usize, X: Input>(
        &self,
        t: usize,
        tree: &TreeRecord,
        rows: [&[X]; LANES],
    ) -> Result<[usize; LANES], FormatError> {
        let mut leaves = [0usize; LANES];
        if tree.n_nodes == 0 {
            return Ok(leaves);
        }
        let nodes = self.tree_nodes::<WIDE>(t, tree)?;
        let mut at = [0usize; LANES];
        let mut live = [true; LANES];
        let mut remaining = LANES;
        while remaining > 0 {
            for l in 0..LANES {
                if live[l] {
                    match self.step::<WIDE, X>(t, nodes, tree.n_nodes, at[l], rows[l])? {
                        Ok(next) => at[l] = next,
                        Err(leaf) => {
                            leaves[l] = leaf;
                            live[l] = false;
                            remaining -= 1;
                        }
                    }
                }
            }
        }
        Ok(leaves)
    }

    /// One tree over a block of rows: 4 rows at a time interleaved (measured best of
    /// 1, 2, 4, 8 and 16 on the benchmark models), then the rest.
    #[inline(always)]
    fn tree_over_block<const WIDE: bool, X: Input>(
        &self,
        t: usize,
        tree: &TreeRecord,
        rows: &[X],
        out: &mut [f64],
    ) -> Result<(), FormatError> {
        const LANES: usize = 4;
        let (nf, len) = (self.n_features, self.prediction_len());
        let mut row_chunks = rows.chunks_exact(nf * LANES);
        let mut out_chunks = out.chunks_exact_mut(len * LANES);
        for (rs, os) in (&mut row_chunks).zip(&mut out_chunks) {
            let lanes: [&[X]; LANES] = core::array::from_fn(|l| &rs[l * nf..(l + 1) * nf]);
            let rel = self.walk_lanes::<WIDE, LANES, X>(t, tree, lanes)?;
            for (l, o) in os.chunks_exact_mut(len).enumerate() {
                let leaf = self.absolute_leaf(t, tree, rel[l])?;
                self.add_leaf(t, tree, leaf, o)?;
            }
        }
        for (row, o) in row_chunks
            .remainder()
            .chunks_exact(nf)
            .zip(out_chunks.into_remainder().chunks_exact_mut(len))
        {
            let rel = self.walk_lanes::<WIDE, 1, X>(t, tree, [row])?;
            let leaf = self.absolute_leaf(t, tree, rel[0])?;
            self.add_leaf(t, tree, leaf, o)?;
        }
        Ok(())
    }
}

/// Models whose §6 nodes fit in this many bytes (well inside a core's L2 cache) are
/// predicted row by row in a batch; larger ones tree by tree over blocks of rows.
const LEAN_BATCH_MAX_NODE_BYTES: usize = 128 * 1024;

/// Bytes of trees that a batch walks as one group when the whole model does not fit
/// (see `predict_batch` and the prepared walk's `grouped_batch`): half the 2 MiB L2
/// cache of current server cores, so that a group stays cached while every row of a
/// pass walks it.
pub(crate) const TREE_GROUP_BYTES: usize = 1 << 20;
/// Rows of one pass over the groups of trees: the prepared walk lays out their blocks'
/// columns once per pass, about as many bytes as one group.
pub(crate) const GROUP_PASS_ROWS: usize = 8192;

/// Consecutive trees, given the bytes each one's walk reads, in groups of at most
/// [`TREE_GROUP_BYTES`] (a tree bigger than that is a group of its own); one group,
/// possibly empty, when there are no trees. Both walks batch by these groups.
pub(crate) fn group_trees(tree_bytes: impl IntoIterator<Item = usize>) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let (mut first, mut bytes, mut t) = (0, 0usize, 0);
    for tree in tree_bytes {
        if t > first && bytes.saturating_add(tree) > TREE_GROUP_BYTES {
            groups.push(first..t);
            (first, bytes) = (t, 0);
        }
        bytes = bytes.saturating_add(tree);
        t += 1;
    }
    groups.push(first..t);
    groups
}

/// §9: a prediction that comes out NaN or infinite (finite leaves whose sums overflow)
/// is an error naming its row (of `out`, in rows of `len` values), the same in every
/// walk; no walk hands such a value to a caller to print.
#[inline]
pub(crate) fn finite_rows(out: &[f64], len: usize) -> Result<(), PredictError> {
    match out.iter().position(|x| !x.is_finite()) {
        Some(at) => Err(PredictError::NotFinite {
            row: at / len.max(1),
        }),
        None => Ok(()),
    }
}

/// One accumulation step: in float32 (XGBoost) or float64.
#[inline(always)]
pub(crate) fn add<const F32: bool>(a: f64, v: f64) -> f64 {
    if F32 {
        ((a as f32) + (v as f32)) as f64
    } else {
        a + v
    }
}

/// An input value as the walk reads it: float64 rows, or a block of rows already
/// rounded to float32 for a narrow model (half the cache, no conversion per node).
trait Input: Copy {
    fn wide(self) -> f64;
    fn narrow(self) -> f32;
}

impl Input for f64 {
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    #[inline(always)]
    fn narrow(self) -> f32 {
        self as f32
    }
}

impl Input for f32 {
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn narrow(self) -> f32 {
        self
    }
}
