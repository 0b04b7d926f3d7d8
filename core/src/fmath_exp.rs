//! `exp` computed exactly as CatBoost's `FastExpInplace` computes it on x86-64 CPUs with
//! AVX2, so that CatBoost's MultiClass probabilities match bit for bit. CatBoost
//! (`library/cpp/fast_exp`) calls `fmath::expd_v` of herumi's fmath (vendored as
//! `contrib/libs/fmath/fmath.hpp`), which takes four values at a time with AVX2 and the
//! last `len % 4` one by one with the scalar `fmath::expd` (all three values of a
//! 3-class row): [`exp_in_place`].
//!
//! The algorithm: `d = x·a + 3·2^51` with `a = 2048 / ln2` rounds `x·a` to an integer
//! `n` held in the low bits of `d`; `t = (d − 3·2^51)·(1/a) − x` is minus the remainder,
//! and `exp(x) = 2^(n/2048)·(1 − t + t²·(3 − t)/6)` (the cubic with fmath's fitted
//! constants), where `2^(n/2048)` is built from the exponent `floor(n/2048)` and the
//! mantissa of `2^(j/2048)`, `j = n mod 2048` (a 2048-entry table of `pow(2, j/2048)` in
//! fmath). No step is fused. The table entries are correctly rounded (glibc's `pow`,
//! which fills fmath's table, is correctly rounded on all 2048 of them), so each is
//! computed here on demand in double-double arithmetic ([`two_to_j_over_2048`]) instead
//! of carrying 16 KB of table.
// fmath's constants are kept as its source writes them (each rounds to the same double).
#![allow(clippy::excessive_precision)]

use libm::fma;

/// `2048 / ln2`, as fmath computes it (`s / ::log(2.0)`).
const A: f64 = 2048.0 / core::f64::consts::LN_2;
/// `1 / A`.
const RECIPROCAL_A: f64 = 1.0 / A;
/// `3·2^51`: adding it rounds to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6755399441055744.0;
/// `(1 << (11 + 10)) − (1 << 11)`: the exponent bias in units of `2^(1/2048)`.
const ADJUST: u64 = (1 << 21) - (1 << 11);
/// fmath's `C2` (about 1/6).
const C2: f64 = 0.16666666685227835064;
/// fmath's `C3` (about 3).
const C3: f64 = 3.0000000027955394;

/// `FastExpInplace` on x86-64 with AVX2: the first `len − len % 4` values four at a
/// time ([`expd_vector`]), the rest one by one ([`expd`]).
pub fn exp_in_place(values: &mut [f64]) {
    let vector = values.len() & !3;
    let (head, tail) = values.split_at_mut(vector);
    head.iter_mut().for_each(|v| *v = expd_vector(*v));
    tail.iter_mut().for_each(|v| *v = expd(*v));
}

/// fmath's scalar `expd`.
pub fn expd(x: f64) -> f64 {
    if x <= -708.39641853226408 {
        return 0.0;
    }
    if x >= 709.78271289338397 {
        return f64::INFINITY;
    }
    expd_core(x)
}

/// One lane of fmath's AVX2 `expd_v`: the argument is clamped instead of the result.
pub fn expd_vector(x: f64) -> f64 {
    // _mm256_min_pd / _mm256_max_pd return their second operand when one is NaN.
    let x = if x < 709.78272569338397 {
        x
    } else {
        709.78272569338397
    };
    let x = if x > -708.39641853226408 {
        x
    } else {
        -708.39641853226408
    };
    expd_core(x)
}

fn expd_core(x: f64) -> f64 {
    let d = x * A + SHIFTER;
    // The low 32 bits of d, sign-extended: n.
    let n = d.to_bits() as u32 as i32 as i64 as u64;
    let mantissa = two_to_j_over_2048((n & 2047) as usize).to_bits() & ((1 << 52) - 1);
    // The exponent field (wrapping, as the integer vector instructions do).
    let exponent = (n.wrapping_add(ADJUST) >> 11) << 52;
    let t = (d - SHIFTER) * RECIPROCAL_A - x;
    let y = (C3 - t) * (t * t) * C2 - t + 1.0;
    y * f64::from_bits(exponent | mantissa)
}

/// `2^(k/2048)` for `k = 16i + j` (`j < 16`) as a double-double: `2^(j/2048)`.
#[rustfmt::skip]
static TWO_TO_J_OVER_2048: [(u64, u64); 16] = [
    (0x3ff0000000000000, 0x0000000000000000),
    (0x3ff00162f3904052, 0xbc57b5d0d58ea8f4),
    (0x3ff002c605e2e8cf, 0xbc8d7c96f201bb2f),
    (0x3ff0042936faa3d8, 0xbc80484245243777),
    (0x3ff0058c86da1c0a, 0xbc75e00e62d6b30d),
    (0x3ff006eff583fc3d, 0xbc94acf197a00142),
    (0x3ff0085382faef83, 0x3c7da93f90835f75),
    (0x3ff009b72f41a12b, 0x3c986364f8fbe8f8),
    (0x3ff00b1afa5abcbf, 0xbc84f6b2a7609f71),
    (0x3ff00c7ee448ee02, 0x3c74362ca5bc26f1),
    (0x3ff00de2ed0ee0f5, 0xbc6406ac4e81a645),
    (0x3ff00f4714af41d3, 0xbc991b2060859321),
    (0x3ff010ab5b2cbd11, 0x3c9c1d0660524e08),
    (0x3ff0120fc089ff63, 0x3c8843aa8b9cbbc6),
    (0x3ff0137444c9b5b5, 0xbc72b6aeb6176892),
    (0x3ff014d8e7ee8d2f, 0x3c72edc08e5da99a),
];

/// `2^(k/2048)` correctly rounded, for `k < 2048`: `2^(i/128)` from glibc's `exp` table
/// (a double and its relative rounding error) times `2^(j/2048)` (a double-double), the
/// product rounded once from about 104 bits. Equal to glibc's `pow(2, k/2048)` for
/// every `k` (a test checks all 2048 against a checksum).
pub fn two_to_j_over_2048(k: usize) -> f64 {
    let (high, relative_tail) = crate::glibc_exp::two_to_i_over_128(k >> 4);
    let (h, l) = TWO_TO_J_OVER_2048[k & 15];
    let (h, l) = (f64::from_bits(h), f64::from_bits(l));
    let product = high * h;
    let product_error = fma(high, h, -product);
    product + (product_error + (high * l + product * relative_tail))
}
