//! The OpenAPI document against the server, judged by schemathesis (tests/.venv): every
//! check (`--checks all`) on every operation, from a fixed seed, with the API key off and
//! on. Zero failures means the document says what the server does: each status an
//! operation can answer is declared with its body, and the request schemas carry the
//! validation the server applies (feature ranges, batch limits, V2 shapes). The few
//! answers schemathesis does not expect by default are named, with why, in
//! tests/clients/schemathesis.toml.
//!
//! Only `edgewood serve` runs it: `wasmtime serve` runs the same component, and the
//! other tests show the two answer alike.

use std::path::Path;
use std::process::Command;

use super::clients::venv_python;
use super::{Host, Server};

/// Examples per operation and generation phase: over 2,000 requests in each mode.
const EXAMPLES: &str = "200";

/// Fewest generated requests a mode must reach for its zero to mean something.
const AT_LEAST: u64 = 2_000;

/// Runs schemathesis against `server`, sending `headers`; panics with its report when
/// it finds a failure or generates too few requests, else prints its summary.
fn schemathesis(server: &Server, mode: &str, headers: &[&str]) {
    let Some(python) = venv_python() else { return };
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
    // Run as a script of the venv's python, so that the launcher's `#!` line (written
    // with the path the venv was made at) does not matter.
    let cli = python.with_file_name("schemathesis");
    let work = tempfile::tempdir().unwrap();
    let url = format!("http://{}/openapi.json", server.addr);
    let mut cmd = Command::new(&python);
    cmd.arg(&cli)
        .arg("--config-file")
        .arg(tests.join("clients/schemathesis.toml"))
        .args(["--no-color", "run", &url, "--checks", "all"])
        .args(["--seed", "20261206", "--max-examples", EXAMPLES])
        .args(["--generation-database", "none", "--workers", "2"])
        .current_dir(work.path());
    for h in headers {
        cmd.args(["--header", h]);
    }
    let out = cmd.output().expect("schemathesis runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("generated") || l.starts_with("===") || l.contains("Seed:"))
        .collect();
    assert!(
        out.status.success(),
        "schemathesis ({mode}) found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = summary
        .iter()
        .find_map(|l| {
            l.trim()
                .split(" generated")
                .next()?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no 'N generated' line in:\n{report}"));
    assert!(
        generated >= AT_LEAST,
        "schemathesis ({mode}) generated only {generated} requests:\n{report}"
    );
    eprintln!("schemathesis, {mode}:\n  {}", summary.join("\n  "));
}

#[test]
fn schemathesis_finds_nothing_with_the_api_key_off_or_on() {
    let open = Server::on(Host::Edgewood, &[]);
    schemathesis(&open, "no API key", &[]);
    let keyed = Server::on(Host::Edgewood, &[("api_key", "k-schemathesis")]);
    schemathesis(&keyed, "API key", &["X-API-Key: k-schemathesis"]);
}
