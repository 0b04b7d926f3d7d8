//! [`SklearnError`]: why a pickle is not a scikit-learn model Edgewood reads, and how
//! the pickle VM's refusal of a global becomes a scikit-learn message.

use std::fmt;

use super::boosting::BOOSTING;
use super::ESTIMATORS;
use crate::pickle::PickleError;
use crate::ImportError;

/// Why a scikit-learn pickle could not be read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SklearnError {
    /// The pickle names a global that is not on the allow-list and is no scikit-learn
    /// class (`os.system`); nothing was called.
    RefusedGlobal {
        /// The global's module, e.g. `os`.
        module: String,
        /// The global's name, e.g. `system`.
        name: String,
        /// Byte offset of the opcode that named it.
        offset: usize,
    },
    /// The pickle holds something other than a supported estimator.
    UnsupportedEstimator {
        /// The class (`sklearn.svm._classes.SVC`) or Python type (`dict`) found.
        class: String,
    },
    /// A supported estimator whose attributes are missing or inconsistent.
    Invalid {
        /// The attribute path, e.g. `estimators_[3].tree_.nodes`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for SklearnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SklearnError::RefusedGlobal {
                module,
                name,
                offset,
            } => write!(
                f,
                "refusing pickle global {module}.{name} (at byte {offset}): it is not a scikit-learn tree model class, and Edgewood never calls anything a pickle names"
            ),
            SklearnError::UnsupportedEstimator { class } => {
                write!(f, "unsupported estimator {class} (supported: ")?;
                supported_families(f)?;
                f.write_str(" classifiers and regressors)")
            }
            SklearnError::Invalid { path, reason } => {
                write!(f, "invalid scikit-learn model: {path}: {reason}")
            }
        }
    }
}

/// `RandomForest, ExtraTrees, …`: the class families of [`ESTIMATORS`] and [`BOOSTING`]
/// (each a classifier and a regressor), so the message lists what the readers read.
fn supported_families(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut families: Vec<&str> = Vec::new();
    for class in ESTIMATORS.iter().chain(BOOSTING) {
        let family = class
            .strip_suffix("Classifier")
            .or_else(|| class.strip_suffix("Regressor"))
            .unwrap_or(class);
        if !families.contains(&family) {
            families.push(family);
        }
    }
    for (i, family) in families.iter().enumerate() {
        let separator = match i {
            0 => "",
            _ if i + 1 == families.len() => " and ",
            _ => ", ",
        };
        write!(f, "{separator}{family}")?;
    }
    Ok(())
}

impl std::error::Error for SklearnError {}

/// The pickle VM's errors as a scikit-learn reader reports them: a refused
/// `sklearn.*` global is an estimator (or helper class) Edgewood does not read, and
/// any other refused global is named with the reason it was refused.
pub(crate) fn from_pickle(e: PickleError) -> ImportError {
    match e {
        PickleError::RefusedGlobal { module, name, .. }
            if module == "sklearn" || module.starts_with("sklearn.") =>
        {
            SklearnError::UnsupportedEstimator {
                class: format!("{module}.{name}"),
            }
            .into()
        }
        PickleError::RefusedGlobal {
            module,
            name,
            offset,
        } => SklearnError::RefusedGlobal {
            module,
            name,
            offset,
        }
        .into(),
        other => other.into(),
    }
}
