//! The AVX-512 instruction `vrcp14pd` (an approximate reciprocal, relative error below
//! 2^-14) on a mantissa in `[1, 2)`, which numpy's vendored SVML `log` and `log1p`
//! ([`crate::svml_log`]) use to pick their table entry.
//!
//! The algorithm is Intel's published reference for the instruction ("Reference
//! Implementations for IA Approximation Instructions VRCP14, VRSQRT14, VRCP28, VRSQRT28,
//! and VEXP2", `recip14.c`): a linear interpolation on 64 segments of `[1, 2)`, whose
//! value `a` at the segment's centre `1 + 1/128 + i/64` and slope `b` are integers in
//! units of 2^-18 (the slope pre-scaled by 2^8); the input is cut to 16 fraction bits,
//! the interpolation is exact in float64, and the result is cut to 16 fraction bits.

/// `RCP14_Coeff`: `[2i]` is the slope `b`, `[2i + 1]` the value `a` of segment `i`.
#[rustfmt::skip]
static COEFFICIENTS: [u32; 128] = [
    1009, 260_119, 977, 256_148, 949, 252_296, 921, 248_558,
    893, 244_929, 869, 241_405, 843, 237_981, 821, 234_652,
    797, 231_416, 777, 228_266, 755, 225_202, 735, 222_220,
    717, 219_314, 699, 216_485, 681, 213_727, 663, 211_038,
    647, 208_417, 631, 205_859, 617, 203_364, 601, 200_929,
    587, 198_551, 573, 196_229, 561, 193_960, 547, 191_743,
    535, 189_576, 523, 187_458, 513, 185_387, 501, 183_360,
    491, 181_377, 479, 179_439, 469, 177_540, 459, 175_681,
    451, 173_860, 441, 172_077, 433, 170_330, 423, 168_618,
    415, 166_940, 407, 165_295, 399, 163_682, 391, 162_101,
    385, 160_550, 377, 159_027, 369, 157_535, 363, 156_069,
    357, 154_631, 349, 153_219, 343, 151_832, 337, 150_470,
    331, 149_133, 325, 147_819, 319, 146_528, 315, 145_260,
    309, 144_012, 303, 142_787, 299, 141_582, 293, 140_397,
    289, 139_232, 285, 138_085, 279, 136_959, 275, 135_853,
    271, 134_763, 267, 133_689, 263, 132_631, 259, 131_589,
];

/// `vrcp14pd` of `m` in `[1, 2)`: `1/m` within a relative 2^-14, in `(1/2, 1]`.
pub fn rcp14(m: f64) -> f64 {
    let fraction = m.to_bits() & 0x000f_ffff_ffff_ffff;
    if fraction == 0 {
        return 1.0 / m; // a power of two: exact
    }
    let i = (fraction >> 46) as usize;
    let b = f64::from(COEFFICIENTS[2 * i]);
    let a = f64::from(COEFFICIENTS[2 * i + 1]);
    // The input cut to 16 fraction bits, less the segment's centre: exact.
    let x = f64::from_bits(m.to_bits() & !((1u64 << 36) - 1));
    let y = 1.0 + 1.0 / 128.0 + i as f64 / 64.0;
    let d = a - 256.0 * b * (x - y);
    // Cut to 16 fraction bits (d is in [2^17, 2^18)), then scaled by 2^-18.
    f64::from_bits(d.to_bits() & !((1u64 << 36) - 1)) / 262_144.0
}
