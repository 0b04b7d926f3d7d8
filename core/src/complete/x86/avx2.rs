//! The complete-tree kernel for float32 thresholds on CPUs with AVX2 but not
//! AVX-512: 8 rows to a register.
//!
//! The AVX-512 kernel's method ([`super::avx512_narrow`]) with AVX2's smaller tools:
//! a permute reaches 8 values (not 32), so splits are picked from registers only down
//! to level 5 (32 splits) and gathered below, and comparisons give vector masks that
//! blends and the step take as numbers (`-1` where true).

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use super::super::{Complete, CompleteTree};
use super::walk::complete_walk;
use crate::prepared::BLOCK_ROWS;

/// Registers of 8 rows in a block.
const CHUNKS: usize = BLOCK_ROWS / 8;
const _: () = assert!(BLOCK_ROWS.is_multiple_of(8));

/// Which lanes of `j` have `bit` set, as a blend mask.
#[target_feature(enable = "avx2")]
#[inline]
fn has_bit(j: __m256i, bit: i32) -> __m256 {
    let bit = _mm256_set1_epi32(bit);
    _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, bit), bit))
}

/// Lane `i` of `from[j_i / 8]` at lane `j_i % 8` (`R` a power of two up to 4): a
/// permute of each register, then blends by the higher bits of `j`.
#[target_feature(enable = "avx2")]
#[inline]
fn pick<const R: usize>(from: &[__m256; R], j: __m256i) -> __m256 {
    let mut picked = [_mm256_setzero_ps(); 4];
    for (p, from) in picked.iter_mut().zip(from) {
        *p = _mm256_permutevar8x32_ps(*from, j);
    }
    let (mut n, mut bit) = (R, 8);
    while n > 1 {
        let high = has_bit(j, bit);
        for p in 0..n / 2 {
            picked[p] = _mm256_blendv_ps(picked[2 * p], picked[2 * p + 1], high);
        }
        n /= 2;
        bit <<= 1;
    }
    picked[0]
}

/// One step down: `j = 2j + right`, right when not `x <= t` (`_CMP_NLE_UQ`: NaN goes
/// right, as in the portable walk). The comparison's mask is `-1` where true.
#[target_feature(enable = "avx2")]
#[inline]
fn step(j: __m256i, x: __m256, t: __m256) -> __m256i {
    let right = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NLE_UQ>(x, t));
    _mm256_sub_epi32(_mm256_add_epi32(j, j), right)
}

/// `a`'s lanes, and `b`'s where `high` is set.
#[target_feature(enable = "avx2")]
#[inline]
fn blend(high: __m256, a: __m256, b: __m256) -> __m256 {
    _mm256_blendv_ps(a, b, high)
}

complete_walk! {
    feature: "avx2",
    threshold: f32,
    values: __m256,
    places: __m256i,
    bit: i32,
    zero: _mm256_setzero_ps(),
    load: _mm256_loadu_ps,
    rows: (
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        _mm256_add_epi32,
        _mm256_set1_epi32,
    ),
    walk_args: |c| (),
    places_args: (),
    store: |p, j| _mm256_storeu_si256(p.as_mut_ptr().cast(), j),
    gather: |base, at| (
        _mm256_i32gather_ps::<4>(base, at),
        _mm256_i32gather_epi32::<4>(base, at),
    ),
}

/// A level of up to `8 R` splits held in registers: each row's split picked by
/// permutes, its input gathered from the block.
///
/// # Safety
/// AVX2; `8 R` readable splits at `thresholds` and `columns`; every column plus
/// BLOCK_ROWS within `block`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn picked_level<const R: usize>(
    j: &mut [__m256i; CHUNKS],
    thresholds: *const f32,
    columns: *const u32,
    block: &[f32],
) {
    // SAFETY: the caller's.
    let (t_regs, c_regs): ([__m256; R], [__m256; R]) =
        unsafe { (load(thresholds), load(columns.cast())) };
    for (ch, j) in j.iter_mut().enumerate() {
        let column = _mm256_castps_si256(pick(&c_regs, *j));
        let at = _mm256_add_epi32(column, rows(ch));
        // SAFETY: the caller's.
        let x = unsafe { _mm256_i32gather_ps::<4>(block.as_ptr(), at) };
        *j = step(*j, x, pick(&t_regs, *j));
    }
}

/// The leaf places (`0..2^depth`) the rows of `block` reach in `tree`, 8 rows per
/// register in block order.
/// `thresholds` and `columns` are the splits of a complete tree of `depth` levels,
/// breadth first.
///
/// # Safety
/// AVX2; a whole register readable from every level's start in `thresholds` and
/// `columns` (the arrays' spare entries); every column plus BLOCK_ROWS within
/// `block`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn leaf_positions(
    thresholds: *const f32,
    columns: *const u32,
    depth: u32,
    block: &[f32],
) -> [__m256i; CHUNKS] {
    let mut j = [_mm256_setzero_si256(); CHUNKS];
    for level in 0..depth {
        // SAFETY: `thresholds` and `columns` hold SPARE_SPLITS (16) spare entries
        // after the last tree's splits, so 8 from any level's start are readable,
        // and a level of more than 8 splits is read in whole registers. Columns were
        // checked against `block_len` when the trees were built.
        unsafe {
            let start = (1 << level) - 1;
            let t = thresholds.add(start);
            let col = columns.add(start);
            match level {
                0 => loaded_level::<1>(&mut j, t, col, block),
                1 => loaded_level::<2>(&mut j, t, col, block),
                2 => loaded_level::<4>(&mut j, t, col, block),
                3 => loaded_level::<8>(&mut j, t, col, block),
                4 => picked_level::<2>(&mut j, t, col, block),
                5 => picked_level::<4>(&mut j, t, col, block),
                _ => gathered_level(&mut j, t, col, block),
            }
        }
    }
    j
}

/// Adds every tree's leaves onto `sums` (by output, [`BLOCK_ROWS`] rows each) for
/// the rows of `block`, in float32 (`F32`) or float64.
///
/// # Safety
/// AVX2; `columns` is `c.columns` or `c.folded_columns` (for a block filled to
/// match); `block.len() >= c.block_len`; `sums.len() >= c.n_outputs * BLOCK_ROWS`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn block_sums<const F32: bool>(
    c: &Complete<f32>,
    columns: &[u32],
    block: &[f32],
    sums: &mut [f64],
) {
    // Float32 sums held as float32: such a sum rounds to float32 after every
    // addition, so holding it in float32 between them changes nothing.
    let mut sums32: alloc::vec::Vec<f32> = if F32 {
        sums.iter().map(|&s| s as f32).collect()
    } else {
        alloc::vec::Vec::new()
    };
    for tree in &c.trees {
        // SAFETY: the caller's.
        let leaf = unsafe { tree_positions(c, columns, tree, block) };
        let at = tree.output as usize * BLOCK_ROWS;
        if F32 {
            let Some(run) = sums32.get_mut(at..at + BLOCK_ROWS) else {
                continue;
            };
            let values = c.values_f32[tree.first_value as usize..].as_ptr();
            for (&leaf, run) in leaf.iter().zip(run.chunks_exact_mut(8)) {
                // SAFETY: a place is below 2^depth, inside the tree's values; 8 sums
                // in `run`.
                unsafe {
                    let v = _mm256_i32gather_ps::<4>(values, leaf);
                    let sum = _mm256_add_ps(_mm256_loadu_ps(run.as_ptr()), v);
                    _mm256_storeu_ps(run.as_mut_ptr(), sum);
                }
            }
        } else {
            let Some(run) = sums.get_mut(at..at + BLOCK_ROWS) else {
                continue;
            };
            let values = c.values[tree.first_value as usize..].as_ptr();
            for (&leaf, run) in leaf.iter().zip(run.chunks_exact_mut(8)) {
                let halves = [
                    _mm256_castsi256_si128(leaf),
                    _mm256_extracti128_si256::<1>(leaf),
                ];
                for (half, run) in halves.into_iter().zip(run.chunks_exact_mut(4)) {
                    // SAFETY: as above, four rows per half.
                    unsafe {
                        let v = _mm256_i32gather_pd::<8>(values, half);
                        let sum = _mm256_add_pd(_mm256_loadu_pd(run.as_ptr()), v);
                        _mm256_storeu_pd(run.as_mut_ptr(), sum);
                    }
                }
            }
        }
    }
    if F32 {
        for (s, &v) in sums.iter_mut().zip(&sums32) {
            *s = v as f64;
        }
    }
}
