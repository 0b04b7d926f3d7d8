//! [`PickleError`]: why the pickle VM stopped. The VM knows nothing of scikit-learn,
//! so its errors say only what happened to the stream; `crate::sklearn` maps a refused
//! global to its own message (an unsupported estimator, or a class that is no tree
//! model).

use std::fmt;

/// Why a pickle stream could not be run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PickleError {
    /// The stream is malformed.
    Malformed {
        /// Byte offset of the offending opcode.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A resource limit was reached (stack, MARK depth, memo, values, allocation).
    Limit {
        /// What was limited.
        what: &'static str,
        /// The limit that was reached.
        limit: usize,
        /// Byte offset of the opcode that reached it.
        offset: usize,
    },
    /// The stream names a global that is not on the allow-list
    /// ([`super::globals::ALLOWED`]); nothing was imported or called.
    RefusedGlobal {
        /// The global's module, e.g. `os`.
        module: String,
        /// The global's name, e.g. `system`.
        name: String,
        /// Byte offset of the opcode that named it.
        offset: usize,
    },
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::Malformed { offset, reason } => {
                write!(f, "invalid pickle at byte {offset}: {reason}")
            }
            PickleError::Limit {
                what,
                limit,
                offset,
            } => write!(
                f,
                "refusing the model: {what} exceeds the limit of {limit} (at byte {offset})"
            ),
            PickleError::RefusedGlobal {
                module,
                name,
                offset,
            } => write!(
                f,
                "refused to call {module}.{name} (at byte {offset}): it is not on the pickle allow-list"
            ),
        }
    }
}

impl std::error::Error for PickleError {}
