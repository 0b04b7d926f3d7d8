//! One request through `edgewood serve`: `/metrics` answered by the host, everything
//! else by a fresh component instance, with the host's answers (timeouts, traps,
//! shutdown) as JSON errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

use edgewood_spin::api::auth::authorize;
use edgewood_spin::api::Config;

use super::log::Log;
use super::metrics::Metrics;
use super::runtime::{Host, NoOutgoingRequests};

/// What every connection shares.
pub(super) struct Server {
    pub(super) pre: ProxyPre<Host>,
    pub(super) vars: Arc<HashMap<String, String>>,
    pub(super) metrics: Metrics,
    pub(super) timeout_ticks: u64,
    /// Wall-clock bound on a request, body upload included (the epoch deadline only
    /// counts while guest code runs).
    pub(super) wall_limit: Duration,
    pub(super) memory_bytes: usize,
    /// Where the component's stderr goes, `None` with `--quiet`.
    pub(super) log: Option<Arc<Log>>,
    pub(super) permits: tokio::sync::Semaphore,
}

/// Capacity of a request's stderr buffer: a component writing more traps (its request
/// is answered 500). The component writes one line of about 150 bytes.
const STDERR_CAPACITY: usize = 1 << 20;

fn full(
    status: u16,
    content_type: &str,
    body: impl Into<Bytes>,
) -> hyper::Response<HyperOutgoingBody> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(
            Full::new(body.into())
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("a static response is well-formed")
}

fn detail(status: u16, message: &str) -> hyper::Response<HyperOutgoingBody> {
    let mut body = String::from("{\"detail\":");
    edgewood_spin::api::json::write_str(&mut body, message);
    body.push('}');
    full(status, "application/json", body)
}

impl Server {
    pub(super) async fn handle(
        self: &Arc<Self>,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        let start = Instant::now();
        let _in_flight = self.metrics.start();
        let path = req.uri().path().to_string();
        let route = if path == "/metrics" {
            "/metrics"
        } else {
            edgewood_spin::api::route_of(&path).unwrap_or("other")
        };
        let resp = if path == "/metrics" {
            self.metrics_response(&req)
        } else {
            self.call_component(req).await
        };
        self.metrics
            .record(route, resp.status().as_u16(), start.elapsed());
        resp
    }

    /// `GET /metrics`, behind the API key or JWT when one is configured (the same check
    /// as the component's).
    fn metrics_response(
        &self,
        req: &hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        if req.method() != hyper::Method::GET {
            return detail(405, "Method Not Allowed: /metrics accepts GET");
        }
        let config = Config::from_variables("", |name| self.vars.get(name).cloned());
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
        if let Err(refusal) = authorize(config.api_key.as_deref(), &config.jwt, header) {
            let mut resp = detail(401, &refusal.message);
            if let Ok(challenge) = refusal.challenge.parse() {
                resp.headers_mut().insert("www-authenticate", challenge);
            }
            return resp;
        }
        full(200, "text/plain; version=0.0.4", self.metrics.render())
    }

    /// A store for one request, and the buffer its stderr goes to (unless `--quiet`).
    fn store(&self) -> (Store<Host>, Option<MemoryOutputPipe>) {
        let mut wasi = WasiCtx::builder();
        let stderr = self.log.as_ref().map(|_| {
            let pipe = MemoryOutputPipe::new(STDERR_CAPACITY);
            wasi.stderr(pipe.clone());
            pipe
        });
        let host = Host {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.memory_bytes)
                .instances(64)
                .build(),
            vars: self.vars.clone(),
            hooks: NoOutgoingRequests,
        };
        let mut store = Store::new(self.pre.engine(), host);
        store.limiter(|h| &mut h.limits);
        store.set_epoch_deadline(self.timeout_ticks);
        store.epoch_deadline_trap();
        (store, stderr)
    }

    /// One JSON line on stderr for an answer the host gave because the component could
    /// not (the component logs every other request itself). Printed with `--quiet` too.
    fn log_host_event(&self, status: u16, why: &str) {
        let mut line = format!("{{\"source\":\"host\",\"status\":{status},\"error\":");
        edgewood_spin::api::json::write_str(&mut line, why);
        line.push_str("}\n");
        match &self.log {
            // Through the log buffer, after the lines the component wrote.
            Some(log) => log.push(line.as_bytes()),
            None => {
                use std::io::Write as _;
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    /// Runs the request in a fresh instance; a trap or timeout becomes a 500 for this
    /// request alone.
    async fn call_component(
        self: &Arc<Self>,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        let Ok(_permit) = self.permits.acquire().await else {
            return detail(503, "the server is shutting down");
        };
        let (mut store, stderr) = self.store();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| {
            let req = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, req)?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            anyhow::Ok((req, out))
        })();
        let (req, out) = match prepared {
            Ok(p) => p,
            Err(e) => {
                return detail(
                    400,
                    &format!("cannot pass the request to the component: {e}"),
                )
            }
        };
        let pre = self.pre.clone();
        let log = self.log.clone();
        let task = tokio::task::spawn(async move {
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            }
            .await;
            // What the component wrote, even if it trapped.
            if let (Some(log), Some(stderr)) = (log, stderr) {
                log.push(&stderr.contents());
            }
            result
        });
        let answer = match tokio::time::timeout(self.wall_limit, receiver).await {
            Ok(answer) => answer,
            Err(_) => {
                // The guest is waiting on the client (a body trickling in): stop it.
                task.abort();
                self.log_host_event(408, "wall-clock limit while waiting for the request");
                return detail(408, "Request Timeout: the request was not received and answered within the time limit");
            }
        };
        match answer {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => {
                self.metrics.trap();
                detail(
                    500,
                    &format!("the component answered with an error: {code:?}"),
                )
            }
            Err(_) => {
                // The component never set a response: it trapped, ran out of time or
                // memory, or returned without answering.
                self.metrics.trap();
                let why = match task.await {
                    Ok(Ok(())) => "the component returned without a response".to_string(),
                    Ok(Err(e)) => {
                        let timeout =
                            e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt);
                        if timeout {
                            "the request exceeded the time limit".to_string()
                        } else {
                            format!("the component failed: {}", e.root_cause())
                        }
                    }
                    Err(e) => format!("the component task failed: {e}"),
                };
                self.log_host_event(500, &why);
                detail(500, &format!("Internal Server Error: {why}"))
            }
        }
    }
}
