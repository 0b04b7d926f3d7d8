//! The multiclass probabilities of scikit-learn and CatBoost, each with its library's
//! own formula and its own `exp` (and `log`), so that they match bit for bit: links
//! [`Link::SoftmaxSvml`], [`Link::LogSumExp`] and [`Link::SoftmaxCatBoost`] (§9).
//! XGBoost's, LightGBM's and ONNX's softmax ([`Link::Softmax`], the C library's `exp`)
//! stays in `predict.rs`.
//!
//! The `exp` and `log` of scikit-learn are numpy's, which on CPUs with AVX-512 are Intel
//! SVML's ([`crate::svml_exp`], [`crate::svml_log`]): the machines that wrote the
//! reference outputs. Each row is summed in order: measured on the 3-class reference
//! models (another order changes 20% of their rows); numpy's pairwise summation might
//! group a row of 8 or more classes otherwise, which no reference output covers yet.
//!
//! [`Link::SoftmaxSvml`]: crate::Link::SoftmaxSvml
//! [`Link::LogSumExp`]: crate::Link::LogSumExp
//! [`Link::SoftmaxCatBoost`]: crate::Link::SoftmaxCatBoost
//! [`Link::Softmax`]: crate::Link::Softmax

use crate::ensemble::LogSumExp;
use crate::svml_exp::{exp_ha, exp_la};
use crate::svml_log::{log1p_la, log_la};

/// scikit-learn's `utils.extmath.softmax` (multiclass `HalfMultinomialLoss`) under
/// numpy 2: `exp(x − max)` with SVML's high-accuracy `exp`, divided by the row's sum.
pub(crate) fn numpy_svml(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = exp_ha(*x - max);
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}

/// scikit-learn 1.0–1.3's `MultinomialDeviance._raw_prediction_to_proba` under numpy 1:
/// `exp(x − logsumexp(x))`, with SciPy's `logsumexp` of the given kind and SVML's
/// default-accuracy `exp`, `log` and `log1p`.
pub(crate) fn scipy_logsumexp(v: &mut [f64], kind: LogSumExp) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let logsumexp = match kind {
        LogSumExp::LogOfSum => {
            let sum: f64 = v.iter().fold(0.0, |s, &x| s + exp_la(x - max));
            log_la(sum) + max
        }
        LogSumExp::Log1pOfRest => {
            // The maxima are taken out of the sum (set to −inf, whose exp is 0) and
            // counted; the rest is divided by their count.
            let maxima = v.iter().filter(|&&x| x == max).count() as f64;
            let rest: f64 = v.iter().fold(0.0, |s, &x| {
                s + if x == max { 0.0 } else { exp_la(x - max) }
            });
            let rest = if rest == 0.0 { rest } else { rest / maxima };
            log1p_la(rest) + log_la(maxima) + max
        }
    };
    v.iter_mut().for_each(|x| *x = exp_la(*x - logsumexp));
}

/// CatBoost's `CalcSoftmax`: `x − max` (the first maximum), `FastExpInplace`, divided
/// by the row's sum.
pub(crate) fn catboost(v: &mut [f64]) {
    let max = v
        .iter()
        .copied()
        .reduce(|m, x| if x > m { x } else { m })
        .unwrap_or(0.0);
    v.iter_mut().for_each(|x| *x -= max);
    crate::fmath_exp::exp_in_place(v);
    let sum: f64 = v.iter().fold(0.0, |s, &x| s + x);
    v.iter_mut().for_each(|x| *x /= sum);
}
