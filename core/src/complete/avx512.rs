//! The complete-tree walk's batch kernels for x86-64 CPUs with AVX-512F: a block's
//! rows step down each tree's top together, many to a register ([`narrow`] for
//! float32 thresholds, 16 rows; [`wide`] for float64, 8 rows).
//!
//! Exactness: the comparison is the portable walk's `!(x <= t)` (`_CMP_NLE_UQ`, true
//! for NaN), and each row adds one leaf per tree, in tree order, in the model's
//! summation type (one addition per lane).

use super::Complete;
use crate::cpu::VectorIsa;
use crate::prepared::Threshold;

mod narrow;
mod wide;

/// Proof that this CPU runs AVX-512F: only [`Kernel::new`] makes one.
pub(crate) struct Kernel(());

impl Kernel {
    /// The kernel, if the CPU and the operating system run AVX-512F.
    pub(super) fn new() -> Option<Kernel> {
        (VectorIsa::detected() >= VectorIsa::Avx512).then_some(Kernel(()))
    }
}

/// The kernel of a threshold type.
pub(crate) trait Kernels: Threshold {
    /// Adds every tree's leaves onto `sums` (by output, `BLOCK_ROWS` rows each) for
    /// the rows of `block` (laid out by `fill_block`). `F32`: the model adds in
    /// float32.
    fn block_sums<const F32: bool>(
        kernel: &Kernel,
        c: &Complete<Self>,
        block: &[Self],
        sums: &mut [f64],
    );
}

impl Kernels for f32 {
    fn block_sums<const F32: bool>(_: &Kernel, c: &Complete<f32>, block: &[f32], sums: &mut [f64]) {
        // Every column a split names is below `block_len - BLOCK_ROWS` (checked when
        // the trees were built), so every lane's load or gather stays in `block`.
        if block.len() < c.block_len || sums.len() < c.n_outputs * crate::prepared::BLOCK_ROWS {
            return c.block_sums::<F32>(block, sums);
        }
        // SAFETY: a `Kernel` exists only if the CPU runs AVX-512F; bounds checked above.
        #[allow(unsafe_code)]
        unsafe {
            narrow::block_sums::<F32>(c, block, sums)
        }
    }
}

impl Kernels for f64 {
    fn block_sums<const F32: bool>(_: &Kernel, c: &Complete<f64>, block: &[f64], sums: &mut [f64]) {
        // No model adds float64-threshold trees in float32 (`from_layout` refuses
        // them): only float64 sums have a kernel.
        if F32
            || block.len() < c.block_len
            || sums.len() < c.n_outputs * crate::prepared::BLOCK_ROWS
        {
            return c.block_sums::<F32>(block, sums);
        }
        // SAFETY: a `Kernel` exists only if the CPU runs AVX-512F; bounds checked above.
        #[allow(unsafe_code)]
        unsafe {
            wide::block_sums(c, block, sums)
        }
    }
}
