//! HTTP integration tests of `edgewood serve`: the real binary, the real component,
//! on 127.0.0.1 with a free port picked by the OS, stopped when each test ends. The
//! cases that are the component's (not the host's: metrics, timeouts, logs) also run
//! under `wasmtime serve`, the reference WASI-HTTP host, with the same answers.
//!
//! The client is a few lines of std (one request per connection), so what is tested is
//! the bytes on the wire. Numbers are read back with the API's own exact JSON reader so
//! that comparisons with the CLI and the core are bit for bit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use edgewood_spin::api::json::{parse, Json};

/// The hosts the suite runs the component under: ours, and the reference WASI-HTTP host
/// nobody here wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Host {
    /// `edgewood serve`: adds metrics, timeouts, memory limits and logs of its own.
    Edgewood,
    /// `wasmtime serve` with the component packaged `--for wasmtime`.
    Wasmtime,
}

/// The `wasmtime` CLI (`cargo xtask setup` installs it): `$WASMTIME`, or `wasmtime` on
/// the PATH. Required under CI; elsewhere a missing one skips that host with a note.
fn wasmtime_cli() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("WASMTIME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("wasmtime"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no wasmtime CLI: `cargo xtask setup` installs it"
        );
        eprintln!("note: no wasmtime CLI on the PATH; `wasmtime serve` cases skipped");
    }
    found
}

/// Every host available here: `edgewood serve` always, `wasmtime serve` when installed.
fn hosts() -> Vec<Host> {
    let mut hosts = vec![Host::Edgewood];
    if wasmtime_cli().is_some() {
        hosts.push(Host::Wasmtime);
    }
    hosts
}

/// The built-in Iris model's file, which `edgewood component` packages for other hosts.
const IRIS_EWM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin-app/models/iris.ewm");

/// A running server, killed on drop.
struct Server {
    host: Host,
    child: Child,
    addr: SocketAddr,
    /// Kept open: the server must never see its stdout closed under it.
    _stdout: Option<BufReader<std::process::ChildStdout>>,
    /// Where a packaged component lives while it is served.
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::start_env(args, &[])
    }

    fn start_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(Command::new(env!("CARGO_BIN_EXE_edgewood")), args, env)
    }

    /// The built-in Iris service on `host`, with configuration `vars` (`api_key`, …).
    fn on(host: Host, vars: &[(&str, &str)]) -> Server {
        match host {
            Host::Edgewood => {
                let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let args: Vec<&str> = vars.iter().flat_map(|kv| ["--var", kv]).collect();
                Server::start(&args)
            }
            Host::Wasmtime => {
                let dir = tempfile::tempdir().unwrap();
                let wasm = dir.path().join("iris.wasm");
                let wasm = wasm.to_str().unwrap();
                cli(&["component", IRIS_EWM, "--for", "wasmtime", "-o", wasm]);
                Server::wasmtime(dir, wasm, vars)
            }
        }
    }

    /// `wasmtime serve` of the component at `wasm` (in `dir`, kept while it runs).
    fn wasmtime(dir: tempfile::TempDir, wasm: &str, vars: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(wasmtime_cli().expect("the wasmtime CLI"));
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "-S",
            "cli",
            "-S",
            "config",
        ]);
        for (k, v) in vars {
            cmd.args(["-S", &format!("config-var={k}={v}")]);
        }
        cmd.arg(wasm)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("wasmtime serve starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("http://") {
            line.clear();
            let n = stderr
                .read_line(&mut line)
                .expect("wasmtime serve prints its address");
            assert!(n > 0, "wasmtime serve stopped before it listened");
        }
        // The component's log lines go to wasmtime's stderr: drain it, or it would block.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let addr = line
            .split("http://")
            .nth(1)
            .map(|rest| rest.trim_end().trim_end_matches('/'))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .unwrap();
        Server {
            host: Host::Wasmtime,
            child,
            addr,
            _stdout: None,
            _dir: Some(dir),
        }
    }

    fn spawn(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> Server {
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = spawn_retrying(&mut cmd);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("edgewood serve prints its address");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .unwrap();
        Server {
            host: Host::Edgewood,
            child,
            addr,
            _stdout: Some(stdout),
            _dir: None,
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, method, path, headers, body)
    }

    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    fn post(&self, path: &str, body: &str) -> Resp {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }
}

/// Starts `cmd`. A binary copied a moment ago (the copied-alone case) can be "busy"
/// (ETXTBSY) while another test thread's fork still holds the copy's file open until
/// its exec; that passes in milliseconds, so try again.
fn spawn_retrying(cmd: &mut Command) -> Child {
    const ETXTBSY: i32 = 26;
    for _ in 0..100 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            started => return started.expect("edgewood serve starts"),
        }
    }
    panic!("the copied binary stayed busy (ETXTBSY) for 2 s")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Json {
        parse(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body: ignore a reset.
    let _ = s.write_all(body);
    read_response(s)
}

fn read_response(s: TcpStream) -> Resp {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = get("content-length") {
        body.resize(len.parse().unwrap(), 0);
        r.read_exact(&mut body).unwrap();
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        let _ = r.read_to_end(&mut body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

const SETOSA: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

fn num(v: &Json) -> f64 {
    match v {
        Json::Num(x) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

fn str_of(v: Option<&Json>) -> &str {
    match v {
        Some(Json::Str(s)) => s,
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn every_endpoint_answers() {
    for host in hosts() {
        let server = Server::on(host, &[]);
        let r = server.post("/predict", SETOSA);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(str_of(v.get("prediction")), "setosa");
        assert_eq!(num(v.get("confidence").unwrap()), 1.0);
        assert!(v
            .get("probabilities")
            .and_then(|p| p.get("virginica"))
            .is_some());
        assert_eq!(
            v.get("input").and_then(|i| i.get("sepal_length")),
            Some(&Json::Num(5.1))
        );
        assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));
        assert_eq!(server.post("/v1/predict", SETOSA).body, r.body);

        let batch = format!(r#"{{"instances":[{SETOSA},[6.7,3.0,5.2,2.3]]}}"#);
        for path in ["/predict/batch", "/v1/predict/batch"] {
            let r = server.post(path, &batch);
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            let Some(Json::Arr(p)) = r.json().get("predictions").cloned() else {
                panic!()
            };
            assert_eq!(p.len(), 2);
            assert_eq!(str_of(p[1].get("prediction")), "virginica");
        }

        // The built-in model explains (exact TreeSHAP; the tests of spin-app compare
        // the numbers with shap's): each class's base plus contributions is its
        // probability.
        let r = server.post("/v1/explain", SETOSA);
        assert_eq!(r.status, 200, "{}", r.text());
        let e = r.json();
        assert_eq!(str_of(e.get("prediction")), "setosa");
        let explanation = e.get("explanation").unwrap();
        assert_eq!(str_of(explanation.get("space")), "probability");
        let setosa = explanation
            .get("classes")
            .and_then(|c| c.get("setosa"))
            .unwrap();
        let Some(Json::Obj(contributions)) = setosa.get("contributions") else {
            panic!("no contributions: {}", r.text())
        };
        let total = num(setosa.get("base").unwrap())
            + contributions.iter().map(|(_, v)| num(v)).sum::<f64>();
        assert!((total - 1.0).abs() < 1e-12, "{total}");

        let r = server.get("/");
        assert_eq!(r.status, 200);
        assert!(r.json().get("endpoints").is_some());
        assert_eq!(str_of(server.get("/health").json().get("status")), "ok");
        let m = server.get("/v1/model").json();
        assert_eq!(num(m.get("trees").unwrap()), 100.0);
        assert_eq!(
            str_of(server.get("/openapi.json").json().get("openapi")),
            "3.1.0"
        );
        let docs = server.get("/docs");
        assert_eq!(docs.status, 200);
        assert!(docs
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(docs.text().contains("petal_width"));

        assert_eq!(str_of(server.get("/v2").json().get("name")), "edgewood");
        assert_eq!(
            server.get("/v2/health/live").json().get("live"),
            Some(&Json::Bool(true))
        );
        assert_eq!(
            server.get("/v2/health/ready").json().get("ready"),
            Some(&Json::Bool(true))
        );
        assert_eq!(
            str_of(server.get("/v2/models/iris").json().get("name")),
            "iris"
        );
        assert_eq!(
            server.get("/v2/models/iris/ready").json().get("ready"),
            Some(&Json::Bool(true))
        );
        let infer = r#"{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}"#;
        let r = server.post("/v2/models/iris/infer", infer);
        assert_eq!(r.status, 200, "{}", r.text());
        let Some(Json::Arr(outputs)) = r.json().get("outputs").cloned() else {
            panic!()
        };
        assert_eq!(
            outputs[0].get("data"),
            Some(&Json::Arr(vec![Json::Str("setosa".into())]))
        );

        if host != Host::Edgewood {
            continue; // /metrics is edgewood serve's own
        }
        let metrics = server.get("/metrics");
        assert_eq!(metrics.status, 200);
        let text = metrics.text();
        assert!(
            text.contains("edgewood_http_requests_total{route=\"/predict\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains(
            "edgewood_http_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 1"
        ));
        assert!(
            text.contains("edgewood_http_requests_in_flight 1"),
            "the /metrics request itself is in flight"
        );
    }
}

#[test]
fn bad_requests_are_4xx_with_a_clear_message_and_the_server_survives() {
    for host in hosts() {
        let server = Server::on(host, &[("max_batch_rows", "50")]);
        let json = ("Content-Type", "application/json");
        let field = |v: &str| {
            format!(
                r#"{{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":{v}}}"#
            )
        };
        let big_batch = format!(r#"{{"instances":[{}]}}"#, vec![SETOSA; 51].join(","));
        let deep = "[".repeat(10_000);
        let huge = vec![b' '; 2 << 20];
        // (method, path, headers, body, expected status, text the message must contain)
        type Case<'a> = (
            &'a str,
            &'a str,
            Vec<(&'a str, &'a str)>,
            Vec<u8>,
            u16,
            &'a str,
        );
        let cases: Vec<Case> = vec![
            (
                "POST",
                "/predict",
                vec![json],
                field("null").into(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("\"0.2\"").into(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("true").into(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("[1]").into(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("{}").into(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("NaN").into(),
                422,
                "finite",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("Infinity").into(),
                422,
                "finite",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("-Infinity").into(),
                422,
                "finite",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("1e999").into(),
                422,
                "finite",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("-0.5").into(),
                422,
                "greater than or equal to 0",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("10.01").into(),
                422,
                "less than or equal to 10",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("123456789012345678901234567890").into(),
                422,
                "less than or equal",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                br#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}"#.to_vec(),
                422,
                "petal_width",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                b"{}".to_vec(),
                422,
                "Field required",
            ),
            ("POST", "/predict", vec![json], b"".to_vec(), 422, "empty"),
            (
                "POST",
                "/predict",
                vec![json],
                b"{\"sepal_length\": 5.1,".to_vec(),
                422,
                "JSON decode error",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                b"sepal_length=5.1".to_vec(),
                422,
                "JSON decode error",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                b"[5.1,3.5,1.4,0.2]".to_vec(),
                422,
                "dictionary",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                b"\"hello\"".to_vec(),
                422,
                "dictionary",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                deep.clone().into(),
                422,
                "nesting",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                b"{\"a\":\"\xff\"}".to_vec(),
                422,
                "UTF-8",
            ),
            (
                "POST",
                "/predict",
                vec![json],
                field("0.2,\"petal_width\":0.3").into(),
                422,
                "more than once",
            ),
            (
                "POST",
                "/predict",
                vec![("Content-Type", "text/plain")],
                SETOSA.into(),
                415,
                "application/json",
            ),
            (
                "POST",
                "/predict",
                vec![("Content-Type", "application/x-www-form-urlencoded")],
                b"a=1".to_vec(),
                415,
                "application/json",
            ),
            ("POST", "/predict", vec![json], huge.clone(), 413, "exceeds"),
            (
                "POST",
                "/predict/batch",
                vec![json],
                big_batch.into(),
                413,
                "limit is 50",
            ),
            (
                "POST",
                "/predict/batch",
                vec![json],
                b"{\"instances\":[]}".to_vec(),
                422,
                "at least 1",
            ),
            (
                "POST",
                "/predict/batch",
                vec![json],
                b"{\"rows\":[]}".to_vec(),
                422,
                "instances",
            ),
            (
                "POST",
                "/predict/batch",
                vec![json],
                b"{\"instances\":[[1,2,3]]}".to_vec(),
                422,
                "needs 4 values",
            ),
            (
                "POST",
                "/predict/batch",
                vec![json],
                b"{\"instances\":[[1,2,3,4],[1,2,3,44]]}".to_vec(),
                422,
                "less than or equal",
            ),
            ("GET", "/predict", vec![], vec![], 405, "POST"),
            ("PUT", "/health", vec![], vec![], 405, "GET"),
            (
                "DELETE",
                "/v2/models/iris/infer",
                vec![],
                vec![],
                405,
                "POST",
            ),
            ("GET", "/nope", vec![], vec![], 404, "Not Found"),
            ("GET", "/predict/batch/x", vec![], vec![], 404, "Not Found"),
            ("GET", "/v2/models/other", vec![], vec![], 404, "not found"),
            (
                "POST",
                "/v2/models/iris/infer",
                vec![json],
                b"{}".to_vec(),
                400,
                "inputs",
            ),
            (
                "POST",
                "/v2/models/iris/infer",
                vec![json],
                br#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#
                    .to_vec(),
                400,
                "shape",
            ),
            (
                "POST",
                "/v2/models/iris/infer",
                vec![json],
                br#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"INT64","data":[1,2,3,4]}]}"#
                    .to_vec(),
                400,
                "FP32 or FP64",
            ),
            (
                "POST",
                "/v2/models/iris/infer",
                vec![json],
                br#"{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP64","data":[1,2,3,4]}]}"#
                    .to_vec(),
                400,
                "needs 8 values",
            ),
            (
                "POST",
                "/v2/models/iris/infer",
                vec![json],
                br#"{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[1,2,3,-4]}]}"#
                    .to_vec(),
                400,
                "petal_width",
            ),
            ("GET", "/metrics/x", vec![], vec![], 404, "Not Found"),
            ("POST", "/metrics", vec![], vec![], 405, "GET"),
        ];
        assert!(cases.len() >= 30);
        for (method, path, headers, body, status, needle) in &cases {
            if path.starts_with("/metrics") && host != Host::Edgewood {
                continue; // /metrics is edgewood serve's own
            }
            let r = server.request(method, path, headers, body);
            let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
            assert_eq!(r.status, *status, "{method} {path} {shown}: {}", r.text());
            let v = r.json();
            let message = match v.get("detail") {
                Some(Json::Str(m)) => m.clone(),
                Some(list @ Json::Arr(_)) => list.to_json(),
                other => panic!("{method} {path}: no detail: {other:?}"),
            };
            assert!(
                message.contains(needle),
                "{method} {path} {shown}: {message:?} lacks {needle:?}"
            );
            assert_eq!(
                server.get("/health").status,
                200,
                "healthy after {method} {path}"
            );
        }
        // A lying Content-Length (longer than what is sent) must not wedge the server.
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").unwrap();
        drop(s);
        // Garbage that is not HTTP.
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(b"\x16\x03\x01 definitely not http\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.read_to_end(&mut buf);
        assert!(
            buf.is_empty() || buf.starts_with(b"HTTP/1.1 4"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
        let r = server.post("/predict", SETOSA);
        assert_eq!(r.status, 200);
        if host != Host::Edgewood {
            continue; // /metrics is edgewood serve's own
        }
        let metrics = server.get("/metrics").text();
        assert!(
            !metrics.contains("status=\"5"),
            "no 5xx for client mistakes:\n{metrics}"
        );
    }
}

#[test]
fn api_key_from_flag_or_environment() {
    let mut servers: Vec<Server> = hosts()
        .into_iter()
        .map(|host| Server::on(host, &[("api_key", "s3cret-key")]))
        .collect();
    servers.push(Server::start_env(
        &[],
        &[("EDGEWOOD_VAR_API_KEY", "s3cret-key")],
    ));
    for server in servers {
        let json = ("Content-Type", "application/json");
        let r = server.request("POST", "/predict", &[json], SETOSA.as_bytes());
        assert_eq!(r.status, 401);
        assert!(r.text().contains("API key"));
        assert_eq!(
            server
                .request(
                    "POST",
                    "/predict",
                    &[json, ("X-API-Key", "nope")],
                    SETOSA.as_bytes()
                )
                .status,
            401
        );
        assert_eq!(
            server
                .request(
                    "POST",
                    "/predict",
                    &[json, ("X-API-Key", "s3cret-key")],
                    SETOSA.as_bytes()
                )
                .status,
            200
        );
        assert_eq!(
            server
                .request(
                    "POST",
                    "/predict",
                    &[json, ("Authorization", "Bearer s3cret-key")],
                    SETOSA.as_bytes()
                )
                .status,
            200
        );
        assert_eq!(server.get("/v1/model").status, 401);
        assert_eq!(server.get("/health").status, 200);
        assert_eq!(server.get("/v2/health/ready").status, 200);
        if server.host == Host::Edgewood {
            // The host's own /metrics keeps the component's key.
            assert_eq!(server.get("/metrics").status, 401);
            assert_eq!(
                server
                    .request("GET", "/metrics", &[("X-API-Key", "s3cret-key")], b"")
                    .status,
                200
            );
        }
    }
    // Off: no key needed.
    for host in hosts() {
        let server = Server::on(host, &[]);
        assert_eq!(server.post("/predict", SETOSA).status, 200);
        if host == Host::Edgewood {
            assert_eq!(server.get("/metrics").status, 200);
        }
    }
}

#[test]
fn cors_preflight_and_simple_requests() {
    for host in hosts() {
        let server = Server::on(
            host,
            &[("allowed_origins", "https://app.example"), ("api_key", "k")],
        );
        let r = server.request(
            "OPTIONS",
            "/predict",
            &[
                ("Origin", "https://app.example"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type, x-api-key"),
            ],
            b"",
        );
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert!(r
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST"));
        assert!(r
            .header("access-control-allow-headers")
            .unwrap()
            .contains("x-api-key"));
        let r = server.request(
            "OPTIONS",
            "/predict",
            &[("Origin", "https://evil.example")],
            b"",
        );
        assert_eq!(r.header("access-control-allow-origin"), None);
        let r = server.request(
            "POST",
            "/predict",
            &[
                ("Origin", "https://app.example"),
                ("Content-Type", "application/json"),
                ("X-API-Key", "k"),
            ],
            SETOSA.as_bytes(),
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://app.example")
        );
    }
}

/// Runs `edgewood ARGS`, which must succeed, and returns its standard output.
fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_edgewood"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "edgewood {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Parses the CLI's CSV output: label, then probabilities.
fn cli_rows(csv: &str) -> Vec<(String, Vec<f64>)> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split(',');
            let label = cells.next().unwrap().to_string();
            (label, cells.map(|c| c.parse::<f64>().unwrap()).collect())
        })
        .collect()
}

#[test]
fn http_answers_equal_the_cli_and_the_core_bit_for_bit() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/iris_rf100.input.csv"
    );
    let text = std::fs::read_to_string(fixture).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let features: Vec<&str> = header.split(',').collect();
    // Rows the schema accepts (the fixture also holds missing values and out-of-range probes).
    let rows: Vec<Vec<f64>> = lines
        .filter_map(|l| {
            l.split(',')
                .map(|c| c.parse::<f64>().ok())
                .collect::<Option<Vec<f64>>>()
        })
        .filter(|r| r.iter().all(|&x| (0.0..=10.0).contains(&x)))
        .collect();
    assert!(rows.len() > 300, "{} rows", rows.len());

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.csv");
    let mut csv = format!("{header}\n");
    for r in &rows {
        // `{:?}` is the shortest round-trip form: the CLI reads the same f64.
        csv.push_str(
            &r.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push('\n');
    }
    std::fs::write(&input, csv).unwrap();
    let from_cli = cli_rows(&cli(&["predict", input.to_str().unwrap()]));
    assert_eq!(from_cli.len(), rows.len());

    let server = Server::start(&[]);
    let model = edgewood_spin::model().unwrap();
    let instances: Vec<String> = rows
        .iter()
        .map(|r| {
            let fields: Vec<String> = features
                .iter()
                .zip(r)
                .map(|(f, x)| format!("\"{f}\":{x:?}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    let r = server.post(
        "/predict/batch",
        &format!("{{\"instances\":[{}]}}", instances.join(",")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let Some(Json::Arr(preds)) = r.json().get("predictions").cloned() else {
        panic!()
    };
    assert_eq!(preds.len(), rows.len());
    for (i, ((p, (label, probs)), row)) in preds.iter().zip(&from_cli).zip(&rows).enumerate() {
        assert_eq!(str_of(p.get("prediction")), label, "row {i}");
        let Some(Json::Obj(http_probs)) = p.get("probabilities") else {
            panic!()
        };
        let mut core = vec![0.0; model.prediction_len()];
        model.predict_into(row, &mut core).unwrap();
        for (k, (_, hp)) in http_probs.iter().enumerate() {
            assert_eq!(
                num(hp).to_bits(),
                probs[k].to_bits(),
                "row {i} class {k}: HTTP vs CLI"
            );
            assert_eq!(
                num(hp).to_bits(),
                core[k].to_bits(),
                "row {i} class {k}: HTTP vs core"
            );
        }
    }
    // Single-row endpoint and V2 agree with the batch on a few rows.
    for (i, inst) in instances.iter().enumerate().step_by(37) {
        let one = server.post("/predict", inst).json();
        assert_eq!(
            one.get("probabilities"),
            preds[i].get("probabilities"),
            "row {i}"
        );
        let data: Vec<String> = rows[i].iter().map(|x| format!("{x:?}")).collect();
        let v2 = server
            .post(
                "/v2/models/iris/infer",
                &format!(
                    r#"{{"inputs":[{{"name":"x","shape":[1,4],"datatype":"FP64","data":[{}]}}]}}"#,
                    data.join(",")
                ),
            )
            .json();
        let Some(Json::Arr(outputs)) = v2.get("outputs").cloned() else {
            panic!()
        };
        let Some(Json::Arr(p)) = outputs[1].get("data").cloned() else {
            panic!()
        };
        for (k, x) in p.iter().enumerate() {
            assert_eq!(
                num(x).to_bits(),
                from_cli[i].1[k].to_bits(),
                "V2 row {i} class {k}"
            );
        }
    }
}

#[test]
fn a_timeout_is_a_500_for_that_request_only() {
    // A zero time budget interrupts every guest at its first check.
    let server = Server::start(&["--timeout-ms", "0"]);
    for _ in 0..5 {
        let r = server.post("/predict", SETOSA);
        assert_eq!(r.status, 500);
        assert!(r.text().contains("time limit"), "{}", r.text());
    }
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200, "the host keeps serving");
    assert!(
        metrics.text().contains("edgewood_guest_traps_total 5"),
        "{}",
        metrics.text()
    );
}

#[test]
fn a_stalled_upload_is_a_408_and_frees_its_instance() {
    let server = Server::start(&["--timeout-ms", "300"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 75\r\n\r\n{\"sepal").unwrap();
    let started = std::time::Instant::now();
    let r = read_response(s);
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.post("/predict", SETOSA).status, 200);
}

#[test]
fn running_out_of_memory_is_a_500_for_that_request_only() {
    // 4 MiB of linear memory: enough for normal requests, not for parsing a 30,000-row
    // batch (the body and row limits are raised so that memory is what runs out).
    let server = Server::start(&[
        "--memory-mib",
        "4",
        "--var",
        "max_body_bytes=8000000",
        "--var",
        "max_batch_rows=100000",
    ]);
    assert_eq!(server.post("/predict", SETOSA).status, 200);
    let batch = format!(r#"{{"instances":[{}]}}"#, vec![SETOSA; 30_000].join(","));
    let r = server.post("/predict/batch", &batch);
    let shown: String = r.text().chars().take(300).collect();
    assert_eq!(r.status, 500, "{shown}");
    assert!(shown.contains("Internal Server Error"), "{shown}");
    // The next request gets a fresh instance.
    let r = server.post("/predict", SETOSA);
    assert_eq!(r.status, 200);
    assert_eq!(str_of(r.json().get("prediction")), "setosa");
    assert!(server
        .get("/metrics")
        .text()
        .contains("edgewood_guest_traps_total 1"));
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut server = Server::start(&[]);
    assert_eq!(server.get("/health").status, 200);
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The component's isolation probe (`x-edgewood-probe`, spin-app/src/component.rs):
/// what a request found of earlier requests' writes.
fn probe(server: &Server) -> String {
    let r = server.request(
        "POST",
        "/predict",
        &[
            ("Content-Type", "application/json"),
            ("X-Edgewood-Probe", "1"),
        ],
        SETOSA.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("x-edgewood-probe")
        .expect("the probe header")
        .to_string()
}

#[test]
fn no_request_sees_another_requests_writes() {
    // Every request writes a counter (a zeroed page), a word of the data image, and a
    // large batch grows the heap; each later request, on any connection, must find all
    // three as a fresh instance has them. Both ways of resetting a reused pool slot are
    // checked: restoring the written pages in place (PAGEMAP_SCAN, the default where
    // Linux has it) and madvise (`--keep-resident-kib 0`).
    let limits = [
        "--var",
        "max_body_bytes=4000000",
        "--var",
        "max_batch_rows=20000",
        "--max-concurrency",
        "4",
    ];
    let batch = format!(r#"{{"instances":[{}]}}"#, vec![SETOSA; 8_000].join(","));
    for reset in [&[][..], &["--keep-resident-kib", "0"][..]] {
        let args: Vec<&str> = limits.iter().chain(reset).copied().collect();
        let server = Server::start(&args);
        let fresh = probe(&server);
        assert!(
            fresh.starts_with("seen=0;data=5eed5eed5eed0001;pages="),
            "{reset:?}: {fresh}"
        );
        // Four slots, so slots are reused many times over.
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (server, batch, fresh) = (&server, &batch, &fresh);
                scope.spawn(move || {
                    for i in 0..40 {
                        if (i + t) % 10 == 0 {
                            let r = server.post("/predict/batch", batch);
                            assert_eq!(r.status, 200, "{}", r.text());
                        } else if i % 2 == 0 {
                            assert_eq!(server.post("/predict", SETOSA).status, 200);
                        }
                        assert_eq!(&probe(server), fresh, "{reset:?}: request {t}/{i}");
                    }
                });
            }
        });
    }
}

#[test]
fn one_json_log_line_per_request_on_stderr() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgewood"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("edgewood serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let post = |body: &str| {
        request(
            addr,
            "POST",
            "/predict",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    };
    // Concurrent requests: their lines must not interleave.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    assert_eq!(post(SETOSA).status, 200);
                }
            });
        }
    });
    let bad = post(r#"{"sepal_length":5.1}"#);
    assert_eq!(bad.status, 422);
    let missing = request(
        addr,
        "GET",
        "/nowhere?x=1",
        &[("X-Request-Id", "abc-123")],
        b"",
    );
    assert_eq!(missing.status, 404);
    // SIGTERM: the lines still buffered are written before the server exits.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<Json> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| parse(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert_eq!(lines.len(), 42, "{stderr}");
    let field = |j: &Json, k: &str| {
        j.get(k)
            .unwrap_or_else(|| panic!("no {k} in {j:?}"))
            .clone()
    };
    for j in &lines[..40] {
        assert_eq!(str_of(j.get("method")), "POST");
        assert_eq!(str_of(j.get("path")), "/predict");
        assert_eq!(num(&field(j, "status")), 200.0);
        assert_eq!(num(&field(j, "rows")), 1.0);
        assert!(num(&field(j, "latency_ms")) >= 0.0);
        assert_eq!(str_of(j.get("request_id")).len(), 16);
    }
    assert_eq!(num(&field(&lines[40], "status")), 422.0);
    assert_eq!(str_of(lines[41].get("path")), "/nowhere");
    assert_eq!(num(&field(&lines[41], "status")), 404.0);
    assert_eq!(str_of(lines[41].get("request_id")), "abc-123");
}

/// How a test turns a model file into a served component.
enum Packaging {
    /// `edgewood serve --model FILE` run by a copy of the binary alone in an empty
    /// directory, with no cargo and no source tree in reach: the way a user meets it.
    ServeModel,
    /// `edgewood component FILE -o app.wasm`, then `edgewood serve --component app.wasm`.
    Component,
    /// `edgewood component FILE --for wasmtime -o app.wasm`, then `wasmtime serve app.wasm`.
    WasmtimeServe,
}

/// Serves fixture `name`'s model (its source file, converted on the fly) as `how` says,
/// and checks every fixture row without a missing value through `/predict/batch`
/// against the library's own probabilities, bit for bit.
fn boosted_component_answers_as_its_library(model_file: &str, name: &str, how: Packaging) {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
    let read = |file: String| std::fs::read_to_string(format!("{fixtures}{file}")).unwrap();
    let input = read(format!("{name}.input.csv"));
    let expected = read(format!("{name}.expected.csv"));
    let mut input = input.lines();
    let header = input.next().unwrap();
    let features: Vec<&str> = header.split(',').collect();

    let dir = tempfile::tempdir().unwrap();
    let source = format!("{fixtures}{model_file}");
    let server = match how {
        Packaging::ServeModel => {
            let alone = dir.path().join("edgewood");
            std::fs::copy(env!("CARGO_BIN_EXE_edgewood"), &alone).unwrap();
            let mut cmd = Command::new(&alone);
            cmd.current_dir(dir.path())
                .env_clear()
                .env("PATH", "/nonexistent");
            // Only wasmtime's code cache, so a second run need not compile again.
            if let Some(home) = std::env::var_os("HOME") {
                cmd.env("HOME", home);
            }
            let args = ["--model", &source, "--feature-names", header];
            Server::spawn(cmd, &args, &[])
        }
        Packaging::Component => {
            let wasm = dir.path().join("app.wasm");
            let wasm = wasm.to_str().unwrap();
            cli(&["component", &source, "--feature-names", header, "-o", wasm]);
            Server::start(&["--component", wasm])
        }
        Packaging::WasmtimeServe => {
            let wasm = dir.path().join("app.wasm");
            let wasm = wasm.to_str().unwrap().to_string();
            let args = ["component", &source, "--feature-names", header];
            cli(&[&args[..], &["--for", "wasmtime", "-o", &wasm]].concat());
            Server::wasmtime(dir, &wasm, &[])
        }
    };
    // The model answers to its file's stem in V2 paths.
    let stem = model_file.split('.').next().unwrap();
    let r = server.get(&format!("/v2/models/{stem}"));
    assert_eq!(r.status, 200, "{name}: {}", r.text());

    let mut expected = expected.lines();
    let columns: Vec<&str> = expected.next().unwrap().split(',').collect();
    let (mut instances, mut wanted) = (Vec::new(), Vec::new());
    for (row, want) in input.zip(expected) {
        if row.split(',').any(str::is_empty) {
            continue; // JSON has no NaN; missing values are covered by the CLI tests.
        }
        let fields: Vec<String> = features
            .iter()
            .zip(row.split(','))
            .map(|(f, v)| format!("\"{f}\":{v}"))
            .collect();
        instances.push(format!("{{{}}}", fields.join(",")));
        wanted.push(want.split(',').map(str::to_owned).collect::<Vec<_>>());
    }
    assert!(instances.len() > 200, "{name}: {} rows", instances.len());
    let r = server.post(
        "/predict/batch",
        &format!(r#"{{"instances":[{}]}}"#, instances.join(",")),
    );
    assert_eq!(r.status, 200, "{name}: {}", r.text());
    let Some(Json::Arr(predictions)) = r.json().get("predictions").cloned() else {
        panic!("{name}: no predictions")
    };
    assert_eq!(predictions.len(), wanted.len());
    for (p, want) in predictions.iter().zip(&wanted) {
        let label = match p.get("prediction") {
            Some(Json::Str(s)) => s.clone(),
            Some(other) => format!("{}", num(other)),
            None => panic!("{name}: no prediction"),
        };
        assert_eq!(label, want[0], "{name}");
        let probabilities = p.get("probabilities").unwrap();
        for (k, column) in columns.iter().enumerate().skip(1) {
            let class = column.strip_prefix("p_").unwrap();
            let got = num(probabilities.get(class).unwrap());
            let want: f64 = want[k].parse().unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{name} p_{class}");
        }
    }
}

#[test]
fn components_packaged_for_xgboost_and_lightgbm_models_answer_as_the_libraries() {
    boosted_component_answers_as_its_library(
        "xgb_multiclass.json",
        "xgb_multiclass",
        Packaging::ServeModel,
    );
    boosted_component_answers_as_its_library(
        "lgbm_binary.txt",
        "lgbm_binary",
        Packaging::Component,
    );
    boosted_component_answers_as_its_library("xgb_binary.ubj", "xgb_binary", Packaging::ServeModel);
    if hosts().contains(&Host::Wasmtime) {
        boosted_component_answers_as_its_library(
            "xgb_binary.ubj",
            "xgb_binary",
            Packaging::WasmtimeServe,
        );
        boosted_component_answers_as_its_library(
            "lgbm_binary.txt",
            "lgbm_binary",
            Packaging::WasmtimeServe,
        );
    }
}

mod clients;
mod jwt;
mod schemathesis;
