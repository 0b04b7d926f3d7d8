//! numpy's summation order, which older scikit-learn classifiers' `predict_proba`
//! normalisation depends on: reproduced so that leaf fractions match bit for bit.

/// numpy's `add.reduce` of a contiguous float64 row: the identity 0 plus the pairwise
/// sum of the whole row (sequential below 8 values, else 8 accumulators in blocks of
/// at most 128, halves above that). Checked against numpy 2.4 in the tests.
pub fn numpy_sum(row: &[f64]) -> f64 {
    0.0 + pairwise_sum(row)
}

fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `proba / normalizer` with a zero normalizer replaced by 1 (sklearn < 1.4).
pub fn normalise_row(row: &[f64]) -> Vec<f64> {
    let mut s = numpy_sum(row);
    if s == 0.0 {
        s = 1.0;
    }
    row.iter().map(|&x| x / s).collect()
}
