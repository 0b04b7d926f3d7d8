//! joblib's whole-file compression: recognise the codec by its magic bytes and
//! decompress with a pure-Rust decoder, refusing output past a size cap.
//!
//! The cap is enforced from the size the container declares, then while decoding:
//! output past [`KEPT_ON_FIRST_PASS`] is only counted, and a stream within the cap is
//! decoded a second time into a buffer of its exact size. A decompression bomb thus
//! costs about that much memory (plus the decoder's window) and the time to decode up
//! to the cap, never its full size.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use crate::ImportError;

/// The compression of a joblib file, as recognised from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// An uncompressed pickle stream.
    None,
    /// zlib (joblib's default `compress=True`), first byte 0x78.
    Zlib,
    /// gzip, `1f 8b`.
    Gzip,
    /// bzip2, `BZh`.
    Bz2,
    /// xz, `fd 37 7a 58 5a 00`.
    Xz,
    /// The legacy lzma-alone format, `5d 00 00`.
    Lzma,
    /// lz4 frame, `04 22 4d 18`.
    Lz4,
}

impl Compression {
    /// The codec's short name, as joblib spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
            Compression::Gzip => "gzip",
            Compression::Bz2 => "bz2",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
            Compression::Lz4 => "lz4",
        }
    }

    /// Recognises the codec from the first bytes. A pickle starts with PROTO (0x80)
    /// for protocols 2 and above, so no codec magic is ambiguous with one.
    pub fn detect(bytes: &[u8]) -> Option<Compression> {
        let starts = |m: &[u8]| bytes.starts_with(m);
        if starts(&[0x80]) {
            Some(Compression::None)
        } else if bytes.len() >= 2
            && bytes[0] == 0x78
            && (u16::from(bytes[0]) << 8 | u16::from(bytes[1])) % 31 == 0
        {
            // zlib: CMF 0x78 (deflate, 32K window) and the FCHECK rule.
            Some(Compression::Zlib)
        } else if starts(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if starts(b"BZh") {
            Some(Compression::Bz2)
        } else if starts(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
            Some(Compression::Xz)
        } else if starts(&[0x5d, 0x00, 0x00]) {
            Some(Compression::Lzma)
        } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
            Some(Compression::Lz4)
        } else {
            None
        }
    }
}

/// Output kept in memory during the first decoding pass. A stream that decompresses to
/// more is decoded twice: first counting its size (which a bomb past the cap never gets
/// to keep), then into a buffer of exactly that size.
const KEPT_ON_FIRST_PASS: usize = 32 << 20;

/// The largest lzma-alone dictionary accepted: 64 MiB, that of Python's `lzma` preset
/// 9. The decoder's window grows up to it.
const MAX_LZMA_DICT: usize = 64 << 20;

/// Decompresses `bytes` (or borrows them when uncompressed), refusing more than `cap`
/// bytes of output: first by the size the container declares (gzip's trailer, the xz
/// index, the lzma-alone header, the lz4 frame's content size), then while decoding.
/// Memory stays near [`KEPT_ON_FIRST_PASS`] plus the decoder's window for a stream
/// past the cap, whatever it claims.
pub fn decompress(
    bytes: &[u8],
    compression: Compression,
    cap: usize,
) -> Result<Cow<'_, [u8]>, ImportError> {
    decompress_keeping(bytes, compression, cap, KEPT_ON_FIRST_PASS)
}

/// [`decompress`], keeping at most `keep` bytes on the first pass.
fn decompress_keeping(
    bytes: &[u8],
    compression: Compression,
    cap: usize,
    keep: usize,
) -> Result<Cow<'_, [u8]>, ImportError> {
    let too_big = |what| ImportError::Limit { what, limit: cap };
    if compression == Compression::None {
        if bytes.len() > cap {
            return Err(too_big("the decompressed size"));
        }
        return Ok(Cow::Borrowed(bytes));
    }
    let declared = declared_size(bytes, compression, cap)?;
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_big("the declared decompressed size"));
    }
    let mut sink = match (compression, declared) {
        // lzma-rs holds an xz block's whole output anyway: one pass, of the exact size.
        (Compression::Xz, Some(n)) => Sink::new(n as usize, n as usize, n as usize),
        _ => Sink::new(cap, keep.min(cap), bytes.len().min(keep).min(1 << 20)),
    };
    decode(bytes, compression, &mut sink)?;
    if sink.overflowed {
        return Err(too_big("the decompressed size"));
    }
    if let Some(buf) = sink.kept {
        return Ok(Cow::Owned(buf));
    }
    // Past the first pass's buffer, within the cap: decode again into exactly `total`.
    let total = sink.total;
    let mut sink = Sink::new(total, total, total);
    decode(bytes, compression, &mut sink)?;
    match sink.kept {
        Some(buf) if !sink.overflowed && buf.len() == total => Ok(Cow::Owned(buf)),
        _ => Err(ImportError::Decompress {
            codec: compression.name(),
            message: "the stream decoded differently twice".into(),
        }),
    }
}

/// Runs the decoder of `compression` over `bytes` into `sink`, which stops it past its
/// cap (`sink.overflowed`).
fn decode(bytes: &[u8], compression: Compression, sink: &mut Sink) -> Result<(), ImportError> {
    let codec = compression.name();
    let result = match compression {
        Compression::None => sink.write_all(bytes),
        Compression::Zlib => copy(flate2::read::ZlibDecoder::new(bytes), sink),
        Compression::Gzip => copy(flate2::read::MultiGzDecoder::new(bytes), sink),
        Compression::Bz2 => copy(bzip2::read::MultiBzDecoder::new(bytes), sink),
        Compression::Lz4 => copy(lz4_flex::frame::FrameDecoder::new(bytes), sink),
        Compression::Xz => {
            let mut input = bytes;
            lzma_rs::xz_decompress(&mut input, sink).map_err(|e| io::Error::other(e.to_string()))
        }
        Compression::Lzma => {
            let mut input = bytes;
            let options = lzma_rs::decompress::Options {
                // Bounds the window the header may ask for.
                memlimit: Some(MAX_LZMA_DICT),
                ..Default::default()
            };
            lzma_rs::lzma_decompress_with_options(&mut input, sink, &options)
                .map_err(|e| io::Error::other(e.to_string()))
        }
    };
    match result {
        _ if sink.overflowed => Ok(()),
        Ok(()) => Ok(()),
        Err(e) => Err(ImportError::Decompress {
            codec,
            message: e.to_string(),
        }),
    }
}

/// Copies a decoder into the sink in 64 KiB chunks.
fn copy<R: Read>(mut reader: R, sink: &mut Sink) -> io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sink.write_all(&chunk[..n])?;
    }
}

/// Where a decoder writes: counts every byte, keeps them while they fit `keep`, and
/// stops the decoder (an error) once the count passes `cap`.
struct Sink {
    kept: Option<Vec<u8>>,
    keep: usize,
    total: usize,
    cap: usize,
    overflowed: bool,
}

impl Sink {
    /// A sink counting up to `cap` and keeping up to `keep` bytes, `reserve` of them
    /// allocated up front.
    fn new(cap: usize, keep: usize, reserve: usize) -> Self {
        Sink {
            kept: Some(Vec::with_capacity(reserve)),
            keep,
            total: 0,
            cap,
            overflowed: false,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.total = self.total.saturating_add(data.len());
        if self.total > self.cap {
            self.overflowed = true;
            self.kept = None;
            return Err(io::Error::other("decompressed size limit reached"));
        }
        if self.total > self.keep {
            // Counting only from here: the second pass keeps the bytes.
            self.kept = None;
        } else if let Some(buf) = &mut self.kept {
            buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The decompressed size the container declares, when it declares one: gzip's ISIZE
/// (the last member's size modulo 2^32, so a lower bound), the lzma-alone header's
/// size, the lz4 frame's content size, and for xz the sum of its LZMA2 chunk sizes
/// (exact; counted only up to just past `cap`).
fn declared_size(
    bytes: &[u8],
    compression: Compression,
    cap: usize,
) -> Result<Option<u64>, ImportError> {
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
    };
    Ok(match compression {
        Compression::Gzip if bytes.len() >= 18 => Some(u64::from(u32::from_le_bytes(
            bytes[bytes.len() - 4..].try_into().unwrap(),
        ))),
        Compression::Lzma => u64_at(5).filter(|&n| n != u64::MAX),
        Compression::Lz4 => {
            // Magic (4), FLG, BD, then the content size when FLG bit 3 is set.
            let flg = bytes.get(4).copied().unwrap_or(0);
            if flg & 0x08 != 0 {
                u64_at(6)
            } else {
                None
            }
        }
        Compression::Xz => {
            Some(
                xz::output_size(bytes, cap as u64).map_err(|message| ImportError::Decompress {
                    codec: "xz",
                    message,
                })?,
            )
        }
        _ => None,
    })
}

pub(crate) mod xz {
    //! The size of an xz stream's output, read from its LZMA2 chunk headers without
    //! decoding: each chunk states how many bytes it unpacks to, and the decoder
    //! produces exactly that, so the sum cannot lie. lzma-rs keeps a whole xz block's
    //! output in memory before writing any of it, so this is the only way to refuse an
    //! xz bomb before its memory is spent.

    /// The total output of the xz stream `b` (one stream, as joblib and Python's `lzma`
    /// write), or as soon as it passes `stop`, a value past `stop`.
    pub(crate) fn output_size(b: &[u8], stop: u64) -> Result<u64, String> {
        let truncated = || "the stream is truncated".to_string();
        let byte = |at: usize| b.get(at).copied().ok_or_else(truncated);
        let be16 = |at: usize| -> Result<u64, String> {
            Ok(u64::from(byte(at)?) << 8 | u64::from(byte(at + 1)?))
        };
        // Stream header: magic (6), flags (2), CRC32 (4); the check's size from flags.
        let check = match byte(7)? & 0x0f {
            0 => 0,
            c => 4 << ((c - 1) / 3),
        };
        let mut at = 12;
        let mut total = 0u64;
        // Blocks until the index (a 0x00 where a block header would start).
        while byte(at)? != 0 {
            at += (usize::from(byte(at)?) + 1) * 4;
            loop {
                let control = byte(at)?;
                at += 1;
                let (unpacked, skip) = match control {
                    0x00 => break,
                    0x01 | 0x02 => {
                        let n = be16(at)? + 1;
                        (n, 2 + n)
                    }
                    0x80.. => {
                        let unpacked = (u64::from(control & 0x1f) << 16 | be16(at)?) + 1;
                        let packed = be16(at + 2)? + 1;
                        // A chunk that resets the state with new properties has one
                        // properties byte.
                        let props = u64::from(control >> 5 & 3 >= 2);
                        (unpacked, 4 + props + packed)
                    }
                    other => return Err(format!("invalid LZMA2 chunk control byte {other:#04x}")),
                };
                total += unpacked;
                if total > stop {
                    return Ok(total);
                }
                at = usize::try_from(skip)
                    .ok()
                    .and_then(|s| at.checked_add(s))
                    .filter(|&end| end <= b.len())
                    .ok_or_else(truncated)?;
            }
            // Block padding to 4 bytes, then the block's check.
            at = at.next_multiple_of(4) + check;
        }
        Ok(total)
    }
}

/// Up to `n` decompressed bytes from the start of the stream (fewer when it is
/// shorter or corrupt): enough to recognise what the container holds.
pub fn peek(bytes: &[u8], compression: Compression, n: usize) -> Vec<u8> {
    fn head<R: Read>(mut r: R, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match r.read(&mut out[got..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        out.truncate(got);
        out
    }
    match compression {
        Compression::None => bytes[..n.min(bytes.len())].to_vec(),
        Compression::Zlib => head(flate2::read::ZlibDecoder::new(bytes), n),
        Compression::Gzip => head(flate2::read::MultiGzDecoder::new(bytes), n),
        Compression::Bz2 => head(bzip2::read::MultiBzDecoder::new(bytes), n),
        Compression::Lz4 => head(lz4_flex::frame::FrameDecoder::new(bytes), n),
        Compression::Xz | Compression::Lzma => {
            let mut input = bytes;
            let mut out = CappedWriter {
                buf: Vec::new(),
                cap: n,
                overflowed: false,
            };
            let _ = if compression == Compression::Xz {
                lzma_rs::xz_decompress(&mut input, &mut out)
            } else {
                let options = lzma_rs::decompress::Options {
                    memlimit: Some(1 << 24),
                    ..Default::default()
                };
                lzma_rs::lzma_decompress_with_options(&mut input, &mut out, &options)
            };
            out.buf
        }
    }
}

/// A sink that refuses to grow past `cap`, which stops lzma-rs mid-stream.
struct CappedWriter {
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.cap - self.buf.len();
        if data.len() > room {
            // Keep what fits (peek wants the head), then stop the decoder.
            self.buf.extend_from_slice(&data[..room]);
            self.overflowed = true;
            return Err(io::Error::other("decompressed size limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream past the first pass's buffer is decoded twice, to the same bytes.
    #[test]
    fn the_second_pass_gives_the_same_bytes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        for codec in ["zlib", "gzip", "bz2", "xz", "lzma", "lz4"] {
            let bytes = std::fs::read(dir.join(format!("iris_rf10_{codec}.joblib"))).unwrap();
            let c = Compression::detect(&bytes).unwrap();
            let once = decompress(&bytes, c, 1 << 20).unwrap();
            let twice = decompress_keeping(&bytes, c, 1 << 20, 1000).unwrap();
            assert!(once.len() > 1000, "{codec}");
            assert_eq!(once, twice, "{codec}");
            let cap = once.len();
            assert!(decompress_keeping(&bytes, c, cap, 1000).is_ok(), "{codec}");
            assert!(
                decompress_keeping(&bytes, c, cap - 1, 1000).is_err(),
                "{codec}"
            );
        }
    }
}
