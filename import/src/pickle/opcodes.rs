//! The pickle VM's opcodes: [`Vm::run`] reads one opcode at a time and hands it to the
//! step of its family (stack control, scalars, text and bytes, containers, the memo,
//! globals and objects); STOP returns the top of the stack.

use super::vm::{opcode_name, Vm};
use super::{Id, PickleError, Value};

impl Vm<'_> {
    /// Runs the stream to its STOP and returns the value on top of the stack.
    pub(super) fn run(&mut self, joblib: bool) -> Result<Id, PickleError> {
        loop {
            self.op_pos = self.pos;
            let op = match self.data.get(self.pos) {
                Some(&op) => op,
                None => return Err(self.err("truncated: the stream ends before STOP")),
            };
            self.pos += 1;
            match op {
                b'.' => return self.pop(),
                0x80 | 0x95 | b'(' | b'0' | b'1' | b'2' => self.control(op)?,
                b'N' | 0x88 | 0x89 | b'J' | b'K' | b'M' | 0x8a | 0x8b | b'I' | b'L' | b'F'
                | b'G' => self.scalar(op)?,
                0x8c | b'X' | 0x8d | b'U' | b'T' | b'C' | b'B' | 0x8e | 0x96 | 0x98 => {
                    self.text(op)?
                }
                b')'
                | b't'
                | 0x85..=0x87
                | b']'
                | b'l'
                | b'}'
                | b'd'
                | 0x8f
                | 0x91
                | b'a'
                | b'e'
                | 0x90
                | b's'
                | b'u' => self.container(op)?,
                b'g' | b'h' | b'j' | b'p' | b'q' | b'r' | 0x94 => self.memo(op)?,
                b'c' | 0x93 | b'R' | 0x81 | 0x92 | b'b' => self.object(op, joblib)?,
                _ => return Err(self.unsupported(op)),
            }
        }
    }

    /// The error for an opcode this VM does not run.
    fn unsupported(&self, op: u8) -> PickleError {
        self.err(format!(
            "unsupported opcode 0x{op:02x} ({})",
            opcode_name(op)
        ))
    }

    /// PROTO, FRAME, MARK, POP, POP_MARK and DUP.
    fn control(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            0x80 => {
                let p = self.u8()?;
                if p > 5 {
                    return Err(self.err(format!("unsupported pickle protocol {p}")));
                }
                self.protocol.get_or_insert(p);
            }
            0x95 => {
                // FRAME: a length prefix for buffered reading; the stream is linear.
                self.take(8)?;
            }
            b'(' => {
                if self.marks.len() >= self.limits.max_marks {
                    return Err(self.limit("the MARK nesting depth", self.limits.max_marks));
                }
                self.marks.push(self.stack.len());
            }
            b'0' => {
                if self.stack.len() > self.frame_start() {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?;
                self.push(top)?;
            }
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }

    /// None, booleans, integers (binary and text forms) and floats.
    fn scalar(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'N' => self.push_new(Value::None)?,
            0x88 => self.push_new(Value::Bool(true))?,
            0x89 => self.push_new(Value::Bool(false))?,
            b'J' => {
                let v = i32::from_le_bytes(self.le()?);
                self.push_new(Value::Int(v as i64))?
            }
            b'K' => {
                let v = self.u8()?;
                self.push_new(Value::Int(v as i64))?
            }
            b'M' => {
                let v = u16::from_le_bytes(self.le()?);
                self.push_new(Value::Int(v as i64))?
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    self.u8()? as usize
                } else {
                    let n = i32::from_le_bytes(self.le()?);
                    usize::try_from(n).map_err(|_| self.err("LONG4 with a negative length"))?
                };
                let bytes = self.take(n)?;
                let v = if n <= 8 {
                    let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
                        0xff
                    } else {
                        0
                    };
                    let mut a = [fill; 8];
                    a[..n].copy_from_slice(bytes);
                    Value::Int(i64::from_le_bytes(a))
                } else {
                    Value::BigInt(bytes.to_vec())
                };
                self.push_new(v)?
            }
            b'I' => {
                let line = self.line()?;
                let v = match line {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    _ => Value::Int(
                        line.parse()
                            .map_err(|_| self.err(format!("INT argument {line:?}")))?,
                    ),
                };
                self.push_new(v)?
            }
            b'L' => {
                let line = self.line()?;
                let v = line
                    .trim_end_matches('L')
                    .parse()
                    .map_err(|_| self.err(format!("LONG argument {line:?}")))?;
                self.push_new(Value::Int(v))?
            }
            b'F' => {
                let line = self.line()?;
                let v = line
                    .parse()
                    .map_err(|_| self.err(format!("FLOAT argument {line:?}")))?;
                self.push_new(Value::Float(v))?
            }
            b'G' => {
                let v = f64::from_be_bytes(self.le()?);
                self.push_new(Value::Float(v))?
            }
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }

    /// Strings (text, and Python 2 `str` as Latin-1), bytes and READONLY_BUFFER.
    fn text(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            0x8c => {
                let n = self.u8()? as usize;
                self.string(n)?
            }
            b'X' => {
                let n = u32::from_le_bytes(self.le()?) as usize;
                self.string(n)?
            }
            0x8d => {
                let n = self.len_u64()?;
                self.string(n)?
            }
            b'U' | b'T' => {
                // Python 2 `str`: decoded as Latin-1 text.
                let n = if op == b'U' {
                    self.u8()? as usize
                } else {
                    let n = i32::from_le_bytes(self.le()?);
                    usize::try_from(n).map_err(|_| self.err("BINSTRING with a negative length"))?
                };
                let s: String = self.take(n)?.iter().map(|&b| b as char).collect();
                self.push_new(Value::Str(s))?
            }
            b'C' => {
                let n = self.u8()? as usize;
                self.bytes(n)?
            }
            b'B' => {
                let n = u32::from_le_bytes(self.le()?) as usize;
                self.bytes(n)?
            }
            0x8e | 0x96 => {
                let n = self.len_u64()?;
                self.bytes(n)?
            }
            0x98 => {
                // READONLY_BUFFER: the top value stays as it is.
                self.top()?;
            }
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }

    /// Tuples, lists, dicts and sets, and the opcodes that fill them.
    fn container(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b')' => self.push_new(Value::Tuple(Vec::new()))?,
            b't' => {
                let items = self.pop_mark()?;
                self.push_new(Value::Tuple(items))?
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let start = self.stack.len().checked_sub(n).unwrap_or(usize::MAX);
                if start == usize::MAX || start < self.frame_start() {
                    return Err(self.err("stack underflow"));
                }
                let items = self.stack.split_off(start);
                self.push_new(Value::Tuple(items))?
            }
            b']' => self.push_new(Value::List(Vec::new()))?,
            b'l' => {
                let items = self.pop_mark()?;
                self.push_new(Value::List(items))?
            }
            b'}' => self.push_new(Value::Dict(Vec::new()))?,
            b'd' => {
                let flat = self.pop_mark()?;
                if flat.len() % 2 != 0 {
                    return Err(self.err("DICT with an odd number of values"));
                }
                let pairs = flat.chunks_exact(2).map(|c| (c[0], c[1])).collect();
                self.push_new(Value::Dict(pairs))?
            }
            0x8f => self.push_new(Value::Set(Vec::new()))?,
            0x91 => {
                let items = self.pop_mark()?;
                self.push_new(Value::Set(items))?
            }
            b'a' => {
                let v = self.pop()?;
                self.append(vec![v])?
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.append(items)?
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![k, v])?
            }
            b'u' => {
                let flat = self.pop_mark()?;
                self.set_items(flat)?
            }
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }

    /// GET and PUT in their text, short and long forms, and MEMOIZE.
    fn memo(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'g' => {
                let line = self.line()?;
                let k = line
                    .parse()
                    .map_err(|_| self.err(format!("GET argument {line:?}")))?;
                self.memo_get(k)?
            }
            b'h' => {
                let k = self.u8()? as u64;
                self.memo_get(k)?
            }
            b'j' => {
                let k = u32::from_le_bytes(self.le()?) as u64;
                self.memo_get(k)?
            }
            b'p' => {
                let line = self.line()?;
                let k = line
                    .parse()
                    .map_err(|_| self.err(format!("PUT argument {line:?}")))?;
                self.memo_put(k)?
            }
            b'q' => {
                let k = self.u8()? as u64;
                self.memo_put(k)?
            }
            b'r' => {
                let k = u32::from_le_bytes(self.le()?) as u64;
                self.memo_put(k)?
            }
            0x94 => {
                let k = self.memo.len() as u64;
                self.memo_put(k)?
            }
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }

    /// Globals (checked against the allow-list), REDUCE, NEWOBJ, NEWOBJ_EX and BUILD, which only record what they would call.
    fn object(&mut self, op: u8, joblib: bool) -> Result<(), PickleError> {
        match op {
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.global(module, name)?
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(m), Value::Str(n)) =
                    (&self.values[module as usize], &self.values[name as usize])
                else {
                    return Err(self.err("STACK_GLOBAL needs two strings"));
                };
                let (m, n) = (m.clone(), n.clone());
                self.global(&m, &n)?
            }
            b'R' => {
                let args = self.pop()?;
                let f = self.pop()?;
                let class = self.callable(f, "REDUCE")?;
                self.new_object(class, args, None)?
            }
            0x81 => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let class = self.callable(cls, "NEWOBJ")?;
                self.new_object(class, args, None)?
            }
            0x92 => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let class = self.callable(cls, "NEWOBJ_EX")?;
                self.new_object(class, args, Some(kwargs))?
            }
            b'b' => self.build(joblib)?,
            _ => return Err(self.unsupported(op)),
        }
        Ok(())
    }
}
