//! The multiclass probabilities of scikit-learn and CatBoost, each with its library's
//! own formula and its own `exp` (and `log`), so that they match bit for bit: links
//! [`Link::SoftmaxSvml`], [`Link::LogSumExp`] and [`Link::SoftmaxCatBoost`] (§9).
//! XGBoost's, LightGBM's and ONNX's softmax ([`Link::Softmax`], the C library's `exp`)
//! stays in `predict.rs`.
//!
//! The `exp` and `log` of scikit-learn are numpy's, which on CPUs with AVX-512 are Intel
//! SVML's ([`crate::svml_exp`], [`crate::svml_log`]): the machines that wrote the
//! reference outputs. Rows are summed in numpy's order ([`RowSum`]): in order below 8
//! values (the 3-class reference models: another order changes 20% of their rows), and
//! from 8 values pairwise for a C-ordered array, in order for a Fortran-ordered one
//! (checked against numpy 2.4.6 and scikit-learn 1.9.1 on 10-class models).
//!
//! [`RowSum`]: crate::RowSum
//!
//! [`Link::SoftmaxSvml`]: crate::Link::SoftmaxSvml
//! [`Link::LogSumExp`]: crate::Link::LogSumExp
//! [`Link::SoftmaxCatBoost`]: crate::Link::SoftmaxCatBoost
//! [`Link::Softmax`]: crate::Link::Softmax

use crate::ensemble::{LogSumExp, RowSum};
use crate::svml_exp::{exp_ha, exp_la};
use crate::svml_log::{log1p_la, log_la};

/// scikit-learn's `utils.extmath.softmax` (multiclass `HalfMultinomialLoss`) under
/// numpy 2: `exp(x − max)` with SVML's high-accuracy `exp`, divided by the row's sum.
pub(crate) fn numpy_svml(v: &mut [f64], order: RowSum) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    v.iter_mut().for_each(|x| *x = exp_ha(*x - max));
    let sum = row_sum(v, order);
    v.iter_mut().for_each(|x| *x /= sum);
}

/// numpy's `sum` of a row in the given order.
fn row_sum(v: &[f64], order: RowSum) -> f64 {
    match order {
        RowSum::InOrder => v.iter().fold(0.0, |s, &x| s + x),
        RowSum::Pairwise => pairwise_sum(v.len(), &|i| v[i]),
    }
}

/// numpy's `pairwise_sum` (`loops_utils.h`) of `value(0..n)`: blocks of up to 128
/// values with eight running sums, larger rows split in two halves (the first a
/// multiple of 8). Each value is asked for once.
fn pairwise_sum(n: usize, value: &dyn Fn(usize) -> f64) -> f64 {
    pairwise_from(0, n, value)
}

fn pairwise_from(start: usize, n: usize, value: &dyn Fn(usize) -> f64) -> f64 {
    if n < 8 {
        (start..start + n).fold(0.0, |s, i| s + value(i))
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.iter_mut()
            .enumerate()
            .for_each(|(j, r)| *r = value(start + j));
        let whole = n - n % 8;
        for block in (8..whole).step_by(8) {
            r.iter_mut()
                .enumerate()
                .for_each(|(j, r)| *r += value(start + block + j));
        }
        let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        (start + whole..start + n).fold(head, |s, i| s + value(i))
    } else {
        let half = n / 2 - (n / 2) % 8;
        pairwise_from(start, half, value) + pairwise_from(start + half, n - half, value)
    }
}

/// scikit-learn 1.0–1.3's `MultinomialDeviance._raw_prediction_to_proba` under numpy 1:
/// `exp(x − logsumexp(x))`, with SciPy's `logsumexp` of the given kind and SVML's
/// default-accuracy `exp`, `log` and `log1p`; the raw predictions are C-ordered, so
/// the sums are pairwise.
pub(crate) fn scipy_logsumexp(v: &mut [f64], kind: LogSumExp) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let logsumexp = match kind {
        LogSumExp::LogOfSum => {
            let sum = pairwise_sum(v.len(), &|i| exp_la(v[i] - max));
            log_la(sum) + max
        }
        LogSumExp::Log1pOfRest => {
            // The maxima are taken out of the sum (set to −inf, whose exp is 0) and
            // counted; the rest is divided by their count.
            let maxima = v.iter().filter(|&&x| x == max).count() as f64;
            let rest = pairwise_sum(v.len(), &|i| {
                if v[i] == max {
                    0.0
                } else {
                    exp_la(v[i] - max)
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize) -> alloc::vec::Vec<f64> {
        (0..n)
            .map(|i| 1.0 / (i + 1) as f64 * libm::pow(10.0, (i % 7) as f64 - 3.0))
            .collect()
    }

    /// numpy 2.4.6's `a.sum(axis=1)` of such rows: C-ordered (pairwise) and
    /// Fortran-ordered (in order), bits as numpy printed them.
    #[test]
    fn row_sums_in_numpy_order() {
        for (n, c_order, f_order) in [
            (10, 0x40643a6150008526u64, 0x40643a6150008526u64),
            (20, 0x406eeea77e1d2cde, 0x406eeea77e1d2cdd),
            (150, 0x40823a88474d830c, 0x40823a88474d830a),
            (300, 0x40859f34bafc82ca, 0x40859f34bafc82c5),
        ] {
            let v = row(n);
            assert_eq!(row_sum(&v, RowSum::Pairwise).to_bits(), c_order, "{n}");
            assert_eq!(row_sum(&v, RowSum::InOrder).to_bits(), f_order, "{n}");
        }
    }
}
