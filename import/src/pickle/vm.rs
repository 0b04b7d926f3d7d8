//! The pickle VM's state and the primitives its opcodes use: reading the stream,
//! the stack and MARKs, the memo, the arena of values (every allocation charged against
//! [`Limits`]), globals, and joblib's array wrapper.

use std::collections::HashMap;

use super::globals::{self, Global, Role};
use super::numpy;
use super::{Id, Limits, Object, Pickle, PickleError, RawArray, Value};

/// The VM: the stream, the position of the opcode being run, the arena of values,
/// the stack with its MARKs, and the memo.
pub(super) struct Vm<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) op_pos: usize,
    pub(super) values: Vec<Value>,
    pub(super) stack: Vec<Id>,
    pub(super) marks: Vec<usize>,
    pub(super) memo: HashMap<u64, Id>,
    pub(super) alloc: usize,
    pub(super) limits: Limits,
    pub(super) protocol: Option<u8>,
}

/// The opcode names, for error messages.
pub(super) fn opcode_name(op: u8) -> &'static str {
    match op {
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'i' => "INST",
        b'o' => "OBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x97 => "NEXT_BUFFER",
        b'S' => "STRING",
        b'V' => "UNICODE",
        _ => "unknown opcode",
    }
}

impl<'a> Vm<'a> {
    pub(super) fn err(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op_pos,
            reason: reason.into(),
        }
    }

    pub(super) fn limit(&self, what: &'static str, limit: usize) -> PickleError {
        PickleError::Limit {
            what,
            limit,
            offset: self.op_pos,
        }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let rest = self.data.len() - self.pos;
        if n > rest {
            return Err(self.err(format!(
                "truncated: the opcode needs {n} more bytes, the stream has {rest}"
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(super) fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).map_err(|_| self.err(format!("length {n} is too large")))
    }

    pub(super) fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("truncated: a text argument has no end of line"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.err("a text argument is not UTF-8"))
    }

    /// Refuses `bytes` more before they are allocated (copying a 200 MiB byte string
    /// only to refuse it would spend the memory the budget protects).
    fn afford(&self, bytes: usize) -> Result<(), PickleError> {
        if self.alloc.saturating_add(bytes) > self.limits.max_alloc {
            return Err(self.limit("the memory the pickle needs", self.limits.max_alloc));
        }
        Ok(())
    }

    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.alloc = self.alloc.saturating_add(bytes);
        if self.alloc > self.limits.max_alloc {
            return Err(self.limit("the memory the pickle needs", self.limits.max_alloc));
        }
        Ok(())
    }

    pub(super) fn new_value(&mut self, v: Value) -> Result<Id, PickleError> {
        let payload = match &v {
            Value::BigInt(b) | Value::Bytes(b) => b.len(),
            Value::Str(s) => s.len(),
            Value::Tuple(v) | Value::List(v) | Value::Set(v) => v.len() * 4,
            Value::Dict(v) => v.len() * 8,
            Value::Object(o) => o.args.len() * 4,
            // The element bytes stay in the stream: only the shape is allocated.
            Value::Array(a) => a.shape.len() * 8,
            _ => 0,
        };
        self.charge(std::mem::size_of::<Value>() + payload)?;
        if self.values.len() >= self.limits.max_values {
            return Err(self.limit("the number of pickle values", self.limits.max_values));
        }
        self.values.push(v);
        Ok((self.values.len() - 1) as Id)
    }

    pub(super) fn push(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(self.limit("the pickle stack depth", self.limits.max_stack));
        }
        self.stack.push(id);
        Ok(())
    }

    pub(super) fn push_new(&mut self, v: Value) -> Result<(), PickleError> {
        let id = self.new_value(v)?;
        self.push(id)
    }

    pub(super) fn frame_start(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    pub(super) fn pop(&mut self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.frame_start() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.pop().unwrap_or(0))
    }

    pub(super) fn top(&self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.frame_start() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    pub(super) fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err("no MARK to pop to"))?;
        Ok(self.stack.split_off(m))
    }

    pub(super) fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains_key(&key) {
            return Err(self.limit("the pickle memo size", self.limits.max_memo));
        }
        self.charge(16)?;
        self.memo.insert(key, top);
        Ok(())
    }

    pub(super) fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.err(format!("memo entry {key} is not defined")))?;
        self.push(id)
    }

    pub(super) fn string(&mut self, n: usize) -> Result<(), PickleError> {
        let bytes = self.take(n)?;
        self.afford(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| self.err("a string is not valid UTF-8"))?
            .to_owned();
        self.push_new(Value::Str(s))
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<(), PickleError> {
        let b = self.take(n)?;
        self.afford(n)?;
        let b = b.to_vec();
        self.push_new(Value::Bytes(b))
    }

    pub(super) fn global(&mut self, module: &str, name: &str) -> Result<(), PickleError> {
        match globals::lookup(module, name) {
            Some(g) => self.push_new(Value::Global(g)),
            None => Err(PickleError::RefusedGlobal {
                module: module.into(),
                name: name.into(),
                offset: self.op_pos,
            }),
        }
    }

    pub(super) fn callable(&self, id: Id, op: &str) -> Result<&'static Global, PickleError> {
        match &self.values[id as usize] {
            Value::Global(g) => Ok(g),
            _ => Err(self.err(format!("{op} on a value that is not an allowed class"))),
        }
    }

    pub(super) fn new_object(
        &mut self,
        class: &'static Global,
        args: Id,
        kwargs: Option<Id>,
    ) -> Result<(), PickleError> {
        let args = match &self.values[args as usize] {
            Value::Tuple(a) => a.clone(),
            _ => return Err(self.err("the arguments of a call are not a tuple")),
        };
        self.push_new(Value::Object(Object {
            class,
            args,
            kwargs,
            state: None,
            items: Vec::new(),
            entries: Vec::new(),
        }))
    }

    pub(super) fn append(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        let target = self.top()?;
        self.charge(items.len() * 4)?;
        match &mut self.values[target as usize] {
            Value::List(v) | Value::Set(v) => v.extend(items),
            Value::Object(o) => o.items.extend(items),
            _ => return Err(self.err("APPEND to a value that is not a list")),
        }
        Ok(())
    }

    pub(super) fn set_items(&mut self, flat: Vec<Id>) -> Result<(), PickleError> {
        if !flat.len().is_multiple_of(2) {
            return Err(self.err("SETITEMS with an odd number of values"));
        }
        let target = self.top()?;
        self.charge(flat.len() * 4)?;
        let pairs = flat.chunks_exact(2).map(|c| (c[0], c[1]));
        match &mut self.values[target as usize] {
            Value::Dict(v) => v.extend(pairs),
            Value::Object(o) => o.entries.extend(pairs),
            _ => return Err(self.err("SETITEM on a value that is not a dict")),
        }
        Ok(())
    }

    pub(super) fn build(&mut self, joblib: bool) -> Result<(), PickleError> {
        let state = self.pop()?;
        let target = self.top()?;
        let Value::Object(o) = &mut self.values[target as usize] else {
            return Err(self.err("BUILD on a value that is not an object"));
        };
        // A second BUILD would call `__setstate__` again; the readers only need the
        // last state, which is what a plain `__dict__.update` leaves visible.
        o.state = Some(state);
        if joblib && o.class.role == Role::NumpyArrayWrapper {
            let array = self.read_wrapped_array(target)?;
            let n = self.stack.len();
            self.stack[n - 1] = array;
        }
        Ok(())
    }

    /// Reads the array that follows a joblib `NumpyArrayWrapper` (joblib's
    /// `NumpyArrayWrapper.read_array`).
    pub(super) fn read_wrapped_array(&mut self, wrapper: Id) -> Result<Id, PickleError> {
        let view = Pickle {
            values: std::mem::take(&mut self.values),
            root: wrapper,
            protocol: 0,
            stream: self.data,
        };
        let parsed = numpy::wrapper_header(&view, wrapper);
        self.values = view.values;
        let header = parsed.map_err(|reason| self.err(reason))?;
        if header.has_object {
            // Object arrays are a complete, ordinary pickle of their own, with a fresh memo.
            return self.nested();
        }
        if header.aligned {
            let padding = self.u8()? as usize;
            self.take(padding)?;
        }
        let size = header
            .shape
            .iter()
            .try_fold(header.itemsize, |acc, &d| acc.checked_mul(d))
            .filter(|&s| s <= self.data.len() - self.pos)
            .ok_or_else(|| {
                self.err(format!(
                    "an array of shape {:?} and {}-byte elements does not fit the {} bytes left in the stream",
                    header.shape,
                    header.itemsize,
                    self.data.len() - self.pos
                ))
            })?;
        let start = self.pos;
        self.take(size)?;
        self.new_value(Value::Array(RawArray {
            dtype: header.dtype,
            shape: header.shape,
            fortran: header.fortran,
            data: start..start + size,
        }))
    }

    pub(super) fn nested(&mut self) -> Result<Id, PickleError> {
        let stack = std::mem::take(&mut self.stack);
        let marks = std::mem::take(&mut self.marks);
        let memo = std::mem::take(&mut self.memo);
        let result = self.run(false);
        self.stack = stack;
        self.marks = marks;
        self.memo = memo;
        result
    }
}
