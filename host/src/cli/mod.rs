//! The model subcommands: `convert`, `inspect`, `predict`.

pub mod convert;
pub mod inspect;
pub mod predict;
