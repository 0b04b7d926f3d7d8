//! [`PreparedModel`]: a model's trees decoded once into flat node arrays that a walk
//! follows with selects instead of branches — the fast path for batches and for
//! programs that predict many times from one model.
//!
//! Why a second representation: [`Model`] predicts straight from `.ewm` bytes, which
//! is what a fresh Spin instance per request needs (nothing to decode, O(1) open). But
//! walking those bytes costs a branch per node whose direction is data, and every
//! misprediction costs more than the comparison itself. Here every tree is re-laid in
//! pre-order with its leaves *inside* the node array, each leaf a node that always
//! steps to itself. A walk is then a fixed number of identical steps — load the node,
//! load the feature, compare, pick a child with a select — and a block of rows (or, for
//! one row, a group of trees) walks in lock-step, so the CPU overlaps their independent
//! chains of loads instead of waiting on each one in turn.
//!
//! The arithmetic is unchanged: the same float32 or float64 comparison, the same NaN
//! directions, and every row adds its leaves in tree order through the model's own
//! `start`/`finish`, so a prepared model's answers are bit-identical to the model's.
//! Models with rule nodes (categorical sets, LightGBM's zero-as-missing) keep the
//! model's own walk.
//!
//! A model whose every tree is oblivious (one split per level, as CatBoost's are)
//! takes neither node walk: [`Oblivious`] finds each leaf as the bit pattern of the
//! row's answers, level by level.

use alloc::vec::Vec;

#[cfg(not(target_arch = "wasm32"))]
use crate::complete::Complete;
use crate::cpu::VectorIsa;
#[cfg(not(target_arch = "wasm32"))]
use crate::deep::Deep;
use crate::error::{FormatError, PredictError};
#[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
use crate::intervals::Intervals;
use crate::layout::*;
use crate::model::{decode_node, Model, TreeRecord};
#[cfg(not(target_arch = "wasm32"))]
use crate::oblivious::Oblivious;
use crate::predict::{add, finite_rows, group_trees, GROUP_PASS_ROWS};

/// A [`Model`] with its trees decoded for fast prediction. Build it once with
/// [`PreparedModel::new`] and predict many rows; it owns its decoded nodes (a few times
/// the bytes of the model's node and leaf sections) and borrows the model's bytes.
#[derive(Clone, Debug)]
pub struct PreparedModel<'a> {
    model: Model<'a>,
    /// `None` when some node needs the model's general walk (a rule node).
    forest: Option<Forest>,
    /// The vector instructions batches may use: [`VectorIsa::detected`] unless
    /// lowered by [`PreparedModel::with_vector_isa`].
    isa: VectorIsa,
}

#[derive(Clone, Debug)]
enum Forest {
    /// float32 thresholds, compared with the input rounded to float32.
    Narrow(Nodes<f32>),
    /// float64 thresholds and inputs.
    Wide(Nodes<f64>),
    /// Oblivious trees only (CatBoost's), float32 thresholds: a bit index per tree.
    /// Only float32: CatBoost compares in float32, and a float64 copy of the walk
    /// would cost the npm engine about 2 KB of gzip for models nobody makes.
    /// Not in WebAssembly (see [`NARROW_WALKS`]).
    #[cfg(not(target_arch = "wasm32"))]
    Oblivious(Oblivious),
    /// Small trees on few features, float32 or float64 thresholds: interval masks.
    /// In WebAssembly only with SIMD (see [`NARROW_WALKS`]).
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
    Intervals(Intervals),
    /// Trees of bounded depth, mostly full, on CPUs with AVX-512 (or AVX2, float32
    /// thresholds): complete trees walked by computed index, many rows to a register.
    #[cfg(not(target_arch = "wasm32"))]
    NarrowComplete(Complete<f32>),
    #[cfg(not(target_arch = "wasm32"))]
    WideComplete(Complete<f64>),
    /// Forests bigger than the cache: one tree at a time over big blocks of rows.
    #[cfg(not(target_arch = "wasm32"))]
    NarrowDeep(Deep<f32>),
    #[cfg(not(target_arch = "wasm32"))]
    WideDeep(Deep<f64>),
}

/// Makes a walk of its own (oblivious, interval masks) of a model's laid-out trees,
/// if the model suits it.
type SpecialWalk<T> = fn(&Model<'_>, &Layout<T>) -> Option<Forest>;

/// The walks of their own a model may take, tried in order before the node walk.
/// The npm engine's 60 KB gzip budget has no room for them beside the node walk (it
/// measured 62,166 B with the oblivious walk, 64,417 B with both): WebAssembly
/// without SIMD has neither, and the package's SIMD engine only the interval walk
/// (compiled where `target_feature = "simd128"`). Models take the node walk instead, with
/// the same answers. The Spin component walks the model's bytes and never takes these.
const NARROW_WALKS: &[SpecialWalk<f32>] = &[
    #[cfg(not(target_arch = "wasm32"))]
    |model, layout| Oblivious::from_layout(model, layout).map(Forest::Oblivious),
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
    |model, layout| Intervals::from_layout(model, layout).map(Forest::Intervals),
    #[cfg(not(target_arch = "wasm32"))]
    |model, layout| Complete::from_layout(model, layout).map(Forest::NarrowComplete),
];
const WIDE_WALKS: &[SpecialWalk<f64>] = &[
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
    |model, layout| Intervals::from_layout(model, layout).map(Forest::Intervals),
    #[cfg(not(target_arch = "wasm32"))]
    |model, layout| Complete::from_layout(model, layout).map(Forest::WideComplete),
];

/// One walking step's record. Leaves are nodes too: threshold NaN (no input is `<=`
/// NaN) and `right` pointing at themselves, so a finished walk stays put.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<T> {
    pub(crate) threshold: T,
    /// Where the batch block keeps this node's input: `column × BLOCK_ROWS`, where
    /// `column` is `2 × feature + 1` when a missing (NaN) input goes left, else
    /// `2 × feature` (see `batch`). Premultiplied: one add finds a lane's value.
    pub(crate) column: u32,
    /// The right child; the left child is always the next node.
    pub(crate) right: u32,
}

/// The big-batch walk's record (see [`Nodes::span_nodes`]). A lane's state is not a
/// node index but `node << 16 | column`: the node, counted from the tree's root, and
/// the span column of its input. A node holds the states of both its children, so the
/// step that picks a child has its next input's place at once, and the chain of
/// dependent loads per step is one (the input) instead of two (node, then input).
#[derive(Clone, Copy, Debug)]
#[repr(align(16))]
struct SpanNode<T> {
    /// A split's threshold; a leaf's value when [`Nodes::inline_values`], else NaN.
    value: T,
    /// The state of the left child. A leaf's two states are its own, so a finished
    /// walk stays put whatever the comparison says.
    left: u32,
    /// The state of the right child.
    right: u32,
}

/// The most nodes a tree may have for the span walk (XGBoost trees to depth 12,
/// LightGBM's to 4,096 leaves). A lane's node, counted from its tree's root and masked
/// with `TREE_SPAN - 1`, stays inside a window of constant size: the walk needs no
/// bounds check and no mask held in a register (every register counts with a dozen
/// lanes in flight). The price is the window's padding after the last tree, 128 KB.
const TREE_SPAN: usize = 1 << 13;

/// Trees whose leaves lie at least this many levels apart (the deepest against the
/// nearest to the root) take the span walk's compacting form ([`compacted_walk`]): on
/// trees of more even depth its rounds cost more than the lanes it frees (walks bench:
/// 0.72-0.86x on XGBoost's and scikit-learn's depth-3 to depth-8 shapes).
const COMPACT_SPREAD: u32 = 6;

/// Steps past a tree's nearest leaf before [`compacted_walk`] first drops the rows
/// that have arrived, and steps between later drops. (LightGBM 300x255, same
/// run: 3 to 4 for either measured within noise of each other; every step is 2-3 %.)
const COMPACT_FIRST: u32 = 3;
const COMPACT_EVERY: u32 = 4;

/// Trees (window-relative indices; [`NO_TREE`] pads) that walk together for one row.
#[derive(Clone, Copy, Debug)]
struct RowGroup {
    trees: [u8; TREE_LANES],
    roots: [u32; TREE_LANES],
    depth: u32,
}

/// Trees per window of the single-row walk: leaves land in a window-sized scratch
/// and are added in tree order when the window is done.
const ROW_WINDOW: usize = 64;
const NO_TREE: u8 = u8::MAX;

/// Where a tree starts and how many steps reach any of its leaves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Root {
    pub(crate) node: u32,
    depth: u32,
    /// Steps to the tree's nearest leaf.
    shallowest: u32,
}

impl Root {
    /// Whether the span walk takes the tree in rounds ([`compacted_walk`]): its
    /// leaves lie at least [`COMPACT_SPREAD`] levels apart. Not in WebAssembly: the
    /// rounds' code took the npm engines past their gzip budget (baseline 58,148 →
    /// 59,494 bytes, SIMD 59,941 → 61,932 of 61,440).
    fn lopsided(&self) -> bool {
        !cfg!(target_arch = "wasm32")
            && self.depth.saturating_sub(self.shallowest) >= COMPACT_SPREAD
    }
}

#[derive(Clone, Debug)]
struct Nodes<T> {
    /// Padded to a power of two with unreachable leaves, so that `index & mask` is
    /// always in bounds and the hot loop needs no bounds check on nodes.
    nodes: Vec<Node<T>>,
    mask: usize,
    /// Per node: the absolute leaf index (meaningful at leaves only).
    leaf: Vec<u32>,
    roots: Vec<Root>,
    /// The single-row walk's groups of [`TREE_LANES`] trees: within each window of
    /// [`ROW_WINDOW`] trees in order, trees of like depth walk together.
    row_groups: Vec<RowGroup>,
    /// Per node (padded like `nodes`): a leaf's first value, all of it when
    /// `leaf_width == 1`, so the batch adds a leaf with one masked load.
    first_value: Vec<f64>,
    /// Every leaf's values, `leaf_width` per leaf, decoded from the model.
    values: Vec<f64>,
    /// Per tree: the accumulator its single leaf value goes to (`leaf_width == 1`).
    output: Vec<u32>,
    /// The nodes again for the walk of big batches (see `batch`), trees in the same
    /// places, followed by [`TREE_SPAN`] spare nodes so that every tree's window is
    /// whole; empty when some tree has more than [`TREE_SPAN`] nodes or the model has
    /// too many features for a 16-bit column.
    span_nodes: Vec<SpanNode<T>>,
    /// Whether each [`SpanNode`] leaf holds the value the batch adds
    /// (`leaf_width == 1`, and the value survives the threshold type or is rounded to
    /// float32 when added anyway).
    inline_values: bool,
    /// Consecutive trees of about [`TREE_GROUP_BYTES`](crate::predict::TREE_GROUP_BYTES) each, in order; one group when
    /// the whole model fits (see `grouped_batch`).
    tree_groups: Vec<core::ops::Range<usize>>,
    /// The trees' tops, for the span walk's first steps; `None` without
    /// `span_nodes`, or where no kernel runs them, or they would not pay.
    tops: TopsOf<T>,
}

/// A batch's running sums: float32 for models that add in float32 (the values it
/// holds are those `add::<true>` would give, with no conversions per leaf).
trait Sum: Copy + core::ops::AddAssign {
    const ZERO: Self;
    const F32: bool;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Sum for f32 {
    const ZERO: Self = 0.0;
    const F32: bool = true;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Sum for f64 {
    const ZERO: Self = 0.0;
    const F32: bool = false;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// The complete tops of a node walk's trees, walked by a vector kernel before the
/// span walk (see [`Tops`](crate::complete::Tops)); never in WebAssembly.
#[cfg(not(target_arch = "wasm32"))]
type TopsOf<T> = Option<crate::complete::Tops<T>>;
#[cfg(target_arch = "wasm32")]
type TopsOf<T> = Option<core::marker::PhantomData<T>>;

/// A threshold type: the comparison the model's nodes make.
pub(crate) trait Threshold: Copy + PartialOrd + core::fmt::Debug + 'static {
    /// float64 (else float32).
    const WIDE: bool;
    const NAN: Self;
    const NEG_INFINITY: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn is_nan(self) -> bool;

    /// The tops of the trees laid out in `nodes` from `roots`, where a kernel on
    /// this CPU walks them and they pay (see `Tops::new`).
    fn tops(nodes: &[Node<Self>], roots: &[Root], n_features: usize) -> TopsOf<Self>;

    /// Walks the rows of `block` through tree `t`'s top and writes each row's span
    /// state there into `states`: the depth of the top, or 0 (nothing written).
    fn top_states(
        tops: &TopsOf<Self>,
        isa: VectorIsa,
        t: usize,
        block: &[Self],
        states: &mut [u32; BLOCK_ROWS],
    ) -> u32;
}

/// [`Threshold::tops`] and [`Threshold::top_states`] for both threshold types.
macro_rules! tops_of {
    () => {
        #[cfg(not(target_arch = "wasm32"))]
        fn tops(nodes: &[Node<Self>], roots: &[Root], n_features: usize) -> TopsOf<Self> {
            crate::complete::Tops::new(nodes, roots, n_features)
        }

        #[cfg(target_arch = "wasm32")]
        fn tops(_: &[Node<Self>], _: &[Root], _: usize) -> TopsOf<Self> {
            None
        }

        #[cfg(not(target_arch = "wasm32"))]
        fn top_states(
            tops: &TopsOf<Self>,
            isa: VectorIsa,
            t: usize,
            block: &[Self],
            states: &mut [u32; BLOCK_ROWS],
        ) -> u32 {
            match tops {
                Some(tops) if tops.states(isa, t, block, states) => tops.depth(t),
                _ => 0,
            }
        }

        #[cfg(target_arch = "wasm32")]
        fn top_states(
            _: &TopsOf<Self>,
            _: VectorIsa,
            _: usize,
            _: &[Self],
            _: &mut [u32; BLOCK_ROWS],
        ) -> u32 {
            0
        }
    };
}

impl Threshold for f32 {
    const WIDE: bool = false;
    const NAN: Self = f32::NAN;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }

    tops_of!();
}

impl Threshold for f64 {
    const WIDE: bool = true;
    const NAN: Self = f64::NAN;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }

    tops_of!();
}

/// Rows walked together through one tree in a batch (small, or of a model without
/// `span_nodes`). Eight beat sixteen for shallow trees (no lanes spilled) and for
/// deep ones (LightGBM's are lopsided: all lanes wait for the longest path).
const ROW_LANES: usize = 8;
/// Rows walked together through one tree in a big batch (see `span_sums`): as many
/// as fit in registers with the walk's own (12 measured best of 8 to 16 on x86-64;
/// 16 spill). WebAssembly keeps 8: fewer locals, and about 0.6 KB less gzip for the
/// npm package's budget.
const SPAN_LANES: usize = if cfg!(target_arch = "wasm32") { 8 } else { 12 };
/// Trees walked together for one row.
const TREE_LANES: usize = 8;
/// Rows per batch block: their inputs and sums stay in L1 while every tree walks them.
pub(crate) const BLOCK_ROWS: usize = 128;
/// The rows of a block the span walk covers: whole groups of [`SPAN_LANES`], the
/// last running past the block's end (onto sums nobody reads).
const SPAN_ROWS: usize = BLOCK_ROWS.next_multiple_of(SPAN_LANES);
/// The block a 16-bit column reaches, plus the rows of the span walk (see `batch`).
const SPAN: usize = (1 << 16) + SPAN_ROWS;
/// Batches at least this long use the span.
const SPAN_MIN_ROWS: usize = 512;
const _: () = assert!(GROUP_PASS_ROWS.is_multiple_of(BLOCK_ROWS));

/// Past this many bytes of decoded trees, a model that is smaller than its decoded
/// trees keeps its own walk, unless it takes the deep walk (see `takes_deep`). Measured
/// on a 150-tree scikit-learn forest of unlimited depth (149 MB `.ewm`, 270 MB
/// decoded), the node walk and the model's batched alike (2.3 to 2.7 s per 100,000
/// rows, walking groups of trees), so decoding would only have doubled the memory a
/// batch needs; below it, the decoded walk's speed costs little memory.
const DECODED_MAX_BYTES: usize = 64 << 20;

/// About what [`Nodes::build`] allocates for `model`: every node and leaf padded to a
/// power of two, each with its node record, leaf index and first value, plus the
/// leaf values.
fn decoded_bytes(model: &Model<'_>) -> usize {
    let threshold = if model.wide { 8 } else { 4 };
    let per_node = threshold + 8 + 4 + 8;
    let nodes = model
        .n_nodes
        .saturating_add(model.n_leaves)
        .saturating_add(1);
    let padded = nodes.checked_next_power_of_two().unwrap_or(usize::MAX);
    padded
        .saturating_mul(per_node)
        .saturating_add(model.leaves.len())
}

fn corrupt(tree: usize, node: usize, reason: &'static str) -> FormatError {
    FormatError::BadNode { tree, node, reason }
}

impl<'a> PreparedModel<'a> {
    /// Decodes the trees of `model`. Fails on a structurally corrupt model (a child
    /// out of range, a node reached twice, a feature or leaf out of range); a model
    /// whose nodes need rules is accepted and predicts through the model's own walk.
    /// So does a model whose decoded trees would take over `DECODED_MAX_BYTES` (64 MiB) and
    /// more than the model's own bytes (it is then not checked here: open it with
    /// [`Model::open_validated`]), unless it takes the deep walk: a forest of big trees
    /// far bigger than the cache (see [`PreparedModel::is_deep`]).
    pub fn new(model: Model<'a>) -> Result<Self, FormatError> {
        Self::with_walks(model, true)
    }

    /// [`PreparedModel::new`] with the plain node walk even where another walk (the
    /// oblivious, interval, complete-tree or deep walk, or complete tops before the
    /// node walk) would be taken: to check those against it, and to measure them.
    pub fn new_node_walk(model: Model<'a>) -> Result<Self, FormatError> {
        Self::with_walks(model, false)
    }

    /// [`PreparedModel::new`] with the deep walk (see [`PreparedModel::is_deep`])
    /// whatever the model's size, where the model's nodes allow it: to check it
    /// against the other walks, and to measure it.
    pub fn new_deep_walk(model: Model<'a>) -> Result<Self, FormatError> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(forest) = deep(&model)? {
            return Ok(PreparedModel {
                model,
                forest: Some(forest),
                isa: VectorIsa::detected(),
            });
        }
        Self::new(model)
    }

    fn with_walks(model: Model<'a>, special: bool) -> Result<Self, FormatError> {
        #[cfg(not(target_arch = "wasm32"))]
        if special && takes_deep(&model) {
            if let Some(forest) = deep(&model)? {
                return Ok(PreparedModel {
                    model,
                    forest: Some(forest),
                    isa: VectorIsa::detected(),
                });
            }
        }
        let decoded = decoded_bytes(&model);
        if decoded > DECODED_MAX_BYTES && decoded > model.as_bytes().len() {
            return Ok(PreparedModel {
                model,
                forest: None,
                isa: VectorIsa::detected(),
            });
        }
        let forest = if model.wide {
            prepare(
                &model,
                Forest::Wide,
                if special { WIDE_WALKS } else { &[] },
                special,
            )?
        } else {
            prepare(
                &model,
                Forest::Narrow,
                if special { NARROW_WALKS } else { &[] },
                special,
            )?
        };
        Ok(PreparedModel {
            model,
            forest,
            isa: VectorIsa::detected(),
        })
    }

    /// The same model, with batches limited to the vector instructions of `isa` (and
    /// never more than the CPU runs): to check that every path gives the same bits, or
    /// to measure what the vector code is worth.
    pub fn with_vector_isa(self, isa: VectorIsa) -> Self {
        PreparedModel {
            isa: isa.min(VectorIsa::detected()),
            ..self
        }
    }

    /// The vector instructions batches may use (see [`PreparedModel::with_vector_isa`]).
    /// The oblivious and the complete-tree walks have vector code of their own.
    pub fn vector_isa(&self) -> VectorIsa {
        self.isa
    }

    /// The model this was prepared from (schema, labels, validation).
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Whether predictions take the decoded walk (false: the model's own walk, for
    /// models with categorical or zero-as-missing rules, and for models too big to
    /// decode; see [`PreparedModel::new`]).
    pub fn is_decoded(&self) -> bool {
        self.forest.is_some()
    }

    /// Whether predictions take the oblivious walk: every tree tests one split per
    /// level (CatBoost's trees), and a row's leaf is the bit pattern of its answers.
    pub fn is_oblivious(&self) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        return matches!(self.forest, Some(Forest::Oblivious(_)));
        #[cfg(target_arch = "wasm32")]
        false
    }

    /// Whether predictions take the interval-mask walk: small trees on few features
    /// (a bit-vector walk, QuickScorer's, with each feature's masks combined ahead of
    /// time).
    pub fn is_intervals(&self) -> bool {
        #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
        return matches!(self.forest, Some(Forest::Intervals(_)));
        #[cfg(not(any(not(target_arch = "wasm32"), target_feature = "simd128")))]
        false
    }

    /// Whether batches take the complete-tree walk: trees of bounded depth on a CPU
    /// with AVX-512 or AVX2, many rows stepping down a tree together by computed index.
    pub fn is_complete(&self) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        return matches!(
            self.forest,
            Some(Forest::NarrowComplete(_) | Forest::WideComplete(_))
        );
        #[cfg(target_arch = "wasm32")]
        false
    }

    /// Whether big batches walk each tree's top levels as a complete tree (a vector
    /// kernel, AVX-512 or AVX2) before the node walk takes each row on: deep trees of
    /// mostly full tops, as LightGBM's.
    pub fn has_complete_tops(&self) -> bool {
        match &self.forest {
            Some(Forest::Narrow(n)) => n.tops.is_some(),
            Some(Forest::Wide(n)) => n.tops.is_some(),
            _ => false,
        }
    }

    /// How many trees big batches walk in rounds that set aside the rows already on a
    /// leaf: trees whose nearest and deepest leaves lie 6 or more levels apart, as
    /// LightGBM's; 0 where big batches do not take the span walk, and in WebAssembly.
    pub fn compacted_trees(&self) -> usize {
        match &self.forest {
            Some(Forest::Narrow(n)) => n.compacted_trees(),
            Some(Forest::Wide(n)) => n.compacted_trees(),
            _ => 0,
        }
    }

    /// Whether predictions take the deep walk: a forest bigger than the cache, walked
    /// one tree at a time over big blocks of rows, its nodes in 8 bytes each.
    pub fn is_deep(&self) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        return matches!(
            self.forest,
            Some(Forest::NarrowDeep(_) | Forest::WideDeep(_))
        );
        #[cfg(target_arch = "wasm32")]
        false
    }

    /// [`Model::predict_into`], through the decoded trees.
    pub fn predict_into(&self, row: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let Some(forest) = &self.forest else {
            return self.model.predict_into(row, out);
        };
        let m = &self.model;
        m.check_row(row.len(), out.len())?;
        m.start(out);
        let acc = &mut out[..m.n_outputs];
        match forest {
            Forest::Narrow(n) => n.row_sums(m, row, acc),
            Forest::Wide(n) => n.row_sums(m, row, acc),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::Oblivious(o) => o.row_sums(m, row, acc),
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
            Forest::Intervals(i) => i.row_sums(m, row, acc),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::NarrowComplete(c) => c.row_sums(m, row, acc),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::WideComplete(c) => c.row_sums(m, row, acc),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::NarrowDeep(d) => d.row_sums(m, row, acc),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::WideDeep(d) => d.row_sums(m, row, acc),
        }
        m.finish(out);
        finite_rows(out, out.len())
    }

    /// [`Model::predict`], through the decoded trees.
    pub fn predict(&self, row: &[f64]) -> Result<crate::Prediction, PredictError> {
        let mut out = alloc::vec![0.0; self.model.prediction_len()];
        self.predict_into(row, &mut out)?;
        Ok(self.model.prediction_from(out))
    }

    /// [`Model::predict_batch`], through the decoded trees: `rows` holds
    /// `n × n_features` values, `out` receives `n × prediction_len`.
    pub fn predict_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), PredictError> {
        let Some(forest) = &self.forest else {
            return self.model.predict_batch(rows, out);
        };
        let m = &self.model;
        m.batch_rows(rows.len(), out.len())?;
        match forest {
            Forest::Narrow(nodes) => nodes.batch(m, rows, out, self.isa),
            Forest::Wide(nodes) => nodes.batch(m, rows, out, self.isa),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::Oblivious(o) => o.batch(m, rows, out, self.isa),
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "simd128"))]
            Forest::Intervals(i) => i.batch(m, rows, out, self.isa),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::NarrowComplete(c) => c.batch(m, rows, out, self.isa),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::WideComplete(c) => c.batch(m, rows, out, self.isa),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::NarrowDeep(d) => d.batch(m, rows, out),
            #[cfg(not(target_arch = "wasm32"))]
            Forest::WideDeep(d) => d.batch(m, rows, out),
        }
        finite_rows(out, m.prediction_len())
    }
}

/// Whether `model` takes the deep walk: its node walk's trees would be far bigger than
/// the cache, and its trees are big (a forest's of unlimited or deep depth). Measured
/// on 100,000 rows against the node walk: scikit-learn forests of 150 trees, 3 MB
/// decoded (570 nodes a tree): 0.19 s node walk, 0.33 s deep; 12.6 MB (2,500 nodes):
/// 0.30 s, 0.37 s; 50 MB (7,000 nodes): 1.15 s, 0.41 s; 500 trees of depth 10, 25
/// MB (1,600 nodes): 2.9 s, 0.79 s. Boosted models of many small trees keep the node
/// walk at any size: LightGBM, 2,000 trees of 255 leaves (29 MB), 10,000 rows: 0.39 s,
/// 0.50 s; XGBoost, 3,000 trees of depth 8: 0.24 s, 0.68 s.
#[cfg(not(target_arch = "wasm32"))]
fn takes_deep(model: &Model<'_>) -> bool {
    let nodes = model.n_nodes.saturating_add(model.n_leaves);
    decoded_bytes(model) > DEEP_MIN_BYTES
        && nodes >= DEEP_MIN_TREE_NODES.saturating_mul(model.n_trees)
}

/// The node walk's decoded bytes past which a model of big trees takes the deep walk.
#[cfg(not(target_arch = "wasm32"))]
const DEEP_MIN_BYTES: usize = 16 << 20;

/// The fewest nodes (splits and leaves) a tree has on average for the deep walk.
#[cfg(not(target_arch = "wasm32"))]
const DEEP_MIN_TREE_NODES: usize = 1024;

/// The deep walk of `model`, if its nodes allow it.
#[cfg(not(target_arch = "wasm32"))]
fn deep(model: &Model<'_>) -> Result<Option<Forest>, FormatError> {
    Ok(if model.wide {
        Deep::new(model)?.map(Forest::WideDeep)
    } else {
        Deep::new(model)?.map(Forest::NarrowDeep)
    })
}

/// The decoded walk of `model` with thresholds `T`: the first of the `special` walks
/// that takes the model, else the node walk, with its vector tops if `tops`.
/// `Ok(None)` as for [`Nodes::lay_out`].
fn prepare<T: Threshold>(
    model: &Model<'_>,
    nodes: fn(Nodes<T>) -> Forest,
    special: &[SpecialWalk<T>],
    tops: bool,
) -> Result<Option<Forest>, FormatError> {
    let Some(layout) = Nodes::<T>::lay_out(model)? else {
        return Ok(None);
    };
    if let Some(forest) = special.iter().find_map(|walk| walk(model, &layout)) {
        return Ok(Some(forest));
    }
    Ok(Some(nodes(Nodes::build(model, layout, tops))))
}

/// Split `i` of tree `t`: its threshold and batch column (see [`Node`]), and where
/// its left and right children are; `Ok(None)` as for [`Nodes::lay_out`]. Not generic
/// over the threshold type, so the engine holds one copy.
fn decode_split(
    model: &Model<'_>,
    t: usize,
    tree: &TreeRecord,
    tree_nodes: &[u8],
    i: usize,
) -> Result<Option<(f64, u32, Source, Source)>, FormatError> {
    let size = model.node_size();
    let raw = &tree_nodes[i * size..i * size + size];
    let node = decode_node(raw, model.wide);
    let (threshold, missing_left) = if node.flags & NODE_RULE_FLAGS == 0 {
        (node.threshold, node.flags & NODE_MISSING_LEFT != 0)
    } else if model.wide {
        match numeric_rule_as_split(node.flags, node.threshold) {
            Some(split) => split,
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    if node.feature as usize >= model.n_features {
        return Err(corrupt(t, i, "feature index out of range"));
    }
    // The batch's NaN-as-minus-infinity column needs a threshold that minus
    // infinity is `<=` to.
    if threshold.is_nan() {
        return Ok(None);
    }
    let column = (2 * node.feature as u32 + missing_left as u32) * BLOCK_ROWS as u32;
    let child = node.child as usize;
    let left_leaf = node.flags & NODE_LEFT_LEAF != 0;
    let right_leaf = node.flags & NODE_RIGHT_LEAF != 0;
    let split = |s: usize| {
        if s <= i || s >= tree.n_nodes {
            Err(corrupt(t, i, "child split index out of range"))
        } else {
            Ok(Source::Split(s))
        }
    };
    let left = if left_leaf {
        Source::Leaf(child)
    } else {
        split(i + 1)?
    };
    let right = if right_leaf {
        Source::Leaf(child.saturating_add(left_leaf as usize))
    } else if left_leaf {
        split(i + 1)?
    } else {
        split(child)?
    };
    Ok(Some((threshold, column, left, right)))
}

/// Pads `nodes` (and `leaf`) with unreachable self-looping leaves up to a power of two
/// (see [`Nodes::mask`]), at least one: the spare leaf at the end fills the lanes of a
/// short group. Returns the padded length.
#[inline(always)]
fn pad<T: Threshold>(nodes: &mut Vec<Node<T>>, leaf: &mut Vec<u32>) -> usize {
    let padded = (nodes.len() + 1).next_power_of_two();
    while nodes.len() < padded {
        let at = nodes.len() as u32;
        nodes.push(Node {
            threshold: T::NAN,
            column: 0,
            right: at,
        });
        leaf.push(0);
    }
    padded
}

/// The single-row walk's groups: within each window of [`ROW_WINDOW`] trees in order,
/// [`TREE_LANES`] trees of like depth walk together; an empty lane walks `spare`.
#[inline(always)]
fn row_groups(roots: &[Root], spare: u32) -> Vec<RowGroup> {
    let mut row_groups = Vec::new();
    for window in roots.chunks(ROW_WINDOW) {
        // A stable insertion sort by depth: a window holds at most ROW_WINDOW trees,
        // and the library sort's code (two copies, one per threshold type) was 4 KB
        // of the npm engine's gzip budget.
        let mut order: Vec<usize> = Vec::with_capacity(window.len());
        for i in 0..window.len() {
            let at = order.partition_point(|&j| window[j].depth <= window[i].depth);
            order.insert(at, i);
        }
        for group in order.chunks(TREE_LANES) {
            let mut g = RowGroup {
                trees: [NO_TREE; TREE_LANES],
                roots: [spare; TREE_LANES],
                depth: 0,
            };
            for (l, &i) in group.iter().enumerate() {
                g.trees[l] = i as u8;
                g.roots[l] = window[i].node;
                g.depth = g.depth.max(window[i].depth);
            }
            row_groups.push(g);
        }
    }
    row_groups
}

/// Where a walk of the source model goes next.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Split(usize),
    Leaf(usize),
}

/// The trees of a model laid out one after another, before padding.
pub(crate) struct Layout<T> {
    pub(crate) nodes: Vec<Node<T>>,
    /// Per node: the absolute leaf index (meaningful at leaves only).
    pub(crate) leaf: Vec<u32>,
    pub(crate) roots: Vec<Root>,
    /// Per tree: the output its leaf values go to.
    pub(crate) output: Vec<u32>,
    /// Every leaf's values, `leaf_width` per leaf, decoded once from the model for
    /// whichever walk is built.
    pub(crate) values: Vec<f64>,
}

/// A node still to emit: where it is in the source tree, its depth, and the emitted
/// node whose `right` is this one.
pub(crate) type Pending = (Source, u32, Option<usize>);

/// Appends tree `t` of `model` to `layout` (its nodes, leaves, root and output) as
/// [`Nodes::lay_out`] lays out every tree; `Ok(None)` as for it. Walks built tree by
/// tree (the deep walk) call it on a layout they clear between trees.
pub(crate) fn lay_out_one<T: Threshold>(
    model: &Model<'_>,
    t: usize,
    layout: &mut Layout<T>,
    stack: &mut Vec<Pending>,
) -> Result<Option<()>, FormatError> {
    let size = model.node_size();
    let tree = model.tree(t).ok_or(FormatError::BadTree {
        tree: t,
        reason: "record out of bounds",
    })?;
    if model.leaf_width == 1 && tree.output >= model.n_outputs {
        return Err(FormatError::BadTree {
            tree: t,
            reason: "output out of range",
        });
    }
    layout.output.push(tree.output as u32);
    let tree_nodes = tree
        .first_node
        .checked_mul(size)
        .and_then(|s| {
            model
                .nodes
                .get(s..s.checked_add(tree.n_nodes.checked_mul(size)?)?)
        })
        .ok_or_else(|| corrupt(t, 0, "out of bounds"))?;
    let Some(root) = Nodes::lay_out_tree(model, t, &tree, tree_nodes, layout, stack)? else {
        return Ok(None);
    };
    layout.roots.push(root);
    Ok(Some(()))
}

impl<T: Threshold> Nodes<T> {
    /// The node walk of `model`, from its trees laid out in pre-order with leaves
    /// inline ([`Nodes::lay_out`]).
    fn build(model: &Model<'_>, layout: Layout<T>, with_tops: bool) -> Self {
        let width = model.leaf_width;
        let Layout {
            mut nodes,
            mut leaf,
            roots,
            output,
            values,
        } = layout;
        let used = nodes.len();
        let padded = pad(&mut nodes, &mut leaf);
        let first_value: Vec<f64> = leaf
            .iter()
            .map(|&l| values.get(l as usize * width).copied().unwrap_or(0.0))
            .collect();
        // Float32 sums round every leaf to float32 as they add it; otherwise a value
        // moves into the node only when the threshold type holds it exactly.
        let inline_values = width == 1
            && (model.accumulate_f32
                || first_value
                    .iter()
                    .all(|&v| T::from_f64(v).to_f64().to_bits() == v.to_bits()));
        let span_nodes = Self::span_nodes(
            model.n_features,
            model.accumulate_f32,
            &nodes[..used],
            &roots,
            inline_values.then_some(&first_value[..]),
        );
        let row_groups = row_groups(&roots, (padded - 1) as u32);
        // Boosted models only: on forests of deep trees (synthetic, 1,000 leaves) the
        // tops measured 0.89x the span walk alone, on LightGBM's 1.05-1.15x.
        let tops = if span_nodes.is_empty() || !with_tops || model.sum_link.is_none() {
            None
        } else {
            T::tops(&nodes[..used], &roots, model.n_features)
        };
        // What a walk reads per node: the node, and at a leaf its first value (or,
        // for wider leaves, its leaf index).
        let node_bytes =
            core::mem::size_of::<Node<T>>() + if width == 1 { 8 } else { 4 + 8 * width };
        // Trees are laid out one after another, `used` nodes in all.
        let tree_groups = group_trees(roots.iter().enumerate().map(|(t, root)| {
            let end = roots.get(t + 1).map_or(used, |next| next.node as usize);
            end.saturating_sub(root.node as usize) * node_bytes
        }));
        Nodes {
            tops,
            tree_groups,
            span_nodes,
            inline_values,
            row_groups,
            first_value,
            mask: padded - 1,
            nodes,
            leaf,
            roots,
            values,
            output,
        }
    }

    /// See [`PreparedModel::compacted_trees`].
    fn compacted_trees(&self) -> usize {
        if self.span_nodes.is_empty() {
            return 0;
        }
        self.roots.iter().filter(|r| r.lopsided()).count()
    }

    /// Every tree of `model`, one after another; `Ok(None)` if a node carries a rule
    /// the decoded walk does not do.
    fn lay_out(model: &Model<'_>) -> Result<Option<Layout<T>>, FormatError> {
        let too_big = |_| FormatError::BadTree {
            tree: 0,
            reason: "more nodes than a prepared model can index",
        };
        let capacity = model.n_nodes.saturating_add(model.n_leaves);
        u32::try_from(capacity.saturating_mul(2)).map_err(too_big)?;
        let mut layout = Layout {
            nodes: Vec::with_capacity(capacity),
            leaf: Vec::with_capacity(capacity),
            roots: Vec::with_capacity(model.n_trees),
            output: Vec::with_capacity(model.n_trees),
            values: model
                .leaves
                .chunks_exact(8)
                .map(|v| f64::from_le_bytes(v.try_into().unwrap_or([0; 8])))
                .collect(),
        };
        let mut stack: Vec<Pending> = Vec::new();
        for t in 0..model.n_trees {
            if lay_out_one(model, t, &mut layout, &mut stack)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(layout))
    }

    /// Tree `t` (its node records `tree_nodes`) appended to `layout` in pre-order;
    /// its root and depth, or `Ok(None)` as for [`Nodes::lay_out`].
    fn lay_out_tree(
        model: &Model<'_>,
        t: usize,
        tree: &TreeRecord,
        tree_nodes: &[u8],
        layout: &mut Layout<T>,
        stack: &mut Vec<Pending>,
    ) -> Result<Option<Root>, FormatError> {
        let nodes = &mut layout.nodes;
        let root = nodes.len();
        let mut depth = 0u32;
        let mut shallowest = u32::MAX;
        // A tree of n splits has n + 1 leaves; more emitted nodes means a child
        // reached twice (a DAG), which could otherwise grow exponentially.
        let budget = 2 * tree.n_nodes + 1;
        let first = if tree.n_nodes == 0 {
            Source::Leaf(0)
        } else {
            Source::Split(0)
        };
        stack.clear();
        stack.push((first, 0, None));
        while let Some((source, d, parent)) = stack.pop() {
            let at = nodes.len();
            if at - root >= budget {
                return Err(corrupt(t, 0, "a node is reached twice"));
            }
            if let Some(p) = parent {
                nodes[p].right = at as u32;
            }
            match source {
                Source::Leaf(rel) => {
                    let abs = tree
                        .first_leaf
                        .checked_add(rel)
                        .filter(|&l| rel <= tree.n_nodes && l < model.n_leaves)
                        .ok_or_else(|| corrupt(t, 0, "leaf index out of range"))?;
                    nodes.push(Node {
                        threshold: T::NAN,
                        column: 0,
                        right: at as u32,
                    });
                    layout.leaf.push(abs as u32);
                    depth = depth.max(d);
                    shallowest = shallowest.min(d);
                }
                Source::Split(i) => {
                    let Some((threshold, column, left, right)) =
                        decode_split(model, t, tree, tree_nodes, i)?
                    else {
                        return Ok(None);
                    };
                    nodes.push(Node {
                        threshold: T::from_f64(threshold),
                        column,
                        right: 0,
                    });
                    layout.leaf.push(0);
                    // Pre-order: the left child is popped next, so it lands at
                    // `at + 1`; the right child patches `right` when emitted.
                    stack.push((right, d + 1, Some(at)));
                    stack.push((left, d + 1, None));
                }
            }
        }
        Ok(Some(Root {
            node: root as u32,
            depth,
            shallowest,
        }))
    }

    /// [`Nodes::span_nodes`] from the nodes (padding excluded) and the tree roots;
    /// `values`: per node, the value a leaf carries. None for float64 thresholds with
    /// float32 sums (no library writes such models; see `batch`).
    fn span_nodes(
        n_features: usize,
        accumulate_f32: bool,
        nodes: &[Node<T>],
        roots: &[Root],
        values: Option<&[f64]>,
    ) -> Vec<SpanNode<T>> {
        if T::WIDE && accumulate_f32 || 2 * n_features * BLOCK_ROWS > 1 << 16 {
            return Vec::new();
        }
        let mut span = Vec::with_capacity(nodes.len() + TREE_SPAN);
        let mut roots = roots.iter().map(|r| r.node as usize).peekable();
        let mut root = 0;
        for (i, node) in nodes.iter().enumerate() {
            // Trees lie one after another from their roots.
            if roots.next_if_eq(&i).is_some() {
                root = i;
            }
            let state = |at: usize| {
                let column = nodes.get(at).map_or(0, |n| n.column & 0xffff);
                ((at - root) as u32) << 16 | column
            };
            let right = node.right as usize;
            if right - root >= TREE_SPAN {
                return Vec::new();
            }
            span.push(if right == i {
                SpanNode {
                    value: values
                        .and_then(|v| v.get(i))
                        .map_or(T::NAN, |&v| T::from_f64(v)),
                    left: !state(i),
                    right: state(i),
                }
            } else {
                SpanNode {
                    value: node.threshold,
                    left: !state(i + 1),
                    right: state(right),
                }
            });
        }
        span.resize(
            nodes.len() + TREE_SPAN,
            SpanNode {
                value: T::NAN,
                left: 0,
                right: 0,
            },
        );
        span
    }

    /// One step for input `x` read at node `i`'s feature: the next node. `NAN` says
    /// whether `x` may be NaN; without it the step is one comparison and one select.
    #[inline(always)]
    fn step<const NAN: bool>(node: &Node<T>, i: u32, x: T) -> u32 {
        let mut go_left = x <= node.threshold;
        if NAN {
            go_left |= x.is_nan() & (node.column & BLOCK_ROWS as u32 != 0);
        }
        // Which way a row goes is data: a branch here mispredicts about half the
        // time, so ask for a conditional move (LLVM otherwise turns a select whose
        // operand is a load back into a branch).
        core::hint::select_unpredictable(go_left, i + 1, node.right)
    }

    /// Adds the leaf `node` ends at onto `acc` for tree `t`, in the model's precision.
    #[inline(always)]
    fn add_leaf<const F32: bool>(&self, width: usize, t: usize, node: u32, acc: &mut [f64]) {
        let at = self.leaf[node as usize] as usize * width;
        if width == 1 {
            let a = &mut acc[self.output[t] as usize];
            *a = add::<F32>(*a, self.values[at]);
        } else {
            for (a, &v) in acc.iter_mut().zip(&self.values[at..at + width]) {
                *a = add::<F32>(*a, v);
            }
        }
    }

    /// One row: groups of [`TREE_LANES`] trees walk together; leaves are added in tree
    /// order afterwards.
    fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        match (m.accumulate_f32, row.iter().any(|x| x.is_nan())) {
            (true, true) => self.row_sums_in::<true, true>(m, row, acc),
            (true, false) => self.row_sums_in::<true, false>(m, row, acc),
            (false, true) => self.row_sums_in::<false, true>(m, row, acc),
            (false, false) => self.row_sums_in::<false, false>(m, row, acc),
        }
    }

    // Natively a function per variant walks LightGBM rows in 4% fewer instructions
    // (the same for XGBoost and Iris); in WebAssembly the copies cost 0.6 KB of gzip.
    #[cfg_attr(target_arch = "wasm32", inline(always))]
    #[cfg_attr(not(target_arch = "wasm32"), inline(never))]
    fn row_sums_in<const F32: bool, const NAN: bool>(
        &self,
        m: &Model<'_>,
        row: &[f64],
        acc: &mut [f64],
    ) {
        let (nodes, mask) = (&self.nodes[..=self.mask], self.mask);
        let width = m.leaf_width;
        let mut groups = self.row_groups.iter();
        for (w, window) in self.roots.chunks(ROW_WINDOW).enumerate() {
            let mut leaves = [0u32; ROW_WINDOW];
            for group in groups.by_ref().take(window.len().div_ceil(TREE_LANES)) {
                let mut at = group.roots;
                walk::<_, TREE_LANES, ROW_FIRST_CHECK, ROW_CHECK_EVERY>(
                    nodes,
                    |a| a as usize & mask,
                    &mut at,
                    group.depth,
                    |_, node, a| {
                        let x = T::from_f64(row[node.column as usize / (2 * BLOCK_ROWS)]);
                        Self::step::<NAN>(node, a, x)
                    },
                    |node, a| node.right == a,
                );
                for (&tree, &a) in group.trees.iter().zip(&at) {
                    if tree != NO_TREE {
                        leaves[tree as usize % ROW_WINDOW] = a;
                    }
                }
            }
            for (i, &a) in leaves.iter().take(window.len()).enumerate() {
                self.add_leaf::<F32>(width, w * ROW_WINDOW + i, a, acc);
            }
        }
    }

    /// A batch: blocks of [`BLOCK_ROWS`] rows; within a block, tree by tree, lanes of
    /// rows walk in lock-step.
    fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) {
        let (nf, len) = (m.n_features, m.prediction_len());
        // The block's inputs, rounded once to the threshold type, stored by column
        // (see `column`) so a lane finds its value from the node and its row alone.
        // Rows past the end of a short last block stay zero: they walk, unadded.
        // Either a power-of-two length, so the walk masks its index instead of
        // checking it; or, for big batches of models with `span_nodes`, the whole
        // span a 16-bit column can reach, so the walk neither masks nor checks and a
        // lane's number becomes an address displacement (zeroing the span costs about
        // as much as a few rows, hence the minimum).
        let columns = BLOCK_ROWS * 2 * nf;
        let spanned = rows.len() / nf >= SPAN_MIN_ROWS && !self.span_nodes.is_empty();
        let size = if spanned {
            SPAN
        } else {
            columns.next_power_of_two()
        };
        if !spanned && self.tree_groups.len() > 1 {
            return self.grouped_batch(m, rows, out, size);
        }
        let mut block: Vec<T> = alloc::vec![T::from_f64(0.0); size];
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * len))
        {
            fill_block(&mut block, rows, nf);
            let n = rows.len() / nf;
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            let span = <&[T; SPAN]>::try_from(&block[..]);
            match (m.accumulate_f32, span) {
                // No model adds float64 thresholds' leaves in float32 (no
                // `span_nodes`): one walk fewer to ship.
                (true, Ok(span)) if !T::WIDE => self.span_sums::<f32>(m, span, n, out, isa),
                (false, Ok(span)) => self.span_sums::<f64>(m, span, n, out, isa),
                (true, _) => self.block_sums::<true>(m, 0..self.roots.len(), &block, n, out),
                (false, _) => self.block_sums::<false>(m, 0..self.roots.len(), &block, n, out),
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// A batch of a model bigger than the cache ([`TREE_GROUP_BYTES`](crate::predict::TREE_GROUP_BYTES)). Walking every
    /// tree over one block of rows, as `batch` does, would read the whole model from
    /// memory once per block. Here each group of trees is walked by every block of a
    /// pass of [`GROUP_PASS_ROWS`] rows before the next group, so the model is read
    /// once per pass and a group's nodes stay in cache meanwhile. Each row still adds
    /// its leaves in tree order: the sums are bit-identical to `batch`'s.
    fn grouped_batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], size: usize) {
        let (nf, len) = (m.n_features, m.prediction_len());
        let mut blocks: Vec<T> = Vec::new();
        for (rows, out) in rows
            .chunks(GROUP_PASS_ROWS * nf)
            .zip(out.chunks_mut(GROUP_PASS_ROWS * len))
        {
            blocks.clear();
            blocks.resize(
                rows.len().div_ceil(BLOCK_ROWS * nf) * size,
                T::from_f64(0.0),
            );
            for (rows, block) in rows
                .chunks(BLOCK_ROWS * nf)
                .zip(blocks.chunks_exact_mut(size))
            {
                fill_block(block, rows, nf);
            }
            out.chunks_exact_mut(len).for_each(|o| m.start(o));
            for group in &self.tree_groups {
                for ((rows, out), block) in rows
                    .chunks(BLOCK_ROWS * nf)
                    .zip(out.chunks_mut(BLOCK_ROWS * len))
                    .zip(blocks.chunks_exact(size))
                {
                    let n = rows.len() / nf;
                    if m.accumulate_f32 {
                        self.block_sums::<true>(m, group.clone(), block, n, out);
                    } else {
                        self.block_sums::<false>(m, group.clone(), block, n, out);
                    }
                }
            }
            out.chunks_exact_mut(len).for_each(|o| m.finish(o));
        }
    }

    /// Adds the leaves of `trees` onto the sums of the first `n` rows of `block`.
    // Not inlined: `batch` and `grouped_batch` share one copy of the walk (the npm
    // package's size), and a call per block of 128 rows costs nothing measurable.
    #[inline(never)]
    fn block_sums<const F32: bool>(
        &self,
        m: &Model<'_>,
        trees: core::ops::Range<usize>,
        block: &[T],
        n: usize,
        out: &mut [f64],
    ) {
        for t in trees {
            self.tree_over_block::<F32, ROW_LANES>(m, t, &self.roots[t], block, n, out);
        }
    }

    /// One tree over the first `n` rows of `block`, `L` rows in lock-step.
    #[inline(always)]
    fn tree_over_block<const F32: bool, const L: usize>(
        &self,
        m: &Model<'_>,
        t: usize,
        root: &Root,
        block: &[T],
        n: usize,
        out: &mut [f64],
    ) {
        let (nodes, mask) = (&self.nodes[..=self.mask], self.mask);
        let block_mask = block.len().saturating_sub(1);
        let block = block.get(..=block_mask).unwrap_or_default();
        for r in (0..n).step_by(L) {
            let mut at = [root.node; L];
            walk::<_, L, BATCH_FIRST_CHECK, BATCH_CHECK_EVERY>(
                nodes,
                |a| a as usize & mask,
                &mut at,
                root.depth,
                |l, node, a| {
                    let x = block[(node.column as usize + r + l) & block_mask];
                    Self::step::<false>(node, a, x)
                },
                |node, a| node.right == a,
            );
            self.add_lane_leaves::<F32, L>(m, t, &at, r, n, out);
        }
    }

    /// [`Nodes::block_sums`] over a whole span (see `batch`): every tree walks its
    /// window of [`Nodes::span_nodes`], [`SPAN_LANES`] rows at a time. With leaf values
    /// in the nodes, sums build up in `A` by output and row, next to each other.
    // A function of its own: `batch` around it keeps none of the walk's registers.
    #[inline(never)]
    fn span_sums<A: Sum>(
        &self,
        m: &Model<'_>,
        span: &[T; SPAN],
        n: usize,
        out: &mut [f64],
        isa: VectorIsa,
    ) {
        const MASK: usize = TREE_SPAN - 1;
        let len = m.prediction_len();
        // `new` checks each tree's output when leaves are single values; checked here
        // again, the sums below are whole by construction.
        let inline = self.inline_values && self.output.iter().all(|&o| (o as usize) < m.n_outputs);
        let mut sums = alloc::vec![[A::ZERO; SPAN_ROWS]; if inline { m.n_outputs } else { 0 }];
        if inline {
            for (r, o) in out.chunks_exact(len).enumerate() {
                for (sums, &o) in sums.iter_mut().zip(o) {
                    sums[r] = A::from_f64(o);
                }
            }
        }
        let mut states = [0u32; BLOCK_ROWS];
        // Each row's leaf state after a walk in rounds: the first `n` are written for
        // every lopsided tree; past them (read as the rest of a group of lanes, whose
        // sums nobody reads) a state of an earlier tree, inside the window all the same.
        let mut finals = [0u32; SPAN_ROWS];
        for (t, root) in self.roots.iter().enumerate() {
            // Never skips: `span_nodes` reaches TREE_SPAN nodes past the last root.
            let start = root.node as usize;
            let Some(Ok(tree)) = self
                .span_nodes
                .get(start..start + TREE_SPAN)
                .map(<&[SpanNode<T>; TREE_SPAN]>::try_from)
            else {
                continue;
            };
            // The root's state: node 0 and the root's column.
            let first = self.nodes.get(start).map_or(0, |r| r.column & 0xffff);
            let node = |s: u32| &tree[(s >> 16) as usize & MASK];
            let mut sums = sums.get_mut(self.output[t] as usize);
            // The tree's top, if it has one, walked for every row at once: the walk
            // below goes on from where it left each row, the rest of the way.
            let top = T::top_states(&self.tops, isa, t, span, &mut states);
            let depth = root.depth.saturating_sub(top);
            // Lopsided trees: the rows that have arrived leave the lanes to the rest.
            let compacted = root.lopsided();
            if compacted {
                for (r, f) in finals.iter_mut().enumerate().take(n) {
                    *f = if top > 0 { states[r] } else { first } + r as u32;
                }
                let first_steps = (root.shallowest + COMPACT_FIRST).saturating_sub(top);
                compacted_walk(tree, span, &mut finals, n, depth, first_steps.max(1));
            }
            for g in 0..n.div_ceil(SPAN_LANES).min(SPAN_ROWS / SPAN_LANES) {
                let row = g * SPAN_LANES;
                let mut at = [first; SPAN_LANES];
                if compacted {
                    at.copy_from_slice(&finals[row..row + SPAN_LANES]);
                } else {
                    if top > 0 {
                        // Rows past the block's end stay at the root: nobody reads them.
                        for (at, &s) in at.iter_mut().zip(states.get(row..).unwrap_or_default()) {
                            *at = s;
                        }
                    }
                    walk::<_, SPAN_LANES, BATCH_FIRST_CHECK, BATCH_CHECK_EVERY>(
                        tree,
                        |s| (s >> 16) as usize & MASK,
                        &mut at,
                        depth,
                        |l, node, s| {
                            // `x <= value` as in `step`; the span's columns stand for NaN.
                            // Left is stored inverted: else LLVM picks between the two
                            // loads by address (a load after the comparison) instead of
                            // with a conditional move.
                            let x = span[(s as u16) as usize + row + l];
                            core::hint::select_unpredictable(
                                x <= node.value,
                                !node.left,
                                node.right,
                            )
                        },
                        |node, s| node.right == s,
                    );
                }
                if let Some(sums) = sums.as_deref_mut() {
                    // Rows past `n` add too, onto sums nobody reads.
                    for (l, &s) in at.iter().enumerate() {
                        sums[row + l] += A::from_f64(node(s).value.to_f64());
                    }
                } else {
                    let at = at.map(|s| root.node + (s >> 16));
                    if A::F32 {
                        self.add_lane_leaves::<true, SPAN_LANES>(m, t, &at, row, n, out);
                    } else {
                        self.add_lane_leaves::<false, SPAN_LANES>(m, t, &at, row, n, out);
                    }
                }
            }
        }
        if inline {
            for (r, o) in out.chunks_exact_mut(len).enumerate() {
                for (sums, o) in sums.iter().zip(o) {
                    *o = sums[r].to_f64();
                }
            }
        }
    }

    /// Adds the leaves the first `n - r` lanes reached in tree `t` onto rows `r..`.
    #[inline(always)]
    fn add_lane_leaves<const F32: bool, const L: usize>(
        &self,
        m: &Model<'_>,
        t: usize,
        at: &[u32; L],
        r: usize,
        n: usize,
        out: &mut [f64],
    ) {
        let (len, width, mask) = (m.prediction_len(), m.leaf_width, self.mask);
        if width == 1 {
            let (first_value, output) = (&self.first_value[..=mask], self.output[t]);
            for (l, &a) in at.iter().take(n - r).enumerate() {
                let sum = &mut out[(r + l) * len + output as usize];
                *sum = add::<F32>(*sum, first_value[a as usize & mask]);
            }
        } else {
            for (l, &a) in at.iter().take(n - r).enumerate() {
                let o = &mut out[(r + l) * len..(r + l) * len + m.n_outputs];
                self.add_leaf::<F32>(width, t, a, o);
            }
        }
    }
}

/// The span walk of lopsided trees (LightGBM's leaf-wise ones: leaves 2 to 29 steps
/// deep, 9.8 on average). In lock-step, a group of lanes walks as long as its deepest
/// row: 17 steps a row on average on the LightGBM bench model. Here the rows walk in
/// rounds: after `first_steps`, then every [`COMPACT_EVERY`] steps, the rows that
/// stand on a leaf are dropped and the rest close up, so lanes keep walking rows
/// that still have steps to go (11.7 steps a row, and the dropping costs little).
///
/// `states` holds each of the first `n` rows' span state plus its row (a state's
/// column is a multiple of [`BLOCK_ROWS`], so its low bits are free and a lane needs
/// no register for its row); each ends at its leaf's state plus the row. The
/// leaves' values are added afterwards in row order, one per row: sums are the lock-step
/// walk's bit for bit. `depth` bounds the steps: every row has arrived by then.
#[inline(never)]
fn compacted_walk<T: Threshold>(
    tree: &[SpanNode<T>; TREE_SPAN],
    span: &[T; SPAN],
    states: &mut [u32; SPAN_ROWS],
    n: usize,
    depth: u32,
    first_steps: u32,
) {
    const MASK: usize = TREE_SPAN - 1;
    const ROW: u32 = BLOCK_ROWS as u32 - 1;
    let node = |s: u32| &tree[(s >> 16) as usize & MASK];
    let n = n.min(BLOCK_ROWS);
    // The rows still walking, first `k` of them; a group past them is padded with
    // copies of a walking row, whose steps nobody keeps.
    let mut alive = [0u32; BLOCK_ROWS + SPAN_LANES];
    alive[..n].copy_from_slice(&states[..n]);
    let mut k = n;
    let mut done = 0;
    let mut steps = first_steps;
    while k > 0 && done < depth {
        let steps_now = steps.min(depth - done);
        let pad = alive[k - 1];
        alive[k..k + SPAN_LANES].fill(pad);
        for group in alive[..k.next_multiple_of(SPAN_LANES)].chunks_exact_mut(SPAN_LANES) {
            let Ok(at) = <&mut [u32; SPAN_LANES]>::try_from(group) else {
                continue;
            };
            for _ in 0..steps_now {
                for s in at.iter_mut() {
                    let node = node(*s);
                    // The lock-step walk's step, the row carried along.
                    let x = span[(*s as u16) as usize];
                    *s = core::hint::select_unpredictable(x <= node.value, !node.left, node.right)
                        + (*s & ROW);
                }
            }
        }
        done += steps_now;
        steps = COMPACT_EVERY;
        // Without branches (which way each goes is data): every row's state is
        // written back, and a row that stands on a leaf (its node's right state is
        // its own) is overwritten by the next that does not.
        let mut kept = 0;
        for j in 0..k {
            let s = alive[j];
            states[(s & ROW) as usize] = s;
            alive[kept] = s;
            kept += (node(s).right != s & !ROW) as usize;
        }
        k = kept;
    }
}

/// Lays out a block's inputs (at most [`BLOCK_ROWS`] rows of `nf` features) by column,
/// rounded once to the threshold type: column `2f` holds feature `f` with NaN as NaN,
/// which no `<=` lets left; column `2f + 1` holds it with NaN as -inf, which every
/// threshold lets left. Rows past the end of a short block keep what they held.
///
/// By tiles of [`FILL_TILE`] rows, feature by feature: a row at a time, each store
/// went to a column of its own, a cache line apart, and the stores of a block missed
/// the cache (7 % of the LightGBM bench's time, its 50 features' 100 columns); a tile
/// writes whole lines of each column.
#[inline(always)]
pub(crate) fn fill_block<T: Threshold>(block: &mut [T], rows: &[f64], nf: usize) {
    fill::<T, false>(block, rows, nf);
}

/// [`fill_block`] for rows without a missing (NaN) input, whose two columns of a
/// feature would be the same: one column per feature, column `f` holding feature `f`
/// (walks that take it read `feature × BLOCK_ROWS` for either column). `false` if
/// some input is missing: the block is then not whole, and takes [`fill_block`].
/// (The complete-tree walk's, which WebAssembly does not have.)
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
pub(crate) fn fill_folded_block<T: Threshold>(block: &mut [T], rows: &[f64], nf: usize) -> bool {
    !fill::<T, true>(block, rows, nf)
}

/// Fills `block` as [`fill_block`] or (`FOLDED`) [`fill_folded_block`] do; whether
/// some input was missing.
#[inline(always)]
fn fill<T: Threshold, const FOLDED: bool>(block: &mut [T], rows: &[f64], nf: usize) -> bool {
    let mut missing = false;
    for (t, tile) in rows.chunks(FILL_TILE * nf).enumerate() {
        #[cfg(target_arch = "x86_64")]
        if let Some(next) = rows.get((t + 1) * FILL_TILE * nf..(t + 2) * FILL_TILE * nf) {
            prefetch(next);
        }
        for f in 0..nf {
            for (k, row) in tile.chunks_exact(nf).enumerate() {
                let r = t * FILL_TILE + k;
                let x = T::from_f64(row[f]);
                if FOLDED {
                    missing |= x.is_nan();
                    block[f * BLOCK_ROWS + r] = x;
                } else {
                    block[2 * f * BLOCK_ROWS + r] = x;
                    block[(2 * f + 1) * BLOCK_ROWS + r] =
                        if x.is_nan() { T::NEG_INFINITY } else { x };
                }
            }
        }
    }
    missing
}

/// Asks the CPU to bring `rows` into the first-level cache, line by line, while the
/// tile before them is filled (x86-64 only: WebAssembly has no prefetch).
///
/// Why: a tile reads its rows feature by feature, a row's length apart (400 bytes
/// for 50 features), and the hardware prefetchers did not keep up with its 16 such
/// streams: the loads of a block's inputs missed the cache, 8% of the XGBoost
/// bench's batch time. Prefetching the next tile's rows: 1.03x that batch.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn prefetch(rows: &[f64]) {
    for line in rows.chunks(8) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it reads nothing into the program and
        // cannot fault, and the address is inside `rows` anyway.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast())
        };
    }
}

/// Rows per tile of [`fill_block`]: 64 bytes of each column in float32.
const FILL_TILE: usize = 16;

/// Steps every lane of `at` until all stand on leaves: `depth` steps at most, and
/// after the `FIRST` steps a check every `EVERY` steps whether all have arrived (deep,
/// lopsided trees — LightGBM's, scikit-learn's — mostly end well above `depth`).
/// A lane's `at` is a node index or, in the span walk, a state; `place` finds its node
/// in `nodes` and `step(lane, node, at)` gives the next; `stays(node, at)` says
/// whether a lane has arrived.
#[inline(always)]
fn walk<N, const L: usize, const FIRST: u32, const EVERY: u32>(
    nodes: &[N],
    place: impl Fn(u32) -> usize,
    at: &mut [u32; L],
    depth: u32,
    step: impl Fn(usize, &N, u32) -> u32,
    stays: impl Fn(&N, u32) -> bool,
) {
    let mut done = 0;
    while done < depth {
        let steps = if done == 0 {
            depth.min(FIRST)
        } else {
            (depth - done).min(EVERY)
        };
        for _ in 0..steps {
            for (l, a) in at.iter_mut().enumerate() {
                *a = step(l, &nodes[place(*a)], *a);
            }
        }
        done += steps;
        if done < depth && at.iter().all(|&a| stays(&nodes[place(a)], a)) {
            break;
        }
    }
}

/// A batch's lanes are many rows: checks cost more and pay off later.
const BATCH_FIRST_CHECK: u32 = 8;
const BATCH_CHECK_EVERY: u32 = 4;
/// One row's lanes are a few trees: checks are cheap.
const ROW_FIRST_CHECK: u32 = 2;
const ROW_CHECK_EVERY: u32 = 2;

/// The plain split (`x <= threshold`, NaN left or not) that decides exactly as a wide
/// node with LightGBM's numeric rules (§6 flags 32, 64, 128) does, if one exists.
///
/// The rules only change what happens to NaN and to the tiny band `|x| <= Z`
/// (`Z` = [`ZERO_THRESHOLD`](crate::ensemble::ZERO_THRESHOLD)): outside the band the test stays `x <= t`. The band
/// decides one way for all its inputs, so the whole node is one threshold test
/// whenever that way agrees with `x <= t` on both sides of the band — which is
/// every node LightGBM writes except a zero-as-missing one whose default direction
/// disagrees with its threshold; that one keeps the model's walk.
fn numeric_rule_as_split(flags: u16, t: f64) -> Option<(f64, bool)> {
    use crate::ensemble::ZERO_THRESHOLD as Z;
    if flags & NODE_CATEGORICAL != 0 {
        return None;
    }
    let default_left = flags & NODE_MISSING_LEFT != 0;
    let tiny_as_zero = flags & NODE_TINY_AS_ZERO != 0;
    let zero_missing = flags & NODE_ZERO_MISSING != 0;
    let nan_left = if flags & NODE_NAN_AS_ZERO != 0 && !zero_missing {
        0.0 <= t
    } else {
        default_left
    };
    // How the band decides: `None` when it is still `x <= t` per input.
    let band = if zero_missing {
        Some(default_left)
    } else if tiny_as_zero {
        Some(0.0 <= t)
    } else {
        None
    };
    let threshold = match band {
        None => t,
        // Below the band everything goes left, above it right: the band sides with one.
        Some(true) if (-Z..Z).contains(&t) => Z,
        Some(false) if (-Z..Z).contains(&t) => next_down(-Z),
        // Band and threshold agree: `x <= t` already sends the band its way.
        Some(left) if left == (t >= Z) => t,
        Some(_) => return None,
    };
    Some((threshold, nan_left))
}

/// The greatest float64 below `x` (finite, nonzero `x`).
fn next_down(x: f64) -> f64 {
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits - 1 } else { bits + 1 })
}
