//! A small, bounded reader of Universal Binary JSON (the format of XGBoost's `.ubj`
//! models), producing the same [`serde_json::Value`] tree as the JSON reader.
//!
//! Every count is checked against the bytes that remain before anything is allocated,
//! nesting is limited, and the input is never trusted to end where it says: a
//! truncated or hostile file gives an error naming the byte offset.

use serde_json::{Map, Number, Value};

use super::XgbError;

/// Deepest nesting accepted (XGBoost models nest about 8 levels).
const MAX_DEPTH: usize = 64;

/// Parses one UBJSON value that spans the whole of `bytes`.
pub fn parse(bytes: &[u8]) -> Result<Value, XgbError> {
    let mut r = Reader { bytes, at: 0 };
    let v = r.value(0)?;
    if r.at != bytes.len() {
        return Err(r.err("trailing bytes after the model"));
    }
    Ok(v)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &str) -> XgbError {
        // Whatever was expected, a file that ends first is truncated.
        let reason = if self.at >= self.bytes.len() && !what.starts_with("truncated") {
            format!("truncated: {what}")
        } else {
            what.to_string()
        };
        XgbError::Ubjson {
            offset: self.at,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], XgbError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.err("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, XgbError> {
        Ok(self.take(1)?[0])
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// An integer after its type marker (lengths and counts).
    fn int_of(&mut self, marker: u8) -> Result<i64, XgbError> {
        Ok(match marker {
            b'i' => self.byte()? as i8 as i64,
            b'U' => self.byte()? as i64,
            b'I' => i16::from_be_bytes(self.take(2)?.try_into().unwrap_or_default()) as i64,
            b'l' => i32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default()) as i64,
            b'L' => i64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()),
            _ => return Err(self.err("expected an integer length")),
        })
    }

    /// A length or count: a non-negative integer no larger than what remains times
    /// `max_per_byte` (elements of `size` bytes cannot outnumber the bytes left).
    fn count(&mut self, elem_size: usize) -> Result<usize, XgbError> {
        let m = self.byte()?;
        let n = self.int_of(m)?;
        let n = usize::try_from(n).map_err(|_| self.err("negative length"))?;
        if n.saturating_mul(elem_size.max(1)) > self.remaining() {
            return Err(self.err("truncated: a length exceeds the rest of the file"));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, XgbError> {
        let n = self.count(1)?;
        let at = self.at;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| XgbError::Ubjson {
            offset: at,
            reason: "string is not UTF-8".into(),
        })
    }

    fn float(&self, x: f64) -> Result<Value, XgbError> {
        Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| self.err("non-finite number"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, XgbError> {
        let m = self.byte()?;
        self.value_of(m, depth)
    }

    /// Size in bytes of one element of a strongly typed container, for bounding.
    fn elem_size(marker: u8) -> usize {
        match marker {
            b'i' | b'U' | b'C' | b'T' | b'F' | b'Z' | b'N' => 1,
            b'I' => 2,
            b'l' | b'd' => 4,
            b'L' | b'D' => 8,
            _ => 1,
        }
    }

    fn value_of(&mut self, m: u8, depth: usize) -> Result<Value, XgbError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        Ok(match m {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::from(self.int_of(m)?),
            b'd' => {
                let x = f32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default());
                self.float(x as f64)?
            }
            b'D' => {
                let x = f64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default());
                self.float(x)?
            }
            b'C' => Value::String((self.byte()? as char).to_string()),
            b'S' | b'H' => Value::String(self.string()?),
            b'[' => {
                let (ty, n) = self.container_header()?;
                let mut items = Vec::with_capacity(n.unwrap_or(0).min(1 << 16));
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(match ty {
                                Some(t) => self.value_of(t, depth + 1)?,
                                None => self.value(depth + 1)?,
                            });
                        }
                    }
                    None => loop {
                        let m = self.byte()?;
                        if m == b']' {
                            break;
                        }
                        if m == b'N' {
                            continue;
                        }
                        items.push(self.value_of(m, depth + 1)?);
                    },
                }
                Value::Array(items)
            }
            b'{' => {
                let (ty, n) = self.container_header()?;
                let mut map = Map::new();
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            let k = self.string()?;
                            let v = match ty {
                                Some(t) => self.value_of(t, depth + 1)?,
                                None => self.value(depth + 1)?,
                            };
                            map.insert(k, v);
                        }
                    }
                    None => loop {
                        if self.bytes.get(self.at) == Some(&b'}') {
                            self.at += 1;
                            break;
                        }
                        let k = self.string()?;
                        let v = self.value(depth + 1)?;
                        map.insert(k, v);
                    },
                }
                Value::Object(map)
            }
            b'N' => return self.value(depth),
            _ => return Err(self.err(&format!("unknown type marker 0x{m:02x}"))),
        })
    }

    /// The optional `$type` and `#count` of an optimised container.
    fn container_header(&mut self) -> Result<(Option<u8>, Option<usize>), XgbError> {
        let mut ty = None;
        if self.bytes.get(self.at) == Some(&b'$') {
            self.at += 1;
            ty = Some(self.byte()?);
            if self.bytes.get(self.at) != Some(&b'#') {
                return Err(self.err("a typed container needs a count"));
            }
        }
        if self.bytes.get(self.at) == Some(&b'#') {
            self.at += 1;
            let size = ty.map_or(1, Self::elem_size);
            return Ok((ty, Some(self.count(size)?)));
        }
        Ok((ty, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_arrays_and_objects() {
        // {"a": [1.5f32, 2.5f32], "b": "x"} with a typed, counted array.
        let mut b = vec![b'{', b'U', 1, b'a', b'[', b'$', b'd', b'#', b'U', 2];
        b.extend_from_slice(&1.5f32.to_be_bytes());
        b.extend_from_slice(&2.5f32.to_be_bytes());
        b.extend_from_slice(&[b'U', 1, b'b', b'S', b'U', 1, b'x', b'}']);
        let v = parse(&b).unwrap();
        assert_eq!(v["a"][1].as_f64(), Some(2.5));
        assert_eq!(v["b"], "x");
        for cut in 0..b.len() {
            assert!(parse(&b[..cut]).is_err());
        }
    }

    #[test]
    fn absurd_counts_are_refused_before_allocating() {
        let b = [
            b'[', b'$', b'D', b'#', b'L', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let e = parse(&b).unwrap_err().to_string();
        assert!(e.contains("exceeds"), "{e}");
    }
}
