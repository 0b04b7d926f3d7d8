//! Helpers shared by the test modules: fixture files, CSV parsing, a pickle writer.

use std::path::PathBuf;

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("fixtures")
}

/// Reads a fixture file.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A file of this crate's own test data (`import/tests/data`).
pub fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A CSV file as its header and rows of cells (no quoting in the fixtures).
pub fn csv(bytes: Vec<u8>) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let split = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

/// A float cell: empty means NaN; parsed with `str::parse::<f64>` (round-trip exact).
pub fn cell(s: &str) -> f64 {
    if s.is_empty() {
        f64::NAN
    } else {
        s.parse().unwrap_or_else(|_| panic!("not a float: {s:?}"))
    }
}

/// The scikit-learn forest/tree entries of the manifest:
/// (name, model file, expected name, estimator).
pub fn sklearn_manifest() -> Vec<(String, String, String, String)> {
    let manifest: serde_json::Value = serde_json::from_slice(&fixture("manifest.json")).unwrap();
    let field = |e: &serde_json::Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
    manifest
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| field(e, "format").starts_with("sklearn-"))
        .filter(|e| edgewood_import::sklearn::ESTIMATORS.contains(&field(e, "estimator").as_str()))
        .map(|e| {
            (
                field(e, "name"),
                field(e, "model"),
                field(e, "expected"),
                field(e, "estimator"),
            )
        })
        .collect()
}

/// Builds pickle streams opcode by opcode.
#[derive(Default)]
pub struct PickleWriter(pub Vec<u8>);

impl PickleWriter {
    pub fn new(protocol: u8) -> Self {
        PickleWriter(vec![0x80, protocol])
    }
    pub fn op(&mut self, op: u8) -> &mut Self {
        self.0.push(op);
        self
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.0.push(0x8c);
        self.0.push(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub fn int(&mut self, v: i32) -> &mut Self {
        self.0.push(b'J');
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.push(b'B');
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }
    /// GLOBAL opcode (protocol 0–3 style).
    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.0.push(b'c');
        self.0
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
        self
    }
    /// STACK_GLOBAL (protocol 4 style).
    pub fn stack_global(&mut self, module: &str, name: &str) -> &mut Self {
        self.str(module).str(name).op(0x93)
    }
    pub fn stop(&mut self) -> Vec<u8> {
        self.0.push(b'.');
        self.0.clone()
    }
}
