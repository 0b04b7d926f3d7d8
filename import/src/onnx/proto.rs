//! A minimal, bounded protobuf decoder for the few ONNX messages a tree ensemble needs
//! (`ModelProto`, `GraphProto`, `NodeProto`, `AttributeProto`, `TensorProto`,
//! `ValueInfoProto`). Field numbers follow `onnx/onnx.proto`; everything else is skipped.
//!
//! No length is trusted: each one is checked against the bytes of its enclosing
//! message before it is used, so truncated or lying files give an error with the
//! byte offset, in time linear in the file.

use super::OnnxError;

/// One field of a message.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates the fields of one message: `(field number, value, absolute offset)`.
pub struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Offset of `bytes` in the whole file, for error messages.
    base: usize,
}

impl<'a> Fields<'a> {
    pub fn new(bytes: &'a [u8], base: usize) -> Self {
        Fields { bytes, at: 0, base }
    }

    fn err(&self, reason: &str) -> OnnxError {
        OnnxError::Protobuf {
            offset: self.base + self.at,
            reason: reason.to_string(),
        }
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| self.err("truncated varint"))?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OnnxError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.err("truncated: a length exceeds its message"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// The next field, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Field<'a>, usize)>, OnnxError> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| self.err("field number too large"))?;
        let offset = self.base + self.at;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| self.err("length too large"))?;
                Field::Bytes(self.take(n)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            w => return Err(self.err(&format!("unsupported wire type {w}"))),
        };
        Ok(Some((number, value, offset)))
    }
}

/// Decodes a packed run of varints (or a single unpacked one).
pub fn varints(field: Field<'_>, offset: usize, out: &mut Vec<i64>) -> Result<(), OnnxError> {
    match field {
        Field::Varint(v) => out.push(v as i64),
        Field::Bytes(b) => {
            let mut f = Fields::new(b, offset);
            while f.at < b.len() {
                out.push(f.varint()? as i64);
            }
        }
        _ => return Err(bad_type(offset, "integers")),
    }
    Ok(())
}

/// Decodes a packed run of float32 (or a single unpacked one).
pub fn floats(field: Field<'_>, offset: usize, out: &mut Vec<f64>) -> Result<(), OnnxError> {
    match field {
        Field::Fixed32(v) => out.push(f32::from_bits(v) as f64),
        Field::Bytes(b) if b.len() % 4 == 0 => out.extend(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64),
        ),
        _ => return Err(bad_type(offset, "float32 values")),
    }
    Ok(())
}

/// Decodes a packed run of float64 (or a single unpacked one).
pub fn doubles(field: Field<'_>, offset: usize, out: &mut Vec<f64>) -> Result<(), OnnxError> {
    match field {
        Field::Fixed64(v) => out.push(f64::from_bits(v)),
        Field::Bytes(b) if b.len() % 8 == 0 => out.extend(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())),
        ),
        _ => return Err(bad_type(offset, "float64 values")),
    }
    Ok(())
}

pub fn bad_type(offset: usize, expected: &str) -> OnnxError {
    OnnxError::Protobuf {
        offset,
        reason: format!("field does not hold {expected}"),
    }
}

/// `TensorProto` (only numeric data): float32 / float64 / int64 values, widened.
pub fn tensor(bytes: &[u8], base: usize) -> Result<Vec<f64>, OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut data_type, mut raw, mut values) = (0u64, None, Vec::new());
    let mut ints = Vec::new();
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (2, Field::Varint(t)) => data_type = t,
            (4, v) => floats(v, off, &mut values)?,
            (7, v) => varints(v, off, &mut ints)?,
            (9, Field::Bytes(b)) => raw = Some((b, off)),
            (10, v) => doubles(v, off, &mut values)?,
            _ => {}
        }
    }
    values.extend(ints.iter().map(|&i| i as f64));
    if let Some((b, off)) = raw {
        match data_type {
            1 => floats(Field::Bytes(b), off, &mut values)?,
            11 => doubles(Field::Bytes(b), off, &mut values)?,
            t => {
                return Err(OnnxError::Protobuf {
                    offset: off,
                    reason: format!("tensor data type {t} is not float or double"),
                })
            }
        }
    }
    Ok(values)
}
