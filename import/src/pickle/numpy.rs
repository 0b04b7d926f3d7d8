//! Reading numpy dtypes, arrays and scalars out of the inert objects a pickle built.
//!
//! numpy pickles an array in one of three ways, all handled by [`array()`]:
//! `_reconstruct(ndarray, (0,), b'b')` + BUILD `(1, shape, dtype, fortran, data)`
//! (protocols 2–4), `_frombuffer(buffer, dtype, shape, order)` (protocol 5), and
//! joblib's `NumpyArrayWrapper` followed by raw bytes ([`super::RawArray`]). A dtype is
//! `numpy.dtype(descr, False, True)` + BUILD `(version, endian, subarray, names,
//! fields, elsize, alignment, flags)`. Every size is checked against the data present.

use super::{Id, Object, Pickle, Role, Value};

/// The kind of an element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `f`: IEEE float.
    Float,
    /// `i`: signed integer.
    Int,
    /// `u`: unsigned integer.
    UInt,
    /// `b`: bool.
    Bool,
    /// `O`: Python objects.
    Object,
    /// `U`: fixed-width UTF-32 text.
    Unicode,
    /// `S`: fixed-width bytes.
    Bytes,
    /// `V`: raw records, usually structured.
    Void,
}

/// A numpy dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Dtype {
    /// The element kind.
    pub kind: Kind,
    /// Bytes per element.
    pub itemsize: usize,
    /// Byte order is little-endian (or irrelevant).
    pub little: bool,
    /// The fields of a structured dtype, in the order numpy lists them.
    pub fields: Vec<Field>,
}

/// One field of a structured dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// The field's type.
    pub dtype: Dtype,
    /// The byte offset inside a record.
    pub offset: usize,
}

impl Dtype {
    /// A short description such as `<f8` or `V64`, for messages.
    pub fn describe(&self) -> String {
        let k = match self.kind {
            Kind::Float => 'f',
            Kind::Int => 'i',
            Kind::UInt => 'u',
            Kind::Bool => 'b',
            Kind::Object => 'O',
            Kind::Unicode => 'U',
            Kind::Bytes => 'S',
            Kind::Void => 'V',
        };
        format!(
            "{}{k}{}",
            if self.little { '<' } else { '>' },
            self.itemsize
        )
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Reads an element of this (numeric) type at `at` in `bytes` as f64.
    pub fn read_f64(&self, bytes: &[u8], at: usize) -> Option<f64> {
        let b = bytes.get(at..at.checked_add(self.itemsize)?)?;
        let mut a = [0u8; 8];
        if self.little {
            a[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        } else {
            for (i, &x) in b.iter().rev().take(8).enumerate() {
                a[i] = x;
            }
        }
        Some(match (self.kind, self.itemsize) {
            (Kind::Float, 8) => f64::from_le_bytes(a),
            (Kind::Float, 4) => f32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            _ => self.read_i64(bytes, at)? as f64,
        })
    }

    /// Reads an element of this (integer or bool) type at `at` in `bytes`.
    pub fn read_i64(&self, bytes: &[u8], at: usize) -> Option<i64> {
        let n = self.itemsize;
        if !(1..=8).contains(&n) || !matches!(self.kind, Kind::Int | Kind::UInt | Kind::Bool) {
            return None;
        }
        let b = bytes.get(at..at.checked_add(n)?)?;
        let mut le = [0u8; 8];
        for i in 0..n {
            le[i] = if self.little { b[i] } else { b[n - 1 - i] };
        }
        if self.kind == Kind::Int && le[n - 1] & 0x80 != 0 {
            le[n..].fill(0xff);
        }
        let v = i64::from_le_bytes(le);
        if self.kind == Kind::UInt && n == 8 && v < 0 {
            return None;
        }
        Some(v)
    }
}

/// How deep structured dtypes may nest (fields of fields).
const MAX_DTYPE_DEPTH: usize = 4;

/// Reads the `numpy.dtype` object at `id`.
pub fn dtype(p: &Pickle, id: Id) -> Result<Dtype, String> {
    dtype_at(p, id, 0)
}

fn dtype_at(p: &Pickle, id: Id, depth: usize) -> Result<Dtype, String> {
    let o = match p.get(id) {
        Value::Object(o) if o.class.role == Role::Dtype => o,
        _ => return Err(format!("expected a numpy.dtype, found {}", p.type_name(id))),
    };
    let descr = o
        .args
        .first()
        .and_then(|&a| p.as_str(a))
        .ok_or("a numpy.dtype without a type string")?;
    let mut chars = descr.chars();
    let code = chars.next().ok_or("an empty dtype string")?;
    let digits: usize = chars
        .as_str()
        .parse()
        .map_err(|_| format!("unsupported dtype {descr:?}"))?;
    let kind = match code {
        'f' => Kind::Float,
        'i' => Kind::Int,
        'u' => Kind::UInt,
        'b' => Kind::Bool,
        'O' => Kind::Object,
        'U' => Kind::Unicode,
        'S' => Kind::Bytes,
        'V' => Kind::Void,
        _ => return Err(format!("unsupported dtype {descr:?}")),
    };
    let state = o.state.and_then(|s| p.as_seq(s)).unwrap_or(&[]);
    let item = |i: usize| state.get(i).copied();
    let endian = item(1).and_then(|e| p.as_str(e)).unwrap_or("|");
    let little = endian != ">";
    let elsize = item(5).and_then(|e| p.as_i64(e)).unwrap_or(-1);
    let itemsize = if elsize > 0 {
        elsize as usize
    } else if kind == Kind::Unicode {
        digits.checked_mul(4).ok_or("dtype size overflows")?
    } else {
        digits
    };
    if matches!(kind, Kind::Float) && !matches!(itemsize, 4 | 8) {
        return Err(format!("unsupported float dtype {descr:?}"));
    }
    let mut fields = Vec::new();
    if let (Some(names), Some(map)) = (item(3), item(4)) {
        if let Some(names) = p.as_seq(names) {
            if depth >= MAX_DTYPE_DEPTH {
                return Err("structured dtypes nest too deeply".into());
            }
            for &n in names {
                let name = p.as_str(n).ok_or("a dtype field name is not a string")?;
                let spec = p
                    .dict_get(map, name)
                    .and_then(|s| p.as_seq(s))
                    .ok_or_else(|| format!("dtype field {name:?} has no description"))?;
                let fdtype = dtype_at(
                    p,
                    *spec.first().ok_or("empty field description")?,
                    depth + 1,
                )?;
                let offset = spec
                    .get(1)
                    .and_then(|&o| p.as_i64(o))
                    .and_then(|o| usize::try_from(o).ok())
                    .ok_or_else(|| format!("dtype field {name:?} has no offset"))?;
                if offset
                    .checked_add(fdtype.itemsize)
                    .is_none_or(|end| end > itemsize)
                {
                    return Err(format!(
                        "dtype field {name:?} lies outside its {itemsize}-byte record"
                    ));
                }
                fields.push(Field {
                    name: name.to_owned(),
                    dtype: fdtype,
                    offset,
                });
            }
        }
    }
    Ok(Dtype {
        kind,
        itemsize,
        little,
        fields,
    })
}

/// What joblib's wrapper says about the array that follows it.
pub struct WrapperHeader {
    /// The dtype object's id.
    pub dtype: Id,
    /// Bytes per element.
    pub itemsize: usize,
    /// Object arrays are a nested pickle instead of raw bytes.
    pub has_object: bool,
    /// The shape.
    pub shape: Vec<usize>,
    /// Fortran order.
    pub fortran: bool,
    /// Newer joblib writes a padding length byte and padding before the data.
    pub aligned: bool,
}

/// Reads a `NumpyArrayWrapper`'s state.
pub fn wrapper_header(p: &Pickle, wrapper: Id) -> Result<WrapperHeader, String> {
    let field = |k: &str| {
        p.attr(wrapper, k)
            .ok_or_else(|| format!("a NumpyArrayWrapper without {k:?}"))
    };
    let dtype_id = field("dtype")?;
    let dt = dtype(p, dtype_id)?;
    let shape = shape_of(p, field("shape")?)?;
    let fortran = p.attr(wrapper, "order").and_then(|o| p.as_str(o)) == Some("F");
    let aligned = p
        .attr(wrapper, "numpy_array_alignment_bytes")
        .is_some_and(|a| !matches!(p.get(a), Value::None));
    Ok(WrapperHeader {
        dtype: dtype_id,
        itemsize: dt.itemsize,
        has_object: dt.kind == Kind::Object
            || dt.fields.iter().any(|f| f.dtype.kind == Kind::Object),
        shape,
        fortran,
        aligned,
    })
}

fn shape_of(p: &Pickle, id: Id) -> Result<Vec<usize>, String> {
    let dims = p.as_seq(id).ok_or("an array shape is not a tuple")?;
    dims.iter()
        .map(|&d| {
            p.as_i64(d)
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| "an array dimension is not a non-negative integer".to_string())
        })
        .collect()
}

/// The contents of an array.
#[derive(Clone, Debug, PartialEq)]
pub enum Data<'p> {
    /// Raw element bytes.
    Raw(&'p [u8]),
    /// Raw element bytes decoded from a protocol-2 Latin-1 string.
    Owned(Vec<u8>),
    /// Python objects (object dtype).
    Objects(&'p [Id]),
}

/// A numpy array found in a pickle.
#[derive(Clone, Debug, PartialEq)]
pub struct Array<'p> {
    /// The element type.
    pub dtype: Dtype,
    /// The shape.
    pub shape: Vec<usize>,
    /// Fortran order (column-major).
    pub fortran: bool,
    /// The elements.
    pub data: Data<'p>,
}

impl Array<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes (not for object arrays).
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Raw(b) => b,
            Data::Owned(b) => b,
            Data::Objects(_) => &[],
        }
    }

    /// All elements as f64, in memory order (numeric dtypes only).
    pub fn to_f64(&self) -> Result<Vec<f64>, String> {
        if !matches!(
            self.dtype.kind,
            Kind::Float | Kind::Int | Kind::UInt | Kind::Bool
        ) {
            return Err(format!(
                "expected numbers, found dtype {}",
                self.dtype.describe()
            ));
        }
        let b = self.bytes();
        (0..self.len())
            .map(|i| {
                self.dtype
                    .read_f64(b, i * self.dtype.itemsize)
                    .ok_or_else(|| "array data is too short".to_string())
            })
            .collect()
    }

    /// All elements as i64 (integer and bool dtypes only).
    pub fn to_i64(&self) -> Result<Vec<i64>, String> {
        let b = self.bytes();
        (0..self.len())
            .map(|i| {
                self.dtype
                    .read_i64(b, i * self.dtype.itemsize)
                    .ok_or_else(|| {
                        format!("expected integers, found dtype {}", self.dtype.describe())
                    })
            })
            .collect()
    }
}

/// Reads the array at `id`, in whichever of numpy's pickled forms it is.
pub fn array<'p>(p: &'p Pickle<'_>, id: Id) -> Result<Array<'p>, String> {
    let (dtype_id, shape, fortran, data) = match p.get(id) {
        Value::Array(a) => (
            a.dtype,
            a.shape.clone(),
            a.fortran,
            Data::Raw(p.bytes_of(a)),
        ),
        Value::Object(o) if o.class.role == Role::NdarrayReconstruct => {
            let state = o
                .state
                .and_then(|s| p.as_seq(s))
                .ok_or("an ndarray without state")?;
            // (version, shape, dtype, is_fortran, data); version 0 omits the first.
            let s = match state.len() {
                5 => &state[1..],
                4 => state,
                n => return Err(format!("an ndarray state of {n} items")),
            };
            let fortran = p.as_i64(s[2]).unwrap_or(0) != 0;
            let data = match p.get(s[3]) {
                Value::Bytes(b) => Data::Raw(b),
                Value::List(items) => Data::Objects(items),
                Value::Str(text) => Data::Owned(latin1(text)?),
                Value::Object(enc) if enc.class.role == Role::CodecsEncode => {
                    codecs_encode(p, enc)?
                }
                _ => return Err(format!("ndarray data is {}", p.type_name(s[3]))),
            };
            (s[1], shape_of(p, s[0])?, fortran, data)
        }
        Value::Object(o) if o.class.role == Role::FromBuffer => {
            let arg = |i: usize| {
                o.args
                    .get(i)
                    .copied()
                    .ok_or("_frombuffer with too few arguments")
            };
            let data = match p.get(arg(0)?) {
                Value::Bytes(b) => Data::Raw(b),
                _ => return Err("_frombuffer without a byte buffer".into()),
            };
            let fortran = p.as_str(arg(3)?) == Some("F");
            (arg(1)?, shape_of(p, arg(2)?)?, fortran, data)
        }
        _ => return Err(format!("expected a numpy array, found {}", p.type_name(id))),
    };
    let dtype = dtype(p, dtype_id)?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("the array shape overflows")?;
    match &data {
        Data::Objects(items) => {
            if dtype.kind != Kind::Object || items.len() != count {
                return Err(format!(
                    "an object array of shape {shape:?} holds {} items",
                    items.len()
                ));
            }
        }
        _ => {
            let need = count
                .checked_mul(dtype.itemsize)
                .ok_or("the array size overflows")?;
            let have = match &data {
                Data::Raw(b) => b.len(),
                Data::Owned(b) => b.len(),
                Data::Objects(_) => 0,
            };
            if need != have || dtype.kind == Kind::Object {
                return Err(format!(
                    "an array of shape {shape:?} and dtype {} needs {need} bytes, the pickle holds {have}",
                    dtype.describe()
                ));
            }
        }
    }
    Ok(Array {
        dtype,
        shape,
        fortran,
        data,
    })
}

fn latin1(text: &str) -> Result<Vec<u8>, String> {
    text.chars()
        .map(|c| u8::try_from(c as u32).map_err(|_| "array data is not Latin-1".to_string()))
        .collect()
}

/// `_codecs.encode(text, 'latin1')`, evaluated as data.
fn codecs_encode<'p>(p: &'p Pickle<'_>, o: &Object) -> Result<Data<'p>, String> {
    let text = o
        .args
        .first()
        .and_then(|&a| p.as_str(a))
        .ok_or("_codecs.encode without text")?;
    let enc = o.args.get(1).and_then(|&a| p.as_str(a)).unwrap_or("utf-8");
    match enc {
        "latin1" | "latin-1" | "iso-8859-1" => Ok(Data::Owned(latin1(text)?)),
        _ => Err(format!("_codecs.encode with encoding {enc:?}")),
    }
}

/// A numpy scalar (`numpy.core.multiarray.scalar(dtype, bytes)`) as an integer.
pub fn scalar_i64(p: &Pickle, o: &Object) -> Option<i64> {
    let dt = dtype(p, *o.args.first()?).ok()?;
    match p.get(*o.args.get(1)?) {
        Value::Bytes(b) if b.len() == dt.itemsize => dt.read_i64(b, 0),
        Value::Str(s) if s.chars().count() == dt.itemsize => dt.read_i64(&latin1(s).ok()?, 0),
        _ => None,
    }
}

/// A numpy scalar as a float.
pub fn scalar_f64(p: &Pickle, o: &Object) -> Option<f64> {
    let dt = dtype(p, *o.args.first()?).ok()?;
    match p.get(*o.args.get(1)?) {
        Value::Bytes(b) if b.len() == dt.itemsize => dt.read_f64(b, 0),
        Value::Str(s) if s.chars().count() == dt.itemsize => dt.read_f64(&latin1(s).ok()?, 0),
        _ => None,
    }
}

/// The elements of a text-like array (object dtype of str, `U` or `S`) as strings.
pub fn strings(p: &Pickle, a: &Array<'_>) -> Result<Vec<String>, String> {
    match (&a.data, a.dtype.kind) {
        (Data::Objects(items), _) => items
            .iter()
            .map(|&i| {
                p.as_str(i)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("expected a string, found {}", p.type_name(i)))
            })
            .collect(),
        (_, Kind::Unicode) => {
            let w = a.dtype.itemsize;
            let b = a.bytes();
            (0..a.len())
                .map(|i| {
                    let cell = &b[i * w..(i + 1) * w];
                    let mut s = String::new();
                    for c in cell.chunks_exact(4) {
                        let arr = [c[0], c[1], c[2], c[3]];
                        let u = if a.dtype.little {
                            u32::from_le_bytes(arr)
                        } else {
                            u32::from_be_bytes(arr)
                        };
                        if u == 0 {
                            break;
                        }
                        s.push(char::from_u32(u).ok_or("invalid character in a text array")?);
                    }
                    Ok(s)
                })
                .collect()
        }
        (_, Kind::Bytes) => {
            let w = a.dtype.itemsize;
            let b = a.bytes();
            Ok((0..a.len())
                .map(|i| {
                    let cell = &b[i * w..(i + 1) * w];
                    let end = cell.iter().position(|&c| c == 0).unwrap_or(w);
                    cell[..end].iter().map(|&c| c as char).collect()
                })
                .collect())
        }
        _ => Err(format!("expected text, found dtype {}", a.dtype.describe())),
    }
}
