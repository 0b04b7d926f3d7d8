//! The interval walk's kernel for x86-64 CPUs with AVX-512 (F, CD, VL): eight rows
//! at a time, and eight trees' masks to a register.
//!
//! Each feature's interval is found for eight rows at once, one lane per row: the
//! rows' values are compared with each threshold in turn and the lanes above it
//! counted (no binary search, whose steps wait on each other). Then, per row and
//! chunk of eight trees, the features' masks are ANDed in one register, the lowest
//! set bit of each counted (isolated, then `63 - lzcnt`) and added to the trees'
//! first leaves: eight leaf indices from a handful of instructions, where the portable
//! walk takes a count and a check per tree. Each row adds its leaves (four float64
//! lanes, one register) in tree order, through the AVX2 kernel's `add_leaf`. When every tree has at most 32 leaves (the
//! Iris forest's), the masks are kept a second time as 32 bits
//! ([`Intervals::masks32`]): sixteen trees to a register and half the cache
//! (Iris: 19.0 against 13.1M rows/s a core with 64-bit masks, in the same run).
//!
//! Exactness: the intervals are the portable walk's (the number of thresholds below
//! the value, NaN past them all), and so are the leaves and the order of additions,
//! one addition per lane, rounded to float32 after each for a float32 model.

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use super::avx2::{add_leaf, load_sums, store_sums};
use super::{Intervals, Sums, MAX_FEATURES, SUMS};

/// Rows walked together: one per lane of a register of float64s.
pub(super) const ROWS: usize = 8;

const _: () = assert!(SUMS == 4);

/// Adds the leaves of the [`ROWS`] rows at `rows` (`n_features` values each) onto
/// `sums`, for the first `trees` trees of `iv`.
///
/// Mask rows and leaf indices are clamped to the last: the tables always hold the
/// interval and the leaf the walk finds (see [`Intervals`]), so the clamps only keep
/// the reads in bounds whatever the tables.
///
/// # Safety
/// The CPU runs AVX-512F, CD and VL and AVX2; `rows` points to `ROWS × n_features`
/// readable values and every feature of `iv.features` is below `n_features`;
/// `iv.masks` holds at least `iv.stride` masks, `iv.first` exactly `iv.stride`
/// entries, a multiple of 8 and at least `trees`; `iv.leaves` is not empty; and
/// unless `iv.masks32` is empty, it holds at least a row (`iv.stride` rounded up to
/// 16 masks) and `iv.leaves` fewer than 2^26 leaves.
#[target_feature(enable = "avx512f,avx512cd,avx512vl,avx2")]
pub(super) unsafe fn block_sums<const F32: bool>(
    iv: &Intervals,
    rows: *const f64,
    n_features: usize,
    trees: usize,
    sums: &mut [Sums; ROWS],
) {
    let use32 = !iv.masks32.is_empty();
    let (stride, table_len) = if !use32 {
        (iv.stride, iv.masks.len())
    } else {
        (iv.stride.next_multiple_of(16), iv.masks32.len() * 16)
    };
    // Per feature, per row: its mask row's first mask in `iv.masks` (or `iv.masks32`).
    let mut offsets = [[0u64; ROWS]; MAX_FEATURES];
    let lanes = _mm512_mul_epu32(
        _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi64(n_features as i64),
    );
    let last_row = _mm512_set1_epi64((table_len - stride) as i64);
    let one = _mm512_set1_epi64(1);
    for (offsets, f) in offsets.iter_mut().zip(&iv.features) {
        // SAFETY: lane `r` reads value `feature` of row `r`, in bounds (the caller's).
        let mut x = unsafe { _mm512_i64gather_pd::<8>(lanes, rows.add(f.feature as usize)) };
        if iv.narrow {
            x = _mm512_cvtps_pd(_mm512_cvtpd_ps(x));
        }
        // Thresholds below x (none when x is NaN: ordered comparisons are false).
        let mut interval = _mm512_setzero_si512();
        for &t in &f.thresholds {
            let below = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_set1_pd(t), x);
            interval = _mm512_mask_add_epi64(interval, below, interval, one);
        }
        let nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x);
        let past = _mm512_set1_epi64(f.thresholds.len() as i64 + 1);
        let interval = _mm512_mask_mov_epi64(interval, nan, past);
        let row = _mm512_add_epi64(interval, _mm512_set1_epi64(i64::from(f.first_row)));
        let at = _mm512_mul_epu32(row, _mm512_set1_epi64(stride as i64));
        let at = _mm512_min_epu64(at, last_row);
        // SAFETY: eight u64s.
        unsafe { _mm512_storeu_si512(offsets.as_mut_ptr().cast(), at) };
    }

    // SAFETY: the caller's, and the offsets are clamped above.
    unsafe { add_leaves_by_features!(F32, iv, offsets, trees, sums, use32) }
}

/// Adds the leaves of [`ROWS`] rows onto `sums`, for the first `trees` trees: those
/// that the first `NF` features' mask rows pick (`offsets`: per feature, per row, its
/// first mask in `iv.masks`).
///
/// # Safety
/// As [`block_sums`]; every offset is at most `iv.masks.len() - iv.stride`.
#[target_feature(enable = "avx512f,avx512cd,avx512vl,avx2")]
unsafe fn add_leaves<const F32: bool, const NF: usize>(
    iv: &Intervals,
    offsets: &[[u64; ROWS]; MAX_FEATURES],
    trees: usize,
    sums: &mut [Sums; ROWS],
) {
    let mut acc = load_sums(sums);
    let last = _mm512_set1_epi64(iv.leaves.len() as i64 - 1);
    let top = _mm512_set1_epi64(i64::MIN);
    let c63 = _mm512_set1_epi64(63);
    let masks = iv.masks.as_ptr();
    let leaves = iv.leaves.as_ptr();
    for (c, first) in iv.first.as_chunks::<8>().0.iter().enumerate() {
        let base = c * 8;
        if base >= trees {
            break;
        }
        // SAFETY: eight u32s.
        let first = _mm512_cvtepu32_epi64(unsafe { _mm256_loadu_si256(first.as_ptr().cast()) });
        // Per row, the byte offsets of its eight leaves in `iv.leaves`.
        let mut index = [[0u64; 8]; ROWS];
        for (r, index) in index.iter_mut().enumerate() {
            let mut bits = _mm512_set1_epi64(-1);
            for offsets in offsets.iter().take(NF) {
                // SAFETY: a mask row starts at most `stride` masks before the end of
                // `iv.masks` (clamped above), and `base + 8` is at most `stride`.
                let m = unsafe { _mm512_loadu_si512(masks.add(offsets[r] as usize + base).cast()) };
                bits = _mm512_and_si512(bits, m);
            }
            // The top bit makes the lowest set bit exist (the portable walk's too).
            let bits = _mm512_or_si512(bits, top);
            let low = _mm512_and_si512(bits, _mm512_sub_epi64(_mm512_setzero_si512(), bits));
            let zeros = _mm512_sub_epi64(c63, _mm512_lzcnt_epi64(low));
            let leaf = _mm512_min_epu64(_mm512_add_epi64(first, zeros), last);
            let bytes = _mm512_slli_epi64::<5>(leaf);
            // SAFETY: eight u64s.
            unsafe { _mm512_storeu_si512(index.as_mut_ptr().cast(), bytes) };
        }
        let n = (trees - base).min(8);
        // SAFETY: every offset is a leaf clamped to the last, as a byte offset.
        let mut add =
            |k: usize| unsafe { add_leaf::<F32, _, 8, ROWS>(&mut acc, leaves, &index, k) };
        // A full chunk as its own loop, which the compiler unrolls.
        if n == 8 {
            (0..8).for_each(&mut add);
        } else {
            (0..n).for_each(add);
        }
    }
    store_sums(&acc, sums);
}

/// [`add_leaves`] through `iv.masks32`: sixteen trees to a register.
///
/// # Safety
/// As [`add_leaves`], the offsets into `iv.masks32` (rows of `stride` rounded up to
/// 16); `iv.leaves` has fewer than 2^26 leaves (their byte offsets fit 32 bits).
#[target_feature(enable = "avx512f,avx512cd,avx512vl,avx2")]
unsafe fn add_leaves32<const F32: bool, const NF: usize>(
    iv: &Intervals,
    offsets: &[[u64; ROWS]; MAX_FEATURES],
    trees: usize,
    sums: &mut [Sums; ROWS],
) {
    let mut acc = load_sums(sums);
    let last = _mm512_set1_epi32(iv.leaves.len() as i32 - 1);
    let top = _mm512_set1_epi32(i32::MIN);
    let c31 = _mm512_set1_epi32(31);
    let masks = iv.masks32.as_ptr().cast::<u32>();
    let leaves = iv.leaves.as_ptr();
    let first = iv.first.as_ptr();
    let mut base = 0;
    while base < trees {
        // The first leaves of sixteen trees; past the end of `first` (a multiple of 8
        // long), none.
        let k = (iv.first.len() - base).min(16);
        // SAFETY: `k` u32s from `base`, in `first`.
        let firsts =
            unsafe { _mm512_maskz_loadu_epi32(((1u32 << k) - 1) as u16, first.add(base).cast()) };
        let mut index = [[0u32; 16]; ROWS];
        for (r, index) in index.iter_mut().enumerate() {
            let mut bits = _mm512_set1_epi32(-1);
            for offsets in offsets.iter().take(NF) {
                // SAFETY: a mask row starts at most a row before the end of
                // `iv.masks32` (clamped), and `base + 16` is at most a row.
                let m = unsafe { _mm512_loadu_si512(masks.add(offsets[r] as usize + base).cast()) };
                bits = _mm512_and_si512(bits, m);
            }
            let bits = _mm512_or_si512(bits, top);
            let low = _mm512_and_si512(bits, _mm512_sub_epi32(_mm512_setzero_si512(), bits));
            let zeros = _mm512_sub_epi32(c31, _mm512_lzcnt_epi32(low));
            let leaf = _mm512_min_epu32(_mm512_add_epi32(firsts, zeros), last);
            let bytes = _mm512_slli_epi32::<5>(leaf);
            // SAFETY: sixteen u32s.
            unsafe { _mm512_storeu_si512(index.as_mut_ptr().cast(), bytes) };
        }
        let n = (trees - base).min(16);
        // SAFETY: every offset is a leaf clamped to the last, as a byte offset.
        let mut add =
            |k: usize| unsafe { add_leaf::<F32, _, 16, ROWS>(&mut acc, leaves, &index, k) };
        if n == 16 {
            (0..16).for_each(&mut add);
        } else {
            (0..n).for_each(add);
        }
        base += 16;
    }
    store_sums(&acc, sums);
}
