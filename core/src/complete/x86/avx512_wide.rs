//! The complete-tree kernel for float64 thresholds (LightGBM's, scikit-learn's): 8
//! rows to a register.
//!
//! The float32 kernel's method ([`super::avx512_narrow`]) at half the width: each row's
//! split picked from registers by permutes (a level of up to 128 splits, so tops of
//! depth 8), the rows' inputs loaded and blended (top four levels) or gathered, one
//! comparison, and `j = 2j + right`, with 64-bit places so that a place indexes its
//! float64 lane directly. Columns are stored as 32-bit numbers and widened as a
//! level's registers are loaded.

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use super::super::{max_depth, Complete, CompleteTree};
use super::walk::complete_walk;
use crate::prepared::BLOCK_ROWS;

// The deepest level is 7 (128 splits, 16 registers): no float64 level is gathered.
const _: () = assert!(max_depth(true) <= 8);

/// Registers of 8 rows in a block.
const CHUNKS: usize = BLOCK_ROWS / 8;
const _: () = assert!(BLOCK_ROWS.is_multiple_of(8));

/// `R` registers of 8 columns from `at`, widened to 64 bits (as float64 bit
/// patterns, to be picked like thresholds).
///
/// # Safety
/// AVX-512F; `at` points to `8 R` readable columns.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_columns<const R: usize>(at: *const u32) -> [__m512d; R] {
    let mut regs = [_mm512_setzero_pd(); R];
    for (i, r) in regs.iter_mut().enumerate() {
        // SAFETY: the caller's.
        let c = unsafe { _mm256_loadu_si256(at.add(8 * i).cast()) };
        *r = _mm512_castsi512_pd(_mm512_cvtepu32_epi64(c));
    }
    regs
}

/// One step down: `j = 2j + right`, right when not `x <= t` (`_CMP_NLE_UQ`: NaN goes
/// right, as in the portable walk).
#[target_feature(enable = "avx512f")]
#[inline]
fn step(j: __m512i, x: __m512d, t: __m512d) -> __m512i {
    let right = _mm512_cmp_pd_mask::<_CMP_NLE_UQ>(x, t);
    let next = _mm512_add_epi64(j, j);
    // `next | 1` in the right lanes (`next` is even): one masked instruction, as in
    // the float32 kernel's `step`.
    let one = _mm512_set1_epi64(1);
    _mm512_mask_ternarylogic_epi64::<0xfe>(next, right, one, one)
}

complete_walk! {
    feature: "avx512f",
    threshold: f64,
    values: __m512d,
    places: __m512i,
    bit: i64,
    zero: _mm512_setzero_pd(),
    load: _mm512_loadu_pd,
    rows: (
        _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
        _mm512_add_epi64,
        _mm512_set1_epi64,
    ),
    walk_args: |c| (),
    places_args: (),
    store: |p, j| _mm256_storeu_si256(p.as_mut_ptr().cast(), _mm512_cvtepi64_epi32(j)),
    masks: (_mm512_test_epi64_mask, __mmask8, _mm512_mask_blend_pd),
    pick: (_mm512_permutexvar_pd, _mm512_permutex2var_pd),
    add: (_mm512_add_pd, _mm512_storeu_pd),
}

/// A level of up to `8 R` splits held in registers: each row's split picked by
/// permutes, its input gathered from the block.
///
/// # Safety
/// AVX-512F; `8 R` readable splits at `thresholds` and `columns`; every column plus
/// BLOCK_ROWS within `block`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn picked_level<const R: usize>(
    j: &mut [__m512i; CHUNKS],
    thresholds: *const f64,
    columns: *const u32,
    block: &[f64],
) {
    // SAFETY: the caller's.
    let (t_regs, c_regs): ([__m512d; R], [__m512d; R]) =
        unsafe { (load(thresholds), load_columns(columns)) };
    for (ch, j) in j.iter_mut().enumerate() {
        let column = _mm512_castpd_si512(pick(&c_regs, *j));
        let at = _mm512_add_epi64(column, rows(ch));
        // SAFETY: the caller's.
        let x = unsafe { _mm512_i64gather_pd::<8>(at, block.as_ptr()) };
        *j = step(*j, x, pick(&t_regs, *j));
    }
}

/// The places (`0..2^depth`) at the last level of `tree`'s top that the rows of
/// `block` reach, 8 rows per register in block order.
/// `thresholds` and `columns` are the splits of a complete tree of `depth` levels,
/// breadth first.
///
/// # Safety
/// AVX-512F; a whole register readable from every level's start in `thresholds` and
/// `columns` (the arrays' spare entries); every column plus BLOCK_ROWS within
/// `block`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn leaf_positions(
    thresholds: *const f64,
    columns: *const u32,
    depth: u32,
    block: &[f64],
) -> [__m512i; CHUNKS] {
    // SAFETY: the caller's.
    unsafe {
        match depth {
            0 => [_mm512_setzero_si512(); CHUNKS],
            1 => positions::<1>(thresholds, columns, block),
            2 => positions::<2>(thresholds, columns, block),
            3 => positions::<3>(thresholds, columns, block),
            4 => positions::<4>(thresholds, columns, block),
            5 => positions::<5>(thresholds, columns, block),
            6 => positions::<6>(thresholds, columns, block),
            7 => positions::<7>(thresholds, columns, block),
            // Float64 trees are at most 8 deep (`max_depth`).
            _ => positions::<8>(thresholds, columns, block),
        }
    }
}

/// [`leaf_positions`] for trees of depth `D`: the levels one after another, so that
/// the rows' places stay in registers from level to level (as in the float32
/// kernel's `positions`).
///
/// # Safety
/// As [`leaf_positions`]'s.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn positions<const D: u32>(
    thresholds: *const f64,
    columns: *const u32,
    block: &[f64],
) -> [__m512i; CHUNKS] {
    let mut j = [_mm512_setzero_si512(); CHUNKS];
    let (t, c) = (thresholds, columns);
    // SAFETY: `thresholds` and `columns` hold SPARE_SPLITS (16) spare entries after
    // the last tree's splits, so 8 from any level's start are readable, and a level
    // of more than 8 splits is read in whole registers. Columns were checked against
    // `block_len` when the trees were built.
    unsafe {
        let at = |level: u32| (1usize << level) - 1;
        loaded_level::<1>(&mut j, t, c, block);
        if D > 1 {
            loaded_level::<2>(&mut j, t.add(at(1)), c.add(at(1)), block);
        }
        if D > 2 {
            loaded_level::<4>(&mut j, t.add(at(2)), c.add(at(2)), block);
        }
        if D > 3 {
            loaded_level::<8>(&mut j, t.add(at(3)), c.add(at(3)), block);
        }
        if D > 4 {
            picked_level::<2>(&mut j, t.add(at(4)), c.add(at(4)), block);
        }
        if D > 5 {
            picked_level::<4>(&mut j, t.add(at(5)), c.add(at(5)), block);
        }
        if D > 6 {
            picked_level::<8>(&mut j, t.add(at(6)), c.add(at(6)), block);
        }
        if D > 7 {
            picked_level::<16>(&mut j, t.add(at(7)), c.add(at(7)), block);
        }
    }
    j
}

/// Adds every tree's leaves onto the float64 `sums` (by output, [`BLOCK_ROWS`] rows
/// each) for the rows of `block`.
///
/// # Safety
/// AVX-512F; `columns` is `c.columns` or `c.folded_columns` (for a block filled to
/// match); `block.len() >= c.block_len`; `sums.len() >= c.n_outputs * BLOCK_ROWS`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn block_sums(
    c: &Complete<f64>,
    columns: &[u32],
    block: &[f64],
    sums: &mut [f64],
) {
    for tree in &c.trees {
        // SAFETY: the caller's.
        let leaf = unsafe { tree_positions(c, columns, tree, block) };
        let at = tree.output as usize * BLOCK_ROWS;
        let Some(run) = sums.get_mut(at..at + BLOCK_ROWS) else {
            continue;
        };
        let values = c.values[tree.first_value as usize..].as_ptr();
        // SAFETY: `values` holds 16 spare values after the last tree's, so whole
        // registers from a tree's first leaf are readable; a gathered place is below
        // 2^depth, inside the tree's values.
        unsafe {
            match tree.depth {
                0..=3 => add_picked::<1>(values, &leaf, run),
                4 => add_picked::<2>(values, &leaf, run),
                5 => add_picked::<4>(values, &leaf, run),
                6 => add_picked::<8>(values, &leaf, run),
                7 => add_picked::<16>(values, &leaf, run),
                _ => {
                    for (&leaf, run) in leaf.iter().zip(run.chunks_exact_mut(8)) {
                        let v = _mm512_i64gather_pd::<8>(leaf, values);
                        let sum = _mm512_add_pd(_mm512_loadu_pd(run.as_ptr()), v);
                        _mm512_storeu_pd(run.as_mut_ptr(), sum);
                    }
                }
            }
        }
    }
}
