//! Byte layout constants of the `.ewm` format, shared by the encoder and the reader.
//!
//! Section numbers in comments refer to `core/FORMAT.md`, the specification.

/// §1 The four magic bytes at offset 0: `EWM` and ASCII SUB, so a text tool stops there.
pub const MAGIC: [u8; 4] = *b"EWM\x1a";
/// §1 The newest format version this crate writes and reads: version 2 adds the
/// optional §11 node statistics.
pub const VERSION: u16 = 2;
/// §1 The version written for a model without §11, which version-1 readers open.
pub const VERSION_1: u16 = 1;
/// §1 Size of the fixed header.
pub const HEADER_SIZE: usize = 96;

/// §2 Size of a feature record.
pub const FEATURE_SIZE: usize = 48;
/// §3 Size of a class record.
pub const CLASS_SIZE: usize = 8;
/// §5 Size of a tree record.
pub const TREE_SIZE: usize = 16;
/// §6 Size of a narrow node (float32 threshold).
pub const NODE_SIZE_NARROW: usize = 12;
/// §6 Size of a wide node (float64 threshold).
pub const NODE_SIZE_WIDE: usize = 16;

/// §1 Header byte 15, bit 0: nodes are wide (float64 thresholds, float64 comparison).
pub const FLAG_WIDE_NODES: u8 = 1;
/// §1 Header byte 15, bit 1: boosting sums accumulate in float32.
pub const FLAG_ACCUMULATE_F32: u8 = 2;
/// §1 Header byte 15, bit 2: class labels were integers in the source model.
pub const FLAG_INTEGER_LABELS: u8 = 4;
/// §1 Header byte 15, bit 3: summed margins are divided by the number of rounds
/// (`n_trees / n_outputs`) before the link (LightGBM random-forest mode).
pub const FLAG_DIVIDE_BY_ROUNDS: u8 = 8;
/// §1 All header flag bits defined by version 1.
pub const HEADER_FLAGS_KNOWN: u8 = 15;

/// §2 Feature flag: the valid range is present.
pub const FEATURE_HAS_VALID_RANGE: u32 = 1;
/// §2 Feature flag: the training range is present.
pub const FEATURE_HAS_TRAIN_RANGE: u32 = 2;
/// §2 Feature flag: NaN is an accepted input.
pub const FEATURE_ALLOW_MISSING: u32 = 4;
/// §2 All feature flag bits defined by version 1.
pub const FEATURE_FLAGS_KNOWN: u32 = 7;

/// §6 Node flag: a missing (NaN) input goes to the left child.
pub const NODE_MISSING_LEFT: u16 = 1;
/// §6 Node flag: the left child is a leaf.
pub const NODE_LEFT_LEAF: u16 = 2;
/// §6 Node flag: the right child is a leaf.
pub const NODE_RIGHT_LEAF: u16 = 4;
/// §6 Node flag: a categorical split; the threshold field holds a §10 word index.
pub const NODE_CATEGORICAL: u16 = 8;
/// §6 Node flag: categories in the set go left (else right).
pub const NODE_IN_SET_LEFT: u16 = 16;
/// §6 Node flag: `|x| <= 1e-35f32` becomes 0.0 before the test.
pub const NODE_TINY_AS_ZERO: u16 = 32;
/// §6 Node flag: NaN becomes 0.0 before the test.
pub const NODE_NAN_AS_ZERO: u16 = 64;
/// §6 Node flag: after the above, `|x| <= 1e-35f32` counts as missing.
pub const NODE_ZERO_MISSING: u16 = 128;
/// §6 Node flag (categorical only): only an integral input has a category.
pub const NODE_INTEGERS_ONLY: u16 = 256;
/// §6 The flags that take a node off the plain numeric path.
pub const NODE_RULE_FLAGS: u16 =
    NODE_CATEGORICAL | NODE_TINY_AS_ZERO | NODE_NAN_AS_ZERO | NODE_ZERO_MISSING;
/// §6 All node flag bits defined by version 1.
pub const NODE_FLAGS_KNOWN: u16 = 511;

/// §4 Link code of [`crate::Link::ScaledSigmoid`]; its scale follows the base margins.
pub const LINK_SCALED_SIGMOID: u8 = 4;
/// §1 Link code of [`crate::Link::SoftmaxSvml`] with [`crate::RowSum::InOrder`].
pub const LINK_SOFTMAX_SVML: u8 = 5;
/// §1 Link code of [`crate::Link::SoftmaxSvml`] with [`crate::RowSum::Pairwise`].
pub const LINK_SOFTMAX_SVML_PAIRWISE: u8 = 9;
/// §1 Link code of [`crate::Link::LogSumExp`] with [`crate::LogSumExp::LogOfSum`].
pub const LINK_LOGSUMEXP_LOG_OF_SUM: u8 = 6;
/// §1 Link code of [`crate::Link::LogSumExp`] with [`crate::LogSumExp::Log1pOfRest`].
pub const LINK_LOGSUMEXP_LOG1P_OF_REST: u8 = 7;
/// §1 Link code of [`crate::Link::SoftmaxCatBoost`].
pub const LINK_SOFTMAX_CATBOOST: u8 = 8;

/// §11 Bytes of node statistics per split node (its cover, f64).
pub const STATS_SPLIT_SIZE: usize = 8;
/// §11 Bytes of node statistics per leaf (its cover, f64, and its source id, u32).
pub const STATS_LEAF_SIZE: usize = 12;

/// §8 Most features a model may have (feature indices are 16-bit in nodes).
pub const MAX_FEATURES: u32 = 65_535;
/// §8 Most classes or outputs a model may have.
pub const MAX_OUTPUTS: u32 = 65_535;

/// Header field offsets (§1).
pub mod header {
    pub const VERSION: usize = 4;
    pub const HEADER_SIZE: usize = 6;
    pub const FILE_SIZE: usize = 8;
    pub const TASK: usize = 12;
    pub const AGGREGATION: usize = 13;
    pub const LINK: usize = 14;
    pub const FLAGS: usize = 15;
    pub const N_FEATURES: usize = 16;
    pub const N_CLASSES: usize = 20;
    pub const N_OUTPUTS: usize = 24;
    pub const LEAF_WIDTH: usize = 28;
    pub const N_TREES: usize = 32;
    pub const N_NODES: usize = 36;
    pub const N_LEAVES: usize = 40;
    pub const STRINGS_SIZE: usize = 44;
    pub const FEATURES_OFFSET: usize = 48;
    pub const CLASSES_OFFSET: usize = 52;
    pub const BASE_OFFSET: usize = 56;
    pub const TREES_OFFSET: usize = 60;
    pub const NODES_OFFSET: usize = 64;
    pub const LEAVES_OFFSET: usize = 68;
    pub const STRINGS_OFFSET: usize = 72;
    pub const SOURCE_OFFSET: usize = 76;
    pub const SOURCE_LEN: usize = 80;
    pub const CATEGORIES_OFFSET: usize = 84;
    pub const CATEGORIES_WORDS: usize = 88;
    /// Version 2 only (reserved in version 1).
    pub const STATS_OFFSET: usize = 92;
}

/// Reads a little-endian `u16` at `at`; `None` past the end.
#[inline(always)]
pub fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Reads a little-endian `u32` at `at`; `None` past the end.
#[inline(always)]
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a little-endian `f64` at `at`; `None` past the end.
#[inline(always)]
pub fn f64_at(bytes: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
