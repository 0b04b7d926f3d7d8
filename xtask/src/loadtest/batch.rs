//! The batch-throughput section of `cargo xtask loadtest` (also `--batch-only`): the same
//! Iris-like rows sent to `edgewood serve` as one JSON `POST /predict/batch`, as one V2
//! infer with JSON tensor data, and as one V2 infer with binary tensor data (FP32 and
//! FP64 inputs, `binary_data_output`), over keep-alive connections from this process.
//!
//! Before anything is timed, every encoding's answer is decoded and checked against
//! `/predict/batch`'s: the same label and the same probability bits for every row. The
//! rows are multiples of 1/32, so FP32 holds them exactly and all four encodings carry
//! the same numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::Value;

use super::{clock_ticks, load_average, proc_counters, start_edgewood};

/// The Iris model's features, in its order.
const FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// Per class (setosa, versicolor, virginica): the feature means of Iris and the
/// half-width of the uniform noise added to them.
const CENTRES: [[f64; 4]; 3] = [
    [5.01, 3.43, 1.46, 0.25],
    [5.94, 2.77, 4.26, 1.33],
    [6.59, 2.97, 5.55, 2.03],
];
const NOISE: [f64; 4] = [0.6, 0.4, 0.6, 0.3];
/// Iris's observed range of each feature: generated values stay inside it.
const RANGE: [(f64, f64); 4] = [(4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5)];

/// `n` Iris-like rows, deterministic (a fixed-seed generator) and varied (the three
/// classes in turn at random, noise around each class's means, some rows near the
/// classes' borders). Every value is a multiple of 1/32 inside Iris's observed range.
pub(super) fn rows(n: usize) -> Vec<[f64; 4]> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let class = (next() % 3) as usize;
            let mut row = [0.0; 4];
            for (j, x) in row.iter_mut().enumerate() {
                let u = (next() >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
                let v = CENTRES[class][j] + NOISE[j] * (2.0 * u - 1.0);
                // In 32nds, inside the range.
                let (lo, hi) = ((RANGE[j].0 * 32.0).ceil(), (RANGE[j].1 * 32.0).floor());
                *x = (v * 32.0).round().clamp(lo, hi) / 32.0;
            }
            row
        })
        .collect()
}

/// One way of sending the rows.
pub(super) struct Case {
    pub name: &'static str,
    pub path: String,
    /// Extra request headers.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

fn num(x: f64) -> String {
    // Shortest text that reads back as the same f64.
    format!("{x:?}")
}

/// `{"instances": [{"sepal_length": …, …}, …]}` for `/predict/batch`.
pub(super) fn batch_body(rows: &[[f64; 4]]) -> Vec<u8> {
    let mut s = String::from("{\"instances\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('{');
        for (j, x) in row.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            s.push_str(&format!("\"{}\":{}", FEATURES[j], num(*x)));
        }
        s.push('}');
    }
    s.push_str("]}");
    s.into_bytes()
}

/// A V2 request with the tensor as JSON `data` (FP64, flat), answered in JSON.
pub(super) fn v2_json_body(rows: &[[f64; 4]]) -> Vec<u8> {
    let data: Vec<String> = rows.iter().flatten().map(|&x| num(x)).collect();
    format!(
        "{{\"inputs\":[{{\"name\":\"input-0\",\"shape\":[{},4],\"datatype\":\"FP64\",\"data\":[{}]}}]}}",
        rows.len(),
        data.join(",")
    )
    .into_bytes()
}

/// A V2 request with the tensor in binary (FP32 or FP64), every output asked in binary:
/// the body and its `Inference-Header-Content-Length`.
pub(super) fn v2_binary_body(rows: &[[f64; 4]], fp32: bool) -> (Vec<u8>, usize) {
    let size = rows.len() * 4 * if fp32 { 4 } else { 8 };
    let header = format!(
        "{{\"inputs\":[{{\"name\":\"input-0\",\"shape\":[{},4],\"datatype\":\"{}\",\"parameters\":{{\"binary_data_size\":{size}}}}}],\"parameters\":{{\"binary_data_output\":true}}}}",
        rows.len(),
        if fp32 { "FP32" } else { "FP64" }
    );
    let mut body = header.clone().into_bytes();
    body.reserve(size);
    for &x in rows.iter().flatten() {
        if fp32 {
            body.extend_from_slice(&(x as f32).to_le_bytes());
        } else {
            body.extend_from_slice(&x.to_le_bytes());
        }
    }
    (body, header.len())
}

/// The four cases over `rows`.
pub(super) fn cases(rows: &[[f64; 4]]) -> Vec<Case> {
    let json = vec![("content-type", "application/json".to_string())];
    let mut cases = vec![
        Case {
            name: "JSON /predict/batch",
            path: "/predict/batch".into(),
            headers: json.clone(),
            body: batch_body(rows),
        },
        Case {
            name: "V2 infer, JSON tensor (FP64)",
            path: "/v2/models/iris/infer".into(),
            headers: json,
            body: v2_json_body(rows),
        },
    ];
    for (fp32, name) in [
        (true, "V2 infer, binary tensor (FP32)"),
        (false, "V2 infer, binary tensor (FP64)"),
    ] {
        let (body, header_len) = v2_binary_body(rows, fp32);
        cases.push(Case {
            name,
            path: "/v2/models/iris/infer".into(),
            headers: vec![
                ("content-type", "application/octet-stream".into()),
                ("inference-header-content-length", header_len.to_string()),
            ],
            body,
        });
    }
    cases
}

/// An HTTP/1.1 answer.
pub(super) struct Answer {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One keep-alive HTTP/1.1 connection.
pub(super) struct Conn<S: Read + Write> {
    reader: BufReader<S>,
}

impl Conn<TcpStream> {
    fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn::new(stream))
    }
}

impl<S: Read + Write> Conn<S> {
    pub(super) fn new(stream: S) -> Self {
        Conn {
            reader: BufReader::with_capacity(1 << 16, stream),
        }
    }

    /// Sends `request` (a whole request, head and body) and reads the answer into `body`
    /// (reused between calls); returns the status and headers.
    pub(super) fn exchange(&mut self, request: &[u8], body: &mut Vec<u8>) -> anyhow::Result<(u16, Vec<(String, String)>)> {
        self.reader.get_mut().write_all(request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').context("bad header line")?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .context("an answer without Content-Length")?;
        body.clear();
        body.resize(len, 0);
        self.reader.read_exact(body)?;
        Ok((status, headers))
    }
}

/// The whole request: head and body.
fn request_bytes(case: &Case, addr: SocketAddr) -> Vec<u8> {
    let mut head = format!("POST {} HTTP/1.1\r\nhost: {addr}\r\n", case.path);
    for (k, v) in &case.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", case.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&case.body);
    bytes
}

/// Every row's label and probability bits.
type Decoded = Vec<(String, Vec<u64>)>;

fn json_of(bytes: &[u8]) -> anyhow::Result<Value> {
    serde_json::from_slice(bytes).context("the answer is not JSON")
}

fn bits(v: &Value) -> anyhow::Result<u64> {
    v.as_f64().map(f64::to_bits).context("expected a number")
}

/// `/predict/batch`'s answer: `{"predictions": [{"prediction", "probabilities": {…}}]}`,
/// the probabilities taken in the order of `classes` (the model's).
pub(super) fn decode_batch(body: &[u8], classes: &[String]) -> anyhow::Result<Decoded> {
    let v = json_of(body)?;
    let preds = v["predictions"].as_array().context("no predictions")?;
    preds
        .iter()
        .map(|p| {
            let label = match &p["prediction"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let probs = p["probabilities"].as_object().context("no probabilities")?;
            ensure!(probs.len() == classes.len(), "{} probabilities", probs.len());
            let probs = classes
                .iter()
                .map(|c| bits(probs.get(c).context("a class without probability")?))
                .collect::<anyhow::Result<_>>()?;
            Ok((label, probs))
        })
        .collect()
}

/// A V2 answer, JSON or binary: the `label` and `probabilities` outputs.
pub(super) fn decode_v2(answer: &Answer) -> anyhow::Result<Decoded> {
    let header_len = match answer.header("inference-header-content-length") {
        Some(n) => n.parse().context("bad Inference-Header-Content-Length")?,
        None => answer.body.len(),
    };
    ensure!(header_len <= answer.body.len(), "header length past the body");
    let (header, mut tail) = answer.body.split_at(header_len);
    let v = json_of(header)?;
    let outputs = v["outputs"].as_array().context("no outputs")?;
    let (mut labels, mut probs) = (Vec::new(), Vec::new());
    for o in outputs {
        let name = o["name"].as_str().unwrap_or("");
        if let Some(size) = o["parameters"]["binary_data_size"].as_u64() {
            ensure!(size as usize <= tail.len(), "binary_data_size past the body");
            let (bytes, rest) = tail.split_at(size as usize);
            tail = rest;
            match (name, o["datatype"].as_str()) {
                ("label", Some("BYTES")) => {
                    let mut b = bytes;
                    while !b.is_empty() {
                        ensure!(b.len() >= 4, "truncated BYTES element");
                        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                        ensure!(b.len() >= 4 + n, "truncated BYTES element");
                        labels.push(String::from_utf8(b[4..4 + n].to_vec())?);
                        b = &b[4 + n..];
                    }
                }
                ("label", Some("INT64")) => labels.extend(
                    bytes
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])).to_string()),
                ),
                ("probabilities", Some("FP64")) => probs.extend(
                    bytes
                        .chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
                ),
                (n, d) => bail!("unexpected binary output {n} ({d:?})"),
            }
        } else {
            let data = o["data"].as_array().context("an output without data")?;
            match name {
                "label" => labels.extend(data.iter().map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                "probabilities" => {
                    for d in data {
                        probs.push(bits(d)?);
                    }
                }
                n => bail!("unexpected output {n}"),
            }
        }
    }
    ensure!(tail.is_empty(), "{} bytes left after the outputs", tail.len());
    ensure!(
        !labels.is_empty() && probs.len() % labels.len() == 0,
        "{} labels, {} probabilities",
        labels.len(),
        probs.len()
    );
    let k = probs.len() / labels.len();
    Ok(labels
        .into_iter()
        .zip(probs.chunks(k).map(<[u64]>::to_vec))
        .collect())
}

/// The class labels of `/v1/model`'s `schema`, as answers write them; fails unless its
/// features are Iris's and every row is inside their valid ranges.
fn classes_and_check(schema: &Value, rows: &[[f64; 4]]) -> anyhow::Result<Vec<String>> {
    let features = schema["features"].as_array().context("no features")?;
    let names: Vec<&str> = features.iter().filter_map(|f| f["name"].as_str()).collect();
    ensure!(names == FEATURES, "the model's features are {names:?}, not Iris's");
    for (j, f) in features.iter().enumerate() {
        let range = &f["valid_range"];
        let (lo, hi) = (range[0].as_f64(), range[1].as_f64());
        for row in rows {
            ensure!(
                lo.is_none_or(|lo| row[j] >= lo) && hi.is_none_or(|hi| row[j] <= hi),
                "{} = {} is outside the valid range {range}",
                FEATURES[j],
                row[j]
            );
        }
    }
    let classes = schema["classes"].as_array().context("no classes")?;
    Ok(classes
        .iter()
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect())
}

/// One measured case.
pub(super) struct Row {
    name: &'static str,
    body_bytes: usize,
    answer_bytes: usize,
    requests: u64,
    rows_per_s: f64,
    ms_per_request: f64,
    /// The server's CPU time per request (all threads), in ms.
    cpu_ms: f64,
    load: f64,
}

/// The section's settings.
pub(super) struct Settings {
    pub rows: usize,
    pub seconds: u64,
    pub connections: usize,
}

/// Starts `edgewood serve` (Iris, row and body limits raised), checks the answers agree,
/// then times each case; returns the Markdown section.
pub(super) fn run(host: &Path, settings: &Settings) -> anyhow::Result<String> {
    let n = settings.rows;
    let rows = rows(n);
    let cases = cases(&rows);
    let biggest = cases.iter().map(|c| c.body.len()).max().unwrap_or(0);
    let max_rows = format!("max_batch_rows={}", n.max(10_000));
    let max_body = format!("max_body_bytes={}", (biggest * 2).max(1 << 20));
    let svc = start_edgewood(
        host,
        &["--var", &max_rows, "--var", &max_body, "--memory-mib", "256"],
        None,
    )?;
    let addr = svc.addr;
    let requests: Vec<Vec<u8>> = cases.iter().map(|c| request_bytes(c, addr)).collect();

    // The model's classes (in its order) and features, whose valid ranges the rows keep.
    let mut conn = Conn::open(addr)?;
    let mut body = Vec::new();
    let get = format!("GET /v1/model HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    let (status, _) = conn.exchange(get.as_bytes(), &mut body)?;
    ensure!(status == 200, "GET /v1/model: {status}");
    let schema = json_of(&body)?;
    let classes = classes_and_check(&schema, &rows)?;

    // The answers first: every encoding must give /predict/batch's labels and bits.
    let mut reference: Option<Decoded> = None;
    let mut answer_bytes = Vec::new();
    for (case, req) in cases.iter().zip(&requests) {
        let mut body = Vec::new();
        let (status, headers) = conn.exchange(req, &mut body)?;
        ensure!(
            status == 200,
            "{}: status {status}: {}",
            case.name,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        answer_bytes.push(body.len());
        let answer = Answer { headers, body };
        let decoded = if case.path == "/predict/batch" {
            decode_batch(&answer.body, &classes)?
        } else {
            decode_v2(&answer)?
        };
        ensure!(decoded.len() == n, "{}: {} rows answered", case.name, decoded.len());
        match &reference {
            None => reference = Some(decoded),
            Some(r) => {
                if let Some(i) = (0..n).find(|&i| r[i] != decoded[i]) {
                    bail!(
                        "{}: row {i} answered {:?}, /predict/batch answered {:?}",
                        case.name,
                        decoded[i],
                        r[i]
                    );
                }
            }
        }
    }
    let reference = reference.context("no cases")?;
    let mut classes: Vec<&str> = reference.iter().map(|(l, _)| l.as_str()).collect();
    classes.sort_unstable();
    classes.dedup();
    eprintln!(
        "== batch: {n} rows, answers agree in all {} encodings (labels {})",
        cases.len(),
        classes.join(", ")
    );

    let ticks = clock_ticks();
    let pid = svc.child.id();
    let mut table = Vec::new();
    for ((case, req), &answer_len) in cases.iter().zip(&requests).zip(&answer_bytes) {
        eprintln!("== batch: {}, {} s", case.name, settings.seconds);
        let conns = settings.connections.max(1);
        let deadline = Duration::from_secs(settings.seconds);
        // Every connection opens and makes one request (warm-up), then all start together.
        let ready = std::sync::Barrier::new(conns + 1);
        let (counts, started, before) = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..conns)
                .map(|_| {
                    let ready = &ready;
                    scope.spawn(move || -> anyhow::Result<u64> {
                        let warm = (|| {
                            let mut conn = Conn::open(addr)?;
                            let mut body = Vec::new();
                            conn.exchange(req, &mut body)?;
                            anyhow::Ok((conn, body))
                        })();
                        ready.wait();
                        let (mut conn, mut body) = warm?;
                        let t0 = Instant::now();
                        let mut count = 0u64;
                        while t0.elapsed() < deadline {
                            let (status, _) = conn.exchange(req, &mut body)?;
                            ensure!(status == 200, "status {status}");
                            ensure!(body.len() == answer_len, "the answer changed length");
                            count += 1;
                        }
                        Ok(count)
                    })
                })
                .collect();
            ready.wait();
            let before = proc_counters(pid);
            let started = Instant::now();
            let counts = workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
                })
                .collect::<anyhow::Result<Vec<u64>>>();
            (counts, started, before)
        });
        let counts = counts.with_context(|| case.name)?;
        let elapsed = started.elapsed().as_secs_f64();
        let after = proc_counters(pid);
        let requests: u64 = counts.iter().sum();
        ensure!(requests > 0, "{}: no request finished", case.name);
        let cpu_ms = match (before, after) {
            (Some(b), Some(a)) => (a.0 - b.0) as f64 / ticks * 1000.0 / requests as f64,
            _ => f64::NAN,
        };
        table.push(Row {
            name: case.name,
            body_bytes: case.body.len(),
            answer_bytes: answer_len,
            requests,
            rows_per_s: (requests as f64 * n as f64) / elapsed,
            ms_per_request: elapsed * 1000.0 / requests as f64 * conns as f64,
            cpu_ms,
            load: load_average(),
        });
    }
    drop(conn);
    Ok(render(&table, settings))
}

fn render(table: &[Row], settings: &Settings) -> String {
    let mut s = format!(
        "{}: {} Iris rows a request\n\n`edgewood serve` (Iris, `--var max_batch_rows`, `--var max_body_bytes`), {} keep-alive connection(s) from the xtask process, {} s per case, the same deterministic rows (multiples of 1/32, exact in FP32) in every encoding; before timing, every encoding's labels and probability bits were checked equal to `/predict/batch`'s. Binary V2 asks every output in binary (`binary_data_output`).\n\n",
        super::BATCH_HEADING,
        settings.rows,
        settings.connections,
        settings.seconds
    );
    s.push_str("| case | request bytes | answer bytes | requests | rows/s | ms/request | server CPU ms/request | × JSON batch (rows/s) | load avg (1 min) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let base = table.first().map(|r| r.rows_per_s).unwrap_or(f64::NAN);
    for r in table {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            r.name,
            r.body_bytes,
            r.answer_bytes,
            r.requests,
            r.rows_per_s,
            r.ms_per_request,
            r.cpu_ms,
            r.rows_per_s / base,
            r.load
        ));
    }
    s.push('\n');
    if let Some(json) = table.first() {
        for r in table.iter().skip(1).filter(|r| r.name.contains("binary")) {
            let ratio = r.rows_per_s / json.rows_per_s;
            s.push_str(&format!(
                "- {} / JSON /predict/batch: {ratio:.2}× the rows/s (goal ≥ 3×: {}), {:.2}× less server CPU a row.\n",
                r.name,
                if ratio >= 3.0 { "met" } else { "not met" },
                json.cpu_ms / r.cpu_ms
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic_varied_and_exact_in_fp32() {
        let a = rows(3000);
        assert_eq!(a, rows(3000));
        for row in &a {
            for (j, &x) in row.iter().enumerate() {
                assert!(x >= RANGE[j].0 && x <= RANGE[j].1, "{row:?}");
                assert_eq!(f64::from(x as f32), x);
                assert_eq!((x * 32.0).fract(), 0.0);
            }
        }
        let mut distinct: Vec<[u64; 4]> = a.iter().map(|r| r.map(f64::to_bits)).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 2500, "{}", distinct.len());
        // Petal length spreads over the three classes' ranges.
        assert!(a.iter().any(|r| r[2] < 2.0) && a.iter().any(|r| r[2] > 5.5));
    }

    #[test]
    fn bodies_carry_the_same_numbers() {
        let r = rows(3);
        let batch: Value = serde_json::from_slice(&batch_body(&r)).unwrap();
        assert_eq!(batch["instances"][2]["petal_width"].as_f64(), Some(r[2][3]));
        let v2: Value = serde_json::from_slice(&v2_json_body(&r)).unwrap();
        assert_eq!(v2["inputs"][0]["data"][11].as_f64(), Some(r[2][3]));
        for fp32 in [true, false] {
            let (body, len) = v2_binary_body(&r, fp32);
            let header: Value = serde_json::from_slice(&body[..len]).unwrap();
            let size = header["inputs"][0]["parameters"]["binary_data_size"]
                .as_u64()
                .unwrap();
            assert_eq!(size as usize, body.len() - len);
            let last = &body[body.len() - if fp32 { 4 } else { 8 }..];
            let x = if fp32 {
                f64::from(f32::from_le_bytes(last.try_into().unwrap()))
            } else {
                f64::from_le_bytes(last.try_into().unwrap())
            };
            assert_eq!(x, r[2][3]);
        }
    }

    /// A byte stream that answers from a canned buffer and records what was written.
    struct Canned {
        input: std::io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reads_keep_alive_answers_one_after_another() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcHTTP/1.1 400 Bad\r\ncontent-length: 0\r\n\r\n".to_vec();
        let mut conn = Conn::new(Canned {
            input: std::io::Cursor::new(input),
            written: Vec::new(),
        });
        let mut body = Vec::new();
        let (status, headers) = conn.exchange(b"req1", &mut body).unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"abc"[..]));
        assert!(headers.contains(&("x-a".into(), "b".into())));
        let (status, _) = conn.exchange(b"req2", &mut body).unwrap();
        assert_eq!((status, body.len()), (400, 0));
        assert_eq!(conn.reader.get_ref().written, b"req1req2");
        assert!(conn.exchange(b"req3", &mut body).is_err());
    }

    #[test]
    fn decodes_binary_and_json_v2_answers_alike() {
        let probs = [0.25f64, 0.75, 1.0, 0.0];
        let header = r#"{"outputs":[{"name":"label","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":14}},{"name":"probabilities","datatype":"FP64","shape":[2,2],"parameters":{"binary_data_size":32}}]}"#;
        let mut body = header.as_bytes().to_vec();
        for l in ["b", "a"] {
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(l.as_bytes());
        }
        // 10 bytes of labels so far: the declared 14 needs one more 0-length element.
        body.extend_from_slice(&0u32.to_le_bytes());
        for p in probs {
            body.extend_from_slice(&p.to_le_bytes());
        }
        let binary = Answer {
            headers: vec![(
                "inference-header-content-length".into(),
                header.len().to_string(),
            )],
            body,
        };
        let decoded = decode_v2(&binary);
        // Three labels for four probabilities: refused, not misread.
        assert!(decoded.is_err());

        let json = Answer {
            headers: Vec::new(),
            body: br#"{"outputs":[{"name":"label","data":["b","a"]},{"name":"probabilities","data":[0.25,0.75,1.0,0.0]}]}"#.to_vec(),
        };
        let want = vec![
            ("b".to_string(), vec![0.25f64.to_bits(), 0.75f64.to_bits()]),
            ("a".to_string(), vec![1.0f64.to_bits(), 0.0f64.to_bits()]),
        ];
        assert_eq!(decode_v2(&json).unwrap(), want);
        let batch = br#"{"predictions":[{"prediction":"b","probabilities":{"x":0.25,"y":0.75}},{"prediction":"a","probabilities":{"x":1.0,"y":0.0}}]}"#;
        let classes = ["x".to_string(), "y".to_string()];
        assert_eq!(decode_batch(batch, &classes).unwrap(), want);
    }
}
