//! joblib's whole-file compression: recognise the codec by its magic bytes and
//! decompress with a pure-Rust decoder, refusing output past a size cap.
//!
//! The cap is enforced while reading, chunk by chunk, so a decompression bomb costs at
//! most `cap` bytes of memory and the time to produce them, never the bomb's full size.

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

/// Decompresses `bytes` (or borrows them when uncompressed), refusing more than `cap`
/// bytes of output.
pub fn decompress(
    bytes: &[u8],
    compression: Compression,
    cap: usize,
) -> Result<Cow<'_, [u8]>, ImportError> {
    let codec = compression.name();
    let too_big = || ImportError::Limit {
        what: "the decompressed size",
        limit: cap,
    };
    let failed = |e: io::Error| ImportError::Decompress {
        codec,
        message: e.to_string(),
    };
    match compression {
        Compression::None => {
            if bytes.len() > cap {
                return Err(too_big());
            }
            Ok(Cow::Borrowed(bytes))
        }
        Compression::Zlib => read_capped(flate2::read::ZlibDecoder::new(bytes), cap, codec),
        Compression::Gzip => read_capped(flate2::read::MultiGzDecoder::new(bytes), cap, codec),
        Compression::Bz2 => read_capped(bzip2::read::MultiBzDecoder::new(bytes), cap, codec),
        Compression::Lz4 => read_capped(lz4_flex::frame::FrameDecoder::new(bytes), cap, codec),
        Compression::Xz | Compression::Lzma => {
            let mut input = bytes;
            let mut out = CappedWriter {
                buf: Vec::new(),
                cap,
                overflowed: false,
            };
            let result = if compression == Compression::Xz {
                lzma_rs::xz_decompress(&mut input, &mut out)
            } else {
                let options = lzma_rs::decompress::Options {
                    // Bounds the dictionary the header may ask for.
                    memlimit: Some(cap.min(1 << 30)),
                    ..Default::default()
                };
                lzma_rs::lzma_decompress_with_options(&mut input, &mut out, &options)
            };
            if out.overflowed {
                return Err(too_big());
            }
            result.map_err(|e| failed(io::Error::other(e.to_string())))?;
            Ok(Cow::Owned(out.buf))
        }
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

/// Reads a decoder to the end in chunks, failing as soon as it yields more than `cap`.
fn read_capped<R: Read>(
    mut reader: R,
    cap: usize,
    codec: &'static str,
) -> Result<Cow<'static, [u8]>, ImportError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(ImportError::Decompress {
                    codec,
                    message: e.to_string(),
                })
            }
        };
        if out.len() + n > cap {
            return Err(ImportError::Limit {
                what: "the decompressed size",
                limit: cap,
            });
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(Cow::Owned(out))
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
