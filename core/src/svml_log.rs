//! `log` and `log1p` computed exactly as numpy 1.x computes float64 `np.log` and
//! `np.log1p` on CPUs with AVX-512: Intel SVML's `__svml_log8` and `__svml_log1p8`, which
//! numpy vendors as assembly (the `numpy/SVML` repository,
//! `linux/avx512/svml_z0_log_d_la.s` and `svml_z0_log1p_d_la.s`). SciPy's `logsumexp`
//! calls them, and through it scikit-learn 1.0–1.3's multinomial GradientBoosting
//! (the softmax links of [`crate::Link`]).
//!
//! Both write `x = 2^e·m` with `m` in `[1, 2)` (`vgetexppd`, `vgetmantpd`) and
//! `log x = e·ln2 − log(c) + log(c·m)`, where `c` is `vrcp14pd(m)` ([`crate::rcp14`])
//! rounded to 5 fraction bits, `−log(c)` comes from a 16-entry table (with `e` raised
//! by one when `c < 0.75`), and `log(1 + R)`, `R = c·m − 1`, is a degree-9 polynomial.
//! `log1p` first forms `1 + x` and carries its rounding error, scaled by `2^-e`, into
//! `R`. Every fused step is `libm::fma`, exact on every target.
//!
//! Arguments off the main path (zero, negative, infinite; for `log1p`, −1 and below or
//! infinite) take SVML's scalar fallback, whose results are the standard ones (−inf,
//! NaN, +inf), returned here directly. Subnormal arguments stay on the main path, as in
//! SVML (`vgetexppd` and `vgetmantpd` normalise them). Softmax probabilities never meet
//! any of these.

use libm::fma;

/// `ln 2`.
const LN2: f64 = f64::from_bits(0x3fe62e42fefa39ef);

/// `−log(c)` for the 16 values of `c`, indexed by its top 4 mantissa bits; `c < 0.75`
/// entries are `ln2` short (the exponent is raised instead).
static MINUS_LOG_C: [u64; 16] = [
    0x0000000000000000,
    0xbfaf0a30c01162a6,
    0xbfbe27076e2af2e6,
    0xbfc5ff3070a793d4,
    0xbfcc8ff7c79a9a22,
    0xbfd1675cababa60e,
    0xbfd4618bc21c5ec2,
    0xbfd739d7f6bbd007,
    0x3fd269621134db92,
    0x3fcf991c6cb3b379,
    0x3fca93ed3c8ad9e3,
    0x3fc5bf406b543db2,
    0x3fc1178e8227e47c,
    0x3fb9335e5d594989,
    0x3fb08598b59e3a07,
    0x3fa0415d89e74444,
];

/// `__svml_log8` (numpy 1.x).
pub fn log_la(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x <= 0.0 {
        return if x == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        };
    }
    if x == f64::INFINITY {
        return x;
    }
    let (e, m) = exponent_mantissa(x);
    let c = reciprocal(m);
    // R = c·m − 1
    let r = fma(c, m, -1.0);
    log_from(e, c, r)
}

/// `__svml_log1p8` (numpy 1.x).
pub fn log1p_la(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x <= -1.0 {
        return if x == -1.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        };
    }
    // (Below 2^1000 the scaled rounding error below stays a normal number.)
    if x >= 1e300 {
        return if x == f64::INFINITY {
            x
        } else {
            // Not reached by softmax rows; log(1 + x) = log(x) to double precision.
            log_la(x)
        };
    }
    let sum = 1.0 + x;
    let (high, low) = if x > 1.0 { (x, 1.0) } else { (1.0, x) };
    // The rounding error of 1 + x.
    let error = low - (sum - high);
    let (e, m) = exponent_mantissa(sum);
    let c = reciprocal(m);
    let scaled_error = error * f64::from_bits(((1023 - e) as u64) << 52);
    // R = c·(m + error·2^-e) − 1
    let r = fma(scaled_error, c, fma(c, m, -1.0));
    // SVML ORs in the sign of x: log1p(−0) is −0.
    let y = log_from(e, c, r);
    if x.is_sign_negative() && y == 0.0 {
        -0.0
    } else {
        y
    }
}

/// `(e, m)` with `x = 2^e·m`, `m` in `[1, 2)`, for a finite positive `x` (subnormals
/// normalised, as `vgetexppd` and `vgetmantpd` do).
fn exponent_mantissa(x: f64) -> (i64, f64) {
    const FRACTION: u64 = 0x000f_ffff_ffff_ffff;
    let bits = x.to_bits();
    let (e, fraction) = if bits >> 52 == 0 {
        let shift = bits.leading_zeros() - 11;
        (-1022 - i64::from(shift), (bits << shift) & FRACTION)
    } else {
        ((bits >> 52) as i64 - 1023, bits & FRACTION)
    };
    (e, f64::from_bits(fraction | 0x3ff0_0000_0000_0000))
}

/// `vrcp14pd(m)` rounded to 5 fraction bits, to nearest (`vrndscalepd $88`).
fn reciprocal(m: f64) -> f64 {
    // rcp14·32 is in (16, 32]: adding and taking off 2^52 rounds it to an integer,
    // ties to even.
    const ROUND: f64 = 4_503_599_627_370_496.0;
    (crate::rcp14::rcp14(m) * 32.0 + ROUND - ROUND) / 32.0
}

/// `e·ln2 − log(c) + log(1 + R)`.
fn log_from(e: i64, c: f64, r: f64) -> f64 {
    const C2: f64 = f64::from_bits(0xbfdfffffffffffc6);
    const C3: f64 = f64::from_bits(0x3fd5555555555466);
    const C4: f64 = f64::from_bits(0xbfd00000000c05bd);
    const C5: f64 = f64::from_bits(0x3fc9999999cc9f5c);
    const C6: f64 = f64::from_bits(0xbfc55553fb28db06);
    const C7: f64 = f64::from_bits(0x3fc249229cee81ef);
    const C8: f64 = f64::from_bits(0xbfc007357e93af62);
    const C9: f64 = f64::from_bits(0x3fbc81cd309d7c70);
    let e = e as f64 + if c < 0.75 { 1.0 } else { 0.0 };
    let minus_log_c = f64::from_bits(MINUS_LOG_C[((c.to_bits() >> 48) & 15) as usize]);
    let p76 = fma(C7, r, C6);
    let p98 = fma(C9, r, C8);
    let p32 = fma(C3, r, C2);
    let r2 = r * r;
    let p54 = fma(C5, r, C4);
    let r4 = r2 * r2;
    let p69 = fma(r2, p98, p76);
    let p25 = fma(r2, p54, p32);
    let p29 = fma(r4, p69, p25);
    // log(1 + R) = R + R^2·p29
    let log1p_r = fma(r2, p29, r);
    fma(LN2, e, minus_log_c + log1p_r)
}
