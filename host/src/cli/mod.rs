//! The model subcommands: `convert`, `inspect`, `predict`, `component`, and the helpers
//! they share.

pub mod component;
pub mod convert;
pub mod inspect;
pub mod predict;

mod io;
mod load;

pub use load::ImportArgs;
