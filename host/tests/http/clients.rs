//! Third-party clients against the running service: Triton's `tritonclient.http` and
//! KServe's `InferenceRESTClient` (tests/clients/v2_clients.py, run with tests/.venv's
//! Python), with their defaults (the binary tensor data extension) and in JSON, on
//! every host, with and without an API key; and the binary framing's failure modes on
//! the wire.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{hosts, Server};

/// tests/.venv's Python (`cargo xtask setup` makes it). Required under CI; elsewhere a
/// missing one skips the client checks with a note.
pub(crate) fn venv_python() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/.venv/bin/python");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: run `cargo xtask setup`",
        path.display()
    );
    eprintln!("note: no tests/.venv; third-party client checks skipped");
    None
}

/// Runs a script of tests/clients with `args`; panics with its output when it fails.
pub(crate) fn run_client(script: &str, args: &[&str]) {
    let Some(python) = venv_python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/clients")
        .join(script);
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .expect("the venv's python runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script:?} {args:?} failed:\n{said}");
    eprintln!("{said}");
}

#[test]
fn triton_and_kserve_clients_get_the_batch_answers_bit_for_bit() {
    for host in hosts() {
        let server = Server::on(host, &[]);
        run_client("v2_clients.py", &[&server.addr.to_string()]);
        let server = Server::on(host, &[("api_key", "k-123")]);
        run_client("v2_clients.py", &[&server.addr.to_string(), "k-123"]);
    }
}

#[test]
fn bad_binary_framing_is_a_400_with_a_json_error_on_every_host() {
    let header = r#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}"#;
    let mut body = header.as_bytes().to_vec();
    body.extend([5.1f32, 3.5, 1.4, 0.2].iter().flat_map(|x| x.to_le_bytes()));
    let len = header.len().to_string();
    let past = (body.len() + 1).to_string();
    let short = &body[..body.len() - 3];
    let cases: [(&str, &[u8]); 4] = [
        (&past, &body),
        ("-5", &body),
        ("18446744073709551616", &body),
        (&len, short),
    ];
    for host in hosts() {
        let server = Server::on(host, &[]);
        for (declared, body) in cases {
            let resp = server.request(
                "POST",
                "/v2/models/iris/infer",
                &[
                    ("Inference-Header-Content-Length", declared),
                    ("Content-Type", "application/octet-stream"),
                ],
                body,
            );
            assert_eq!(resp.status, 400, "{host:?} {declared}: {}", resp.text());
            assert!(
                matches!(resp.json().get("error"), Some(super::Json::Str(m)) if !m.is_empty()),
                "{host:?} {declared}: {}",
                resp.text()
            );
        }
        // And the server still answers.
        let resp = server.request(
            "POST",
            "/v2/models/iris/infer",
            &[("Inference-Header-Content-Length", &len)],
            &body,
        );
        assert_eq!(resp.status, 200, "{host:?}: {}", resp.text());
        assert_eq!(resp.header("inference-header-content-length"), None);
    }
}
