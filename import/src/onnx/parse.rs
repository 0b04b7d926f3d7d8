//! [`OnnxTrees::parse`]: the few protobuf messages of an ONNX model that hold a tree
//! ensemble (`ModelProto` → `GraphProto` → `NodeProto` / `AttributeProto`, and the
//! graph input's `ValueInfoProto`), decoded into the operator's attributes.

use std::collections::HashMap;

use super::proto::{self, Field, Fields};
use super::{Attribute, OnnxError, OnnxTrees};

fn string(b: &[u8], offset: usize) -> Result<String, OnnxError> {
    String::from_utf8(b.to_vec()).map_err(|_| OnnxError::Protobuf {
        offset,
        reason: "string is not UTF-8".into(),
    })
}

/// Operators that may surround the ensemble without changing its numbers.
const PASSIVE_OPS: &[&str] = &["Cast", "Identity", "ZipMap"];

impl OnnxTrees {
    /// Decodes `ModelProto` → `GraphProto` → the ensemble's `NodeProto`.
    pub fn parse(bytes: &[u8]) -> Result<Self, OnnxError> {
        let mut model = Fields::new(bytes, 0);
        let (mut graph, mut producer) = (None, Vec::new());
        while let Some((n, v, off)) = model.next_field()? {
            match (n, v) {
                (2 | 3, Field::Bytes(b)) => producer.push(string(b, off)?),
                (7, Field::Bytes(b)) => graph = Some((b, off)),
                _ => {}
            }
        }
        let (graph, goff) = graph.ok_or_else(|| OnnxError::Graph("no graph".into()))?;
        let mut g = Fields::new(graph, goff);
        let mut ensemble = None;
        let mut input = None;
        while let Some((n, v, off)) = g.next_field()? {
            match (n, v) {
                (1, Field::Bytes(b)) => {
                    let node = parse_node(b, off)?;
                    if node.0.starts_with("TreeEnsemble") {
                        if ensemble.is_some() {
                            return Err(OnnxError::Graph(
                                "more than one tree ensemble operator".into(),
                            ));
                        }
                        ensemble = Some(node);
                    } else if !PASSIVE_OPS.contains(&node.0.as_str()) {
                        return Err(OnnxError::Graph(format!(
                            "operator {} is not supported (only a tree ensemble with Cast, Identity or ZipMap)",
                            node.0
                        )));
                    }
                }
                (11, Field::Bytes(b)) if input.is_none() => input = Some(parse_input(b, off)?),
                _ => {}
            }
        }
        let (op_type, attributes) = ensemble.ok_or_else(|| {
            OnnxError::Graph("no TreeEnsembleClassifier or TreeEnsembleRegressor".into())
        })?;
        if op_type != "TreeEnsembleClassifier" && op_type != "TreeEnsembleRegressor" {
            return Err(OnnxError::Graph(format!(
                "operator {op_type} is not supported"
            )));
        }
        let (input_name, n_features) = input.unwrap_or_default();
        Ok(OnnxTrees {
            op_type,
            attributes,
            n_features,
            input_name,
            producer: producer.join(" "),
        })
    }
}

/// `NodeProto`: its op type and attributes.
fn parse_node(
    bytes: &[u8],
    base: usize,
) -> Result<(String, HashMap<String, Attribute>), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut op, mut attrs) = (String::new(), HashMap::new());
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (4, Field::Bytes(b)) => op = string(b, off)?,
            (5, Field::Bytes(b)) => {
                let (name, a) = parse_attribute(b, off)?;
                attrs.insert(name, a);
            }
            _ => {}
        }
    }
    Ok((op, attrs))
}

/// `AttributeProto`: name and value.
fn parse_attribute(bytes: &[u8], base: usize) -> Result<(String, Attribute), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut name, mut a) = (String::new(), Attribute::default());
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (1, Field::Bytes(b)) => name = string(b, off)?,
            (2, v) => proto::floats(v, off, &mut a.floats)?,
            (3, v) => proto::varints(v, off, &mut a.ints)?,
            (4 | 9, Field::Bytes(b)) => a.strings.push(string(b, off)?),
            (5, Field::Bytes(b)) => a.floats.extend(proto::tensor(b, off)?),
            (7, v) => proto::floats(v, off, &mut a.floats)?,
            (8, v) => proto::varints(v, off, &mut a.ints)?,
            _ => {}
        }
    }
    Ok((name, a))
}

/// `ValueInfoProto` of the graph input: its name and second dimension, if fixed.
fn parse_input(bytes: &[u8], base: usize) -> Result<(String, Option<usize>), OnnxError> {
    let mut f = Fields::new(bytes, base);
    let (mut name, mut width) = (String::new(), None);
    while let Some((n, v, off)) = f.next_field()? {
        match (n, v) {
            (1, Field::Bytes(b)) => name = string(b, off)?,
            (2, Field::Bytes(ty)) => {
                // TypeProto.tensor_type (1) → shape (2) → dim (1) → dim_value (1).
                let mut t = Fields::new(ty, off);
                while let Some((1, Field::Bytes(tt), off)) = t.next_field()? {
                    let mut tt = Fields::new(tt, off);
                    while let Some((n, v, off)) = tt.next_field()? {
                        if let (2, Field::Bytes(shape)) = (n, v) {
                            let mut dims = Vec::new();
                            let mut s = Fields::new(shape, off);
                            while let Some((n, v, off)) = s.next_field()? {
                                if let (1, Field::Bytes(d)) = (n, v) {
                                    let mut d = Fields::new(d, off);
                                    let mut value = None;
                                    while let Some((n, v, _)) = d.next_field()? {
                                        if let (1, Field::Varint(x)) = (n, v) {
                                            value = Some(x);
                                        }
                                    }
                                    dims.push(value);
                                }
                            }
                            if let [_, Some(w)] = dims[..] {
                                width = usize::try_from(w).ok().filter(|&w| w <= 65_535);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, width))
}
