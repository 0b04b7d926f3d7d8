//! `exp` computed exactly as numpy computes float64 `np.exp` on CPUs with AVX-512
//! (Skylake-SP and later), so that scikit-learn's multiclass probabilities match bit for
//! bit. There numpy does not call the C library: it calls Intel's Short Vector Math
//! Library (SVML), which it vendors as assembly (the `numpy/SVML` repository,
//! `linux/avx512/svml_z0_exp_d_ha.s` and `svml_z0_exp_d_la.s`). numpy 2.x calls the
//! high-accuracy `__svml_exp8_ha` ([`exp_ha`]), numpy 1.x the default `__svml_exp8`
//! ([`exp_la`]). (On CPUs without AVX-512 numpy calls the C library's `exp`:
//! [`crate::glibc_exp`].)
//!
//! Both are one vector sequence, reproduced here lane by lane:
//! - `N = x·log2(e)` rounded toward zero to 4 fractional bits, by a fused multiply-add
//!   in round-to-zero mode onto a shifter `1.5·2^48 + 1023`, whose low 4 bits then index
//!   the table of `2^(j/16)`;
//! - `r = x − N·ln2` in two fused steps (`ln2` split in a high and a low part);
//! - a degree-6 polynomial of `r` (coefficients and evaluation order differ between the
//!   two accuracies; the high-accuracy one also adds a table of low parts of `2^(j/16)`);
//! - the result scaled by `2^floor(N)` (`vscalefpd`).
//!
//! Every fused step is `libm::fma`, exact on every target; the one round-to-zero step is
//! rebuilt from round-to-nearest ones (`shifted_toward_zero`). Inputs with
//! `|x| ≥ 707.70` (results near overflow or in the subnormal range) and NaN take SVML's
//! scalar fallback, which is a different algorithm; those go to the C library's `exp`
//! here, which may differ from SVML's fallback in the last bit of a subnormal result.

use libm::fma;

/// `log2(e)`.
const LOG2E: f64 = f64::from_bits(0x3ff71547652b82fe);
/// `1.5·2^48 + 1023`: adding it leaves `N` with 4 fractional bits in the low bits.
const SHIFTER: f64 = f64::from_bits(0x42f8000000003ff0);
/// One unit in the last place of numbers near [`SHIFTER`]: `2^-4`.
const SHIFTER_ULP: f64 = 0.0625;
/// `ln 2`, high part.
const LN2_HI: f64 = f64::from_bits(0x3fe62e42fefa39ef);
/// `ln 2 − LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3c7abc9e3b39803f);
/// `|x|` from which SVML leaves the vector path.
const THRESHOLD: f64 = f64::from_bits(0x40861da04cbafe44);

/// `2^(j/16)` rounded to double.
static TABLE_HIGH: [u64; 16] = [
    0x3ff0000000000000,
    0x3ff0b5586cf9890f,
    0x3ff172b83c7d517b,
    0x3ff2387a6e756238,
    0x3ff306fe0a31b715,
    0x3ff3dea64c123422,
    0x3ff4bfdad5362a27,
    0x3ff5ab07dd485429,
    0x3ff6a09e667f3bcd,
    0x3ff7a11473eb0187,
    0x3ff8ace5422aa0db,
    0x3ff9c49182a3f090,
    0x3ffae89f995ad3ad,
    0x3ffc199bdd85529c,
    0x3ffd5818dcfba487,
    0x3ffea4afa2a490da,
];

/// The relative rounding error of [`TABLE_HIGH`] (high accuracy only).
static TABLE_LOW: [u64; 16] = [
    0x0000000000000000,
    0x3c979aa65d837b6d,
    0xbc801b15eaa59348,
    0x3c968efde3a8a894,
    0x3c834d754db0abb6,
    0x3c859f48a72a4c6d,
    0x3c7690cebb7aafb0,
    0x3c9063e1e21c5409,
    0xbc93b3efbf5e2228,
    0xbc7b32dcb94da51d,
    0x3c8db72fc1f0eab4,
    0x3c71affc2b91ce27,
    0x3c8c1a7792cb3387,
    0x3c736eae30af0cb3,
    0x3c74a385a63d07a7,
    0xbc8ff7128fd391f0,
];

/// `__svml_exp8_ha` (numpy 2.x).
pub fn exp_ha(x: f64) -> f64 {
    const C1: f64 = f64::from_bits(0x3fefffffffffff70);
    const C2: f64 = f64::from_bits(0x3fe000000000d008);
    const C3: f64 = f64::from_bits(0x3fc5555553939732);
    const C4: f64 = f64::from_bits(0x3fa55557242d68fe);
    const C5: f64 = f64::from_bits(0x3f81101cbbc265c0);
    const C6: f64 = f64::from_bits(0x3f57411836940c04);
    if x.is_nan() || x.abs() >= THRESHOLD {
        return crate::glibc_exp::exp(x);
    }
    let Reduced { n, j, r } = reduce(x);
    let r2 = r * r;
    let p56 = fma(C6, r, C5);
    let p34 = fma(C4, r, C3);
    let p12 = fma(C2, r, C1);
    let p36 = fma(r2, p56, p34);
    let p16 = fma(r2, p36, p12);
    let p = fma(p16, r, f64::from_bits(TABLE_LOW[j]));
    let high = f64::from_bits(TABLE_HIGH[j]);
    times_two_to_floor(fma(high, p, high), n)
}

/// `__svml_exp8` (numpy 1.x).
pub fn exp_la(x: f64) -> f64 {
    const C2: f64 = f64::from_bits(0x3fe0000000002622);
    const C3: f64 = f64::from_bits(0x3fc5555554b508a2);
    const C4: f64 = f64::from_bits(0x3fa555564bb4f5f0);
    const C5: f64 = f64::from_bits(0x3f81106603d97c00);
    const C6: f64 = f64::from_bits(0x3f572eb5ef0d213d);
    if x.is_nan() || x.abs() >= THRESHOLD {
        return crate::glibc_exp::exp(x);
    }
    let Reduced { n, j, r } = reduce(x);
    let r2 = r * r;
    let p56 = fma(C6, r, C5);
    let p34 = fma(C4, r, C3);
    let r3 = r2 * r;
    let p12 = fma(r2, C2, r);
    let p36 = fma(p56, r2, p34);
    // exp(r) − 1
    let p16 = fma(p36, r3, p12);
    let high = f64::from_bits(TABLE_HIGH[j]);
    times_two_to_floor(fma(high, p16, high), n)
}

/// `x = N·ln2 + r` with `N` a multiple of 1/16 (`j` its fractional sixteenths).
struct Reduced {
    n: f64,
    j: usize,
    r: f64,
}

fn reduce(x: f64) -> Reduced {
    let shifted = shifted_toward_zero(x);
    let n = shifted - SHIFTER;
    let j = (shifted.to_bits() & 15) as usize;
    let r = fma(-LN2_LO, n, fma(-n, LN2_HI, x));
    // SVML clears bit 62 of r ("ensure |r| < 2 even for special cases"): a no-op below
    // the threshold, where |r| < ln2 / 16.
    Reduced { n, j, r }
}

/// `x·log2(e) + SHIFTER` rounded toward zero (`vfmadd213pd {rz-sae}`), for
/// `|x| < THRESHOLD`, where the sum is positive and in `[2^48, 2^49)`.
fn shifted_toward_zero(x: f64) -> f64 {
    let nearest = fma(x, LOG2E, SHIFTER);
    // nearest − SHIFTER is exact (Sterbenz), and the fused x·log2(e) − that is rounded
    // from the exact difference, so its sign says whether `nearest` was rounded up.
    if fma(x, LOG2E, -(nearest - SHIFTER)) < 0.0 {
        nearest - SHIFTER_ULP
    } else {
        nearest
    }
}

/// `v·2^floor(n)` (`vscalefpd`): one correctly rounded product, as the instruction's.
fn times_two_to_floor(v: f64, n: f64) -> f64 {
    // n·16 is an integer of magnitude below 2^15; the shift floors it.
    let m = ((n * 16.0) as i64) >> 4;
    v * f64::from_bits(((1023 + m) as u64) << 52)
}
