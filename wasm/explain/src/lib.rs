//! The explanations of the `edgewood` npm package (`model.explain`): exact TreeSHAP
//! (`edgewood_core::Explainer`) in a wasm of its own.
//!
//! It is separate from the engine (`edgewood-wasm`) because the explainer is about
//! 16 KB of gzipped wasm, more than the engine's budget has left: a page that only
//! predicts never downloads it. The JavaScript in `wasm/js/explain-api.js` loads it on
//! the first explanation and hands it a copy of the model's bytes, which the engine
//! has already validated; the engine also validates every row before it comes here,
//! so the refusals keep the engine's words and this wasm formats no text.
//!
//! To fit its budget (15 KB gzipped) the crate is `no_std` in wasm: a panic aborts
//! without formatting a message (there is none to show: an explanation of a validated
//! model and row cannot fail), and allocation goes through `lol_alloc`'s free list.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use edgewood_core::{Explainer, Link, Model, TaskKind};
use self_cell::self_cell;
use wasm_bindgen::prelude::*;

self_cell!(
    /// A copy of the model's bytes and, borrowing them, its explainer.
    struct Opened {
        owner: Box<[u8]>,
        #[covariant]
        dependent: Explainer,
    }
);

/// One model's explainer plus the wasm-memory buffers JavaScript reads and writes.
#[wasm_bindgen]
pub struct Explaining {
    opened: Opened,
    /// One row, written by JavaScript before [`Explaining::explain_one`].
    row: Vec<f64>,
    /// The explanation of [`Explaining::explain_one`].
    out: Vec<f64>,
    /// A batch of rows, sized by [`Explaining::reserve`].
    batch_in: Vec<f64>,
    batch_out: Vec<f64>,
}

#[wasm_bindgen]
impl Explaining {
    /// Opens `.ewm` bytes (validated by the engine) and builds the explainer with its
    /// tables; `undefined` if the model has no covers or the bytes are refused.
    pub fn open(bytes: Vec<u8>) -> Option<Explaining> {
        let opened = Opened::try_new(bytes.into_boxed_slice(), |b| {
            let model = Model::open(b).map_err(drop)?;
            Explainer::new(model).map_err(drop)
        })
        .ok()?;
        let explainer = opened.borrow_dependent();
        let nf = explainer.model().n_features();
        let len = explainer.explanation_len();
        Some(Explaining {
            opened,
            row: vec![0.0; nf],
            out: vec![0.0; len],
            batch_in: Vec::new(),
            batch_out: Vec::new(),
        })
    }

    /// Outputs explained: one per class of a forest or multiclass boosted classifier,
    /// one for a regressor and for a binary boosted classifier (the second class's).
    pub fn outputs(&self) -> u32 {
        self.opened.borrow_dependent().n_outputs() as u32
    }

    /// What the contributions add up to: 0 a probability (forest classifiers), 1 a
    /// value (regressors whose output is their raw sum), 2 a margin (boosted
    /// classifiers and log-link regressors: before the link).
    pub fn space(&self) -> u32 {
        let model = self.opened.borrow_dependent().model();
        match (model.boosting_link(), model.task()) {
            (None, TaskKind::Classification) => 0,
            (None, _) | (Some(Link::Identity), _) => 1,
            (Some(_), _) => 2,
        }
    }

    /// Where JavaScript writes the row for [`Explaining::explain_one`] (`n_features`
    /// f64). Stable for the value's life.
    pub fn row_ptr(&self) -> *const f64 {
        self.row.as_ptr()
    }

    /// Where [`Explaining::explain_one`] leaves its explanation: per output, each
    /// feature's contribution, then the base (`outputs × (n_features + 1)` f64).
    /// Stable for the value's life.
    pub fn out_ptr(&self) -> *const f64 {
        self.out.as_ptr()
    }

    /// Explains the row at [`Explaining::row_ptr`].
    pub fn explain_one(&mut self) -> bool {
        let explainer = self.opened.borrow_dependent();
        explainer.explain_into(&self.row, &mut self.out).is_ok()
    }

    /// Makes room for `n_rows` rows and returns where JavaScript writes their
    /// `n_rows × n_features` f64 values. Invalidates earlier batch pointers.
    pub fn reserve(&mut self, n_rows: u32) -> *mut f64 {
        let explainer = self.opened.borrow_dependent();
        let n = n_rows as usize;
        self.batch_in
            .resize(n * explainer.model().n_features(), 0.0);
        self.batch_out.resize(n * explainer.explanation_len(), 0.0);
        self.batch_in.as_mut_ptr()
    }

    /// Where [`Explaining::explain_batch`] leaves one explanation per reserved row.
    pub fn batch_out_ptr(&self) -> *const f64 {
        self.batch_out.as_ptr()
    }

    /// Explains every reserved row.
    pub fn explain_batch(&mut self) -> bool {
        let explainer = self.opened.borrow_dependent();
        let nf = explainer.model().n_features();
        let len = explainer.explanation_len();
        self.batch_in
            .chunks_exact(nf)
            .zip(self.batch_out.chunks_exact_mut(len))
            .all(|(row, out)| explainer.explain_into(row, out).is_ok())
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// In wasm a panic aborts (the `wasm-release` profile's `panic = "abort"`) without
/// formatting its message: the formatting machinery would be a fifth of this wasm.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
