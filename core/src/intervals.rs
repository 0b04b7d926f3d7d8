//! Interval masks: a bit-vector walk (QuickScorer's) for forests of small trees on
//! few features, with each feature's masks combined ahead of time per interval.
//!
//! QuickScorer numbers a tree's leaves left to right and gives every split a mask:
//! all ones but its left subtree's leaves. A row's leaf is the lowest set bit of the
//! AND of the masks of the splits it goes right at ("false nodes"), whatever order
//! they are ANDed in. QuickScorer finds the false nodes feature by feature, by
//! walking each feature's thresholds in sorted order up to the row's value.
//!
//! Here that walk is done once, when the model is prepared: for each feature, the
//! thresholds of all trees sorted and deduplicated cut the line into intervals, and
//! for each interval (and for NaN) a row of one mask per tree holds the AND of the
//! masks of every split on that feature the interval's values go right at. A row's
//! prediction is then, per feature, one binary search for its interval, and, per
//! tree, an AND of one mask per feature and a count of trailing zeros: no node loads
//! and no data-dependent branches. This is what makes it the fastest walk for models
//! like the Iris forest (100 trees of at most a few dozen leaves, 4 features, a few
//! dozen distinct thresholds per feature: 128 KB of masks).
//!
//! It is taken only where it is small and fast (see [`Intervals::from_layout`]): at
//! most 64 leaves per tree (one `u64` mask), at most [`MAX_FEATURES`] features with
//! splits, and at most [`MAX_TABLE_BYTES`] of masks. In WebAssembly it is part of the
//! npm package's SIMD engine only (`target_feature = "simd128"`), whose gzip budget
//! is the baseline engine's: hence one copy of the code for float32 and float64 thresholds
//! (thresholds are kept as float64, and a float32 model's inputs rounded to float32
//! first), masks built without a sort, and one addition per leaf of [`SUMS`] lanes
//! whatever the model's leaf width or output.
//!
//! On x86-64 CPUs with AVX-512 (found at run time, see [`VectorIsa`]) a batch takes
//! the [`avx512`] kernel, eight rows at a time: the same tables, intervals and leaves,
//! found with vector instructions (about three times the portable walk's rows per second on
//! the Iris forest). With AVX2 but not AVX-512 it takes the [`avx2`] kernel, the same
//! steps eight rows at a time in half-width registers (about 2.7 times the portable
//! walk on the Iris forest, measured forced to AVX2 on an AVX-512 CPU).
//!
//! Exactness: a split sends a row right when not `x <= threshold` in the model's
//! threshold type (NaN: by the split's missing direction), which is the node walk's
//! test; a float32 threshold and a float32-rounded input compare the same in float64.
//! Leaves are added in tree order through [`add`], each as [`SUMS`] lanes where the
//! lanes a leaf does not touch add -0.0, which leaves every sum's bits as they were
//! (x + -0.0 is x for every x, -0.0 included, in float32 and float64): bit-identical
//! to [`Model`]'s answers.

use alloc::vec::Vec;

use crate::cpu::VectorIsa;
use crate::model::Model;
use crate::predict::add;
use crate::prepared::{Layout, Node, Root, Threshold, BLOCK_ROWS};

/// The end of a vector kernel's `block_sums`, the same in each kernel: pads `offsets`
/// past the model's features with the first feature's mask rows (ANDing a mask twice
/// changes nothing), so that the mask loop has a fixed length, and calls the kernel's
/// own `add_leaves32` (every tree ≤ 32 leaves) or `add_leaves` for the feature count
/// rounded up to 4, 8 or [`MAX_FEATURES`]. A macro, so that each kernel's calls stay
/// direct calls between functions of the same target features.
///
/// # Safety
/// As the kernel's `add_leaves`: every offset clamped to a whole mask row.
#[cfg(target_arch = "x86_64")]
macro_rules! add_leaves_by_features {
    ($f32:ident, $iv:ident, $offsets:ident, $trees:ident, $sums:ident, $use32:ident) => {{
        let n = $iv.features.len();
        for f in n..MAX_FEATURES {
            $offsets[f] = $offsets[0];
        }
        if $use32 {
            match n {
                0..=4 => add_leaves32::<$f32, 4>($iv, &$offsets, $trees, $sums),
                5..=8 => add_leaves32::<$f32, 8>($iv, &$offsets, $trees, $sums),
                _ => add_leaves32::<$f32, MAX_FEATURES>($iv, &$offsets, $trees, $sums),
            }
        } else {
            match n {
                0..=4 => add_leaves::<$f32, 4>($iv, &$offsets, $trees, $sums),
                5..=8 => add_leaves::<$f32, 8>($iv, &$offsets, $trees, $sums),
                _ => add_leaves::<$f32, MAX_FEATURES>($iv, &$offsets, $trees, $sums),
            }
        }
    }};
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Features with splits this walk takes at most: one mask per feature is ANDed per
/// tree, so its cost grows with them while the node walk's does not.
pub(crate) const MAX_FEATURES: usize = 16;

/// Sums a row's leaves go to that stay in registers: a model's outputs, or a leaf's
/// values (wider models add in place, tree by tree).
const SUMS: usize = 4;
type Sums = [f64; SUMS];

/// A leaf that adds nothing: -0.0 is the identity of IEEE addition.
const NOTHING: Sums = [-0.0; SUMS];

/// Rows whose leaves a batch adds side by side. WebAssembly walks one row at a time:
/// in Chromium four rows side by side were no faster (Iris: 3.39 against 3.38M rows/s),
/// and their copy of the walk took 1.4 KB of the SIMD engine's gzip budget.
const GROUP: usize = if cfg!(target_arch = "wasm32") { 1 } else { 4 };

/// Whether models whose leaves or outputs are more than [`SUMS`] take this walk
/// (adding in place), and models whose leaves hold one value. Not in WebAssembly: in
/// Chromium the boosted models (one value per leaf, many shallow trees) walked their
/// nodes faster (10,000-row batches: XGBoost regression 6.2 against 3.1M rows/s,
/// scikit-learn GradientBoosting 6.9 against 4.0M, LightGBM 5.1 against 3.9M), and
/// the wide models' code took room in the SIMD engine's gzip budget. There, forest
/// classifiers of two to four classes (leaves of two to four values) take it.
const WIDE: bool = !cfg!(target_arch = "wasm32");

/// The most mask bytes this walk keeps (about what stays in a core's L2 cache).
const MAX_TABLE_BYTES: usize = 1 << 20;

/// A model's forest as interval masks.
#[derive(Clone, Debug)]
pub(crate) struct Intervals {
    /// The features that have splits, in feature order, each with its thresholds.
    features: Vec<FeatureIntervals>,
    /// Whether the thresholds are float32: inputs are rounded to float32 before the
    /// search (the thresholds, kept as float64, hold float32 values).
    narrow: bool,
    /// Per feature in `features`, its rows of masks one after another: for interval
    /// `p` (values above `p` of the thresholds, not above the next) and then for NaN,
    /// one mask per tree, each row padded with all-ones masks to [`Intervals::stride`] trees so
    /// that rows are ANDed eight masks at a time.
    masks: Vec<u64>,
    /// Masks per row: the trees, rounded up to a multiple of 8.
    stride: usize,
    /// Per tree: its first leaf in `leaves` (or, for a wide model, its first value in
    /// `values`); then, up to [`Intervals::stride`], padding trees whose first leaf
    /// lies past the end, so they add nothing.
    first: Vec<u32>,
    /// Every tree's leaves, left to right, as the [`SUMS`] values each adds onto the
    /// sums (-0.0 where it adds nothing): when the model's leaves and outputs fit.
    leaves: Vec<Sums>,
    /// Whether they do (else `values` and `output` hold the leaves).
    lanes: bool,
    /// Otherwise every tree's leaves, left to right, `width` values each…
    values: Vec<f64>,
    /// …and per tree the output its single-value leaves go to (`width == 1`).
    output: Vec<u32>,
    width: usize,
    /// For the vector kernels, when every tree has at most 32 leaves: `masks` as
    /// 32-bit masks in aligned groups of sixteen ([`Masks16`]), each row padded with
    /// all-ones to a multiple of 16 trees (sixteen to an AVX-512 register, eight to an
    /// AVX2 one, and half the cache); else empty.
    #[cfg(target_arch = "x86_64")]
    masks32: Vec<Masks16>,
}

/// Sixteen 32-bit masks (a register's worth), aligned so that a load never straddles
/// two cache lines: as a plain `Vec<u32>` (16-byte aligned at best) the kernel ran
/// 5-15% slower (Iris, the two tables in the same run).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Masks16([u32; 16]);

#[derive(Clone, Debug)]
struct FeatureIntervals {
    feature: u32,
    /// Its distinct thresholds, ascending.
    thresholds: Vec<f64>,
    /// Its first mask row: its masks start at `first_row × stride` in `masks`.
    first_row: u32,
}

/// One split as this walk sees it: which feature, which way NaN goes, which tree,
/// and the leaves it rules out when a row goes right.
struct Split {
    feature: u32,
    threshold: f64,
    missing_left: bool,
    tree: u32,
    mask: u64,
}

impl Intervals {
    /// The trees of `layout` (decoded from `model`) as interval masks, or `None` if
    /// some tree has more than 64 leaves or is not laid out as one tree in pre-order,
    /// some threshold is NaN, or the masks would take more than the limits allow.
    pub(crate) fn from_layout<T: Threshold>(model: &Model<'_>, layout: &Layout<T>) -> Option<Self> {
        // Trees of at most 64 leaves have at most 127 nodes: past that, refuse before
        // copying. The copy with float64 thresholds is what keeps the rest of the
        // construction one function for both threshold types.
        if layout.nodes.len() > layout.roots.len().saturating_mul(127) {
            return None;
        }
        let nodes: Vec<Node<f64>> = layout
            .nodes
            .iter()
            .map(|n| Node {
                threshold: n.threshold.to_f64(),
                column: n.column,
                right: n.right,
            })
            .collect();
        let trees = Trees {
            nodes: &nodes,
            leaf: &layout.leaf,
            roots: &layout.roots,
            output: &layout.output,
            values: &layout.values,
        };
        Self::from_trees(model, &trees, !T::WIDE)
    }

    /// [`Intervals::from_layout`] of `trees`, whose thresholds are float32 if `narrow`.
    fn from_trees(model: &Model<'_>, layout: &Trees<'_>, narrow: bool) -> Option<Self> {
        let width = model.leaf_width;
        let n_trees = layout.roots.len();
        let stride = n_trees.next_multiple_of(8);
        // Every feature takes at least two rows of masks (below all its thresholds,
        // NaN): past that, refuse before allocating anything.
        if stride * 2 * 8 > MAX_TABLE_BYTES {
            return None;
        }
        let lanes = width <= SUMS && model.n_outputs <= SUMS;
        if !WIDE && (!lanes || width == 1) {
            return None;
        }
        let mut intervals = Intervals {
            features: Vec::new(),
            narrow,
            masks: Vec::new(),
            stride,
            first: Vec::with_capacity(stride),
            leaves: Vec::new(),
            lanes,
            values: Vec::new(),
            output: if lanes {
                Vec::new()
            } else {
                layout.output.to_vec()
            },
            width,
            #[cfg(target_arch = "x86_64")]
            masks32: Vec::new(),
        };
        let mut splits: Vec<Split> = Vec::new();
        let mut leaves: Vec<u32> = Vec::new();
        for (t, root) in layout.roots.iter().enumerate() {
            let root = root.node as usize;
            let end = layout
                .roots
                .get(t + 1)
                .map_or(layout.nodes.len(), |r| r.node as usize);
            leaves.clear();
            let mut tree = TreeSplits {
                layout,
                tree: u32::try_from(t).ok()?,
                splits: &mut splits,
                leaves: &mut leaves,
            };
            if tree.visit(root, 0)? != end {
                return None;
            }
            let output = *layout.output.get(t)?;
            intervals.add_leaves(&leaves, layout.values, output, model.accumulate_f32)?;
        }
        let past_end = u32::try_from(intervals.leaves.len() + intervals.values.len() + 1).ok()?;
        intervals.first.resize(stride, past_end);
        intervals.add_masks(&splits)?;
        #[cfg(target_arch = "x86_64")]
        intervals.add_masks32();
        Some(intervals)
    }

    /// Appends one tree's `leaves` (absolute leaf indices, left to right), whose values
    /// are in `values` and, when single, go to `output`; for float32 sums (`f32`), as
    /// [`Intervals::sums`] adds them: rounded to float32.
    fn add_leaves(&mut self, leaves: &[u32], values: &[f64], output: u32, f32: bool) -> Option<()> {
        let width = self.width;
        if self.lanes {
            self.first.push(u32::try_from(self.leaves.len()).ok()?);
            for &leaf in leaves {
                let at = leaf as usize * width;
                let values = values.get(at..at + width)?;
                let mut sums = NOTHING;
                if WIDE && width == 1 {
                    *sums.get_mut(output as usize)? = values[0];
                } else {
                    sums.get_mut(..width)?.copy_from_slice(values);
                }
                if f32 {
                    sums.iter_mut().for_each(|v| *v = *v as f32 as f64);
                }
                self.leaves.push(sums);
            }
        } else {
            self.first.push(u32::try_from(self.values.len()).ok()?);
            for &leaf in leaves {
                let at = leaf as usize * width;
                self.values.extend_from_slice(values.get(at..at + width)?);
            }
        }
        Some(())
    }

    /// The features' thresholds and rows of masks from every split; `None` past
    /// [`MAX_FEATURES`] or [`MAX_TABLE_BYTES`]. A split marks the first interval above
    /// its threshold, and each interval's row is then ANDed with the one below it, so
    /// that it holds every split below it: no sort of the splits.
    fn add_masks(&mut self, splits: &[Split]) -> Option<()> {
        let features = &mut self.features;
        for split in splits {
            let f = match features.binary_search_by_key(&split.feature, |f| f.feature) {
                Ok(f) => f,
                Err(f) => {
                    if features.len() == MAX_FEATURES {
                        return None;
                    }
                    let feature = FeatureIntervals {
                        feature: split.feature,
                        thresholds: Vec::new(),
                        first_row: 0,
                    };
                    features.insert(f, feature);
                    f
                }
            };
            let thresholds = &mut features[f].thresholds;
            let at = thresholds.partition_point(|&t| t < split.threshold);
            if thresholds.get(at) != Some(&split.threshold) {
                thresholds.insert(at, split.threshold);
            }
        }
        let mut rows = 0usize;
        for f in features.iter_mut() {
            f.first_row = u32::try_from(rows).ok()?;
            rows += f.thresholds.len() + 2;
        }
        let stride = self.stride;
        if rows.saturating_mul(stride * 8) > MAX_TABLE_BYTES {
            return None;
        }
        let masks = &mut self.masks;
        masks.resize(rows * stride, !0);
        for split in splits {
            let f = features
                .binary_search_by_key(&split.feature, |f| f.feature)
                .ok()?;
            let f = &features[f];
            let first = f.first_row as usize * stride + split.tree as usize;
            // Values above the threshold go right at the split…
            let above = f.thresholds.partition_point(|&t| t < split.threshold) + 1;
            *masks.get_mut(first + above * stride)? &= split.mask;
            // …and NaN unless it goes left.
            if !split.missing_left {
                *masks.get_mut(first + (f.thresholds.len() + 1) * stride)? &= split.mask;
            }
        }
        let mut below = alloc::vec![!0u64; stride];
        for f in features.iter() {
            let first = f.first_row as usize * stride;
            let rows = masks.get_mut(first..first + (f.thresholds.len() + 1) * stride)?;
            for row in rows.chunks_exact_mut(stride) {
                for (m, b) in row.iter_mut().zip(below.iter_mut()) {
                    *m &= *b;
                    *b = *m;
                }
            }
            below.fill(!0);
        }
        Some(())
    }

    /// Fills [`Intervals::masks32`] if every tree has at most 32 leaves: the lowest set
    /// bit of a tree's ANDed masks is its exit leaf's or lower, so it is among the low
    /// 32 bits, which the 32-bit masks keep.
    #[cfg(target_arch = "x86_64")]
    fn add_masks32(&mut self) {
        let trees = self
            .first
            .iter()
            .take_while(|&&f| (f as usize) < self.leaves.len())
            .count();
        let small = self.lanes
            && (0..trees).all(|t| {
                let end = self
                    .first
                    .get(t + 1)
                    .map_or(self.leaves.len(), |&f| (f as usize).min(self.leaves.len()));
                end - self.first[t] as usize <= 32
            });
        // Leaves as 32-bit byte offsets (see `avx512::add_leaves32` and `avx2::add_leaves32`).
        if !small || self.stride == 0 || self.leaves.len() >= 1 << 26 {
            return;
        }
        let stride32 = self.stride.next_multiple_of(16);
        let rows = self.masks.len() / self.stride;
        let mut masks32 = alloc::vec![Masks16([!0u32; 16]); rows * stride32 / 16];
        for (row, row32) in self
            .masks
            .chunks_exact(self.stride)
            .zip(masks32.chunks_exact_mut(stride32 / 16))
        {
            for (m32, &m) in row32.iter_mut().flat_map(|c| c.0.iter_mut()).zip(row) {
                *m32 = m as u32;
            }
        }
        self.masks32 = masks32;
    }

    /// Adds one row's leaves onto `acc` (the model's first `n_outputs` sums).
    pub(crate) fn row_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        if WIDE && !self.lanes {
            return self.wide_sums(m, row, acc);
        }
        let mut sums = [[0.0; SUMS]; 1];
        sums[0][..acc.len()].copy_from_slice(acc);
        self.group_sums(m, [row], &mut sums);
        acc.copy_from_slice(&sums[0][..acc.len()]);
    }

    /// A batch, [`GROUP`] rows at a time: their leaves are found and added side by
    /// side, so that while one row's chain of additions waits, the others' run;
    /// through a vector kernel if `isa` allows it and the CPU runs it.
    pub(crate) fn batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) {
        let (nf, len, n_out) = (m.n_features, m.prediction_len(), m.n_outputs);
        let done = self.kernel_batch(m, rows, out, isa);
        let (rows, out) = (&rows[done * nf..], &mut out[done * len..]);
        let whole = if GROUP > 1 && self.lanes {
            rows.len() / nf / GROUP * GROUP
        } else {
            0
        };
        let (group_rows, rest_rows) = rows.split_at(whole * nf);
        let (group_out, rest_out) = out.split_at_mut(whole * len);
        for (rows, out) in group_rows
            .chunks_exact(GROUP * nf)
            .zip(group_out.chunks_exact_mut(GROUP * len))
        {
            let mut sums = [[0.0; SUMS]; GROUP];
            for (s, o) in sums.iter_mut().zip(out.chunks_exact_mut(len)) {
                m.start(o);
                s[..n_out].copy_from_slice(&o[..n_out]);
            }
            let rows: [&[f64]; GROUP] = core::array::from_fn(|r| &rows[r * nf..][..nf]);
            self.group_sums(m, rows, &mut sums);
            for (s, o) in sums.iter().zip(out.chunks_exact_mut(len)) {
                o[..n_out].copy_from_slice(&s[..n_out]);
                m.finish(o);
            }
        }
        for (row, out) in rest_rows
            .chunks_exact(nf)
            .zip(rest_out.chunks_exact_mut(len))
        {
            m.start(out);
            self.row_sums(m, row, &mut out[..n_out]);
            m.finish(out);
        }
    }

    /// Adds the leaves of `R` rows onto their `sums`, through a copy per precision.
    fn group_sums<const R: usize>(&self, m: &Model<'_>, rows: [&[f64]; R], sums: &mut [Sums; R]) {
        if m.accumulate_f32 {
            self.sums::<true, R>(rows, sums)
        } else {
            self.sums::<false, R>(rows, sums)
        }
    }

    /// The whole blocks of rows of a batch through a vector kernel, when `isa` allows
    /// it and the CPU runs it: [`avx512`] (eight rows at a time) with AVX-512, else
    /// [`avx2`] (eight rows too) with AVX2; returns how many rows it predicted (none
    /// without a kernel, or for tables it does not take).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    fn kernel_batch(&self, m: &Model<'_>, rows: &[f64], out: &mut [f64], isa: VectorIsa) -> usize {
        let nf = m.n_features;
        let isa = isa.min(VectorIsa::detected());
        let usable = self.lanes
            && isa >= VectorIsa::Avx2
            && !self.leaves.is_empty()
            && self.first.len() == self.stride
            && self.masks.len() >= self.stride
            && (self.masks32.is_empty()
                || (self.masks32.len() * 16 >= self.stride.next_multiple_of(16)
                    && self.leaves.len() < 1 << 26))
            && self.features.iter().all(|f| (f.feature as usize) < nf);
        if !usable || nf == 0 {
            return 0;
        }
        // The real trees: the padding's first leaves lie past the end.
        let trees = self
            .first
            .iter()
            .take_while(|&&f| (f as usize) < self.leaves.len())
            .count();
        let f32 = m.accumulate_f32;
        if isa >= VectorIsa::Avx512 {
            // SAFETY: the CPU runs AVX-512F, CD and VL and AVX2 (`detected`); `rows`
            // holds `ROWS × nf` values and every feature is below `nf`; the tables are
            // as the kernel needs (checked above), and `trees` at most `first.len()`.
            self.blocks(m, rows, out, |rows, sums| unsafe {
                if f32 {
                    avx512::block_sums::<true>(self, rows.as_ptr(), nf, trees, sums);
                } else {
                    avx512::block_sums::<false>(self, rows.as_ptr(), nf, trees, sums);
                }
            })
        } else {
            // SAFETY: as above, the CPU running AVX2.
            self.blocks(m, rows, out, |rows, sums| unsafe {
                if f32 {
                    avx2::block_sums::<true>(self, rows.as_ptr(), nf, trees, sums);
                } else {
                    avx2::block_sums::<false>(self, rows.as_ptr(), nf, trees, sums);
                }
            })
        }
    }

    /// The whole blocks of `R` rows of a batch, each through `kernel` (which adds the
    /// leaves of the block's `R × nf` values onto the rows' sums); returns how many
    /// rows it predicted.
    #[cfg(target_arch = "x86_64")]
    fn blocks<const R: usize>(
        &self,
        m: &Model<'_>,
        rows: &[f64],
        out: &mut [f64],
        mut kernel: impl FnMut(&[f64], &mut [Sums; R]),
    ) -> usize {
        let (nf, len, n_out) = (m.n_features, m.prediction_len(), m.n_outputs);
        let blocks = rows.len() / nf / R;
        let average = m.average_divisor();
        for (rows, out) in rows
            .chunks_exact(R * nf)
            .zip(out.chunks_exact_mut(R * len))
            .take(blocks)
        {
            // Copied value by value: `copy_from_slice` of a few floats was a call to
            // memcpy per row (6% of `edgewood predict`'s time on the Iris forest).
            let mut sums = [[0.0; SUMS]; R];
            if average.is_none() {
                for (s, o) in sums.iter_mut().zip(out.chunks_exact_mut(len)) {
                    m.start(o);
                    s.iter_mut().zip(&o[..n_out]).for_each(|(s, &o)| *s = o);
                }
            }
            kernel(rows, &mut sums);
            for (s, o) in sums.iter().zip(out.chunks_exact_mut(len)) {
                match average {
                    // A forest's average: the sums start at zero (`start`), and each
                    // lane divided is what `finish` gives, with one division a row.
                    Some(n) => o[..n_out]
                        .iter_mut()
                        .zip(s.map(|x| x / n))
                        .for_each(|(o, x)| *o = x),
                    None => {
                        o[..n_out].iter_mut().zip(s).for_each(|(o, &x)| *o = x);
                        m.finish(o);
                    }
                }
            }
        }
        blocks * R
    }

    /// Off x86-64 there is no kernel.
    #[cfg(not(target_arch = "x86_64"))]
    fn kernel_batch(&self, _: &Model<'_>, _: &[f64], _: &mut [f64], _: VectorIsa) -> usize {
        0
    }

    /// The walk itself, for `R` rows, adding in float32 if `F32`, as the float64 sum
    /// of the float32 values rounded to float32 (53 bits are more than twice 24 plus
    /// 2, so the two roundings give the bits of one): leaves are added in one way for
    /// both precisions, with no conversion of each value. The sums are copied into locals so they stay
    /// in registers: added in place through a slice, each addition was a load and a
    /// store (the Iris forest's rows took 2.5 times as long).
    #[inline(never)]
    fn sums<const F32: bool, const R: usize>(&self, rows: [&[f64]; R], sums: &mut [Sums; R]) {
        // Filled in place: built and returned per row, the arrays were copied whole.
        let mut masks: [[&[u64]; MAX_FEATURES]; R] = [[&[]; MAX_FEATURES]; R];
        for (masks, row) in masks.iter_mut().zip(rows) {
            self.mask_rows(row, masks);
        }
        let n_features = self.features.len();
        // Each row of masks as chunks of eight trees, once per row.
        let masks = masks.map(|masks| masks.map(|m| m.as_chunks::<8>().0));
        let mut local = *sums;
        for (c, first) in self.first.as_chunks::<8>().0.iter().enumerate() {
            // Eight trees' masks ANDed across the features, per row, in registers.
            let mut bits = [[!0u64; 8]; R];
            for (bits, masks) in bits.iter_mut().zip(&masks) {
                for masks in masks.iter().take(n_features) {
                    if let Some(masks) = masks.get(c) {
                        for (b, m) in bits.iter_mut().zip(masks) {
                            *b &= m;
                        }
                    }
                }
            }
            for (k, &first) in first.iter().enumerate() {
                for (bits, sums) in bits.iter().zip(local.iter_mut()) {
                    // The exit leaf's bit is always set; the top bit only makes the
                    // count one instruction (no case for zero).
                    let leaf = (bits[k] | 1 << 63).trailing_zeros() as usize;
                    if let Some(values) = self.leaves.get(first as usize + leaf) {
                        for (s, &v) in sums.iter_mut().zip(values) {
                            let sum = *s + v;
                            *s = if F32 { sum as f32 as f64 } else { sum };
                        }
                    }
                }
            }
        }
        *sums = local;
    }

    /// Sets `rows` to each feature's mask row for `row`'s interval (one binary search
    /// per feature).
    fn mask_rows<'s>(&'s self, row: &[f64], rows: &mut [&'s [u64]; MAX_FEATURES]) {
        for (rows, f) in rows.iter_mut().zip(&self.features) {
            let mut x = row.get(f.feature as usize).copied().unwrap_or(f64::NAN);
            if self.narrow {
                x = x as f32 as f64;
            }
            let interval = if x.is_nan() {
                f.thresholds.len() + 1
            } else {
                f.thresholds.partition_point(|&t| t < x)
            };
            let at = (f.first_row as usize + interval) * self.stride;
            *rows = self.masks.get(at..at + self.stride).unwrap_or_default();
        }
    }

    /// [`Intervals::row_sums`] for leaves or outputs past [`SUMS`]: the same walk,
    /// tree by tree, adding in place.
    fn wide_sums(&self, m: &Model<'_>, row: &[f64], acc: &mut [f64]) {
        let mut masks: [&[u64]; MAX_FEATURES] = [&[]; MAX_FEATURES];
        self.mask_rows(row, &mut masks);
        let masks = &masks[..self.features.len()];
        for (t, (&first, &output)) in self.first.iter().zip(&self.output).enumerate() {
            let bits = masks
                .iter()
                .fold(!0u64, |b, m| b & m.get(t).copied().unwrap_or(!0));
            let at = first as usize + (bits | 1 << 63).trailing_zeros() as usize * self.width;
            let add = |a: f64, v: f64| {
                if m.accumulate_f32 {
                    add::<true>(a, v)
                } else {
                    add::<false>(a, v)
                }
            };
            if self.width == 1 {
                if let (Some(a), Some(&v)) = (acc.get_mut(output as usize), self.values.get(at)) {
                    *a = add(*a, v);
                }
            } else if let Some(values) = self.values.get(at..at + self.width) {
                for (a, &v) in acc.iter_mut().zip(values) {
                    *a = add(*a, v);
                }
            }
        }
    }
}

/// A [`Layout`]'s trees with float64 thresholds.
struct Trees<'a> {
    nodes: &'a [Node<f64>],
    leaf: &'a [u32],
    roots: &'a [Root],
    output: &'a [u32],
    values: &'a [f64],
}

/// One tree's walk of [`Intervals::from_layout`]: numbers its leaves left to right
/// and records each split's mask.
struct TreeSplits<'a> {
    layout: &'a Trees<'a>,
    tree: u32,
    splits: &'a mut Vec<Split>,
    /// The tree's leaves so far, left to right, as absolute leaf indices.
    leaves: &'a mut Vec<u32>,
}

impl TreeSplits<'_> {
    /// Visits the subtree at node `i` (`depth` below the root); the node after it in
    /// pre-order, or `None` if it has a leaf past the 64th, a NaN threshold, or is
    /// not laid out as one tree.
    fn visit(&mut self, i: usize, depth: usize) -> Option<usize> {
        let node = self.layout.nodes.get(i)?;
        // A tree of at most 64 leaves whose splits all have two children is at most
        // 63 deep: deeper is not taken (and not recursed into).
        if depth > 63 {
            return None;
        }
        if node.right as usize == i {
            if self.leaves.len() == 64 {
                return None;
            }
            self.leaves.push(*self.layout.leaf.get(i)?);
            return Some(i + 1);
        }
        if node.threshold.is_nan() || node.right as usize <= i {
            return None;
        }
        let first_left = self.leaves.len();
        let after_left = self.visit(i + 1, depth + 1)?;
        if after_left != node.right as usize {
            return None;
        }
        let left = self.leaves.len() - first_left;
        if left >= 64 {
            return None;
        }
        let column = node.column as usize / BLOCK_ROWS;
        self.splits.push(Split {
            feature: u32::try_from(column / 2).ok()?,
            threshold: node.threshold,
            missing_left: column % 2 == 1,
            tree: self.tree,
            // Every leaf but those of the left subtree (fewer than 64 of them).
            mask: !(((1u64 << left) - 1) << first_left),
        });
        self.visit(after_left, depth + 1)
    }
}
