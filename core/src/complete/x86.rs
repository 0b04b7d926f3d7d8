//! The complete-tree walk's batch kernels for x86-64: AVX-512F and BW for float32
//! ([`avx512_narrow`], 16 rows to a register) and float64 thresholds
//! ([`avx512_wide`], 8 rows), and AVX2 for float32 ([`avx2`], 8 rows), each taken
//! when the CPU runs it (found at run time, see [`VectorIsa`]) and the caller allows
//! it. What the three write alike but for their registers and instructions is
//! written once, as a macro each expands ([`walk`]).
//!
//! Exactness: every kernel compares as the portable walk does, `!(x <= t)` (NaN goes
//! right), and each row adds one leaf per tree, in tree order, in the model's
//! summation type (one addition per lane).

use super::tops::{Top, Tops};
use super::{Complete, SPARE_SPLITS};
use crate::cpu::VectorIsa;
use crate::prepared::{Threshold, BLOCK_ROWS};

mod avx2;
mod avx512_narrow;
mod avx512_wide;
mod fill;
mod walk;

/// The kernels of a threshold type.
pub(crate) trait Kernels: Threshold {
    /// Adds every tree's leaves onto `sums` (by output, [`BLOCK_ROWS`] rows each) for
    /// the rows of `block` (laid out by `fill_block`, its splits' `columns` being
    /// `c.columns`, or by `fill_folded_block`, `c.folded_columns`) through the best kernel `isa`
    /// allows and the CPU runs; `false` if there is none (the caller walks the
    /// portable way). `F32`: the model adds in float32.
    fn block_sums<const F32: bool>(
        isa: VectorIsa,
        c: &Complete<Self>,
        columns: &[u32],
        block: &[Self],
        sums: &mut [f64],
    ) -> bool;

    /// The least vector instructions a kernel of this type needs.
    const LEAST_ISA: VectorIsa;

    /// Fills `block` as `fill_folded_block` does (whether every input is present),
    /// through a kernel if `isa` allows one and the CPU runs it; `None` if there is
    /// none (the caller fills the portable way). `block` holds a batch block
    /// (`2 × nf × BLOCK_ROWS`), `rows` at most [`BLOCK_ROWS`] rows.
    fn fill_folded(isa: VectorIsa, block: &mut [Self], rows: &[f64], nf: usize) -> Option<bool> {
        let _ = (isa, block, rows, nf);
        None
    }

    /// Writes the place at the last level of `top` (one of `tops`) that each row of
    /// `block` reaches into `places`, through the best kernel `isa` allows and the
    /// CPU runs; `false` if there is none.
    fn top_places(
        isa: VectorIsa,
        tops: &Tops<Self>,
        top: &Top,
        block: &[Self],
        places: &mut [u32; BLOCK_ROWS],
    ) -> bool;
}

/// The splits of `top` as pointers for a kernel, if the arrays hold them and their
/// spare entries and `block` is long enough for every column (checked when the tops
/// were built).
fn top_arrays<T>(tops: &Tops<T>, top: &Top, block: &[T]) -> Option<(*const T, *const u32)> {
    let first = top.first_node as usize;
    let end = first + (1usize << top.depth) - 1 + SPARE_SPLITS;
    (block.len() >= tops.block_len && tops.thresholds.len() >= end && tops.columns.len() >= end)
        .then(|| {
            (
                tops.thresholds[first..].as_ptr(),
                tops.columns[first..].as_ptr(),
            )
        })
}

/// Whether a kernel may read `block` and write `sums` without checks: every column a
/// split names is below `block_len - BLOCK_ROWS` (checked when the trees were built;
/// a folded column is below its unfolded one), so every lane's load or gather stays
/// in `block`; and `columns` holds every tree's splits.
fn in_bounds<T>(c: &Complete<T>, columns: &[u32], block: &[T], sums: &[f64]) -> bool {
    block.len() >= c.block_len
        && sums.len() >= c.n_outputs * BLOCK_ROWS
        && columns.len() == c.columns.len()
}

/// The best of `isa` and what this CPU runs.
fn usable(isa: VectorIsa) -> VectorIsa {
    isa.min(VectorIsa::detected())
}

impl Kernels for f32 {
    const LEAST_ISA: VectorIsa = VectorIsa::Avx2;

    #[allow(unsafe_code)]
    fn fill_folded(isa: VectorIsa, block: &mut [f32], rows: &[f64], nf: usize) -> Option<bool> {
        let fits = nf > 0 && block.len() >= nf * BLOCK_ROWS && rows.len() <= nf * BLOCK_ROWS;
        if !fits || usable(isa) < VectorIsa::Avx512 {
            return None;
        }
        // SAFETY: the CPU runs AVX-512F (`usable`); the lengths checked above.
        Some(unsafe { fill::fill_folded(block, rows, nf) })
    }

    #[allow(unsafe_code)]
    fn block_sums<const F32: bool>(
        isa: VectorIsa,
        c: &Complete<f32>,
        columns: &[u32],
        block: &[f32],
        sums: &mut [f64],
    ) -> bool {
        if !in_bounds(c, columns, block, sums) {
            return false;
        }
        match usable(isa) {
            // SAFETY: the CPU runs AVX-512F and BW (`usable`: `VectorIsa::Avx512`
            // has both); bounds checked above.
            VectorIsa::Avx512 => unsafe {
                avx512_narrow::block_sums::<F32>(c, columns, block, sums)
            },
            // SAFETY: the CPU runs AVX2 (`usable`); bounds checked above.
            VectorIsa::Avx2 => unsafe { avx2::block_sums::<F32>(c, columns, block, sums) },
            VectorIsa::Baseline => return false,
        }
        true
    }

    #[allow(unsafe_code)]
    fn top_places(
        isa: VectorIsa,
        tops: &Tops<f32>,
        top: &Top,
        block: &[f32],
        places: &mut [u32; BLOCK_ROWS],
    ) -> bool {
        let Some((t, c)) = top_arrays(tops, top, block) else {
            return false;
        };
        match usable(isa) {
            // SAFETY: the CPU runs AVX-512F and BW (`usable`); bounds checked by
            // `top_arrays`; every column below `tops.block_len - BLOCK_ROWS` (`Tops::new`).
            VectorIsa::Avx512 => unsafe {
                avx512_narrow::places(t, c, top.depth, block, places, tops.block_len)
            },
            // SAFETY: the CPU runs AVX2 (`usable`); bounds checked by `top_arrays`.
            VectorIsa::Avx2 => unsafe { avx2::places(t, c, top.depth, block, places) },
            VectorIsa::Baseline => return false,
        }
        true
    }
}

impl Kernels for f64 {
    const LEAST_ISA: VectorIsa = VectorIsa::Avx512;

    #[allow(unsafe_code)]
    fn block_sums<const F32: bool>(
        isa: VectorIsa,
        c: &Complete<f64>,
        columns: &[u32],
        block: &[f64],
        sums: &mut [f64],
    ) -> bool {
        // No model adds float64-threshold trees in float32 (`from_layout` refuses
        // them): only float64 sums have a kernel.
        if F32 || !in_bounds(c, columns, block, sums) || usable(isa) < VectorIsa::Avx512 {
            return false;
        }
        // SAFETY: the CPU runs AVX-512F (`usable`); bounds checked above.
        unsafe { avx512_wide::block_sums(c, columns, block, sums) };
        true
    }

    #[allow(unsafe_code)]
    fn top_places(
        isa: VectorIsa,
        tops: &Tops<f64>,
        top: &Top,
        block: &[f64],
        places: &mut [u32; BLOCK_ROWS],
    ) -> bool {
        let Some((t, c)) = top_arrays(tops, top, block) else {
            return false;
        };
        if usable(isa) < VectorIsa::Avx512 {
            return false;
        }
        // SAFETY: the CPU runs AVX-512F (`usable`); bounds checked by `top_arrays`.
        unsafe { avx512_wide::places(t, c, top.depth, block, places) };
        true
    }
}
