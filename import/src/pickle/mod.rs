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
//! alignment padding), or, for object arrays, a nested pickle is read. The raw bytes
//! are not copied: a [`RawArray`] names where they lie in the stream, which the
//! [`Pickle`] keeps borrowing, so a forest's node arrays (nearly all of a joblib file)
//! are in memory once.

mod error;
pub mod globals;
pub mod numpy;
mod opcodes;
mod vm;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

pub use error::PickleError;
pub use globals::{Global, Role};
use vm::Vm;

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
    /// Where the raw element bytes lie in the stream ([`Pickle::bytes_of`]).
    pub data: Range<usize>,
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
    /// Bytes of strings, byte strings and containers allocated in total (joblib arrays
    /// stay in the stream and only their shapes count).
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

/// The result of running a pickle: the value arena and the root value, borrowing the
/// stream that holds the joblib arrays' bytes.
#[derive(Clone)]
pub struct Pickle<'a> {
    /// All values built; [`Id`]s index this vector.
    pub values: Vec<Value>,
    /// The value STOP returned.
    pub root: Id,
    /// The protocol named by the first PROTO opcode (0 if none).
    pub protocol: u8,
    /// The stream that was run.
    stream: &'a [u8],
}

impl fmt::Debug for Pickle<'_> {
    /// The values and the root; the stream only by its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pickle")
            .field("values", &self.values)
            .field("root", &self.root)
            .field("protocol", &self.protocol)
            .field("stream_len", &self.stream.len())
            .finish()
    }
}

impl<'a> Pickle<'a> {
    /// The raw element bytes of a joblib array. The VM checked its range against the
    /// stream; a range from another pickle gives what lies there, or nothing.
    pub fn bytes_of(&self, array: &RawArray) -> &'a [u8] {
        self.stream.get(array.data.clone()).unwrap_or(&[])
    }

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
pub fn run(data: &[u8], joblib: bool, limits: Limits) -> Result<Pickle<'_>, PickleError> {
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
        stream: data,
    })
}
