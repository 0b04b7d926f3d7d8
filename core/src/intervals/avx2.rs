//! The interval walk's kernel for x86-64 CPUs with AVX2 but not AVX-512 (most Intel
//! client parts, older servers): eight rows at a time, in two registers of four
//! float64 lanes for the intervals, and four 64-bit or eight 32-bit masks to a
//! register for the leaves. Also the leaves' addition, which the AVX-512 kernel
//! shares.
//!
//! The steps are the AVX-512 kernel's (see [`super::avx512`]): each feature's
//! interval counted for the rows by comparing with every threshold; per row and chunk
//! of eight trees, the features' masks ANDed, the lowest set bit of each found and
//! added to the trees' first leaves; each row's leaves added in tree order. AVX2 has
//! no leading-zero count per lane: the lowest set bit (isolated, `x & -x`) is
//! converted to float32, exactly, being a power of two, and its exponent is its index
//! plus 127. A 64-bit mask is counted as its two 32-bit halves: the low half's index,
//! or, when the low half is zero, 32 plus the high half's.
//!
//! Eight rows rather than four: each row's additions are a chain, each waiting on
//! the one before, and eight chains keep the adder busy where four left it waiting
//! (Iris, forced to AVX2 on an AVX-512 CPU: 16.2-16.5M rows/s with eight rows, 14.1-14.4M
//! with four, 15.4-16.3M with twelve; the portable walk 6.1M in the same runs). The
//! float conversion beat a scalar count per tree (Iris 16.2 against 9.5M rows/s;
//! 64-leaf trees 1.35-1.76 against 1.13-1.49 times the portable walk).
//!
//! Exactness: the intervals, the leaves and the order of additions are the portable
//! walk's, one addition per lane, rounded to float32 after each for a float32 model.

#![allow(unsafe_code)] // Intrinsics behind the caller's run-time check.

use core::arch::x86_64::*;

use super::{Intervals, Sums, MAX_FEATURES, SUMS};

/// Rows walked together: two registers of four float64 lanes.
pub(super) const ROWS: usize = 8;

const _: () = assert!(SUMS == 4 && ROWS.is_multiple_of(4));

/// Adds the leaves of the [`ROWS`] rows at `rows` (`n_features` values each) onto
/// `sums`, for the first `trees` trees of `iv`.
///
/// Mask rows and leaf indices are clamped to the last: the tables always hold the
/// interval and the leaf the walk finds (see [`Intervals`]), so the clamps only keep
/// the reads in bounds whatever the tables.
///
/// # Safety
/// The CPU runs AVX2; `rows` points to `ROWS × n_features` readable values and every
/// feature of `iv.features` is below `n_features`; `iv.masks` holds at least
/// `iv.stride` masks, `iv.first` exactly `iv.stride` entries, a multiple of 8 and at
/// least `trees`; `iv.leaves` is not empty; and unless `iv.masks32` is empty, it
/// holds at least a row (`iv.stride` rounded up to 16 masks) and `iv.leaves` fewer
/// than 2^26 leaves.
#[target_feature(enable = "avx2")]
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
    let last_row = (table_len - stride) as u64;
    const REGS: usize = ROWS / 4;
    let lanes: [__m256i; REGS] = core::array::from_fn(|q| {
        let row = |k: usize| ((q * 4 + k) * n_features) as i64;
        _mm256_set_epi64x(row(3), row(2), row(1), row(0))
    });
    for (offsets, f) in offsets.iter_mut().zip(&iv.features) {
        let mut x = [_mm256_setzero_pd(); REGS];
        for (x, &lanes) in x.iter_mut().zip(&lanes) {
            // SAFETY: lane `r` reads value `feature` of row `r`, in bounds (the caller's).
            *x = unsafe { _mm256_i64gather_pd::<8>(rows.add(f.feature as usize), lanes) };
            if iv.narrow {
                *x = _mm256_cvtps_pd(_mm256_cvtpd_ps(*x));
            }
        }
        // Thresholds below x (none when x is NaN: ordered comparisons are false); a
        // true comparison is all ones, -1.
        let mut interval = [_mm256_setzero_si256(); REGS];
        for &t in &f.thresholds {
            let t = _mm256_set1_pd(t);
            for (interval, &x) in interval.iter_mut().zip(&x) {
                let below = _mm256_cmp_pd::<_CMP_LT_OQ>(t, x);
                *interval = _mm256_sub_epi64(*interval, _mm256_castpd_si256(below));
            }
        }
        let past = _mm256_castsi256_pd(_mm256_set1_epi64x(f.thresholds.len() as i64 + 1));
        let first_row = _mm256_set1_epi64x(i64::from(f.first_row));
        let stride = _mm256_set1_epi64x(stride as i64);
        for (q, (&interval, &x)) in interval.iter().zip(&x).enumerate() {
            let nan = _mm256_cmp_pd::<_CMP_UNORD_Q>(x, x);
            let interval =
                _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(interval), past, nan));
            let row = _mm256_add_epi64(interval, first_row);
            let at = _mm256_mul_epu32(row, stride);
            // SAFETY: four u64s, within the row's `ROWS`.
            unsafe { _mm256_storeu_si256(offsets.as_mut_ptr().add(q * 4).cast(), at) };
        }
        // AVX2 has no unsigned 64-bit minimum.
        offsets.iter_mut().for_each(|o| *o = (*o).min(last_row));
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
#[target_feature(enable = "avx2")]
unsafe fn add_leaves<const F32: bool, const NF: usize>(
    iv: &Intervals,
    offsets: &[[u64; ROWS]; MAX_FEATURES],
    trees: usize,
    sums: &mut [Sums; ROWS],
) {
    let mut acc = load_sums(sums);
    let last = _mm256_set1_epi64x(iv.leaves.len() as i64 - 1);
    let top = _mm256_set1_epi64x(i64::MIN);
    let exponent = _mm256_set1_epi32(0xff);
    let low_half = _mm256_set1_epi64x(0xffff_ffff);
    let c32 = _mm256_set1_epi64x(32);
    let masks = iv.masks.as_ptr();
    let leaves = iv.leaves.as_ptr();
    for (c, first) in iv.first.as_chunks::<8>().0.iter().enumerate() {
        let base = c * 8;
        if base >= trees {
            break;
        }
        // Per row, the byte offsets of its eight leaves in `iv.leaves`.
        let mut index = [[0u64; 8]; ROWS];
        for (h, first) in first.as_chunks::<4>().0.iter().enumerate() {
            // The trees' first leaves less 127, the exponent bias added back below.
            // SAFETY: four u32s.
            let first = _mm256_sub_epi64(
                _mm256_cvtepu32_epi64(unsafe { _mm_loadu_si128(first.as_ptr().cast()) }),
                _mm256_set1_epi64x(127),
            );
            for (r, index) in index.iter_mut().enumerate() {
                let mut bits = _mm256_set1_epi64x(-1);
                for offsets in offsets.iter().take(NF) {
                    let at = offsets[r] as usize + base + h * 4;
                    // SAFETY: a mask row starts at most `stride` masks before the end
                    // of `iv.masks` (clamped above), and `base + 8` is at most `stride`.
                    let m = unsafe { _mm256_loadu_si256(masks.add(at).cast()) };
                    bits = _mm256_and_si256(bits, m);
                }
                // The top bit makes the lowest set bit exist (the portable walk's too).
                let bits = _mm256_or_si256(bits, top);
                // Each 32-bit half's lowest set bit's index plus 127, or 0 if the half
                // is zero (the high half never is).
                let low = _mm256_and_si256(bits, _mm256_sub_epi32(_mm256_setzero_si256(), bits));
                let float = _mm256_castps_si256(_mm256_cvtepi32_ps(low));
                let e = _mm256_and_si256(_mm256_srli_epi32::<23>(float), exponent);
                let lo = _mm256_and_si256(e, low_half);
                let hi = _mm256_add_epi64(_mm256_srli_epi64::<32>(e), c32);
                let lo_zero = _mm256_cmpeq_epi64(lo, _mm256_setzero_si256());
                let zeros = _mm256_blendv_epi8(lo, hi, lo_zero);
                let leaf = _mm256_add_epi64(first, zeros);
                let leaf = _mm256_blendv_epi8(leaf, last, _mm256_cmpgt_epi64(leaf, last));
                let bytes = _mm256_slli_epi64::<5>(leaf);
                // SAFETY: four u64s, within the row's eight.
                unsafe {
                    _mm256_storeu_si256(index.as_mut_ptr().cast::<u64>().add(h * 4).cast(), bytes)
                };
            }
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

/// [`add_leaves`] through `iv.masks32`: eight trees to a register.
///
/// # Safety
/// As [`add_leaves`], the offsets into `iv.masks32` (rows of `stride` rounded up to
/// 16); `iv.leaves` has fewer than 2^26 leaves (their byte offsets fit 32 bits).
#[target_feature(enable = "avx2")]
unsafe fn add_leaves32<const F32: bool, const NF: usize>(
    iv: &Intervals,
    offsets: &[[u64; ROWS]; MAX_FEATURES],
    trees: usize,
    sums: &mut [Sums; ROWS],
) {
    let mut acc = load_sums(sums);
    let last = _mm256_set1_epi32(iv.leaves.len() as i32 - 1);
    let top = _mm256_set1_epi32(i32::MIN);
    let exponent = _mm256_set1_epi32(0xff);
    let masks = iv.masks32.as_ptr().cast::<u32>();
    let leaves = iv.leaves.as_ptr();
    for (c, first) in iv.first.as_chunks::<8>().0.iter().enumerate() {
        let base = c * 8;
        if base >= trees {
            break;
        }
        // The trees' first leaves less 127, the exponent bias added back below (as
        // u32s, wrapping: the sum is right).
        // SAFETY: eight u32s.
        let first = _mm256_sub_epi32(
            unsafe { _mm256_loadu_si256(first.as_ptr().cast()) },
            _mm256_set1_epi32(127),
        );
        let mut index = [[0u32; 8]; ROWS];
        for (r, index) in index.iter_mut().enumerate() {
            let mut bits = _mm256_set1_epi32(-1);
            for offsets in offsets.iter().take(NF) {
                // SAFETY: a mask row starts at most a row before the end of
                // `iv.masks32` (clamped), and `base + 8` is at most a row.
                let m = unsafe { _mm256_loadu_si256(masks.add(offsets[r] as usize + base).cast()) };
                bits = _mm256_and_si256(bits, m);
            }
            let bits = _mm256_or_si256(bits, top);
            let low = _mm256_and_si256(bits, _mm256_sub_epi32(_mm256_setzero_si256(), bits));
            // Bit 31 converts to -2^31: its sign bit is masked off with the shift.
            let float = _mm256_castps_si256(_mm256_cvtepi32_ps(low));
            let zeros = _mm256_and_si256(_mm256_srli_epi32::<23>(float), exponent);
            let leaf = _mm256_min_epu32(_mm256_add_epi32(first, zeros), last);
            let bytes = _mm256_slli_epi32::<5>(leaf);
            // SAFETY: eight u32s.
            unsafe { _mm256_storeu_si256(index.as_mut_ptr().cast(), bytes) };
        }
        let n = (trees - base).min(8);
        // SAFETY: every offset is a leaf clamped to the last, as a byte offset.
        let mut add =
            |k: usize| unsafe { add_leaf::<F32, _, 8, ROWS>(&mut acc, leaves, &index, k) };
        if n == 8 {
            (0..8).for_each(&mut add);
        } else {
            (0..n).for_each(add);
        }
    }
    store_sums(&acc, sums);
}

/// The sums of `R` rows, a register each.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn load_sums<const R: usize>(sums: &[Sums; R]) -> [__m256d; R] {
    let mut acc = [_mm256_setzero_pd(); R];
    for (a, s) in acc.iter_mut().zip(sums) {
        // SAFETY: a `Sums` is four float64s.
        *a = unsafe { _mm256_loadu_pd(s.as_ptr()) };
    }
    acc
}

/// Writes [`load_sums`]' registers back.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn store_sums<const R: usize>(acc: &[__m256d; R], sums: &mut [Sums; R]) {
    for (a, s) in acc.iter().zip(sums) {
        // SAFETY: a `Sums` is four float64s.
        unsafe { _mm256_storeu_pd(s.as_mut_ptr(), *a) };
    }
}

/// Adds each row's `k`-th leaf (`index[row][k]`: its byte offset in `leaves`) onto
/// the row's sums, rounded to float32 after the addition for float32 models.
///
/// # Safety
/// AVX2; every offset is that of a leaf in `leaves`.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn add_leaf<
    const F32: bool,
    I: Copy + Into<u64>,
    const W: usize,
    const R: usize,
>(
    acc: &mut [__m256d; R],
    leaves: *const Sums,
    index: &[[I; W]; R],
    k: usize,
) {
    for (a, index) in acc.iter_mut().zip(index) {
        // SAFETY: the caller's.
        let v = unsafe { _mm256_loadu_pd(leaves.byte_add(index[k].into() as usize).cast()) };
        let sum = _mm256_add_pd(*a, v);
        *a = if F32 {
            _mm256_cvtps_pd(_mm256_cvtpd_ps(sum))
        } else {
            sum
        };
    }
}
