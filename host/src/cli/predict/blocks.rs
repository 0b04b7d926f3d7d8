//! The input CSV as blocks of whole records: cut on the reading thread, parsed on the
//! prediction threads.
//!
//! Cutting is cheap: a block without a quote character ends after its last line end
//! (found by searching backwards), since outside quotes a line end always ends a
//! record. Only a block holding a quote is run through the CSV state machine to find
//! its last whole record. Each block is then parsed by [`Records`] on whichever thread
//! predicts it, with the same parser (`csv-core`) and the same rules as the `csv`
//! crate's reader: the same fields, the same skipped blank lines, the same line
//! numbers (counted from the block's start and offset by the writer, which sees the
//! blocks in order).

use std::io::{ErrorKind, Read};

use csv_core::ReadRecordResult;

/// A fresh parser in the state it has between two records of a longer input: past the
/// start of the file (so a byte order mark is not stripped again), at line 1.
fn mid_file_parser() -> csv_core::Reader {
    let mut core = csv_core::Reader::new();
    // A blank line is skipped as between records; it marks the parser as having read.
    let (mut out, mut ends) = ([0u8; 1], [0usize; 1]);
    let _ = core.read_record(b"\n", &mut out, &mut ends);
    core.set_line(1);
    core
}

/// Reads the input in blocks that end on a record boundary.
pub struct BlockReader<R> {
    reader: R,
    /// Bytes read past the last cut: the start of the next block.
    carry: Vec<u8>,
    eof: bool,
    /// Bytes to read before cutting a block.
    size: usize,
    /// Scratch space for cutting a block that holds quotes.
    fields: Vec<u8>,
    ends: Vec<usize>,
}

/// The header record: its fields, and the line number of the byte after it.
pub struct Header {
    pub fields: csv::ByteRecord,
    pub next_line: u64,
}

impl<R: Read> BlockReader<R> {
    /// Reads the header record; blocks of about `size` bytes follow it.
    pub fn new(reader: R, size: usize) -> std::io::Result<(BlockReader<R>, Header)> {
        let mut blocks = BlockReader {
            reader,
            carry: Vec::new(),
            eof: false,
            size: size.max(1),
            fields: Vec::new(),
            ends: Vec::new(),
        };
        let mut buf = Vec::new();
        loop {
            // At least 4 bytes (or all there is): the parser strips a byte order mark
            // only when it sees all of it, and takes input that ends with it for
            // the end of the file.
            blocks.fill(&mut buf, blocks.size.max(4))?;
            // From the file's start, as the `csv` crate parses it (a byte order mark
            // is skipped).
            let mut core = csv_core::Reader::new();
            blocks.fields.resize(buf.len() + 1, 0);
            blocks.ends.resize(buf.len() + 1, 0);
            let (mut pos, mut nout, mut nend) = (0, 0, 0);
            let record = loop {
                let (res, nin, o, e) = core.read_record(
                    &buf[pos..],
                    &mut blocks.fields[nout..],
                    &mut blocks.ends[nend..],
                );
                pos += nin;
                nout += o;
                nend += e;
                match res {
                    // The end of what is read so far: read on, unless that was all.
                    ReadRecordResult::InputEmpty if pos < buf.len() || blocks.eof => {}
                    ReadRecordResult::InputEmpty => break false,
                    ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {
                        unreachable!("a record has no more bytes or fields than its input")
                    }
                    ReadRecordResult::Record => break true,
                    ReadRecordResult::End => break true,
                }
            };
            if !record {
                // The header goes on past what is read: read more and parse again.
                blocks.size = blocks.size.max(buf.len()).saturating_mul(2);
                continue;
            }
            let mut fields = csv::ByteRecord::new();
            let mut start = 0;
            for &end in &blocks.ends[..nend] {
                fields.push_field(&blocks.fields[start..end]);
                start = end;
            }
            blocks.size = size.max(1);
            blocks.carry = buf.split_off(pos);
            let next_line = core.line();
            return Ok((blocks, Header { fields, next_line }));
        }
    }

    /// Sets the size of the blocks that follow.
    pub fn set_block_bytes(&mut self, size: usize) {
        self.size = size.max(1);
    }

    /// Reads into `buf` (after what it holds) until it holds `want` bytes or the
    /// input ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
        while buf.len() < want && !self.eof {
            let len = buf.len();
            buf.resize(want, 0);
            match self.reader.read(&mut buf[len..]) {
                Ok(0) => {
                    self.eof = true;
                    buf.truncate(len);
                }
                Ok(n) => buf.truncate(len + n),
                Err(e) if e.kind() == ErrorKind::Interrupted => buf.truncate(len),
                Err(e) => {
                    buf.truncate(len);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Replaces `block` with the next whole records; returns whether more may follow
    /// (false at the end of the input, when `block` holds the rest, possibly a last
    /// record without a line end).
    pub fn next_block(&mut self, block: &mut Vec<u8>) -> std::io::Result<bool> {
        block.clear();
        block.append(&mut self.carry);
        let mut want = self.size;
        loop {
            self.fill(block, want)?;
            if self.eof {
                return Ok(false);
            }
            if let Some(cut) = self.last_record_end(block) {
                self.carry.extend_from_slice(&block[cut..]);
                block.truncate(cut);
                return Ok(true);
            }
            // One record longer than the block: read on until it ends.
            want = want.saturating_mul(2);
        }
    }

    /// Where the last whole record of `block` ends (after its line end), if it
    /// holds one.
    fn last_record_end(&mut self, block: &[u8]) -> Option<usize> {
        if memchr::memchr(b'"', block).is_none() {
            // No quotes: every line end ends a record (or a blank line).
            return memchr::memrchr2(b'\n', b'\r', block).map(|i| i + 1);
        }
        let mut core = mid_file_parser();
        self.fields.resize(block.len() + 1, 0);
        self.ends.resize(block.len() + 1, 0);
        let (mut pos, mut last) = (0, None);
        // Not with an empty rest: to the parser, that is the end of the input, and it
        // would end a record there that the next bytes may continue.
        while pos < block.len() {
            let (res, nin, _, _) =
                core.read_record(&block[pos..], &mut self.fields, &mut self.ends);
            pos += nin;
            match res {
                ReadRecordResult::Record => last = Some(pos),
                _ => break,
            }
        }
        last
    }
}

/// The fields of one record.
pub struct Fields<'a> {
    bytes: &'a [u8],
    /// Where each field ends in `bytes`.
    ends: &'a [usize],
    /// Bytes between a field's end and the next one's start: 1 for a delimiter left
    /// in place, 0 for fields the parser copied out.
    gap: usize,
}

impl Fields<'_> {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `k` (< [`Fields::len`]).
    pub fn get(&self, k: usize) -> &[u8] {
        let start = if k == 0 {
            0
        } else {
            self.ends[k - 1] + self.gap
        };
        &self.bytes[start..self.ends[k]]
    }
}

/// What takes the records of a block.
pub trait Sink {
    /// Offered each record of a block without quotes first, as its bytes without the
    /// line end: `Some(go_on)` when it took the record, `None` to have it split into
    /// fields for [`Sink::record`].
    fn unsplit(&mut self, line: u64, record: &[u8]) -> Option<bool> {
        let _ = (line, record);
        None
    }

    /// Takes a record's fields; returns whether to go on.
    fn record(&mut self, line: u64, fields: Fields<'_>) -> bool;
}

/// The records of one block, parsed as the `csv` crate parses them.
pub struct Records {
    core: csv_core::Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    pub fn new() -> Records {
        Records {
            core: mid_file_parser(),
            fields: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Hands every record of `block` to `sink` in order, with the line its first byte
    /// is on (counted from 1 at the block's start), until `sink` says stop. Returns the
    /// number of line feeds in what was parsed (the whole block unless stopped).
    ///
    /// The line is the record's own even after blank lines or a CRLF line end, where
    /// the `csv` crate's reader names the line the previous record ended on.
    pub fn parse(&mut self, block: &[u8], sink: &mut impl Sink) -> u64 {
        if memchr::memchr(b'"', block).is_none() {
            self.parse_unquoted(block, sink)
        } else {
            self.parse_quoted(block, sink)
        }
    }

    /// [`Records::parse`] for a block without quotes, where the CSV rules come down to
    /// these: a comma ends a field; CR or LF ends a record; a record starts at the
    /// first byte that is neither (blank lines are skipped). No copy: the fields are
    /// read in place.
    fn parse_unquoted(&mut self, block: &[u8], sink: &mut impl Sink) -> u64 {
        let (mut pos, mut newlines) = (0, 0);
        loop {
            while let Some(&b) = block.get(pos).filter(|&&b| b == b'\n' || b == b'\r') {
                newlines += u64::from(b == b'\n');
                pos += 1;
            }
            if pos == block.len() {
                return newlines;
            }
            let rest = &block[pos..];
            let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
            let record = &rest[..end];
            let go_on = match sink.unsplit(1 + newlines, record) {
                Some(go_on) => go_on,
                None => {
                    self.ends.clear();
                    self.ends.extend(memchr::memchr_iter(b',', record));
                    self.ends.push(end);
                    let fields = Fields {
                        bytes: record,
                        ends: &self.ends,
                        gap: 1,
                    };
                    sink.record(1 + newlines, fields)
                }
            };
            if !go_on {
                return newlines;
            }
            pos += end;
        }
    }

    /// [`Records::parse`] for a block holding quotes: by the `csv` crate's parser.
    fn parse_quoted(&mut self, block: &[u8], sink: &mut impl Sink) -> u64 {
        self.core = mid_file_parser();
        if self.fields.len() < block.len() + 1 {
            self.fields.resize(block.len() + 1, 0);
        }
        if self.ends.len() < 64 {
            self.ends.resize(64, 0);
        }
        let (mut pos, mut nout, mut nend) = (0, 0, 0);
        // Line feeds skipped here, not by the parser, before the records.
        let mut skipped = 0;
        loop {
            if nout == 0 && nend == 0 {
                // Between records the parser skips line ends (blank lines, the LF of a
                // CRLF): done here, the line of the record's first byte is known.
                while let Some(&b) = block.get(pos).filter(|&&b| b == b'\n' || b == b'\r') {
                    skipped += u64::from(b == b'\n');
                    pos += 1;
                }
            }
            let line = self.core.line() + skipped;
            let (res, nin, o, e) = self.core.read_record(
                &block[pos..],
                &mut self.fields[nout..],
                &mut self.ends[nend..],
            );
            pos += nin;
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    unreachable!("a record has no more bytes than its input")
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    let fields = Fields {
                        bytes: &self.fields[..nout],
                        ends: &self.ends[..nend],
                        gap: 0,
                    };
                    if !sink.record(line, fields) {
                        return self.core.line() - 1 + skipped;
                    }
                    (nout, nend) = (0, 0);
                }
                ReadRecordResult::End => return self.core.line() - 1 + skipped,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record as (line, fields): the fields the `csv` crate reads, on the line
    /// of the record's first byte.
    fn by_csv_crate(text: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text);
        let mut out = vec![(
            1,
            rdr.byte_headers()
                .unwrap()
                .iter()
                .map(<[u8]>::to_vec)
                .collect(),
        )];
        let mut record = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut record).unwrap() {
            // The `csv` crate's position is where the reading began: before the line
            // ends that precede the record.
            let mut start = record.position().unwrap().byte() as usize;
            while text[start] == b'\n' || text[start] == b'\r' {
                start += 1;
            }
            let line = 1 + memchr::memchr_iter(b'\n', &text[..start]).count() as u64;
            out.push((line, record.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    /// Every record as (line in the whole input, fields).
    struct Collect<'a> {
        base: u64,
        out: &'a mut Vec<(u64, Vec<Vec<u8>>)>,
    }

    impl Sink for Collect<'_> {
        fn record(&mut self, line: u64, fields: Fields<'_>) -> bool {
            let record = (0..fields.len()).map(|k| fields.get(k).to_vec()).collect();
            self.out.push((self.base + line - 1, record));
            true
        }
    }

    /// The same through blocks of about `size` bytes.
    fn by_blocks(text: &[u8], size: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let (mut blocks, header) = BlockReader::new(text, size).unwrap();
        let mut out = vec![(1, header.fields.iter().map(<[u8]>::to_vec).collect())];
        let mut base = header.next_line;
        let mut records = Records::new();
        let mut block = Vec::new();
        loop {
            let more = blocks.next_block(&mut block).unwrap();
            let mut sink = Collect {
                base,
                out: &mut out,
            };
            let lines = records.parse(&block, &mut sink);
            base += lines;
            if !more {
                return out;
            }
        }
    }

    #[test]
    fn the_same_records_and_lines_as_the_csv_crate() {
        let texts: &[&[u8]] = &[
            b"a,b\n1,2\n3,4\n",
            b"a,b\n1,2\n3,4",
            b"a,b\r\n1,2\r\n\r\n3,4\r\n",
            b"\xef\xbb\xbfa,b\n1,2\n\n\n3,4\n",
            b"a,b\n\"1\n2\",3\n\"x\"\"y\",\"\"\n4,5\n",
            b"a,b\n1,\"2\r\n\"\r\n3,4\r",
            b"a,b\r1,2\r3,4\r",
            b"\"a\nb\",c\n1,2\n",
            b"a,b\n\xef\xbb\xbf1,2\n3\n4,5,6\n",
            b"a,b\nab\"c,d\n\"e\",f\n",
            b"",
            b"a",
            b"a,b\n\n\n",
            b"a,b\n,\n  \n1,2",
            b"a,b,c\n1,,3\r\n\r\r\n,x,\n",
            b"a,b\n\"\",\"\"\n1,2\n",
        ];
        for text in texts {
            let want = by_csv_crate(text);
            for size in [1, 2, 3, 5, 8, 13, 64, 1 << 16] {
                assert_eq!(
                    by_blocks(text, size),
                    want,
                    "{:?}, blocks of {size}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }
}
