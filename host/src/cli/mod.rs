//! The model subcommands: `convert`, `inspect`, `predict`, and the helpers they share.

pub mod convert;
pub mod inspect;
pub mod predict;

mod io;
mod load;
