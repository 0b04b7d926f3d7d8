//! `edgewood_core::float_text` prints every f64 exactly as `format!` does, for `{:?}`
//! and for `{}`: random bit patterns (every exponent, subnormals, NaN payloads), random
//! values in the ranges features and probabilities take, and the layout's edge cases.

use edgewood_core::float_text::{DebugF64, DisplayF64};
use proptest::prelude::*;

fn check(x: f64) {
    assert_eq!(
        format!("{}", DebugF64(x)),
        format!("{x:?}"),
        "{{:?}} of {:#x}",
        x.to_bits()
    );
    assert_eq!(
        format!("{}", DisplayF64(x)),
        format!("{x}"),
        "{{}} of {:#x}",
        x.to_bits()
    );
}

#[test]
fn edge_cases() {
    let mut xs = vec![
        0.0,
        1.0,
        0.97,
        0.1 + 0.2,
        1.0 / 3.0,
        2.5,
        100.0,
        123456.0,
        1e-4,
        1e-4 * (1.0 - f64::EPSILON),
        1e-5,
        1e-7,
        1.5e-7,
        1e15,
        1e16,
        1e16 * (1.0 - f64::EPSILON),
        1.5e16,
        1e17,
        1e21,
        1e22,
        1e23,
        1e300,
        9007199254740993.0,
        // 1202509528200039.25 and 574279322177829.25: exactly halfway between two
        // shortest candidates, where core takes the upper one
        f64::from_bits(0x431116b44511cd9d),
        f64::from_bits(0x4300526e9800892a),
        0.5,
        2.5e-5,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 3.0,
        5e-324,
        f64::EPSILON,
        f64::INFINITY,
        f64::NAN,
        -f64::NAN,
    ];
    for e in -330..=310 {
        let p = format!("1e{e}").parse::<f64>().unwrap();
        xs.extend([p, p * 1.5, p * 9.999999, p / 7.0]);
    }
    for x in xs {
        check(x);
        check(-x);
    }
}

#[test]
fn random_bit_patterns() {
    let mut state = 0x243f6a8885a308d3u64;
    for _ in 0..1_000_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        check(f64::from_bits(state));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn any_bits(bits in any::<u64>()) {
        check(f64::from_bits(bits));
    }

    #[test]
    fn everyday_values(x in -1e6f64..1e6, scale in -20i32..20) {
        check(x);
        check(x * 10f64.powi(scale));
        check((x * 1000.0).round() / 1000.0);
    }

    #[test]
    fn float32_values(x in any::<f32>()) {
        check(f64::from(x));
    }
}
