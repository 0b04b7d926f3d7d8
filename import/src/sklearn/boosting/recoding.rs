//! A HistGradientBoosting model's `_preprocessor` (a `ColumnTransformer` whose
//! `OrdinalEncoder` re-codes the categorical columns and moves them first) read as a
//! [`Recoding`]: each tree feature's input column, and each categorical column's
//! category values and known codes (see the parent module's doc).

use edgewood_core::MAX_CATEGORY;

use crate::pickle::numpy::{self, Kind};
use crate::pickle::{Id, Pickle, Value};
use crate::sklearn::{attr, bad, SklearnError};

/// Bits of one scikit-learn categorical bitset: 8 × 32 = 256 codes (its `X_BINNED_DTYPE`
/// is `uint8`, so no code is larger).
pub(super) type Bitset = [u32; 8];

pub(super) fn has(b: &Bitset, code: usize) -> bool {
    code < 256 && b[code / 32] >> (code % 32) & 1 != 0
}

/// A re-ordered column's category value per code; `None` for a numerical column.
type CategoryValues = Option<Vec<u32>>;

/// How a HistGradientBoosting `_preprocessor` re-codes the caller's columns.
#[derive(Debug)]
pub(super) struct Recoding {
    /// The input column of each re-ordered column the trees index.
    pub(super) column: Vec<u32>,
    /// Per re-ordered column: for a categorical one, the category value of each code
    /// (`OrdinalEncoder.categories_` without its trailing NaN).
    pub(super) categories: Vec<CategoryValues>,
    /// Per re-ordered column: the codes seen in training (`_bin_mapper.known_categories`).
    pub(super) known: Vec<Option<Bitset>>,
}

/// The input columns a `ColumnTransformer` entry selects: a boolean mask or indices,
/// as a numpy array or a Python list.
fn columns(p: &Pickle, id: Id, path: &str, n: usize) -> Result<Vec<usize>, SklearnError> {
    let (bools, ints): (Option<Vec<bool>>, Vec<i64>) = match p.get(id) {
        Value::List(items) | Value::Tuple(items) => {
            if items.iter().all(|&i| matches!(p.get(i), Value::Bool(_))) {
                let b = items
                    .iter()
                    .map(|&i| matches!(p.get(i), Value::Bool(true)))
                    .collect();
                (Some(b), Vec::new())
            } else {
                let v = items
                    .iter()
                    .map(|&i| p.as_i64(i))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(path, "columns are neither booleans nor indices"))?;
                (None, v)
            }
        }
        _ => {
            let a = numpy::array(p, id).map_err(|e| bad(path, e))?;
            let v = a.to_i64().map_err(|e| bad(path, e))?;
            if a.dtype.kind == Kind::Bool {
                (Some(v.iter().map(|&b| b != 0).collect()), Vec::new())
            } else {
                (None, v)
            }
        }
    };
    match bools {
        Some(mask) if mask.len() == n => Ok((0..n).filter(|&i| mask[i]).collect()),
        // An empty list selects nothing (the `remainder` entry).
        Some(mask) if mask.is_empty() => Ok(Vec::new()),
        Some(mask) => Err(bad(
            path,
            format!("a mask of {} for {n} columns", mask.len()),
        )),
        None => ints
            .iter()
            .map(|&c| {
                usize::try_from(c)
                    .ok()
                    .filter(|&c| c < n)
                    .ok_or_else(|| bad(path, format!("column {c} of {n}")))
            })
            .collect(),
    }
}

/// Whether a `FunctionTransformer` passes values through unchanged: no function, or
/// `functools.partial(check_array, …)` (which only validates), never anything else.
fn is_identity_function(p: &Pickle, t: Id) -> bool {
    let Some(func) = p.attr(t, "func") else {
        return false;
    };
    if matches!(p.get(func), Value::None) {
        return true;
    }
    let is_check_array = |id: Id| matches!(p.get(id), Value::Global(g) if g.module == "sklearn.utils.validation" && g.name == "check_array");
    let Some(o) = p.object(func) else {
        return false;
    };
    if p.class_of(o).name != "partial" {
        return false;
    }
    // partial's state is (func, args, keywords, dict); its REDUCE argument is (func,).
    let from_state = o
        .state
        .and_then(|s| p.as_seq(s))
        .and_then(|s| s.first().copied());
    let from_args = o
        .args
        .first()
        .and_then(|&a| p.as_seq(a).and_then(|s| s.first().copied()));
    from_state.or(from_args).is_some_and(is_check_array) && from_args.is_none_or(is_check_array)
}

/// Reads `_preprocessor` (None when the model has no categorical feature).
pub(super) fn read_recoding(
    p: &Pickle,
    root: Id,
    n: usize,
) -> Result<Option<Recoding>, SklearnError> {
    let Some(pre) = p.attr(root, "_preprocessor") else {
        return Ok(None);
    };
    if matches!(p.get(pre), Value::None) {
        return Ok(None);
    }
    let class = p.type_name(pre);
    if !class.ends_with(".ColumnTransformer") {
        return Err(bad("_preprocessor", format!("{class} is not supported")));
    }
    let (column, categories) = read_transformers(p, pre, n)?;
    let known = read_known_codes(p, root, n, &categories)?;
    Ok(Some(Recoding {
        column: column.into_iter().map(|c| c as u32).collect(),
        categories,
        known,
    }))
}

/// The `ColumnTransformer`'s `transformers_`: each re-ordered column's input column,
/// and for a categorical one its category values, every input column used once.
fn read_transformers(
    p: &Pickle,
    pre: Id,
    n: usize,
) -> Result<(Vec<usize>, Vec<CategoryValues>), SklearnError> {
    let list = attr(p, pre, "_preprocessor.", "transformers_")?;
    let list = p
        .as_seq(list)
        .ok_or_else(|| bad("_preprocessor.transformers_", "not a list"))?;
    let mut column = Vec::with_capacity(n);
    let mut categories = Vec::with_capacity(n);
    for (i, &entry) in list.iter().enumerate() {
        let path = format!("_preprocessor.transformers_[{i}]");
        let [_, t, cols] = p.as_seq(entry).unwrap_or_default()[..] else {
            return Err(bad(&path, "not a (name, transformer, columns) tuple"));
        };
        let cols = columns(p, cols, &format!("{path}[2]"), n)?;
        match p.as_str(t) {
            Some("drop") if cols.is_empty() => continue,
            Some("passthrough") => {
                categories.extend(cols.iter().map(|_| None));
                column.extend(cols);
                continue;
            }
            _ => {}
        }
        let class = p.object(t).map(|o| p.class_of(o).name);
        match class {
            Some("OrdinalEncoder") => {
                let cats = read_encoder(p, t, &path, cols.len())?;
                categories.extend(cats.into_iter().map(Some));
            }
            Some("FunctionTransformer") if is_identity_function(p, t) => {
                categories.extend(cols.iter().map(|_| None));
            }
            _ => {
                return Err(bad(
                    &path,
                    format!("transformer {} is not supported", p.type_name(t)),
                ))
            }
        }
        column.extend(cols);
    }
    let mut seen = vec![false; n];
    for &c in &column {
        if std::mem::replace(&mut seen[c], true) {
            return Err(bad("_preprocessor", format!("column {c} is used twice")));
        }
    }
    if column.len() != n {
        return Err(bad(
            "_preprocessor",
            format!("{} of {n} columns reach the trees", column.len()),
        ));
    }
    Ok((column, categories))
}

/// `_bin_mapper.known_categories`: per re-ordered column, the codes seen in training
/// (categorical columns only), as the predictor uses them.
fn read_known_codes(
    p: &Pickle,
    root: Id,
    n: usize,
    categories: &[CategoryValues],
) -> Result<Vec<Option<Bitset>>, SklearnError> {
    let mapper = attr(p, root, "", "_bin_mapper")?;
    let kc = attr(p, mapper, "_bin_mapper.", "known_categories")?;
    let kc = p
        .as_seq(kc)
        .ok_or_else(|| bad("_bin_mapper.known_categories", "not a list"))?;
    if kc.len() != n {
        return Err(bad(
            "_bin_mapper.known_categories",
            format!("{} entries for {n} features", kc.len()),
        ));
    }
    let mut known = Vec::with_capacity(n);
    for (f, (&id, cats)) in kc.iter().zip(categories).enumerate() {
        let path = format!("_bin_mapper.known_categories[{f}]");
        match (p.get(id), cats) {
            (Value::None, None) => known.push(None),
            (_, Some(cats)) => {
                let a = numpy::array(p, id).map_err(|e| bad(&path, e))?;
                let mut bits = [0u32; 8];
                for code in a.to_f64().map_err(|e| bad(&path, e))? {
                    if !(code >= 0.0 && code < cats.len() as f64 && code.fract() == 0.0) {
                        return Err(bad(
                            &path,
                            format!("code {code} is not one of the {} categories", cats.len()),
                        ));
                    }
                    bits[code as usize / 32] |= 1 << (code as usize % 32);
                }
                known.push(Some(bits));
            }
            (_, None) => return Err(bad(&path, "categories for a numerical feature")),
        }
    }
    Ok(known)
}

/// An `OrdinalEncoder` as HistGradientBoosting configures it: the category values of
/// each of its `n` columns, in code order.
fn read_encoder(p: &Pickle, t: Id, path: &str, n: usize) -> Result<Vec<Vec<u32>>, SklearnError> {
    let path = format!("{path}[1].");
    let s = |key: &str| p.attr(t, key).and_then(|v| p.as_str(v));
    let nan = |key: &str| {
        p.attr(t, key)
            .and_then(|v| p.as_f64(v))
            .is_some_and(f64::is_nan)
    };
    if s("handle_unknown") != Some("use_encoded_value")
        || !nan("unknown_value")
        || !nan("encoded_missing_value")
    {
        return Err(bad(
            path,
            "only handle_unknown='use_encoded_value' with unknown and missing values encoded as NaN is supported",
        ));
    }
    let list = attr(p, t, &path, "categories_")?;
    let list = p
        .as_seq(list)
        .ok_or_else(|| bad(format!("{path}categories_"), "not a list"))?;
    if list.len() != n {
        return Err(bad(
            format!("{path}categories_"),
            format!("{} lists for {n} columns", list.len()),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for (j, &id) in list.iter().enumerate() {
        let cpath = format!("{path}categories_[{j}]");
        let a = numpy::array(p, id).map_err(|e| bad(&cpath, e))?;
        if !matches!(a.dtype.kind, Kind::Float | Kind::Int | Kind::UInt) {
            return Err(bad(
                &cpath,
                format!(
                    "categories of dtype {} (text): Edgewood reads categories as numbers, so \
                     fit the model on integer category codes",
                    a.dtype.describe()
                ),
            ));
        }
        let mut v = a.to_f64().map_err(|e| bad(&cpath, e))?;
        // The encoder lists NaN last when the column had missing values.
        if v.last().is_some_and(|x| x.is_nan()) {
            v.pop();
        }
        if v.len() > 256 {
            return Err(bad(&cpath, format!("{} categories (at most 256)", v.len())));
        }
        let mut cats = Vec::with_capacity(v.len());
        for &x in &v {
            if !(x >= 0.0 && x < MAX_CATEGORY as f64 && x.fract() == 0.0) {
                return Err(bad(
                    &cpath,
                    format!("category {x:?} is not an integer from 0 to 2^24 - 1"),
                ));
            }
            if cats.last().is_some_and(|&l| l >= x as u32) {
                return Err(bad(&cpath, "categories are not strictly increasing"));
            }
            cats.push(x as u32);
        }
        out.push(cats);
    }
    Ok(out)
}
