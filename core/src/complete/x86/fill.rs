//! The batch block's fill for the float32 complete-tree walk on AVX-512: a block of
//! rows without missing inputs laid out one column per feature (as
//! `fill_folded_block` does), by tiles of 16 rows and 8 features transposed in
//! registers.
//!
//! Why: the portable fill converts and stores one input at a time (a load, a
//! conversion, a NaN test and a store each): 7% of the XGBoost bench's batch time.
//! Here 16 loads of 8 inputs each (a row's features, contiguous), 16 conversions to
//! float32 and 32 shuffles give 8 columns of 16 rows, stored whole.
//!
//! Exactness: `_mm512_cvtpd_ps` rounds to nearest, ties to even (the default
//! rounding mode, which Rust code never changes), as `f64 as f32` does; NaN stays
//! NaN and is tested after the conversion, as the portable fill tests it.

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use crate::prepared::{prefetch, BLOCK_ROWS};

/// Rows and features of a transposed tile.
const ROWS: usize = 16;
const FEATURES: usize = 8;

/// Lays out `rows` (at most [`BLOCK_ROWS`] rows of `nf` features) in `block` by
/// column, one column per feature (`f × BLOCK_ROWS`), rounded to float32; `false`
/// if some input is missing (NaN), and the block then is not whole. Rows past a
/// short block's end keep what they held.
///
/// # Safety
/// AVX-512F; `block.len() >= nf * BLOCK_ROWS`; `rows.len() <= nf * BLOCK_ROWS`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn fill_folded(block: &mut [f32], rows: &[f64], nf: usize) -> bool {
    let n = rows.len() / nf;
    let tiles = n / ROWS;
    let groups = nf / FEATURES;
    let mut missing: __mmask16 = 0;
    for t in 0..tiles {
        let tile = &rows[t * ROWS * nf..(t + 1) * ROWS * nf];
        if let Some(next) = rows.get((t + 1) * ROWS * nf..(t + 2) * ROWS * nf) {
            prefetch(next);
        }
        for g in 0..groups {
            // SAFETY: the tile's 16 rows hold features `8 g .. 8 g + 8` (8 g + 8 <=
            // nf); the 8 columns' places `16 t .. 16 t + 16` are inside `block`
            // (16 t + 16 <= n <= BLOCK_ROWS).
            missing |= unsafe {
                transposed(
                    tile.as_ptr().add(FEATURES * g),
                    nf,
                    block.as_mut_ptr().add(FEATURES * g * BLOCK_ROWS + ROWS * t),
                )
            };
        }
    }
    // The features past the last group of 8, and the rows of a short tile, one input
    // at a time.
    let mut nan = false;
    for (k, row) in rows.chunks_exact(nf).enumerate() {
        let first = if k < tiles * ROWS {
            groups * FEATURES
        } else {
            0
        };
        for (f, &x) in row.iter().enumerate().skip(first) {
            let x = x as f32;
            nan |= x.is_nan();
            if let Some(slot) = block.get_mut(f * BLOCK_ROWS + k) {
                *slot = x;
            }
        }
    }
    missing == 0 && !nan
}

/// Features `0..8` of 16 rows from `rows` (each `nf` apart) as float32, stored as 8
/// columns of 16 at `out` (each [`BLOCK_ROWS`] apart); the lanes that are NaN.
///
/// # Safety
/// AVX-512F; 8 readable inputs at `rows + k nf` for k < 16; 16 writable places at
/// `out + f BLOCK_ROWS` for f < 8.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn transposed(rows: *const f64, nf: usize, out: *mut f32) -> __mmask16 {
    // c[k]: 128-bit lanes 0 and 1 hold row k's features 0-3 and 4-7, lanes 2 and 3
    // row k + 8's.
    let mut c = [_mm512_setzero_ps(); 8];
    for (k, c) in c.iter_mut().enumerate() {
        // SAFETY: the caller's.
        let (lo, hi) = unsafe {
            (
                _mm512_cvtpd_ps(_mm512_loadu_pd(rows.add(k * nf))),
                _mm512_cvtpd_ps(_mm512_loadu_pd(rows.add((k + 8) * nf))),
            )
        };
        let both = _mm512_insertf64x4::<1>(
            _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
            _mm256_castps_pd(hi),
        );
        *c = _mm512_castpd_ps(both);
    }
    let mut nan = 0;
    for &c in &c {
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(c, c);
    }
    // Within each 128-bit lane: t[2i] holds rows 2i, 2i + 1 of features 0, 1 (or 4,
    // 5), t[2i + 1] of features 2, 3 (or 6, 7), interleaved.
    let mut t = [_mm512_setzero_ps(); 8];
    for i in 0..4 {
        t[2 * i] = _mm512_unpacklo_ps(c[2 * i], c[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(c[2 * i], c[2 * i + 1]);
    }
    // u[4h + f]: rows 4h .. 4h + 4 (and 4h + 8 ..) of feature f (lanes 0 and 2) and
    // f + 4 (lanes 1 and 3).
    let mut u = [_mm512_setzero_ps(); 8];
    for h in 0..2 {
        let (a, b) = (4 * h, 4 * h + 2);
        u[4 * h] = _mm512_shuffle_ps::<0x44>(t[a], t[b]);
        u[4 * h + 1] = _mm512_shuffle_ps::<0xee>(t[a], t[b]);
        u[4 * h + 2] = _mm512_shuffle_ps::<0x44>(t[a + 1], t[b + 1]);
        u[4 * h + 3] = _mm512_shuffle_ps::<0xee>(t[a + 1], t[b + 1]);
    }
    // Column f: the 128-bit lanes of rows 0-3, 4-7, 8-11, 12-15 from u[f] and u[4 + f].
    let low = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    let high = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    for f in 0..4 {
        let (a, b) = (u[f], u[4 + f]);
        // SAFETY: the caller's.
        unsafe {
            _mm512_storeu_ps(out.add(f * BLOCK_ROWS), _mm512_permutex2var_ps(a, low, b));
            _mm512_storeu_ps(
                out.add((f + 4) * BLOCK_ROWS),
                _mm512_permutex2var_ps(a, high, b),
            );
        }
    }
    nan
}
