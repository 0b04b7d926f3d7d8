//! `cargo xtask loadtest`: the HTTP load benchmark (not part of CI).
//!
//! One run puts the same load (wrk, on 127.0.0.1, bounded in time) on each service,
//! one at a time so they never share the CPU: `edgewood serve` with the Iris model,
//! `edgewood serve` with a large synthetic model (200 trees of depth 12, 50 features),
//! `wasmtime serve` (the reference WASI-HTTP host, when installed) with the same two
//! component files, both packaged by `edgewood component` and timed, and the reference
//! Python service (FastAPI + uvicorn + scikit-learn, same Iris model,
//! in the venv `bench/.venv-service`, which this command creates). Each runs at 1, 16
//! and 64 connections; then `edgewood serve` (Iris) takes a soak at 16 connections while
//! its resident memory is sampled. Last, the batch-throughput section ([`batch`]): 10,000
//! Iris rows a request as JSON `/predict/batch`, V2 JSON and V2 binary tensors, also run on
//! its own with `--batch-only`. The tables go to stdout and `bench/loadtest/RESULTS.md`.

mod batch;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::util::{self, cargo, load_average};

/// Arguments of `cargo xtask loadtest`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of load at each connection count.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of the soak test.
    #[arg(long, default_value_t = 60)]
    soak_seconds: u64,
    /// Connection counts, comma-separated.
    #[arg(long, default_value = "1,16,64")]
    connections: String,
    /// Leave out the Python reference service.
    #[arg(long)]
    skip_python: bool,
    /// Run only the batch-throughput section (no wrk needed); it replaces that section
    /// of RESULTS.md and keeps the rest.
    #[arg(long)]
    batch_only: bool,
    /// Rows in each batch-throughput request.
    #[arg(long, default_value_t = 10_000)]
    batch_rows: usize,
    /// Seconds of requests for each batch-throughput case.
    #[arg(long, default_value_t = 8)]
    batch_seconds: u64,
    /// Keep-alive connections of the batch-throughput section.
    #[arg(long, default_value_t = 1)]
    batch_connections: usize,
}

/// The heading that opens the batch-throughput section of RESULTS.md.
const BATCH_HEADING: &str = "## Batch throughput";

/// The Python packages of the reference service (versions of the fixture's stack).
const PY_PACKAGES: &[&str] = &[
    "scikit-learn==1.9.1",
    "fastapi==0.163.2",
    "uvicorn==0.54.0",
    "joblib==1.6.0",
];

const IRIS_BODY: &str =
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

/// One measured point.
struct Point {
    service: String,
    connections: u32,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
    /// The server's CPU time (user + system, all threads) per request, in µs: unlike
    /// req/s, barely moved by what else runs on the machine.
    cpu_us: f64,
    /// The server's minor page faults per request.
    faults: f64,
    /// `/proc/loadavg`'s 1-minute figure when the point was measured.
    load: f64,
}

/// CPU time (in clock ticks) and minor faults of process `pid` so far.
fn proc_counters(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): field 3 is rest[0].
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let minflt: u64 = rest.get(7)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((utime + stime, minflt))
}

/// Clock ticks per second of /proc's CPU times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A service under test, killed on drop.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let conns: Vec<u32> = args
        .connections
        .split(',')
        .map(|c| {
            c.trim()
                .parse()
                .context("--connections: numbers separated by commas")
        })
        .collect::<anyhow::Result<_>>()?;
    let batch = batch::Settings {
        rows: args.batch_rows,
        seconds: args.batch_seconds,
        connections: args.batch_connections,
    };
    anyhow::ensure!(batch.rows > 0, "--batch-rows must be at least 1");
    let root = util::root();
    let out = root.join("bench/loadtest/RESULTS.md");
    if args.batch_only {
        let host = crate::serve::build_host(&crate::spin::build()?)?;
        let section = batch::run(&host, &batch)?;
        println!("{section}");
        // The rest of the last full run stays; only this section is replaced.
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        let kept = match old.find(BATCH_HEADING) {
            Some(at) => &old[..at],
            None => old.as_str(),
        };
        let mut report = kept.trim_end().to_string();
        if !report.is_empty() {
            report.push_str("\n\n");
        }
        report.push_str(&section);
        std::fs::write(&out, report)?;
        println!(
            "written to {}",
            out.strip_prefix(&root).unwrap_or(&out).display()
        );
        return Ok(());
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed: apt-get install wrk");
    }
    let work = crate::spin::target_dir().join("loadtest");
    std::fs::create_dir_all(&work)?;

    // Builds: the Iris component and the host (release), the large model and its component.
    let iris_wasm = crate::spin::build()?;
    let host = crate::serve::build_host(&iris_wasm)?;
    let large_ewm = work.join("large_rf200_d12_f50.ewm");
    if !large_ewm.exists() {
        util::run(
            cargo()
                .args([
                    "run",
                    "--release",
                    "-q",
                    "-p",
                    "edgewood-spin",
                    "--example",
                    "synth_model",
                    "--",
                ])
                .arg(&large_ewm),
        )?;
    }
    // Both components as a user makes them: `edgewood component`, no compiler. Packaged
    // for wasmtime's wasi:config, which edgewood serve also serves, so both hosts run
    // the same files.
    let mut notes = Vec::new();
    let iris_ewm = root.join("spin-app/models/iris.ewm");
    let iris_app = work.join("iris.wasm");
    let large_app = work.join("large.wasm");
    for (model, app, what) in [
        (&iris_ewm, &iris_app, "Iris"),
        (&large_ewm, &large_app, "RF200 d12 f50"),
    ] {
        let started = Instant::now();
        util::run(
            Command::new(&host)
                .arg("component")
                .arg(model)
                .args(["--for", "wasmtime", "-o"])
                .arg(app),
        )?;
        notes.push(format!(
            "`edgewood component` ({what}, {} KB .ewm, release build): {} ms.",
            std::fs::metadata(model)?.len() / 1000,
            started.elapsed().as_millis()
        ));
    }
    let large_body = large_body(50);
    let wasmtime = Command::new("wasmtime").arg("--version").output().is_ok();
    if !wasmtime {
        notes.push("wasmtime serve: not installed (`cargo xtask setup`), rows left out.".into());
    }

    let mut points = Vec::new();
    {
        let svc = start_edgewood(&host, &[], None)?;
        points.extend(measure(
            "edgewood serve, Iris",
            &svc,
            IRIS_BODY,
            &conns,
            args.seconds,
        )?);
    }
    {
        let svc = start_edgewood(&host, &[], Some(&work.join("serve-log.jsonl")))?;
        points.extend(measure(
            "edgewood serve, Iris, log lines on",
            &svc,
            IRIS_BODY,
            &conns,
            args.seconds,
        )?);
    }
    {
        let component = large_app.to_string_lossy().into_owned();
        let svc = start_edgewood(
            &host,
            &["--component", &component, "--memory-mib", "128"],
            None,
        )?;
        points.extend(measure(
            "edgewood serve, RF200 d12 f50",
            &svc,
            &large_body,
            &conns,
            args.seconds,
        )?);
    }
    if wasmtime {
        for (app, body, what) in [
            (&iris_app, IRIS_BODY, "Iris"),
            (&large_app, large_body.as_str(), "RF200 d12 f50"),
        ] {
            let svc = start_wasmtime(app, &work.join("wasmtime-log.jsonl"))?;
            points.extend(measure(
                &format!("wasmtime serve, {what}"),
                &svc,
                body,
                &conns,
                args.seconds,
            )?);
        }
    }
    if !args.skip_python {
        let python = python_venv(&root)?;
        let svc = start_python(&python, &root)?;
        points.extend(measure(
            "Python FastAPI + sklearn, Iris",
            &svc,
            IRIS_BODY,
            &conns,
            args.seconds,
        )?);
    }
    let soak = {
        let svc = start_edgewood(&host, &[], None)?;
        soak(&svc, args.soak_seconds)?
    };
    notes.push(soak.1.clone());
    let section = batch::run(&host, &batch)?;

    let mut report = render(&points, &soak.0, &notes, &conns);
    report.push('\n');
    report.push_str(&section);
    println!("{report}");
    std::fs::write(&out, &report)?;
    println!(
        "written to {}",
        out.strip_prefix(&root).unwrap_or(&out).display()
    );
    Ok(())
}

fn large_body(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("\"f{i}\":{:.1}", 1.0 + (i * 37 % 80) as f64 / 10.0))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Waits until `GET /health` answers 200.
fn wait_healthy(addr: SocketAddr, child: &mut Child, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited during start-up ({status})");
        }
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{what} did not become healthy within 120 s")
}

/// Starts `edgewood serve` with `extra` arguments; its per-request log lines go to
/// `log` when given (a file, as a deployment would keep them), otherwise they are off.
fn start_edgewood(host: &Path, extra: &[&str], log: Option<&Path>) -> anyhow::Result<Service> {
    let addr = free_addr()?;
    let mut cmd = Command::new(host);
    cmd.args(["serve", "--listen", &addr.to_string()])
        .args(extra)
        .stdout(Stdio::null());
    match log {
        Some(path) => {
            cmd.stderr(std::fs::File::create(path)?);
        }
        None => {
            cmd.arg("--quiet");
        }
    }
    let mut child = cmd.spawn().context("cannot start edgewood serve")?;
    wait_healthy(addr, &mut child, "edgewood serve")?;
    Ok(Service { child, addr })
}

/// Starts `wasmtime serve` (its defaults: pooling allocator, a fresh instance per
/// request) on the component `app`. It has no switch for the component's log lines:
/// they go to the file `log`, as with edgewood serve's "log lines on" row.
fn start_wasmtime(app: &Path, log: &Path) -> anyhow::Result<Service> {
    let addr = free_addr()?;
    let mut child = Command::new("wasmtime")
        .args(["serve", "-S", "cli", "-S", "config", "--addr", &addr.to_string()])
        .arg(app)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("cannot start wasmtime serve")?;
    wait_healthy(addr, &mut child, "wasmtime serve")?;
    Ok(Service { child, addr })
}

/// Creates `bench/.venv-service` with the reference service's packages (once).
fn python_venv(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("bench/.venv-service");
    let python = venv.join("bin/python");
    let stamp = venv.join(".edgewood-packages");
    let wanted = PY_PACKAGES.join(" ");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    if !python.exists() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    // A venv is a build product: keep it out of git whatever the root .gitignore says.
    std::fs::write(venv.join(".gitignore"), "*\n")?;
    util::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PY_PACKAGES),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn start_python(python: &Path, root: &Path) -> anyhow::Result<Service> {
    let addr = free_addr()?;
    let mut child = Command::new(python)
        .args([
            "-m",
            "uvicorn",
            "reference_service:app",
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--no-access-log",
            "--port",
        ])
        .arg(addr.port().to_string())
        .current_dir(root.join("bench/loadtest"))
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start uvicorn")?;
    wait_healthy(addr, &mut child, "the Python reference service")?;
    Ok(Service { child, addr })
}

/// Parses a wrk duration (`635.00us`, `1.52ms`, `2.01s`) to milliseconds.
fn wrk_ms(s: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// Runs wrk once and parses its report.
fn wrk(
    addr: SocketAddr,
    body: &str,
    connections: u32,
    seconds: u64,
    script: &Path,
) -> anyhow::Result<(f64, f64, f64, u64, u64)> {
    let threads = connections.clamp(1, 2);
    let out = Command::new("wrk")
        .args(["--latency", "--timeout", "5s"])
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}/predict"))
        .env("EDGEWOOD_LOADTEST_BODY", body)
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut rps = 0.0;
    let (mut p50, mut p99) = (f64::NAN, f64::NAN);
    let (mut requests, mut errors) = (0u64, 0u64);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => rps = v.parse().unwrap_or(0.0),
            ["50%", v] => p50 = wrk_ms(v).unwrap_or(f64::NAN),
            ["99%", v] => p99 = wrk_ms(v).unwrap_or(f64::NAN),
            [n, "requests", "in", ..] => requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    Ok((rps, p50, p99, requests, errors))
}

fn script() -> PathBuf {
    util::root().join("bench/loadtest/post.lua")
}

fn measure(
    service: &str,
    svc: &Service,
    body: &str,
    conns: &[u32],
    seconds: u64,
) -> anyhow::Result<Vec<Point>> {
    eprintln!("== {service}: warm-up");
    wrk(svc.addr, body, 4, 2, &script())?;
    let mut points = Vec::new();
    let pid = svc.child.id();
    let ticks = clock_ticks();
    for &c in conns {
        let before = proc_counters(pid);
        let (rps, p50_ms, p99_ms, requests, errors) = wrk(svc.addr, body, c, seconds, &script())?;
        let after = proc_counters(pid);
        let load = load_average();
        let per_request = |d: u64| d as f64 / requests.max(1) as f64;
        let (cpu_us, faults) = match (before, after) {
            (Some(b), Some(a)) => (
                per_request(a.0.saturating_sub(b.0)) * 1e6 / ticks,
                per_request(a.1.saturating_sub(b.1)),
            ),
            _ => (f64::NAN, f64::NAN),
        };
        eprintln!("   {c:>3} connections: {rps:>9.0} req/s  p50 {p50_ms:.2} ms  p99 {p99_ms:.2} ms  errors {errors}  {cpu_us:.0} µs CPU/req  {faults:.1} faults/req  load {load:.2}");
        points.push(Point {
            service: service.into(),
            connections: c,
            rps,
            p50_ms,
            p99_ms,
            requests,
            errors,
            cpu_us,
            faults,
            load,
        });
    }
    Ok(points)
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soak: 16 connections for `seconds`, RSS sampled every 5 s from a second thread.
fn soak(svc: &Service, seconds: u64) -> anyhow::Result<(Vec<(u64, u64)>, String)> {
    eprintln!("== soak: {seconds} s at 16 connections");
    wrk(svc.addr, IRIS_BODY, 16, 3, &script())?;
    let pid = svc.child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.push((start.elapsed().as_secs(), kib));
                }
                for _ in 0..50 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            samples
        })
    };
    let result = wrk(svc.addr, IRIS_BODY, 16, seconds, &script());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    let (rps, p50, p99, requests, errors) = result?;
    let first = samples.first().map_or(0, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let note = format!(
        "Soak: {seconds} s at 16 connections on edgewood serve (Iris): {requests} requests, {errors} errors, {rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms; \
         RSS {:.1} MiB at the start, {:.1} MiB at the end, {:.1} MiB at most ({} samples); load average {:.2} at the end.",
        first as f64 / 1024.0,
        last as f64 / 1024.0,
        max as f64 / 1024.0,
        samples.len(),
        load_average()
    );
    eprintln!("   {note}");
    Ok((samples, note))
}

fn render(points: &[Point], samples: &[(u64, u64)], notes: &[String], conns: &[u32]) -> String {
    let mut s = String::from("# Load benchmark: `cargo xtask loadtest`\n\n");
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    s.push_str(&format!(
        "wrk on 127.0.0.1, POST /predict, one service at a time, {cpus} CPUs shared by wrk and the server. \
         edgewood serve: release build, a fresh component instance per request, per-request log lines off (`--quiet`) except in the row that says so (written to a file). \
         wasmtime serve (48.0.8, `cargo xtask setup`'s build): its defaults, the component's log lines to a file. \
         Python: uvicorn (1 worker), FastAPI, scikit-learn 1.9.1, access log off.\n\n"
    ));
    s.push_str("| service | connections | req/s | p50 ms | p99 ms | requests | errors | server CPU µs/req | page faults/req | load avg (1 min) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for p in points {
        s.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {:.0} | {:.1} | {:.2} |\n",
            p.service,
            p.connections,
            p.rps,
            p.p50_ms,
            p.p99_ms,
            p.requests,
            p.errors,
            p.cpu_us,
            p.faults,
            p.load
        ));
    }
    s.push('\n');
    let find = |svc: &str, c: u32| {
        points
            .iter()
            .find(|p| p.service.contains(svc) && p.connections == c)
    };
    for &c in conns {
        if let (Some(e), Some(py)) = (
            find("Iris", c).filter(|p| p.service.starts_with("edgewood")),
            find("Python", c),
        ) {
            s.push_str(&format!(
                "- {c} connections: edgewood serve / Python = {:.1}× the throughput.\n",
                e.rps / py.rps.max(1e-9)
            ));
        }
        if let (Some(e), Some(l)) = (find("edgewood serve, Iris", c), find("edgewood serve, RF200", c)) {
            s.push_str(&format!(
                "- {c} connections: large model (RF200 d12 f50) at {:.0}% of the Iris model's req/s (goal ≥ 40%); server CPU per request {:.0} µs against {:.0} µs, {:.2}× (goal ≤ 3×).\n",
                100.0 * l.rps / e.rps.max(1e-9),
                l.cpu_us,
                e.cpu_us,
                l.cpu_us / e.cpu_us.max(1e-9)
            ));
        }
        for model in ["Iris", "RF200"] {
            if let (Some(e), Some(w)) = (
                find(&format!("edgewood serve, {model}"), c),
                find(&format!("wasmtime serve, {model}"), c),
            ) {
                s.push_str(&format!(
                    "- {c} connections, {model}: wasmtime serve / edgewood serve = {:.2}× the throughput, {:.2}× the server CPU per request (a reference point: the same component file).\n",
                    w.rps / e.rps.max(1e-9),
                    w.cpu_us / e.cpu_us.max(1e-9)
                ));
            }
        }
    }
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    if !samples.is_empty() {
        s.push_str("\nRSS samples during the soak (s: MiB): ");
        let shown: Vec<String> = samples
            .iter()
            .map(|(t, k)| format!("{t}: {:.1}", *k as f64 / 1024.0))
            .collect();
        s.push_str(&shown.join(", "));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_durations() {
        assert_eq!(wrk_ms("635.00us"), Some(0.635));
        assert_eq!(wrk_ms("1.52ms"), Some(1.52));
        assert_eq!(wrk_ms("2.00s"), Some(2000.0));
        assert_eq!(wrk_ms("x"), None);
    }

    #[test]
    fn reads_cpu_time_and_faults_of_a_process() {
        let before = proc_counters(std::process::id()).expect("own /proc stat");
        // Touch fresh pages, then spin until the CPU time moves (a few ticks; 5 s at most
        // on a busy machine).
        let pages: Vec<u8> = vec![1; 64 << 20];
        let start = Instant::now();
        let mut x = 0u64;
        let mut after = before;
        while after.0 <= before.0 && start.elapsed() < Duration::from_secs(5) {
            for _ in 0..100_000 {
                x = x.wrapping_add(pages[x as usize % pages.len()] as u64);
            }
            after = proc_counters(std::process::id()).unwrap();
        }
        assert!(x > 0);
        assert!(after.1 >= before.1 + 1000, "{before:?} → {after:?}");
        assert!(after.0 > before.0, "{before:?} → {after:?}");
    }
}
