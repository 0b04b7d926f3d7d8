//! The binary tensor data extension (Triton's `binary_tensor_data`): a request whose
//! `Inference-Header-Content-Length` header says how many leading bytes of the body are
//! the JSON inference header, the rest being the raw little-endian tensors in the order
//! of the inputs that declare `parameters.binary_data_size`; and an answer framed the
//! same way for outputs asked for in binary.
//!
//! Every length here comes from the client, so each is checked against what is really
//! there before it is used: a bad frame is a 400 that says which length is wrong, never
//! a read past the body or an allocation the body does not pay for.

/// The two parts of a body: the JSON inference header and the binary tensor section
/// (empty without the extension).
pub(super) fn split<'b>(
    body: &'b [u8],
    header_len: Option<&str>,
) -> Result<(&'b [u8], &'b [u8]), String> {
    let Some(text) = header_len else {
        return Ok((body, &[]));
    };
    let len: usize = text.trim().parse().map_err(|_| {
        format!("Inference-Header-Content-Length must be a byte count, got '{text}'")
    })?;
    if len > body.len() {
        return Err(format!(
            "Inference-Header-Content-Length is {len}, but the body holds {} bytes",
            body.len()
        ));
    }
    Ok(body.split_at(len))
}

/// The size in bytes of one element of a supported input datatype.
pub(super) fn element_size(f32_input: bool) -> usize {
    if f32_input {
        4
    } else {
        8
    }
}

/// Decodes `bytes` (a whole number of little-endian FP32 or FP64 elements, checked by
/// the caller) into f64 values; FP32 widens exactly.
pub(super) fn decode(bytes: &[u8], f32_input: bool) -> Vec<f64> {
    if f32_input {
        bytes
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect()
    }
}

/// Appends FP64 values, little-endian.
pub(super) fn put_f64(out: &mut Vec<u8>, values: impl IntoIterator<Item = f64>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends INT64 values, little-endian.
pub(super) fn put_i64(out: &mut Vec<u8>, values: impl IntoIterator<Item = i64>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends BYTES elements as the extension frames them: a 4-byte little-endian length,
/// then the bytes.
pub(super) fn put_bytes<'s>(out: &mut Vec<u8>, values: impl IntoIterator<Item = &'s str>) {
    for v in values {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_checks_the_header_length() {
        assert_eq!(split(b"{}abc", None), Ok((&b"{}abc"[..], &b""[..])));
        assert_eq!(split(b"{}abc", Some("2")), Ok((&b"{}"[..], &b"abc"[..])));
        assert_eq!(split(b"{}", Some(" 2 ")), Ok((&b"{}"[..], &b""[..])));
        for bad in ["6", "-1", "", "x", "18446744073709551616", "1e3"] {
            assert!(split(b"{}abc", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn decode_reads_little_endian() {
        let mut b = Vec::new();
        b.extend_from_slice(&1.5f32.to_le_bytes());
        b.extend_from_slice(&0.1f32.to_le_bytes());
        assert_eq!(decode(&b, true), vec![1.5, f64::from(0.1f32)]);
        let mut b = Vec::new();
        put_f64(&mut b, [0.1, -2.0]);
        assert_eq!(decode(&b, false), vec![0.1, -2.0]);
        let mut b = Vec::new();
        put_bytes(&mut b, ["ab", ""]);
        assert_eq!(b, [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
    }
}
