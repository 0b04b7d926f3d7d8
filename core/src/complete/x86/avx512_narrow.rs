//! The complete-tree kernel for float32 thresholds: 16 rows to a register.
//!
//! Per level and 16 rows: each row's split's threshold and column picked from
//! registers by permutes (a level of up to 256 splits), the rows' inputs loaded and
//! blended by the bits of each row's place (the top four levels: 15 splits) or
//! gathered from the block, one comparison, and `j = 2j + right`. The eight
//! registers of a block's 128 rows step level by level side by side, so the gathers
//! of one overlap the latency of the others'. A tree's leaves (up to 256) are picked
//! from registers the same way.
//!
//! Picking from registers instead of gathering is what makes this fast: a 16-lane
//! gather measured about 20 cycles on the Zen 5 CPU this was tuned on, a permute one.
//! (The gathers of the inputs, four levels of a depth-8 tree, are still half its
//! time: about 13 cycles each however many lanes their mask keeps.) Where every
//! column fits 16 bits (up to 256 features), the columns of levels of 64 splits and
//! more are picked as 16-bit numbers (AVX-512BW word permutes): half the registers
//! to pick from.

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use super::super::{Complete, CompleteTree};
use super::walk::complete_walk;
use crate::prepared::BLOCK_ROWS;

/// Registers of 16 rows in a block.
const CHUNKS: usize = BLOCK_ROWS / 16;
const _: () = assert!(BLOCK_ROWS.is_multiple_of(16));

/// Lane `i` of the 16-bit numbers `from` at `j_i` (of `16 R`, `R` 4 to 16),
/// zero-extended: a word permute across each pair of registers, then blends by the
/// higher bits of `j`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn pick_words<const R: usize>(from: &[__m512i; 8], j: __m512i) -> __m512i {
    // The even words of each lane: j's low 16 bits index; the odd ones are zeroed.
    const LOW_WORDS: __mmask32 = 0x5555_5555;
    let mut picked = [_mm512_setzero_si512(); 4];
    for (p, picked) in picked.iter_mut().take(R / 4).enumerate() {
        *picked = _mm512_maskz_permutex2var_epi16(LOW_WORDS, from[2 * p], j, from[2 * p + 1]);
    }
    let (mut n, mut bit) = (R / 4, 64);
    while n > 1 {
        let high = _mm512_test_epi32_mask(j, _mm512_set1_epi32(bit));
        for p in 0..n / 2 {
            picked[p] = _mm512_mask_blend_epi32(high, picked[2 * p], picked[2 * p + 1]);
        }
        n /= 2;
        bit <<= 1;
    }
    picked[0]
}

/// Whether every column of splits checked against `block_len` (each below
/// `block_len - BLOCK_ROWS`) fits 16 bits, for [`pick_words`]: up to 256 features.
fn fits_16_bits(block_len: usize) -> bool {
    block_len.saturating_sub(BLOCK_ROWS) <= u16::MAX as usize
}

/// One step down: `j = 2j + right`, right when not `x <= t` (`_CMP_NLE_UQ`: NaN goes
/// right, as in the portable walk).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn step(j: __m512i, x: __m512, t: __m512) -> __m512i {
    let right = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(x, t);
    let next = _mm512_add_epi32(j, j);
    // `next | 1` in the right lanes (`next` is even): one masked instruction. Written
    // as a masked addition (or OR), LLVM makes three of it (a vector of the mask, a
    // shift, an OR): 1.02x the XGBoost bench's batch.
    let one = _mm512_set1_epi32(1);
    _mm512_mask_ternarylogic_epi32::<0xfe>(next, right, one, one)
}

complete_walk! {
    feature: "avx512f,avx512bw",
    threshold: f32,
    values: __m512,
    places: __m512i,
    bit: i32,
    zero: _mm512_setzero_ps(),
    load: _mm512_loadu_ps,
    rows: (
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_add_epi32,
        _mm512_set1_epi32,
    ),
    walk_args: |c| (fits_16_bits(c.block_len)),
    places_args: (block_len: usize => fits_16_bits(block_len)),
    store: |p, j| _mm512_storeu_si512(p.as_mut_ptr().cast(), j),
    masks: (_mm512_test_epi32_mask, __mmask16, _mm512_mask_blend_ps),
    pick: (_mm512_permutexvar_ps, _mm512_permutex2var_ps),
    gather: |base, at| (
        _mm512_i32gather_ps::<4>(at, base),
        _mm512_i32gather_epi32::<4>(at, base),
    ),
    add: (_mm512_add_ps, _mm512_storeu_ps),
}

/// A level of up to `16 R` splits held in registers: each row's split picked by
/// permutes, its input gathered from the block.
///
/// # Safety
/// AVX-512F and BW; `16 R` readable splits at `thresholds` and `columns`; every
/// column plus BLOCK_ROWS within `block`, and below 2^16 if `words16`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn picked_level<const R: usize, const WORDS16: bool>(
    j: &mut [__m512i; CHUNKS],
    thresholds: *const f32,
    columns: *const u32,
    block: &[f32],
) {
    // SAFETY: the caller's.
    let (t_regs, c_regs): ([__m512; R], [__m512; R]) =
        unsafe { (load(thresholds), load(columns.cast())) };
    // Levels of 64 splits or more, when every column fits 16 bits: the columns as
    // 16-bit numbers, 32 to a register, picked by word permutes from half the
    // registers (a level of 128 splits: two permutes and a blend, not four and
    // three): 1.035x the XGBoost bench's batch.
    let words16 = R >= 4 && WORDS16;
    let mut words = [_mm512_setzero_si512(); 8];
    if words16 {
        for (p, w) in words.iter_mut().take(R / 2).enumerate() {
            let lo = _mm512_cvtepi32_epi16(_mm512_castps_si512(c_regs[2 * p]));
            let hi = _mm512_cvtepi32_epi16(_mm512_castps_si512(c_regs[2 * p + 1]));
            *w = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        }
    }
    for (ch, j) in j.iter_mut().enumerate() {
        let column = if words16 {
            pick_words::<R>(&words, *j)
        } else {
            _mm512_castps_si512(pick(&c_regs, *j))
        };
        let at = _mm512_add_epi32(column, rows(ch));
        // SAFETY: the caller's.
        let x = unsafe { _mm512_i32gather_ps::<4>(at, block.as_ptr()) };
        *j = step(*j, x, pick(&t_regs, *j));
    }
}

/// The leaf positions (`0..2^depth`) the rows of `block` reach in `tree`, 16 rows per
/// register in block order.
/// `thresholds` and `columns` are the splits of a complete tree of `depth` levels,
/// breadth first.
///
/// # Safety
/// AVX-512F and BW; a whole register readable from every level's start in
/// `thresholds` and `columns` (the arrays' spare entries); every column plus
/// BLOCK_ROWS within `block`, and below 2^16 if `words16`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn leaf_positions(
    thresholds: *const f32,
    columns: *const u32,
    depth: u32,
    block: &[f32],
    words16: bool,
) -> [__m512i; CHUNKS] {
    // SAFETY: the caller's.
    unsafe {
        if words16 {
            by_depth::<true>(thresholds, columns, depth, block)
        } else {
            by_depth::<false>(thresholds, columns, depth, block)
        }
    }
}

/// [`leaf_positions`], the columns of levels of 64 splits and more picked as 16-bit
/// numbers (`WORDS16`) or 32-bit ones.
///
/// # Safety
/// As [`leaf_positions`]'s, with `words16 = WORDS16`.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn by_depth<const WORDS16: bool>(
    thresholds: *const f32,
    columns: *const u32,
    depth: u32,
    block: &[f32],
) -> [__m512i; CHUNKS] {
    // SAFETY: the caller's.
    unsafe {
        match depth {
            0 => [_mm512_setzero_si512(); CHUNKS],
            1 => positions::<1, WORDS16>(thresholds, columns, block),
            2 => positions::<2, WORDS16>(thresholds, columns, block),
            3 => positions::<3, WORDS16>(thresholds, columns, block),
            4 => positions::<4, WORDS16>(thresholds, columns, block),
            5 => positions::<5, WORDS16>(thresholds, columns, block),
            6 => positions::<6, WORDS16>(thresholds, columns, block),
            7 => positions::<7, WORDS16>(thresholds, columns, block),
            8 => positions::<8, WORDS16>(thresholds, columns, block),
            _ => {
                // Levels 8 and deeper read the same arrays as `positions` (whole
                // registers from each level's start, within the spare entries).
                let mut j = positions::<8, WORDS16>(thresholds, columns, block);
                let at = |level: u32| (1usize << level) - 1;
                let (t, c) = (thresholds.add(at(8)), columns.add(at(8)));
                picked_level::<16, WORDS16>(&mut j, t, c, block);
                for level in 9..depth {
                    let (t, c) = (thresholds.add(at(level)), columns.add(at(level)));
                    gathered_level(&mut j, t, c, block);
                }
                j
            }
        }
    }
}

/// [`leaf_positions`] for trees of depth `D` (1 to 8), and the top 8 levels of
/// deeper ones: the levels one after another, so that the rows' places stay in
/// registers from level to level. A loop over the levels (a `match` on the level in
/// it) kept them in memory, a store and a load per register and level: 1.11x the
/// XGBoost bench's batch without them. Deeper trees go on from this function's
/// places rather than have a copy of their own: with two copies calling it, the
/// largest level (128 splits) was left out of line (1.02x).
///
/// # Safety
/// As [`leaf_positions`]'s.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn positions<const D: u32, const WORDS16: bool>(
    thresholds: *const f32,
    columns: *const u32,
    block: &[f32],
) -> [__m512i; CHUNKS] {
    // Each row's position within its level (`k - (2^level - 1)` of the breadth-first
    // index `k`): its split's place in the level, and at the end its leaf.
    let mut j = [_mm512_setzero_si512(); CHUNKS];
    let (t, c) = (thresholds, columns);
    // SAFETY: `thresholds` and `columns` hold SPARE_SPLITS (16) spare entries after
    // the last tree's splits, so 16 from any level's start are readable, and a level
    // of more than 16 splits is read in whole registers. Columns were checked
    // against `block_len` when the trees were built.
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
            picked_level::<1, WORDS16>(&mut j, t.add(at(4)), c.add(at(4)), block);
        }
        if D > 5 {
            picked_level::<2, WORDS16>(&mut j, t.add(at(5)), c.add(at(5)), block);
        }
        if D > 6 {
            picked_level::<4, WORDS16>(&mut j, t.add(at(6)), c.add(at(6)), block);
        }
        if D > 7 {
            picked_level::<8, WORDS16>(&mut j, t.add(at(7)), c.add(at(7)), block);
        }
    }
    j
}

/// Adds every tree's leaves onto `sums` (by output, [`BLOCK_ROWS`] rows each) for
/// the rows of `block`, in float32 (`F32`) or float64.
///
/// # Safety
/// AVX-512F and BW; `columns` is `c.columns` or `c.folded_columns` (for a block filled to
/// match); `block.len() >= c.block_len`; `sums.len() >= c.n_outputs * BLOCK_ROWS`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn block_sums<const F32: bool>(
    c: &Complete<f32>,
    columns: &[u32],
    block: &[f32],
    sums: &mut [f64],
) {
    if F32 {
        // The sums as float32: a float32 sum rounds to float32 after every
        // addition, so holding it in float32 between them changes nothing.
        let mut by_output: alloc::vec::Vec<f32> = sums.iter().map(|&s| s as f32).collect();
        // SAFETY: the caller's.
        unsafe { trees_f32(c, columns, block, &mut by_output) };
        for (s, &v) in sums.iter_mut().zip(&by_output) {
            *s = v as f64;
        }
    } else {
        // SAFETY: the caller's.
        unsafe { trees_f64(c, columns, block, sums) };
    }
}

/// The trees of `c` over `block`, onto float32 sums.
///
/// # Safety
/// As [`block_sums`]'s.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn trees_f32(c: &Complete<f32>, columns: &[u32], block: &[f32], sums: &mut [f32]) {
    for tree in &c.trees {
        // SAFETY: the caller's.
        let leaf = unsafe { tree_positions(c, columns, tree, block) };
        let at = tree.output as usize * BLOCK_ROWS;
        let Some(run) = sums.get_mut(at..at + BLOCK_ROWS) else {
            continue;
        };
        let values = c.values_f32[tree.first_value as usize..].as_ptr();
        // SAFETY: `values_f32` holds 16 spare values after the last tree's, so whole
        // registers from a tree's first leaf are readable; a gathered position is
        // below 2^depth, inside the tree's values.
        unsafe {
            match tree.depth {
                0..=4 => add_picked::<1>(values, &leaf, run),
                5 => add_picked::<2>(values, &leaf, run),
                6 => add_picked::<4>(values, &leaf, run),
                7 => add_picked::<8>(values, &leaf, run),
                8 => add_picked::<16>(values, &leaf, run),
                _ => {
                    for (&leaf, run) in leaf.iter().zip(run.chunks_exact_mut(16)) {
                        let v = _mm512_i32gather_ps::<4>(leaf, values);
                        let sum = _mm512_add_ps(_mm512_loadu_ps(run.as_ptr()), v);
                        _mm512_storeu_ps(run.as_mut_ptr(), sum);
                    }
                }
            }
        }
    }
}

/// The trees of `c` over `block`, onto float64 sums.
///
/// # Safety
/// As [`block_sums`]'s.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn trees_f64(c: &Complete<f32>, columns: &[u32], block: &[f32], sums: &mut [f64]) {
    for tree in &c.trees {
        // SAFETY: the caller's.
        let leaf = unsafe { tree_positions(c, columns, tree, block) };
        let at = tree.output as usize * BLOCK_ROWS;
        let Some(run) = sums.get_mut(at..at + BLOCK_ROWS) else {
            continue;
        };
        let values = c.values[tree.first_value as usize..].as_ptr();
        for (ch, &leaf) in leaf.iter().enumerate() {
            let halves = [
                _mm512_castsi512_si256(leaf),
                _mm512_extracti64x4_epi64::<1>(leaf),
            ];
            for (h, leaf) in halves.into_iter().enumerate() {
                // SAFETY: a position is below 2^depth, inside the tree's values; 8
                // sums from 16 ch + 8 h < BLOCK_ROWS.
                unsafe {
                    let v = _mm512_i32gather_pd::<8>(leaf, values);
                    let s = run.as_mut_ptr().add(16 * ch + 8 * h);
                    _mm512_storeu_pd(s, _mm512_add_pd(_mm512_loadu_pd(s), v));
                }
            }
        }
    }
}
