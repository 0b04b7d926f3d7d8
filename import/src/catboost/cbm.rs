//! The native `.cbm` file parsed into a [`CbModel`]: the bytes `CBM1`, a little-endian
//! `u32` length, then a FlatBuffers `TModelCore` (schema: CatBoost's
//! `catboost/libs/model/flatbuffers/model.fbs` and `features.fbs`), read by a small
//! reader of our own in which every offset, length and vtable entry is checked against
//! the buffer before it is followed. Vectors are only ever allocated at the length of
//! the bytes that hold them, so a hostile file cannot claim memory it does not carry.
//!
//! The fields read, by vtable slot:
//! - `TModelCore`: 1 `ModelTrees`, 2 `InfoMap` (`params`, `class_params` as JSON text),
//!   3 `ModelPartIds` (CTR tables stored after the core).
//! - `TModelTrees`: 0 `ApproxDimension`, 1 `TreeSplits`, 2 `TreeSizes`, 3
//!   `TreeStartOffsets`, 4 `CatFeatures`, 5 `FloatFeatures`, 6 `OneHotFeatures`, 7
//!   `CtrFeatures`, 8 `LeafValues`, 9 `LeafWeights`, 10 `NonSymmetricStepNodes`, 12
//!   `TextFeatures`, 13 `EstimatedFeatures`, 14 `Scale`, 15 `Bias`, 16 `MultiBias`, 18
//!   `EmbeddingFeatures`.
//!
//! `TreeSplits` holds indices into the model's list of binary features: every border of
//! every float feature in order, then every value of every one-hot feature.

use serde_json::Value;

use super::{
    malformed, CbCatFeature, CbError, CbFloatFeature, CbModel, CbSplit, CbTree, NanTreatment,
    MAX_DEPTH, MAX_FEATURES, MAX_TREES,
};

/// The first bytes of a `.cbm` file.
pub const MAGIC: &[u8; 4] = b"CBM1";

/// A bounds-checked view of a FlatBuffers buffer.
#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

/// A table: its position and its vtable's.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: Buf<'a>,
    name: &'static str,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

fn bad(path: impl Into<String>, reason: impl Into<String>) -> CbError {
    malformed(path, reason)
}

impl<'a> Buf<'a> {
    fn bytes(&self, pos: usize, n: usize, what: &str) -> Result<&'a [u8], CbError> {
        pos.checked_add(n)
            .and_then(|end| self.0.get(pos..end))
            .ok_or_else(|| bad(what, format!("{n} bytes at offset {pos} past the end")))
    }
    fn u16(&self, pos: usize, what: &str) -> Result<u16, CbError> {
        let b = self.bytes(pos, 2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, pos: usize, what: &str) -> Result<u32, CbError> {
        let b = self.bytes(pos, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// The position an unsigned offset stored at `pos` points to.
    fn follow(&self, pos: usize, what: &str) -> Result<usize, CbError> {
        let off = self.u32(pos, what)? as usize;
        pos.checked_add(off)
            .filter(|&to| off != 0 && to < self.0.len())
            .ok_or_else(|| bad(what, format!("offset {off} at {pos} out of range")))
    }
    fn table(&self, pos: usize, name: &'static str) -> Result<Table<'a>, CbError> {
        let soff = self.u32(pos, name)? as i32 as i64;
        let vtable = usize::try_from(pos as i64 - soff)
            .ok()
            .filter(|&v| v + 4 <= self.0.len())
            .ok_or_else(|| bad(name, format!("vtable offset {soff} at {pos} out of range")))?;
        let vtable_len = self.u16(vtable, name)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return Err(bad(name, format!("vtable of {vtable_len} bytes")));
        }
        self.bytes(vtable, vtable_len, name)?;
        let table_len = self.u16(vtable + 2, name)? as usize;
        self.bytes(pos, table_len.max(4), name)?;
        Ok(Table {
            buf: *self,
            name,
            pos,
            vtable,
            vtable_len,
        })
    }
}

impl<'a> Table<'a> {
    /// The position of field `slot`, or `None` when it is absent (its default).
    fn field(&self, slot: usize, size: usize) -> Result<Option<usize>, CbError> {
        let entry = 4 + 2 * slot;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = self.buf.u16(self.vtable + entry, self.name)? as usize;
        if off == 0 {
            return Ok(None);
        }
        let at = self.pos + off;
        self.buf.bytes(at, size, self.name)?;
        Ok(Some(at))
    }
    fn what(&self, field: &str) -> String {
        format!("{}.{field}", self.name)
    }
    fn i32(&self, slot: usize, default: i32) -> Result<i32, CbError> {
        Ok(match self.field(slot, 4)? {
            Some(at) => self.buf.u32(at, self.name)? as i32,
            None => default,
        })
    }
    fn u8(&self, slot: usize, default: u8) -> Result<u8, CbError> {
        Ok(match self.field(slot, 1)? {
            Some(at) => self.buf.0[at],
            None => default,
        })
    }
    fn f64(&self, slot: usize, default: f64) -> Result<f64, CbError> {
        Ok(match self.field(slot, 8)? {
            Some(at) => f64::from_le_bytes(
                self.buf
                    .bytes(at, 8, self.name)?
                    .try_into()
                    .unwrap_or([0; 8]),
            ),
            None => default,
        })
    }
    /// A vector of `size`-byte elements: (position of the first, length); empty when
    /// absent. The length is checked against the bytes that follow.
    fn vector(&self, slot: usize, size: usize, field: &str) -> Result<(usize, usize), CbError> {
        let Some(at) = self.field(slot, 4)? else {
            return Ok((0, 0));
        };
        let what = self.what(field);
        let start = self.buf.follow(at, &what)?;
        let len = self.buf.u32(start, &what)? as usize;
        let bytes = len
            .checked_mul(size)
            .ok_or_else(|| bad(&what, format!("{len} elements")))?;
        self.buf.bytes(start + 4, bytes, &what)?;
        Ok((start + 4, len))
    }
    fn scalars<T>(
        &self,
        slot: usize,
        size: usize,
        field: &str,
        read: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, CbError> {
        let (start, len) = self.vector(slot, size, field)?;
        Ok(self.buf.0[start..start + len * size]
            .chunks_exact(size)
            .map(read)
            .collect())
    }
    fn i32s(&self, slot: usize, field: &str) -> Result<Vec<i32>, CbError> {
        self.scalars(slot, 4, field, |b| {
            i32::from_le_bytes([b[0], b[1], b[2], b[3]])
        })
    }
    fn f32s(&self, slot: usize, field: &str) -> Result<Vec<f32>, CbError> {
        self.scalars(slot, 4, field, |b| {
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        })
    }
    fn f64s(&self, slot: usize, field: &str) -> Result<Vec<f64>, CbError> {
        self.scalars(slot, 8, field, |b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        })
    }
    fn len(&self, slot: usize, field: &str) -> Result<usize, CbError> {
        Ok(self.vector(slot, 4, field)?.1)
    }
    /// A vector of tables.
    fn tables(
        &self,
        slot: usize,
        field: &str,
        name: &'static str,
    ) -> Result<Vec<Table<'a>>, CbError> {
        let (start, len) = self.vector(slot, 4, field)?;
        (0..len)
            .map(|i| {
                let at = self.buf.follow(start + 4 * i, &self.what(field))?;
                self.buf.table(at, name)
            })
            .collect()
    }
    fn table(
        &self,
        slot: usize,
        field: &str,
        name: &'static str,
    ) -> Result<Option<Table<'a>>, CbError> {
        match self.field(slot, 4)? {
            None => Ok(None),
            Some(at) => {
                let to = self.buf.follow(at, &self.what(field))?;
                self.buf.table(to, name).map(Some)
            }
        }
    }
    fn string(&self, slot: usize, field: &str) -> Result<Option<String>, CbError> {
        let Some(at) = self.field(slot, 4)? else {
            return Ok(None);
        };
        string_at(self.buf, at, &self.what(field)).map(Some)
    }
    fn strings(&self, slot: usize, field: &str) -> Result<Vec<String>, CbError> {
        let (start, len) = self.vector(slot, 4, field)?;
        (0..len)
            .map(|i| string_at(self.buf, start + 4 * i, &self.what(field)))
            .collect()
    }
}

/// The string an offset stored at `at` points to (UTF-8 checked, lossy never).
fn string_at(buf: Buf<'_>, at: usize, what: &str) -> Result<String, CbError> {
    let start = buf.follow(at, what)?;
    let len = buf.u32(start, what)? as usize;
    let bytes = buf.bytes(start + 4, len, what)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| bad(what, "not UTF-8"))
}

/// Parses a `.cbm` file.
pub fn parse(bytes: &[u8]) -> Result<CbModel, CbError> {
    if !bytes.starts_with(MAGIC) {
        return Err(bad("(file)", "no CBM1 magic"));
    }
    let size = Buf(bytes).u32(4, "(file) size")? as usize;
    let core = bytes
        .get(8..)
        .and_then(|rest| rest.get(..size))
        .ok_or_else(|| {
            bad(
                "(file)",
                format!(
                    "core of {size} bytes, {} present",
                    bytes.len().saturating_sub(8)
                ),
            )
        })?;
    let buf = Buf(core);
    let root = buf.follow(0, "TModelCore")?;
    let core = buf.table(root, "TModelCore")?;
    if core.len(3, "ModelPartIds")? > 0 {
        return Err(CbError::Ctr {
            path: "TModelCore.ModelPartIds (CTR tables)".into(),
        });
    }
    let mut params = None;
    let mut class_params = None;
    for kv in core.tables(2, "InfoMap", "TKeyValue")? {
        let key = kv.string(0, "Key")?.unwrap_or_default();
        let slot = match key.as_str() {
            "params" => &mut params,
            "class_params" => &mut class_params,
            _ => continue,
        };
        if let Some(text) = kv.string(1, "Value")? {
            *slot = serde_json::from_str::<Value>(&text).ok();
        }
    }
    let trees = core
        .table(1, "ModelTrees", "TModelTrees")?
        .ok_or_else(|| bad("TModelCore.ModelTrees", "missing"))?;
    read_trees(&trees, params, class_params)
}

fn read_trees(
    m: &Table<'_>,
    params: Option<Value>,
    class_params: Option<Value>,
) -> Result<CbModel, CbError> {
    if m.len(7, "CtrFeatures")? > 0 {
        return Err(CbError::Ctr {
            path: "TModelTrees.CtrFeatures".into(),
        });
    }
    if m.len(10, "NonSymmetricStepNodes")? > 0 {
        return Err(CbError::Unsupported(
            "non-symmetric trees (grow_policy Depthwise or Lossguide)".into(),
        ));
    }
    for (slot, field) in [
        (12, "TextFeatures"),
        (13, "EstimatedFeatures"),
        (18, "EmbeddingFeatures"),
    ] {
        if m.len(slot, field)? > 0 {
            return Err(CbError::Unsupported(format!("TModelTrees.{field}")));
        }
    }
    let dimension = m.i32(0, 1)?;
    let dimension = usize::try_from(dimension)
        .ok()
        .filter(|&d| d >= 1)
        .ok_or_else(|| bad("TModelTrees.ApproxDimension", format!("{dimension}")))?;

    // Float features and their borders: the first binary features.
    let mut float_features = Vec::new();
    let mut binary: Vec<CbSplit> = Vec::new();
    let floats = m.tables(5, "FloatFeatures", "TFloatFeature")?;
    if floats.len() > MAX_FEATURES {
        return Err(CbError::Unsupported(format!(
            "{} float features",
            floats.len()
        )));
    }
    for (i, f) in floats.iter().enumerate() {
        let what = format!("TModelTrees.FloatFeatures[{i}]");
        let index = f.i32(1, -1)?;
        if index != i as i32 {
            return Err(bad(&what, format!("Index {index}, expected {i}")));
        }
        let nan = match f.u8(5, 0)? {
            0 => NanTreatment::AsIs,
            1 => NanTreatment::AsFalse,
            2 => NanTreatment::AsTrue,
            v => return Err(bad(&what, format!("NanValueTreatment {v}"))),
        };
        for border in f.f32s(3, "Borders")? {
            binary.push(CbSplit::Float { feature: i, border });
        }
        float_features.push(CbFloatFeature {
            flat_index: flat_index(f.i32(2, -1)?, &what)?,
            name: f.string(4, "FeatureId")?.unwrap_or_default(),
            nan,
        });
    }
    let mut cat_features = Vec::new();
    for (i, f) in m
        .tables(4, "CatFeatures", "TCatFeature")?
        .iter()
        .enumerate()
    {
        let what = format!("TModelTrees.CatFeatures[{i}]");
        let index = f.i32(0, -1)?;
        if index != i as i32 {
            return Err(bad(&what, format!("Index {index}, expected {i}")));
        }
        cat_features.push(CbCatFeature {
            flat_index: flat_index(f.i32(1, -1)?, &what)?,
            name: f.string(2, "FeatureId")?.unwrap_or_default(),
        });
    }
    if cat_features.len() > MAX_FEATURES {
        return Err(CbError::Unsupported(format!(
            "{} categorical features",
            cat_features.len()
        )));
    }
    // One-hot values: the next binary features; their texts name the categories.
    let mut category_names = Vec::new();
    for (i, f) in m
        .tables(6, "OneHotFeatures", "TOneHotFeature")?
        .iter()
        .enumerate()
    {
        let what = format!("TModelTrees.OneHotFeatures[{i}]");
        let feature = usize::try_from(f.i32(0, -1)?)
            .ok()
            .filter(|&c| c < cat_features.len())
            .ok_or_else(|| bad(&what, "Index is not a categorical feature"))?;
        let values = f.i32s(1, "Values")?;
        let texts = f.strings(2, "StringValues")?;
        if !texts.is_empty() && texts.len() != values.len() {
            return Err(bad(
                &what,
                format!("{} texts for {} values", texts.len(), values.len()),
            ));
        }
        for (j, &v) in values.iter().enumerate() {
            binary.push(CbSplit::OneHot {
                feature,
                hash: v as u32,
            });
            if let Some(text) = texts.get(j) {
                category_names.push((v as u32, text.clone()));
            }
        }
    }

    let splits = m.i32s(1, "TreeSplits")?;
    let sizes = m.i32s(2, "TreeSizes")?;
    let offsets = m.i32s(3, "TreeStartOffsets")?;
    let leaf_values = m.f64s(8, "LeafValues")?;
    let leaf_weights = m.f64s(9, "LeafWeights")?;
    if sizes.len() > MAX_TREES {
        return Err(CbError::Unsupported(format!("{} trees", sizes.len())));
    }
    if !offsets.is_empty() && offsets.len() != sizes.len() {
        return Err(bad(
            "TModelTrees.TreeStartOffsets",
            format!("{} offsets for {} trees", offsets.len(), sizes.len()),
        ));
    }
    let mut trees = Vec::with_capacity(sizes.len());
    let (mut next_split, mut next_leaf, mut next_weight) = (0usize, 0usize, 0usize);
    for (t, &size) in sizes.iter().enumerate() {
        let what = format!("TModelTrees tree {t}");
        let depth = usize::try_from(size)
            .ok()
            .filter(|&d| d <= MAX_DEPTH)
            .ok_or_else(|| {
                CbError::Unsupported(format!("{what}: depth {size} (at most {MAX_DEPTH})"))
            })?;
        if let Some(&o) = offsets.get(t) {
            if usize::try_from(o).ok() != Some(next_split) {
                return Err(bad(
                    &what,
                    format!("start offset {o}, expected {next_split}"),
                ));
            }
        }
        let levels = splits
            .get(next_split..next_split + depth)
            .ok_or_else(|| bad(&what, format!("{depth} splits past the end of TreeSplits")))?;
        next_split += depth;
        let levels = levels
            .iter()
            .map(|&s| {
                usize::try_from(s)
                    .ok()
                    .and_then(|s| binary.get(s))
                    .cloned()
                    .ok_or_else(|| {
                        bad(
                            &what,
                            format!("split {s} of {} binary features", binary.len()),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n = dimension << depth;
        let values = leaf_values
            .get(next_leaf..next_leaf + n)
            .ok_or_else(|| bad(&what, format!("{n} leaf values past the end of LeafValues")))?;
        next_leaf += n;
        let weights = if leaf_weights.is_empty() {
            Vec::new()
        } else {
            let w = leaf_weights
                .get(next_weight..next_weight + (1 << depth))
                .ok_or_else(|| bad(&what, "leaf weights past the end of LeafWeights"))?;
            next_weight += 1 << depth;
            w.to_vec()
        };
        trees.push(CbTree {
            splits: levels,
            leaf_values: values.to_vec(),
            leaf_weights: weights,
        });
    }
    if next_split != splits.len()
        || next_leaf != leaf_values.len()
        || next_weight != leaf_weights.len()
    {
        return Err(bad(
            "TModelTrees",
            format!(
                "trees use {next_split} splits, {next_leaf} leaf values and {next_weight} \
                 weights; the file has {}, {} and {}",
                splits.len(),
                leaf_values.len(),
                leaf_weights.len()
            ),
        ));
    }
    let scale = m.f64(14, 1.0)?;
    let multi = m.f64s(16, "MultiBias")?;
    let bias = if multi.is_empty() {
        vec![m.f64(15, 0.0)?; dimension]
    } else if multi.len() == dimension {
        multi
    } else {
        return Err(bad(
            "TModelTrees.MultiBias",
            format!("{} biases for {dimension} outputs", multi.len()),
        ));
    };
    super::json::dimension(&trees, &bias)?;
    Ok(CbModel {
        float_features,
        cat_features,
        category_names,
        trees,
        dimension,
        scale,
        bias,
        params,
        class_params,
    })
}

fn flat_index(v: i32, what: &str) -> Result<usize, CbError> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v < MAX_FEATURES)
        .ok_or_else(|| bad(what, format!("FlatIndex {v}")))
}
