//! The WebAssembly binary format, as far as packaging a model needs it: the sections of
//! a component or a core module, LEB128 numbers, a module's memory and its data
//! segments. Reading only checks what packaging relies on; the packaged component is
//! validated in full afterwards.

use anyhow::{bail, ensure, Context, Result};

/// The preamble of a core module (`\0asm`, version 1).
pub const MODULE_PREAMBLE: [u8; 8] = *b"\0asm\x01\x00\x00\x00";
/// The preamble of a component (`\0asm`, version 0x0d, layer 1).
pub const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

/// Section ids of a core module.
pub const MEMORY_SECTION: u8 = 5;
pub const DATA_SECTION: u8 = 11;
pub const DATA_COUNT_SECTION: u8 = 12;
/// The section id of a core module nested in a component.
pub const CORE_MODULE_SECTION: u8 = 1;
/// The section id of a component's imports.
pub const COMPONENT_IMPORT_SECTION: u8 = 10;

/// Bytes of one WebAssembly page.
pub const PAGE: u64 = 65_536;

/// A cursor over a binary, every read bounds-checked.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .context("unexpected end of the binary")?;
        self.pos += 1;
        Ok(b)
    }

    /// Skips `n` bytes and returns where they start.
    pub fn skip(&mut self, n: usize) -> Result<usize> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .context("a length runs past the end of the binary")?;
        self.pos = end;
        Ok(start)
    }

    pub fn u32(&mut self) -> Result<u32> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(value).context("a LEB128 number overflows u32");
            }
        }
        bail!("a LEB128 number is too long")
    }

    pub fn i32(&mut self) -> Result<i32> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return i32::try_from(value).context("a signed LEB128 number overflows i32");
            }
            ensure!(shift < 35, "a signed LEB128 number is too long");
        }
    }
}

/// One section: its id, where its header starts and where its contents lie.
pub struct Section {
    pub id: u8,
    pub header: usize,
    pub start: usize,
    pub end: usize,
}

/// The sections of a module or component, after its 8-byte preamble.
pub fn sections(binary: &[u8]) -> Result<Vec<Section>> {
    let mut r = Reader::new(binary, 8);
    let mut out = Vec::new();
    while r.pos() < binary.len() {
        let header = r.pos();
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let start = r.skip(size)?;
        out.push(Section {
            id,
            header,
            start,
            end: start + size,
        });
    }
    Ok(out)
}

pub fn write_u32(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

pub fn write_i32(out: &mut Vec<u8>, mut v: i32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0);
        if done {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Appends a section with its id and size.
pub fn write_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) -> Result<()> {
    out.push(id);
    write_u32(
        out,
        u32::try_from(contents.len()).context("a section over 4 GiB")?,
    );
    out.extend_from_slice(contents);
    Ok(())
}

/// The limits of a module's one memory.
pub struct Memory {
    pub min_pages: u32,
    pub max_pages: Option<u32>,
}

/// Reads a memory section that declares exactly one 32-bit, unshared memory.
pub fn memory(module: &[u8], section: &Section) -> Result<Memory> {
    let mut r = Reader::new(&module[..section.end], section.start);
    ensure!(r.u32()? == 1, "the module declares more than one memory");
    let flags = r.byte()?;
    ensure!(
        flags <= 1,
        "the module's memory is shared or 64-bit (flags {flags:#x})"
    );
    let min_pages = r.u32()?;
    let max_pages = if flags == 1 { Some(r.u32()?) } else { None };
    Ok(Memory {
        min_pages,
        max_pages,
    })
}

/// Writes a memory section for one memory with these limits.
pub fn memory_section(memory: &Memory) -> Vec<u8> {
    let mut out = vec![1];
    out.push(u8::from(memory.max_pages.is_some()));
    write_u32(&mut out, memory.min_pages);
    if let Some(max) = memory.max_pages {
        write_u32(&mut out, max);
    }
    out
}

/// One data segment of a module.
pub struct Segment {
    /// Where its encoding starts in the module (its kind byte).
    pub header: usize,
    /// The address it is copied to, for an active segment placed by `i32.const`.
    pub address: Option<u32>,
    /// Where its bytes lie in the module.
    pub start: usize,
    pub end: usize,
}

/// The data section's segments.
pub struct Data {
    pub segments: Vec<Segment>,
}

/// Reads a data section.
pub fn data(module: &[u8], section: &Section) -> Result<Data> {
    let mut r = Reader::new(&module[..section.end], section.start);
    let count = r.u32()?;
    let mut segments = Vec::new();
    for _ in 0..count {
        let header = r.pos();
        let address = match r.u32()? {
            0 => offset(&mut r)?,
            1 => None,
            2 => {
                let memory = r.u32()?;
                let address = offset(&mut r)?;
                (memory == 0).then_some(address).flatten()
            }
            kind => bail!("a data segment of unknown kind {kind}"),
        };
        let len = r.u32()? as usize;
        let start = r.skip(len)?;
        segments.push(Segment {
            header,
            address,
            start,
            end: start + len,
        });
    }
    ensure!(
        r.pos() == section.end,
        "the data section has bytes after its segments"
    );
    Ok(Data { segments })
}

/// Reads an active segment's offset expression: the address for `i32.const N`, `None`
/// for `global.get` (relocatable code, which packaging does not need to place).
fn offset(r: &mut Reader) -> Result<Option<u32>> {
    let address = match r.byte()? {
        0x41 => Some(r.i32()? as u32),
        0x23 => {
            r.u32()?;
            None
        }
        op => bail!("a data segment offset with opcode {op:#x}"),
    };
    ensure!(
        r.byte()? == 0x0b,
        "a data segment offset longer than one instruction"
    );
    Ok(address)
}

/// Encodes an active segment for memory 0 at `address`.
pub fn active_segment(out: &mut Vec<u8>, address: u32, bytes: &[u8]) -> Result<()> {
    out.push(0);
    out.push(0x41);
    write_i32(out, address as i32);
    out.push(0x0b);
    write_u32(
        out,
        u32::try_from(bytes.len()).context("a data segment over 4 GiB")?,
    );
    out.extend_from_slice(bytes);
    Ok(())
}

/// A component's import section with the import named `from` renamed `to` (the rest
/// of every import, its type reference, copied as it is). Returns `None` when no import
/// has that name.
pub fn rename_import(
    component: &[u8],
    section: &Section,
    from: &str,
    to: &str,
) -> Result<Option<Vec<u8>>> {
    let contents = &component[section.start..section.end];
    let reader = wasmparser::ComponentImportSectionReader::new(wasmparser::BinaryReader::new(
        contents,
        section.start,
    ))?;
    let count = reader.count();
    let mut starts = Vec::new();
    let mut found = false;
    for item in reader.into_iter_with_offsets() {
        let (offset, import) = item?;
        starts.push(offset - section.start);
        found |= import.name.name == from;
    }
    if !found {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(contents.len() + to.len());
    write_u32(&mut out, count);
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(contents.len());
        // `importname' ::= kind:u8 len:<u32> name` then, for kind 0x02, options (kept).
        let mut r = Reader::new(&contents[..end], start);
        let kind = r.byte()?;
        let len = r.u32()? as usize;
        let at = r.skip(len)?;
        let name = &contents[at..at + len];
        out.push(kind);
        if name == from.as_bytes() {
            write_u32(&mut out, to.len() as u32);
            out.extend_from_slice(to.as_bytes());
        } else {
            write_u32(&mut out, len as u32);
            out.extend_from_slice(name);
        }
        out.extend_from_slice(&contents[r.pos()..end]);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips() {
        for v in [0u32, 1, 63, 64, 127, 128, 16_383, 16_384, 1 << 28, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, v);
            assert_eq!(Reader::new(&out, 0).u32().unwrap(), v);
        }
        for v in [0i32, 1, -1, 63, 64, -64, -65, 1 << 20, i32::MIN, i32::MAX] {
            let mut out = Vec::new();
            write_i32(&mut out, v);
            assert_eq!(Reader::new(&out, 0).i32().unwrap(), v, "{v}");
        }
    }

    #[test]
    fn truncated_and_overlong_numbers_are_errors() {
        assert!(Reader::new(&[0x80], 0).u32().is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 0)
            .u32()
            .is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f], 0)
            .u32()
            .is_err());
    }
}
