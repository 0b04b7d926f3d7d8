//! The libraries' own `exp` and `log` (numpy's AVX-512 SVML code, CatBoost's fmath
//! `expd`, the `vrcp14pd` model): against the reference outputs of `tests/fixtures`, bit
//! for bit, and against known values and error bounds.

use std::path::PathBuf;

use edgewood_core::{fmath_exp, rcp14::rcp14, svml_exp, svml_log};
use edgewood_core::{Aggregation, Comparison, Ensemble, Feature, Link, LogSumExp, Model};
use edgewood_core::{Node, RowSum, Task, Tree};

fn fixture(name: &str) -> Vec<Vec<f64>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// The probabilities a model with `link` answers for `margins`: a one-row model whose
/// base margins are `margins` and whose trees add 0.
fn probabilities(link: Link, margins: &[f64]) -> Vec<f64> {
    let k = margins.len();
    let ensemble = Ensemble {
        features: vec![Feature::named("x")],
        task: Task::Classification {
            classes: (0..k).map(|i| i.to_string()).collect(),
            integer_labels: true,
        },
        aggregation: Aggregation::Sum {
            base: margins.to_vec(),
            link,
            accumulate_f32: false,
            divide_by_rounds: false,
        },
        comparison: Comparison::F64LessEqual,
        leaf_width: 1,
        trees: (0..k as u32)
            .map(|output| Tree {
                nodes: vec![Node::Leaf(vec![0.0])],
                output,
                stats: None,
            })
            .collect(),
        source: "margins".into(),
    };
    let bytes = ensemble.encode().unwrap();
    let model = Model::open(&bytes).unwrap();
    let mut out = vec![0.0; model.prediction_len()];
    model.predict_into(&[0.0], &mut out).unwrap();
    out
}

/// Rows of `name` whose probabilities under `link` differ from the library's in any bit.
fn rows_differing(name: &str, link: Link) -> usize {
    let margins = fixture(&format!("{name}.margin.csv"));
    let expected = fixture(&format!("{name}.expected.csv"));
    assert!(
        margins.len() > 300 && margins.len() == expected.len(),
        "{name}"
    );
    margins
        .iter()
        .zip(&expected)
        .filter(|(m, e)| {
            let p = probabilities(link, m);
            p.iter()
                .zip(&e[1..])
                .any(|(a, b)| a.to_bits() != b.to_bits())
        })
        .count()
}

/// Every multiclass reference output, from its committed margins: 0 rows differ with
/// the library's link, and many with a softmax through the C library's `exp` (which is
/// what Edgewood answered before, and what a regression to it would answer).
#[test]
fn the_reference_probabilities_bit_for_bit() {
    let svml = Link::SoftmaxSvml(RowSum::Pairwise);
    let svml_in_order = Link::SoftmaxSvml(RowSum::InOrder);
    let log_of_sum = Link::LogSumExp(LogSumExp::LogOfSum);
    let log1p = Link::LogSumExp(LogSumExp::Log1pOfRest);
    let cases = [
        // scikit-learn 1.9.1, numpy 2.4.6
        ("skl_gb_multiclass", svml),
        ("skl_hgb_multiclass_nan", svml_in_order),
        // scikit-learn 1.1.3 and 1.3.2 with SciPy 1.17.1, 1.2.2 with SciPy 1.13.1; numpy 1.26.4
        ("old_gb_113_multiclass", log1p),
        ("old_gb_122_multiclass", log_of_sum),
        ("old_gb_132_multiclass", log1p),
        // CatBoost 1.2.10
        ("cb_multiclass", Link::SoftmaxCatBoost),
    ];
    for (name, link) in cases {
        assert_eq!(rows_differing(name, link), 0, "{name} with {link}");
        // (17 rows of skl_gb_multiclass, 486 of old_gb_113_multiclass, measured.)
        assert!(
            rows_differing(name, Link::Softmax) > 10,
            "{name}: the C library's exp should not match"
        );
    }
    // The other formula of each family misses too.
    assert!(rows_differing("old_gb_122_multiclass", log1p) > 100);
    assert!(rows_differing("old_gb_113_multiclass", log_of_sum) > 100);
}

fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
}

/// A deterministic stream of floats in `[lo, hi)`.
fn uniform(n: usize, lo: f64, hi: f64) -> impl Iterator<Item = f64> {
    let mut state = 0x9e3779b97f4a7c15u64;
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
    })
}

/// SVML's `exp` is within its documented accuracy of the correctly rounded one (glibc's
/// is within 0.502 ulp), is exact at 0, and its rare-path inputs take glibc's `exp`.
#[test]
fn svml_exp_accuracy_and_known_values() {
    let (mut worst_ha, mut worst_la, mut differ) = (0, 0, 0);
    for x in uniform(200_000, -707.0, 707.0).chain(uniform(200_000, -20.0, 0.0)) {
        let want = edgewood_core::glibc_exp::exp(x);
        let (ha, la) = (svml_exp::exp_ha(x), svml_exp::exp_la(x));
        worst_ha = worst_ha.max(ulps(ha, want));
        worst_la = worst_la.max(ulps(la, want));
        differ += usize::from(ha != want);
    }
    assert!(worst_ha <= 1, "exp_ha: {worst_ha} ulp");
    assert!(worst_la <= 4, "exp_la: {worst_la} ulp");
    assert!(
        differ > 100,
        "exp_ha equals glibc's exp on all but {differ} inputs"
    );
    for exp in [svml_exp::exp_ha, svml_exp::exp_la] {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
    }
}

/// SVML's `log` and `log1p` (numpy 1) against libm: within a few ulp (subnormal and
/// negative arguments too), exact at powers of two and at 0, and the special values.
#[test]
fn svml_log_accuracy_and_known_values() {
    let mut worst = (0, 0);
    let subnormals = uniform(10_000, 1.0, 1e6).map(|x| x * 5e-324);
    for x in uniform(200_000, 1.0, 3.0)
        .chain(uniform(100_000, 0.0, 1e6))
        .chain(subnormals)
    {
        if x > 0.0 {
            worst.0 = worst.0.max(ulps(svml_log::log_la(x), libm::log(x)));
        }
        worst.1 = worst.1.max(ulps(svml_log::log1p_la(x), libm::log1p(x)));
    }
    for x in uniform(100_000, -0.999, 0.0) {
        worst.1 = worst.1.max(ulps(svml_log::log1p_la(x), libm::log1p(x)));
    }
    assert!(
        worst.0 <= 4 && worst.1 <= 4,
        "log {} ulp, log1p {} ulp",
        worst.0,
        worst.1
    );
    assert_eq!(svml_log::log_la(1.0), 0.0);
    assert_eq!(svml_log::log_la(2.0), std::f64::consts::LN_2);
    assert_eq!(svml_log::log_la(0.5), -std::f64::consts::LN_2);
    assert_eq!(svml_log::log1p_la(0.0), 0.0);
    assert_eq!(svml_log::log1p_la(1.0), std::f64::consts::LN_2);
    assert_eq!(svml_log::log1p_la(1e-300), 1e-300);
    assert_eq!(svml_log::log_la(0.0), f64::NEG_INFINITY);
    assert_eq!(svml_log::log_la(f64::INFINITY), f64::INFINITY);
    assert!(svml_log::log_la(-1.0).is_nan() && svml_log::log_la(f64::NAN).is_nan());
    assert_eq!(svml_log::log1p_la(-1.0), f64::NEG_INFINITY);
    assert!(svml_log::log1p_la(-2.0).is_nan());
    assert_eq!(svml_log::log1p_la(-0.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(svml_log::log1p_la(f64::INFINITY), f64::INFINITY);
}

/// The `vrcp14pd` model: within 2^-14 of `1/m`, exact on powers of two, and the
/// published reference's interpolation at two segment centres (its value `a`, in units
/// of 2^-18, cut to 17 significant bits).
#[test]
fn rcp14_bound_and_known_values() {
    for m in uniform(200_000, 1.0, 2.0) {
        let r = rcp14(m);
        assert!((r * m - 1.0).abs() < 1.0 / 16384.0, "rcp14({m}) = {r}");
        // 16 fraction bits of the significand at most.
        assert_eq!(r.to_bits() & ((1 << 36) - 1), 0, "rcp14({m})");
    }
    assert_eq!(rcp14(1.0), 1.0);
    assert_eq!(rcp14(1.0 + 1.0 / 128.0), 260_118.0 / 262_144.0);
    assert_eq!(
        rcp14(1.0 + 1.0 / 128.0 + 63.0 / 64.0),
        131_588.0 / 262_144.0
    );
}

/// fmath's table of `pow(2, k/2048)`, rebuilt on demand: FNV-1a of all 2048 entries,
/// taken from glibc's `pow` (and equal to it directly where this test runs on glibc).
#[test]
fn fmath_table_is_glibc_pow() {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for k in 0..2048 {
        let v = fmath_exp::two_to_j_over_2048(k);
        hash = (hash ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(v, 2f64.powf(k as f64 / 2048.0), "2^({k}/2048)");
        }
    }
    assert_eq!(hash, FMATH_TABLE_FNV);
}

/// FNV-1a over the bits of glibc's `pow(2, k / 2048.0)`, `k` = 0..2048.
const FMATH_TABLE_FNV: u64 = 0xef02_1ff3_cf54_af5f;

/// fmath's `expd`: close to `exp`, exact at 0, its cut-offs, and the vector lanes' clamp.
#[test]
fn fmath_expd_accuracy_and_known_values() {
    for x in uniform(200_000, -700.0, 700.0) {
        let (got, want) = (fmath_exp::expd(x), x.exp());
        // Its reduction loses about |x| ulp.
        let bound = 2e-16 * (4.0 + x.abs());
        assert!(
            (got / want - 1.0).abs() < bound,
            "expd({x}) = {got}, exp {want}"
        );
        assert_eq!(fmath_exp::expd_vector(x), got, "{x}");
    }
    assert_eq!(fmath_exp::expd(0.0), 1.0);
    assert_eq!(fmath_exp::expd(-708.4), 0.0);
    assert_eq!(fmath_exp::expd(709.79), f64::INFINITY);
    // The vector lanes clamp the argument instead: not zero below the cut-off.
    assert!(fmath_exp::expd_vector(-1000.0) > 0.0);
    let mut v = [0.0, -1.0, -2.0, -3.0, -1000.0];
    fmath_exp::exp_in_place(&mut v);
    assert_eq!(v[0], 1.0);
    assert!(v[3] > 0.0 && v[4] == 0.0, "{v:?}");
}
