//! `edgewood_core::glibc_exp` against the C library this test runs on, when that is
//! glibc on an FMA-capable x86-64 (the build XGBoost and LightGBM call there).

/// Random inputs across the whole range, plus random bit patterns.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
fn matches_the_system_glibc() {
    if !std::is_x86_feature_detected!("fma") {
        return; // glibc would run its non-FMA build, which Edgewood does not reproduce.
    }
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..400_000u64 {
        let r = next();
        let x = match i % 3 {
            0 => (r % 1_000_000_000) as f32 / 1e9 * 193.0 - 104.0,
            1 => (r % 1_000_000_000) as f32 / 1e9 * 40.0 - 20.0,
            _ => f32::from_bits(r as u32),
        };
        let (a, b) = (edgewood_core::glibc_exp::expf(x), x.exp());
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "expf({x:e}) = {a:e}, glibc {b:e}"
        );
        let u = (r >> 11) as f64 / (1u64 << 53) as f64;
        let x = match i % 3 {
            0 => u * 1500.0 - 750.0,
            1 => u * 80.0 - 40.0,
            _ => f64::from_bits(r),
        };
        let (a, b) = (edgewood_core::glibc_exp::exp(x), x.exp());
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "exp({x:e}) = {a:e}, glibc {b:e}"
        );
    }
}

/// Edge values on every target.
#[test]
fn special_values() {
    use edgewood_core::glibc_exp::{exp, expf};
    assert_eq!(expf(0.0), 1.0);
    assert_eq!(expf(f32::NEG_INFINITY), 0.0);
    assert_eq!(expf(f32::INFINITY), f32::INFINITY);
    assert_eq!(expf(89.0), f32::INFINITY);
    assert_eq!(expf(-110.0), 0.0);
    assert!(expf(f32::NAN).is_nan());
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(1.0), std::f64::consts::E);
    assert_eq!(exp(f64::NEG_INFINITY), 0.0);
    assert_eq!(exp(710.0), f64::INFINITY);
    assert_eq!(exp(-746.0), 0.0);
    assert!(exp(f64::NAN).is_nan());
}
