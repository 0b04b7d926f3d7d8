//! The Python side of the benchmarks: the `bench/.venv` the peers run in, and reading
//! the one JSON line each harness prints.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::util::{self, root};

/// `bench/.venv/bin/python`, creating the venv and installing `pins` — (pip name,
/// module, version) — unless every module imports and every pip package has its
/// pinned version (read from the installed package's metadata, since some modules,
/// such as `daal4py`, have no `__version__`).
pub fn venv(pins: &[(&str, &str, &str)]) -> anyhow::Result<PathBuf> {
    let dir = root().join("bench/.venv");
    let python = dir.join("bin/python");
    if !python.exists() {
        util::run(Command::new("python3").arg("-m").arg("venv").arg(&dir))?;
    }
    let check = pins
        .iter()
        .map(|(p, m, v)| format!("import {m}; assert version('{p}') == '{v}', version('{p}')"))
        .collect::<Vec<_>>()
        .join("; ");
    let check = format!("from importlib.metadata import version; {check}");
    let ok = Command::new(&python)
        .args(["-c", &check])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let pins: Vec<String> = pins.iter().map(|(p, _, v)| format!("{p}=={v}")).collect();
        util::run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(&pins),
        )?;
    }
    Ok(python)
}

/// The last line of `out` that is a JSON object (the harness's result).
pub fn last_json(out: &str) -> Option<Value> {
    out.lines().rev().find_map(|l| {
        serde_json::from_str::<Value>(l.trim())
            .ok()
            .filter(Value::is_object)
    })
}

/// Field `k` of a result as a float (NaN when absent).
pub fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}
