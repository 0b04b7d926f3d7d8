//! The oblivious walk's batch kernel for x86-64 CPUs with AVX-512F: a block's leaf
//! indices 16 rows to a register, and a tree's leaves picked from registers.
//!
//! Why it is faster than the portable code: a CatBoost tree of depth 6 has 64
//! float64 leaves, which fit in eight 512-bit registers. Picking a row's leaf by its
//! index is then four permutes across register pairs and three blends for eight
//! rows, with no load per row (gathers measured twice as slow on the Zen 5 CPU this
//! was tuned on). The leaf index itself is one masked OR per level and 16 rows.
//!
//! The layout trick: indices are 32-bit lanes, leaves 64-bit. A block's column holds
//! each run of 16 rows with rows 0–7 at the even lanes and 8–15 at the odd ones
//! ([`position`]), so that the low halves of an index register's 64-bit lanes are rows
//! 0–7 in order and the high halves rows 8–15: each half indexes eight float64
//! leaves directly, and the sums of eight consecutive rows are one load and store.
//!
//! Exactness: the comparison is the portable walk's `!(x <= t)` (`_CMP_NLE_UQ`, true
//! for NaN), and each row adds its leaves one float64 addition per tree, in tree order.

#![allow(unsafe_code)] // Intrinsics behind a run-time check; loads from checked slices.

use core::arch::x86_64::*;

use super::{Level, Oblivious};
use crate::cpu::VectorIsa;
use crate::prepared::BLOCK_ROWS;

/// Registers of 16 rows in a block.
const CHUNKS: usize = BLOCK_ROWS / 16;
const _: () = assert!(BLOCK_ROWS.is_multiple_of(16));

/// The deepest tree whose leaves are held in registers: 64 float64 leaves, 8 of them.
const REGISTER_DEPTH: u32 = 6;

/// Where row `r` of a block sits in its columns: within each run of 16 rows, rows
/// 0–7 at the even places and rows 8–15 at the odd ones.
#[inline(always)]
pub(super) fn position(r: usize) -> usize {
    let (run, i) = (r & !15, r & 15);
    run + ((i & 7) << 1 | i >> 3)
}

/// Proof that this CPU runs AVX-512F: only [`Kernel::new`] makes one.
pub(super) struct Kernel(());

impl Kernel {
    /// The kernel, if the CPU and the operating system run AVX-512F.
    pub(super) fn new() -> Option<Kernel> {
        (VectorIsa::detected() >= VectorIsa::Avx512).then_some(Kernel(()))
    }

    /// Adds every tree's single-value leaves onto `sums` (by output, [`BLOCK_ROWS`]
    /// rows each) for the rows of `block`, laid out by [`position`].
    pub(super) fn block_sums(&self, o: &Oblivious, block: &[f32], sums: &mut [f64]) {
        // SAFETY: `self` exists only if the CPU runs AVX-512F.
        unsafe { block_sums(o, block, sums) }
    }
}

#[target_feature(enable = "avx512f")]
fn block_sums(o: &Oblivious, block: &[f32], sums: &mut [f64]) {
    let mut index = [_mm512_setzero_si512(); CHUNKS];
    for tree in &o.trees {
        if tree.fresh {
            index = leaf_index(o.tree_levels(tree), block);
        }
        let leaves = 1usize << tree.depth;
        let at = tree.output as usize * BLOCK_ROWS;
        let (Some(values), Some(Ok(sums))) = (
            o.values
                .get(tree.first_value as usize..)
                .and_then(|v| v.get(..leaves)),
            sums.get_mut(at..at + BLOCK_ROWS)
                .map(<&mut [f64; BLOCK_ROWS]>::try_from),
        ) else {
            continue;
        };
        if tree.depth <= REGISTER_DEPTH {
            add_leaves_from_registers(values, &index, sums);
        } else {
            add_leaves(values, &index, sums);
        }
    }
}

/// The leaf index of each row of `block` in a tree with `levels`, root first (the
/// root's answer the highest bit), 16 rows per register in [`position`] order.
#[target_feature(enable = "avx512f")]
fn leaf_index(levels: &[Level], block: &[f32]) -> [__m512i; CHUNKS] {
    let mut index = [_mm512_setzero_si512(); CHUNKS];
    let depth = levels.len();
    for (l, level) in levels.iter().enumerate() {
        let column = level.column as usize;
        let Some(Ok(x)) = block
            .get(column..column + BLOCK_ROWS)
            .map(<&[f32; BLOCK_ROWS]>::try_from)
        else {
            continue;
        };
        let threshold = _mm512_set1_ps(level.threshold);
        let bit = _mm512_set1_epi32(1 << (depth - 1 - l));
        for (c, index) in index.iter_mut().enumerate() {
            // SAFETY: 16 floats from `16 c` < BLOCK_ROWS lie in `x`.
            let x = unsafe { _mm512_loadu_ps(x.as_ptr().add(16 * c)) };
            // Right when not `x <= threshold`: NaN goes right, as in the portable walk.
            let right = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(x, threshold);
            *index = _mm512_mask_or_epi32(*index, right, *index, bit);
        }
    }
    index
}

/// Adds each row's leaf of a tree of depth at most [`REGISTER_DEPTH`] (`values`, its
/// `2^depth` leaves) onto `sums`, with the leaves held in eight registers.
#[target_feature(enable = "avx512f")]
fn add_leaves_from_registers(
    values: &[f64],
    index: &[__m512i; CHUNKS],
    sums: &mut [f64; BLOCK_ROWS],
) {
    let mut leaf = [_mm512_setzero_pd(); 8];
    for (k, leaf) in leaf.iter_mut().enumerate() {
        let part = values.get(8 * k..).unwrap_or_default();
        let n = part.len().min(8);
        // Past a shallow tree's leaves the registers stay zero: no index reaches them.
        // SAFETY: the mask reads only the `n` values in `part`.
        *leaf = unsafe { _mm512_maskz_loadu_pd(((1u16 << n) - 1) as u8, part.as_ptr()) };
    }
    let (bit4, bit5) = (_mm512_set1_epi64(16), _mm512_set1_epi64(32));
    for (c, &index) in index.iter().enumerate() {
        // The low 32 bits of each 64-bit lane are rows 0–7 of the run, the high ones
        // rows 8–15. A permute reads only an index's low four bits, and the tests
        // below bits 4 and 5, so the low half needs no masking.
        let halves = [index, _mm512_srli_epi64::<32>(index)];
        for (half, index) in halves.into_iter().enumerate() {
            let low = _mm512_permutex2var_pd(leaf[0], index, leaf[1]);
            let high = _mm512_permutex2var_pd(leaf[2], index, leaf[3]);
            let bit4_set = _mm512_test_epi64_mask(index, bit4);
            let below_32 = _mm512_mask_blend_pd(bit4_set, low, high);
            let low = _mm512_permutex2var_pd(leaf[4], index, leaf[5]);
            let high = _mm512_permutex2var_pd(leaf[6], index, leaf[7]);
            let from_32 = _mm512_mask_blend_pd(bit4_set, low, high);
            let bit5_set = _mm512_test_epi64_mask(index, bit5);
            let value = _mm512_mask_blend_pd(bit5_set, below_32, from_32);
            let sums = &mut sums[16 * c + 8 * half..][..8];
            // SAFETY: `sums` holds the 8 values read and written.
            unsafe {
                let sum = _mm512_add_pd(_mm512_loadu_pd(sums.as_ptr()), value);
                _mm512_storeu_pd(sums.as_mut_ptr(), sum);
            }
        }
    }
}

/// Adds each row's leaf of a deeper tree onto `sums`, one row at a time.
#[target_feature(enable = "avx512f")]
fn add_leaves(values: &[f64], index: &[__m512i; CHUNKS], sums: &mut [f64; BLOCK_ROWS]) {
    let mut lanes = [0u32; BLOCK_ROWS];
    for (c, &index) in index.iter().enumerate() {
        // SAFETY: 16 lanes from `16 c` < BLOCK_ROWS lie in `lanes`.
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().add(16 * c).cast(), index) };
    }
    let mask = values.len() - 1;
    for (r, sum) in sums.iter_mut().enumerate() {
        *sum += values[lanes[position(r)] as usize & mask];
    }
}
