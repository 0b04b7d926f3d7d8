//! The Spin adapter: WASI HTTP 0.2 request in, [`crate::api::handle`] in the middle,
//! response out, and one JSON log line on stderr. Nothing here decides an answer, except
//! the isolation probe (an `x-edgewood-probe` header, see [`isolation_probe`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use futures::{SinkExt, StreamExt};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

use crate::api::{self, Body, Config};

/// A configuration value from the standard `wasi:config/store` interface, or `None`
/// when it is unset, empty or the store fails. Spin 3.x serves its component variables
/// there; other WASI-HTTP hosts serve their own configuration. Reading it here rather
/// than through `fermyon:spin/variables` leaves the component importing `wasi:*` only.
fn variable(name: &str) -> Option<String> {
    spin_sdk::wit::wasi::config::store::get(name)
        .ok()
        .flatten()
        .filter(|v| !v.trim().is_empty())
}

fn config() -> Config {
    Config::from_variables(crate::model_name(), variable)
}

/// A random request id from WASI's random source (through std's hasher seeding, which
/// saves a dependency).
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    format!("{:016x}", h.finish())
}

/// Counts the requests this instance's memory has seen. Spin (and `edgewood serve`)
/// give every request a fresh instance, so a request always finds 0 here, whatever an
/// earlier request wrote: the isolation probe below reports it. It lives in a zeroed
/// page (`.bss`).
static REQUESTS_SEEN: AtomicU32 = AtomicU32::new(0);

/// Overwritten by every request; starts as a non-zero constant, so it lives in a page
/// of the data image (`.data`), which a host must restore rather than zero.
static LAST_WRITER: AtomicU64 = AtomicU64::new(PROBE_INITIAL);
const PROBE_INITIAL: u64 = 0x5eed_5eed_5eed_0001;

/// What a request finds of earlier requests' writes: `seen=<count>;data=<hex>;pages=<n>`
/// (0, the initial constant, and the initial memory size where isolation holds). Sent
/// as the `x-edgewood-probe` response header when the request carries that header, so
/// a host's isolation can be tested over HTTP (see host/tests/http); every request
/// makes the writes, so a probe also sees what ordinary requests left behind.
fn isolation_probe(request_id: &str) -> String {
    let seen = REQUESTS_SEEN.fetch_add(1, Ordering::Relaxed);
    let mut mark = 0u64;
    for b in request_id.bytes() {
        mark = mark.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    let data = LAST_WRITER.swap(mark | 1 << 63, Ordering::Relaxed);
    let pages = core::arch::wasm32::memory_size::<0>();
    format!("seen={seen};data={data:x};pages={pages}")
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let start = std::time::Instant::now();
    let config = config();
    let method = req.method().to_string();
    let path = req.path_with_query().unwrap_or_else(|| "/".into());
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let declared = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    // Read at most one byte past the limit; a larger body is refused, never buffered.
    let mut body = Vec::new();
    let mut too_large = declared.is_some_and(|n| n > config.max_body_bytes as u64);
    if !too_large {
        let mut stream = req.into_body_stream();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            if body.len() + chunk.len() > config.max_body_bytes {
                too_large = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
    }
    let request = api::Request {
        method: &method,
        path: &path,
        headers: &headers,
        body: if too_large {
            Body::TooLarge
        } else {
            Body::Bytes(&body)
        },
    };
    let id = api::request_id(&request, random_id);
    // Before handling, so the memory size is the one the request found.
    let probe = isolation_probe(&id);
    let mut resp = api::handle(&config, crate::model(), &request);
    resp.headers.push(("x-request-id".into(), id.clone()));
    if request.header("x-edgewood-probe").is_some() {
        resp.headers.push(("x-edgewood-probe".into(), probe));
    }
    // The whole body is known: a length lets the host send it as is rather than in
    // chunks (204 and 304 answers carry no length).
    if !matches!(resp.status, 204 | 304) && resp.get_header("content-length").is_none() {
        resp.headers
            .push(("content-length".into(), resp.body.len().to_string()));
    }
    let fields: Vec<(String, Vec<u8>)> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    let outgoing =
        OutgoingResponse::new(Fields::from_list(&fields).unwrap_or_else(|_| Fields::new()));
    let _ = outgoing.set_status_code(resp.status);
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if !resp.body.is_empty() {
        let _ = sink.send(std::mem::take(&mut resp.body)).await;
    }
    drop(sink);
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    // One write per line (eprintln! writes the line and its newline separately): half
    // the host calls, and a host that passes each write straight to its own stderr
    // cannot interleave two requests' lines.
    let mut line = api::log_line(&request, &resp, latency_ms, &id);
    line.push('\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}
