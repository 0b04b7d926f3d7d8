//! Reading an inference request: the one input tensor (JSON `data`, or raw bytes through
//! the binary extension), validated value by value as `/predict/batch` validates rows,
//! and the outputs asked for, each in JSON or binary.

use edgewood_core::float_text::DisplayF64;
use edgewood_core::{Model, TaskKind};

use super::super::json::{self, Json};
use super::super::Config;
use super::binary;

/// A request that passed every check: ready to predict.
pub(super) struct InferRequest {
    /// The client's request id, echoed in the answer.
    pub id: Option<String>,
    /// Rows in the tensor.
    pub n: usize,
    /// The rows, row-major, `n × n_features` values.
    pub values: Vec<f64>,
    /// The outputs to answer with, in order, and whether each goes in binary.
    pub outputs: Vec<(&'static str, bool)>,
}

/// Why a request is refused: its status and message.
pub(super) type Refusal = (u16, String);

fn bad(msg: impl Into<String>) -> Refusal {
    (400, msg.into())
}

/// Reads and checks a request whose JSON header is `header` and whose binary tensor
/// section (empty without the extension) is `binary`.
pub(super) fn read(
    config: &Config,
    model: &Model<'_>,
    header: &[u8],
    binary: &[u8],
) -> Result<InferRequest, Refusal> {
    if header.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(
            "the body is empty: send an inference request {\"inputs\": [ … ]}",
        ));
    }
    let req = match json::parse(header) {
        Ok(v @ Json::Obj(_)) => v,
        Ok(other) => {
            return Err(bad(format!(
                "the body must be a JSON object, got {}",
                other.type_name()
            )))
        }
        Err(e) => return Err(bad(format!("JSON decode error: {e}"))),
    };
    let input = match req.get("inputs") {
        Some(Json::Arr(items)) if items.len() == 1 => &items[0],
        Some(Json::Arr(items)) => {
            return Err(bad(format!(
                "expected exactly 1 input tensor of shape [N, {}], got {}",
                model.n_features(),
                items.len()
            )))
        }
        Some(_) => return Err(bad("'inputs' must be an array of tensors")),
        None => return Err(bad(
            "missing 'inputs': send {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}",
        )),
    };
    let (n, values) = read_tensor(config, model, input, binary)?;
    Ok(InferRequest {
        id: match req.get("id") {
            Some(Json::Str(id)) => Some(id.clone()),
            _ => None,
        },
        n,
        values,
        outputs: read_outputs(model, &req)?,
    })
}

/// The tensor's rows: its name, datatype and shape checked, its values read from `data`
/// or from the binary section, and every value validated.
fn read_tensor(
    config: &Config,
    model: &Model<'_>,
    input: &Json,
    binary: &[u8],
) -> Result<(usize, Vec<f64>), Refusal> {
    let name = match input.get("name") {
        Some(Json::Str(n)) => n.as_str(),
        _ => return Err(bad("input tensor: 'name' must be a string")),
    };
    let f32_input = match input.get("datatype") {
        Some(Json::Str(d)) if d == "FP32" => true,
        Some(Json::Str(d)) if d == "FP64" => false,
        Some(Json::Str(d)) => {
            return Err(bad(format!(
                "input '{name}': datatype {d} is not supported, use FP32 or FP64"
            )))
        }
        _ => {
            return Err(bad(format!(
                "input '{name}': 'datatype' must be a string (FP32 or FP64)"
            )))
        }
    };
    let nf = model.n_features();
    let n = match input.get("shape") {
        Some(Json::Arr(dims)) => match dims.as_slice() {
            [Json::Num(r), Json::Num(c)] if *r >= 0.0 && r.fract() == 0.0 && *c == nf as f64 => *r,
            _ => {
                return Err(bad(format!(
                    "input '{name}': shape must be [N, {nf}], got {}",
                    Json::Arr(dims.clone()).to_json()
                )))
            }
        },
        _ => {
            return Err(bad(format!(
                "input '{name}': 'shape' must be an array [N, {nf}]"
            )))
        }
    };
    if n == 0.0 {
        return Err(bad(format!("input '{name}': the tensor has no rows")));
    }
    // Compared as f64 first: a shape of 1e300 rows must not become a usize overflow.
    if n > config.max_batch_rows as f64 {
        return Err((
            413,
            format!(
                "{} rows, the limit is {} per request",
                DisplayF64(n),
                config.max_batch_rows
            ),
        ));
    }
    let n = n as usize;
    let values = match binary_size(input, name)? {
        Some(size) => binary_values(name, n, nf, f32_input, size, binary)?,
        None if !binary.is_empty() => {
            return Err(bad(format!(
                "{} bytes of binary tensor data follow the header, but input '{name}' declares no parameters.binary_data_size",
                binary.len()
            )))
        }
        None => json_values(model, input, name, n, f32_input)?,
    };
    for (k, &x) in values.iter().enumerate() {
        if let Err(e) = model.validate_value(k % nf, x) {
            return Err(bad(format!("input '{name}': row {}: {e}", k / nf)));
        }
    }
    Ok((n, values))
}

/// The input's `parameters.binary_data_size`, when it declares one.
fn binary_size(input: &Json, name: &str) -> Result<Option<usize>, Refusal> {
    match input
        .get("parameters")
        .and_then(|p| p.get("binary_data_size"))
    {
        None => Ok(None),
        Some(Json::Num(x)) if *x >= 0.0 && x.fract() == 0.0 && *x <= usize::MAX as f64 => {
            Ok(Some(*x as usize))
        }
        Some(other) => Err(bad(format!(
            "input '{name}': parameters.binary_data_size must be a byte count, got {}",
            other.to_json()
        ))),
    }
}

/// The values of a tensor sent in binary: exactly `n × nf` elements, and nothing after.
fn binary_values(
    name: &str,
    n: usize,
    nf: usize,
    f32_input: bool,
    size: usize,
    binary: &[u8],
) -> Result<Vec<f64>, Refusal> {
    let want = n * nf * binary::element_size(f32_input);
    if size != want {
        return Err(bad(format!(
            "input '{name}': binary_data_size is {size}, but shape [{n}, {nf}] of {} needs {want} bytes",
            if f32_input { "FP32" } else { "FP64" }
        )));
    }
    if size != binary.len() {
        return Err(bad(format!(
            "input '{name}': binary_data_size is {size}, but {} bytes follow the header",
            binary.len()
        )));
    }
    Ok(binary::decode(binary, f32_input))
}

/// Flattens row-major nested arrays (the protocol allows both flat and nested data).
fn flatten<'j>(v: &'j Json, out: &mut Vec<&'j Json>) {
    match v {
        Json::Arr(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

/// The values of a tensor sent as JSON `data`: numbers, `n × nf` of them.
fn json_values(
    model: &Model<'_>,
    input: &Json,
    name: &str,
    n: usize,
    f32_input: bool,
) -> Result<Vec<f64>, Refusal> {
    let nf = model.n_features();
    let Some(data) = input.get("data") else {
        return Err(bad(format!(
            "input '{name}': 'data' is missing (or send it in binary with parameters.binary_data_size)"
        )));
    };
    let mut flat = Vec::with_capacity(n * nf);
    flatten(data, &mut flat);
    if flat.len() != n * nf {
        return Err(bad(format!(
            "input '{name}': shape [{n}, {nf}] needs {} values, 'data' holds {}",
            n * nf,
            flat.len()
        )));
    }
    flat.iter()
        .enumerate()
        .map(|(k, v)| match v {
            Json::Num(x) if f32_input => Ok(*x as f32 as f64),
            Json::Num(x) => Ok(*x),
            _ => Err(bad(format!(
                "input '{name}': row {}, feature '{}': expected a number, got {}",
                k / nf,
                model.feature_name(k % nf),
                v.type_name()
            ))),
        })
        .collect()
}

/// A boolean request parameter (`binary_data_output`, `binary_data`), absent = false.
fn flag(holder: &Json, key: &str) -> Result<bool, Refusal> {
    match holder.get("parameters").and_then(|p| p.get(key)) {
        None => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(bad(format!(
            "parameters.{key} must be true or false, got {}",
            other.to_json()
        ))),
    }
}

/// The outputs to answer with: all of the model's when none are named; each in binary
/// when it asks for `binary_data`, or, when it does not say, when the request asks for
/// `binary_data_output`.
fn read_outputs(model: &Model<'_>, req: &Json) -> Result<Vec<(&'static str, bool)>, Refusal> {
    let available: &[&'static str] = if model.task() == TaskKind::Classification {
        &["label", "probabilities"]
    } else {
        &["predict"]
    };
    let all_binary = flag(req, "binary_data_output")?;
    match req.get("outputs") {
        None => Ok(available.iter().map(|&o| (o, all_binary)).collect()),
        Some(Json::Arr(items)) => items
            .iter()
            .map(|item| {
                let Some(Json::Str(o)) = item.get("name") else {
                    return Err(bad("each requested output needs a string 'name'"));
                };
                let Some(&name) = available.iter().find(|a| **a == o.as_str()) else {
                    return Err(bad(format!(
                        "unknown output '{o}': this model gives {}",
                        available.join(", ")
                    )));
                };
                let binary = match item.get("parameters").and_then(|p| p.get("binary_data")) {
                    None => all_binary,
                    Some(_) => flag(item, "binary_data")?,
                };
                Ok((name, binary))
            })
            .collect(),
        Some(_) => Err(bad("'outputs' must be an array")),
    }
}
