//! A pickle virtual machine (protocols 2–5) that never calls anything the file names.
//!
//! Python's unpickler imports every global a pickle names and calls it; that is why
//! loading an untrusted pickle runs arbitrary code. This VM instead resolves globals
//! against a fixed allow-list ([`globals::ALLOWED`]) and turns REDUCE, NEWOBJ and BUILD
//! into inert [`Value::Object`] records (class, arguments, state). Readers such as
//! [`numpy`] and `crate::sklearn` interpret those records afterwards, as data.
//!
//! Values live in an arena ([`Pickle::values`]) and refer to each other by [`Id`], so a
//! memo reference (`BINGET`) shares a value instead of copying it: a small file cannot
//! expand exponentially, and a cyclic structure costs nothing to build. The VM is a
//! loop over opcodes with an explicit stack, so nesting depth cannot overflow the Rust
//! stack; the stack, the MARK depth, the memo, the number of values and the bytes
//! allocated are all bounded by [`Limits`].
//!
//! joblib's `NumpyArrayWrapper` is handled as joblib's own unpickler does: after BUILD
//! on a wrapper, the array's raw bytes are read from the stream (after an optional
//! alignment padding), or, for object arrays, a nested pickle is read.

mod error;
pub mod globals;
pub mod numpy;

use std::collections::HashMap;

pub use error::PickleError;
pub use globals::{Global, Role};

/// The index of a value in [`Pickle::values`].
pub type Id = u32;

/// A value built by the VM. Containers refer to their elements by [`Id`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A larger integer: little-endian two's complement bytes, as LONG1/LONG4 store it.
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Id>),
    /// A list.
    List(Vec<Id>),
    /// A dict, as (key, value) pairs in insertion order; a later pair wins.
    Dict(Vec<(Id, Id)>),
    /// A set or frozenset.
    Set(Vec<Id>),
    /// An allowed global (a class or function), never resolved to anything callable.
    Global(&'static Global),
    /// What REDUCE / NEWOBJ would have created, recorded instead of executed.
    Object(Object),
    /// A numpy array read by joblib's `NumpyArrayWrapper` protocol.
    Array(RawArray),
}

/// An inert record of an object the pickle asked to create.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// The allowed global that was "called".
    pub class: &'static Global,
    /// The positional arguments (REDUCE, NEWOBJ).
    pub args: Vec<Id>,
    /// Keyword arguments (NEWOBJ_EX), a dict.
    pub kwargs: Option<Id>,
    /// The BUILD state (`__setstate__` argument), usually a dict.
    pub state: Option<Id>,
    /// Items APPENDed to the object (list subclasses).
    pub items: Vec<Id>,
    /// Entries SETITEMed on the object (dict subclasses).
    pub entries: Vec<(Id, Id)>,
}

/// A non-object numpy array whose bytes followed a joblib `NumpyArrayWrapper`.
#[derive(Clone, Debug, PartialEq)]
pub struct RawArray {
    /// The element type (an `Object` of class `numpy.dtype`).
    pub dtype: Id,
    /// The shape.
    pub shape: Vec<usize>,
    /// Fortran (column-major) order.
    pub fortran: bool,
    /// The raw element bytes.
    pub data: Vec<u8>,
}

/// Resource bounds of one VM run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Values on the stack at once (also bounds nesting through the stack).
    pub max_stack: usize,
    /// Open MARKs at once (nesting through MARK … TUPLE/LIST/DICT).
    pub max_marks: usize,
    /// Memo entries.
    pub max_memo: usize,
    /// Values in the arena.
    pub max_values: usize,
    /// Bytes of strings, byte strings, arrays and containers allocated in total.
    pub max_alloc: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stack: 50_000,
            max_marks: 1_000,
            max_memo: 1_000_000,
            max_values: 10_000_000,
            max_alloc: 1 << 30,
        }
    }
}

/// The result of running a pickle: the value arena and the root value.
#[derive(Clone, Debug)]
pub struct Pickle {
    /// All values built; [`Id`]s index this vector.
    pub values: Vec<Value>,
    /// The value STOP returned.
    pub root: Id,
    /// The protocol named by the first PROTO opcode (0 if none).
    pub protocol: u8,
}

impl Pickle {
    /// The value with this id. Ids come from this arena, so they are always in range;
    /// a foreign id gives `None`.
    pub fn get(&self, id: Id) -> &Value {
        static NONE: Value = Value::None;
        self.values.get(id as usize).unwrap_or(&NONE)
    }

    /// A short name of the value's Python type, for error messages.
    pub fn type_name(&self, id: Id) -> String {
        match self.get(id) {
            Value::None => "None".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) | Value::BigInt(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::List(_) => "list".into(),
            Value::Dict(_) => "dict".into(),
            Value::Set(_) => "set".into(),
            Value::Global(g) => format!("the class {}", g.path()),
            Value::Object(o) => self.class_of(o).path(),
            Value::Array(_) => "numpy.ndarray".into(),
        }
    }

    /// The class an object stands for: for `copyreg._reconstructor(cls, …)` it is `cls`.
    pub fn class_of(&self, object: &Object) -> &'static Global {
        if object.class.role == Role::CopyregReconstructor {
            if let Some(Value::Global(g)) = object.args.first().map(|&a| self.get(a)) {
                return g;
            }
        }
        object.class
    }

    /// The object at `id`, if it is one.
    pub fn object(&self, id: Id) -> Option<&Object> {
        match self.get(id) {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Looks `key` up in the dict at `id` (the last pair with that key wins).
    pub fn dict_get(&self, id: Id, key: &str) -> Option<Id> {
        match self.get(id) {
            Value::Dict(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| matches!(self.get(*k), Value::Str(s) if s == key))
                .map(|&(_, v)| v),
            _ => None,
        }
    }

    /// An attribute of an object: a key of its BUILD state dict.
    pub fn attr(&self, id: Id, key: &str) -> Option<Id> {
        let state = self.object(id)?.state?;
        // `__setstate__` may receive (dict, slots) from `copyreg` for slotted classes.
        match self.get(state) {
            Value::Tuple(parts) if parts.len() == 2 => {
                parts.iter().find_map(|&p| self.dict_get(p, key))
            }
            _ => self.dict_get(state, key),
        }
    }

    /// An integer (Python int or bool, or a numpy integer scalar).
    pub fn as_i64(&self, id: Id) -> Option<i64> {
        match self.get(id) {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            Value::Object(o) if o.class.role == Role::Scalar => numpy::scalar_i64(self, o),
            _ => None,
        }
    }

    /// A float (Python float or int, or a numpy scalar).
    pub fn as_f64(&self, id: Id) -> Option<f64> {
        match self.get(id) {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Object(o) if o.class.role == Role::Scalar => numpy::scalar_f64(self, o),
            _ => None,
        }
    }

    /// A `str`.
    pub fn as_str(&self, id: Id) -> Option<&str> {
        match self.get(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a tuple or list.
    pub fn as_seq(&self, id: Id) -> Option<&[Id]> {
        match self.get(id) {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }
}

/// Runs a pickle stream. With `joblib`, `NumpyArrayWrapper` objects are followed by
/// their array data, as joblib writes them.
pub fn run(data: &[u8], joblib: bool, limits: Limits) -> Result<Pickle, PickleError> {
    let mut vm = Vm {
        data,
        pos: 0,
        op_pos: 0,
        values: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        alloc: 0,
        limits,
        protocol: None,
    };
    let root = vm.run(joblib)?;
    Ok(Pickle {
        values: vm.values,
        root,
        protocol: vm.protocol.unwrap_or(0),
    })
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    values: Vec<Value>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    alloc: usize,
    limits: Limits,
    protocol: Option<u8>,
}

/// The opcode names, for error messages.
fn opcode_name(op: u8) -> &'static str {
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
    fn err(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op_pos,
            reason: reason.into(),
        }
    }

    fn limit(&self, what: &'static str, limit: usize) -> PickleError {
        PickleError::Limit {
            what,
            limit,
            offset: self.op_pos,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
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

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).map_err(|_| self.err(format!("length {n} is too large")))
    }

    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("truncated: a text argument has no end of line"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.err("a text argument is not UTF-8"))
    }

    fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.alloc = self.alloc.saturating_add(bytes);
        if self.alloc > self.limits.max_alloc {
            return Err(self.limit("the memory the pickle needs", self.limits.max_alloc));
        }
        Ok(())
    }

    fn new_value(&mut self, v: Value) -> Result<Id, PickleError> {
        let payload = match &v {
            Value::BigInt(b) | Value::Bytes(b) => b.len(),
            Value::Str(s) => s.len(),
            Value::Tuple(v) | Value::List(v) | Value::Set(v) => v.len() * 4,
            Value::Dict(v) => v.len() * 8,
            Value::Object(o) => o.args.len() * 4,
            Value::Array(a) => a.data.len() + a.shape.len() * 8,
            _ => 0,
        };
        self.charge(std::mem::size_of::<Value>() + payload)?;
        if self.values.len() >= self.limits.max_values {
            return Err(self.limit("the number of pickle values", self.limits.max_values));
        }
        self.values.push(v);
        Ok((self.values.len() - 1) as Id)
    }

    fn push(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(self.limit("the pickle stack depth", self.limits.max_stack));
        }
        self.stack.push(id);
        Ok(())
    }

    fn push_new(&mut self, v: Value) -> Result<(), PickleError> {
        let id = self.new_value(v)?;
        self.push(id)
    }

    fn frame_start(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.frame_start() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.pop().unwrap_or(0))
    }

    fn top(&self) -> Result<Id, PickleError> {
        if self.stack.len() <= self.frame_start() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err("no MARK to pop to"))?;
        Ok(self.stack.split_off(m))
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains_key(&key) {
            return Err(self.limit("the pickle memo size", self.limits.max_memo));
        }
        self.charge(16)?;
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.err(format!("memo entry {key} is not defined")))?;
        self.push(id)
    }

    fn string(&mut self, n: usize) -> Result<(), PickleError> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| self.err("a string is not valid UTF-8"))?
            .to_owned();
        self.push_new(Value::Str(s))
    }

    fn bytes(&mut self, n: usize) -> Result<(), PickleError> {
        let b = self.take(n)?.to_vec();
        self.push_new(Value::Bytes(b))
    }

    fn global(&mut self, module: &str, name: &str) -> Result<(), PickleError> {
        match globals::lookup(module, name) {
            Some(g) => self.push_new(Value::Global(g)),
            None => Err(PickleError::RefusedGlobal {
                module: module.into(),
                name: name.into(),
                offset: self.op_pos,
            }),
        }
    }

    fn callable(&self, id: Id, op: &str) -> Result<&'static Global, PickleError> {
        match &self.values[id as usize] {
            Value::Global(g) => Ok(g),
            _ => Err(self.err(format!("{op} on a value that is not an allowed class"))),
        }
    }

    fn new_object(
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

    fn append(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        let target = self.top()?;
        self.charge(items.len() * 4)?;
        match &mut self.values[target as usize] {
            Value::List(v) | Value::Set(v) => v.extend(items),
            Value::Object(o) => o.items.extend(items),
            _ => return Err(self.err("APPEND to a value that is not a list")),
        }
        Ok(())
    }

    fn set_items(&mut self, flat: Vec<Id>) -> Result<(), PickleError> {
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

    fn build(&mut self, joblib: bool) -> Result<(), PickleError> {
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
    fn read_wrapped_array(&mut self, wrapper: Id) -> Result<Id, PickleError> {
        let view = Pickle {
            values: std::mem::take(&mut self.values),
            root: wrapper,
            protocol: 0,
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
        let data = self.take(size)?.to_vec();
        self.new_value(Value::Array(RawArray {
            dtype: header.dtype,
            shape: header.shape,
            fortran: header.fortran,
            data,
        }))
    }

    fn nested(&mut self) -> Result<Id, PickleError> {
        let stack = std::mem::take(&mut self.stack);
        let marks = std::mem::take(&mut self.marks);
        let memo = std::mem::take(&mut self.memo);
        let result = self.run(false);
        self.stack = stack;
        self.marks = marks;
        self.memo = memo;
        result
    }

    fn run(&mut self, joblib: bool) -> Result<Id, PickleError> {
        loop {
            self.op_pos = self.pos;
            let op = match self.data.get(self.pos) {
                Some(&op) => op,
                None => return Err(self.err("truncated: the stream ends before STOP")),
            };
            self.pos += 1;
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
                b'.' => return self.pop(),
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
                        usize::try_from(n)
                            .map_err(|_| self.err("BINSTRING with a negative length"))?
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
                _ => {
                    return Err(self.err(format!(
                        "unsupported opcode 0x{op:02x} ({})",
                        opcode_name(op)
                    )))
                }
            }
        }
    }
}
