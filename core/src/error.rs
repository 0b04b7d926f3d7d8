//! The errors of the core: building a model, opening `.ewm` bytes, validating input.
//!
//! Each says what went wrong and where (tree, node, feature, byte offset), so that a
//! message shown to a user can be acted on without a debugger.

use alloc::string::String;
use core::fmt;

use crate::float_text::DisplayF64;

/// An [`Ensemble`](crate::Ensemble) that cannot be encoded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A model needs between 1 and 65,535 features.
    FeatureCount(usize),
    /// A model needs between 1 and 65,535 outputs, and a classifier at least 2 classes.
    OutputCount(usize),
    /// A model needs at least one tree.
    NoTrees,
    /// A tree has no nodes.
    EmptyTree(usize),
    /// A child index points outside the tree.
    ChildOutOfRange { tree: usize, node: usize },
    /// A node is reachable twice (a cycle or shared subtree).
    NotATree { tree: usize, node: usize },
    /// A split the root does not reach (a detached cycle, or a root chosen wrongly).
    Unreached { tree: usize, node: usize },
    /// A split tests a feature the schema does not have.
    FeatureOutOfRange {
        tree: usize,
        node: usize,
        feature: u32,
    },
    /// A split threshold is NaN.
    NanThreshold { tree: usize, node: usize },
    /// A leaf holds the wrong number of values.
    LeafWidth {
        tree: usize,
        node: usize,
        expected: usize,
        found: usize,
    },
    /// A tree adds to an output the model does not have.
    TreeOutput { tree: usize, output: u32 },
    /// The base margins do not match the number of outputs.
    BaseLength { expected: usize, found: usize },
    /// The encoded model would exceed 4 GiB.
    TooLarge(usize),
    /// A categorical split names a category at or above [`crate::MAX_CATEGORY`].
    Category {
        tree: usize,
        node: usize,
        category: u32,
    },
    /// The categorical bitsets of the model would exceed 64 MiB.
    TooManyCategories { tree: usize, node: usize },
    /// Averaging over rounds needs one value per leaf and whole rounds of trees.
    Rounds { trees: usize, outputs: usize },
    /// A leaf value is NaN or infinite (§8: no source library produces one).
    NonFiniteLeaf { tree: usize, node: usize },
    /// A base margin or the sigmoid scale is NaN or infinite (§4).
    NonFiniteBase,
    /// A tree's node statistics do not have one entry per node.
    StatsLength {
        tree: usize,
        expected: usize,
        found: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EncodeError::*;
        match self {
            FeatureCount(n) => write!(f, "a model needs 1 to 65535 features, this one has {n}"),
            OutputCount(n) => write!(f, "unsupported number of outputs or classes: {n}"),
            NoTrees => write!(f, "the model has no trees"),
            EmptyTree(t) => write!(f, "tree {t} has no nodes"),
            ChildOutOfRange { tree, node } => write!(
                f,
                "tree {tree}: a child index points to node {node}, which does not exist"
            ),
            NotATree { tree, node } => write!(
                f,
                "tree {tree}: node {node} is reached twice (a cycle or shared subtree)"
            ),
            Unreached { tree, node } => write!(
                f,
                "tree {tree}: split node {node} is not reached from the root (a detached cycle or a wrong root)"
            ),
            FeatureOutOfRange {
                tree,
                node,
                feature,
            } => {
                write!(f, "tree {tree} node {node}: split on feature {feature}, which the model does not have")
            }
            NanThreshold { tree, node } => {
                write!(f, "tree {tree} node {node}: the threshold is NaN")
            }
            NonFiniteLeaf { tree, node } => {
                write!(
                    f,
                    "tree {tree} node {node}: a leaf value is NaN or infinite"
                )
            }
            NonFiniteBase => write!(f, "a base score or the sigmoid scale is NaN or infinite"),
            LeafWidth {
                tree,
                node,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tree {tree} node {node}: a leaf holds {found} values, expected {expected}"
                )
            }
            TreeOutput { tree, output } => write!(
                f,
                "tree {tree} adds to output {output}, which the model does not have"
            ),
            BaseLength { expected, found } => {
                write!(f, "{found} base scores given for {expected} outputs")
            }
            TooLarge(n) => write!(f, "the encoded model would take {n} bytes, more than 4 GiB"),
            Category {
                tree,
                node,
                category,
            } => write!(
                f,
                "tree {tree} node {node}: category {category} is beyond the limit of {}",
                crate::MAX_CATEGORY - 1
            ),
            TooManyCategories { tree, node } => write!(
                f,
                "tree {tree} node {node}: the categorical sets of the model exceed 64 MiB"
            ),
            Rounds { trees, outputs } => write!(
                f,
                "{trees} trees cannot be averaged over rounds of {outputs} outputs"
            ),
            StatsLength {
                tree,
                expected,
                found,
            } => write!(
                f,
                "tree {tree}: node statistics hold {found} entries for {expected} nodes"
            ),
        }
    }
}

/// Bytes that are not a `.ewm` model this version can read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes do not start with the `.ewm` magic.
    NotEwm,
    /// A format version this reader does not know.
    UnsupportedVersion(u16),
    /// The file is shorter than its header says.
    Truncated { expected: usize, found: usize },
    /// A header field holds a value the format does not allow.
    BadHeader { field: &'static str, value: u64 },
    /// A section lies outside the file.
    SectionOutOfBounds { section: &'static str },
    /// Full validation found a broken node.
    BadNode {
        tree: usize,
        node: usize,
        reason: &'static str,
    },
    /// Full validation found a broken tree record.
    BadTree { tree: usize, reason: &'static str },
    /// A string is out of bounds or not UTF-8.
    BadString { what: &'static str, index: usize },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FormatError::*;
        match self {
            NotEwm => write!(f, "not an Edgewood model (.ewm): wrong magic bytes"),
            UnsupportedVersion(v) => write!(
                f,
                "unsupported .ewm format version {v} (this reader knows version 1)"
            ),
            Truncated { expected, found } => write!(
                f,
                "truncated .ewm model: {found} bytes, the header says {expected}"
            ),
            BadHeader { field, value } => {
                write!(f, "corrupt .ewm header: {field} = {value} is not allowed")
            }
            SectionOutOfBounds { section } => write!(
                f,
                "corrupt .ewm model: the {section} section lies outside the file"
            ),
            BadNode { tree, node, reason } => {
                write!(f, "corrupt .ewm model: tree {tree} node {node}: {reason}")
            }
            BadTree { tree, reason } => write!(f, "corrupt .ewm model: tree {tree}: {reason}"),
            BadString { what, index } => write!(
                f,
                "corrupt .ewm model: {what} {index} is not a valid string"
            ),
        }
    }
}

/// An input row the model refuses. Every variant names the feature concerned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InputError {
    /// A named input the model has no feature for.
    UnknownFeature { name: String },
    /// A feature the input does not give.
    MissingFeature { name: String },
    /// A feature given twice.
    DuplicateFeature { name: String },
    /// NaN where the feature does not accept missing values, or ±infinity.
    NotFinite { name: String, value: f64 },
    /// A value outside the feature's valid range.
    OutOfRange {
        name: String,
        value: f64,
        min: f64,
        max: f64,
    },
    /// A positional row of the wrong length.
    RowLength { expected: usize, found: usize },
}

impl InputError {
    /// A stable machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::UnknownFeature { .. } => "unknown_feature",
            InputError::MissingFeature { .. } => "missing_feature",
            InputError::DuplicateFeature { .. } => "duplicate_feature",
            InputError::NotFinite { .. } => "not_finite",
            InputError::OutOfRange { .. } => "out_of_range",
            InputError::RowLength { .. } => "row_length",
        }
    }

    /// The feature concerned, if the error is about one feature.
    pub fn feature(&self) -> Option<&str> {
        match self {
            InputError::UnknownFeature { name }
            | InputError::MissingFeature { name }
            | InputError::DuplicateFeature { name }
            | InputError::NotFinite { name, .. }
            | InputError::OutOfRange { name, .. } => Some(name),
            InputError::RowLength { .. } => None,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InputError::*;
        match self {
            UnknownFeature { name } => write!(f, "unknown feature '{name}'"),
            MissingFeature { name } => write!(f, "missing feature '{name}'"),
            DuplicateFeature { name } => write!(f, "feature '{name}' is given more than once"),
            NotFinite { name, value } if value.is_nan() => write!(
                f,
                "feature '{name}' is missing (NaN), which this model does not accept"
            ),
            NotFinite { name, value } => {
                let value = DisplayF64(*value);
                write!(f, "feature '{name}' must be a finite number, got {value}")
            }
            OutOfRange {
                name,
                value,
                min,
                max,
            } => {
                let (value, min, max) = (DisplayF64(*value), DisplayF64(*min), DisplayF64(*max));
                write!(
                    f,
                    "feature '{name}' must be between {min} and {max}, got {value}"
                )
            }
            RowLength { expected, found } => {
                write!(f, "a row needs {expected} values, got {found}")
            }
        }
    }
}

/// Why a prediction could not be made.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PredictError {
    /// The input was refused.
    Input(InputError),
    /// The model bytes are corrupt where this prediction walked (only possible for a
    /// model opened without [`Model::validate`](crate::Model::validate)).
    Corrupt(FormatError),
    /// An output buffer of the wrong size.
    OutputLength { expected: usize, found: usize },
    /// An explanation of a model that records no cover (§11): ONNX models have none.
    NoCover,
    /// Row `row` (0-based, of the batch) came out NaN or infinite: the model's sums
    /// overflow float range there. No walk prints such a value; see §9.
    NotFinite { row: usize },
}

impl fmt::Display for PredictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PredictError::Input(e) => e.fmt(f),
            PredictError::Corrupt(e) => e.fmt(f),
            PredictError::OutputLength { expected, found } => {
                write!(
                    f,
                    "the output buffer holds {found} values, expected {expected}"
                )
            }
            PredictError::NoCover => write!(
                f,
                "the model records no cover, which explanations need: ONNX models have \
                 none, and a model converted with --no-cover (such as the embedded Iris \
                 model) has lost it; convert the model from its scikit-learn, XGBoost or \
                 LightGBM file"
            ),
            PredictError::NotFinite { row } => write!(
                f,
                "row {row}: the prediction is not a finite number (the model's sums \
                 overflow there)"
            ),
        }
    }
}

impl From<InputError> for PredictError {
    fn from(e: InputError) -> Self {
        PredictError::Input(e)
    }
}

impl From<FormatError> for PredictError {
    fn from(e: FormatError) -> Self {
        PredictError::Corrupt(e)
    }
}

impl core::error::Error for EncodeError {}
impl core::error::Error for FormatError {}
impl core::error::Error for InputError {}
impl core::error::Error for PredictError {}
