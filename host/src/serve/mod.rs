//! `edgewood serve`: the Spin component under wasmtime, as Spin runs it.
//!
//! Every request gets a fresh component instance from one `InstancePre` (the pooling
//! allocator makes that cheap), so no request can see another's state and a trap ends
//! only its own request (answered 500). The host adds what a host owns: Prometheus
//! `/metrics`, a per-request timeout (epoch interruption) and memory limit, graceful
//! shutdown on SIGINT/SIGTERM, and Spin variables from flags or the environment.
//!
//! The component is built into this binary (see `host/build.rs`), so `edgewood serve`
//! with no arguments serves the embedded Iris model. `--component FILE.wasm` serves
//! another build, and `--model FILE.ewm` builds one for that model first (this needs the
//! Edgewood source tree and the wasm32-wasip2 target; see `spin_vars` and `build_for_model`).

mod metrics;
mod spin_vars;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use metrics::Metrics;

/// The component built for the embedded model (by host/build.rs).
static COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/edgewood_spin.wasm"));

/// How often the epoch ticks: the granularity of the request timeout.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Arguments of `edgewood serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:3000", value_name = "ADDR")]
    listen: SocketAddr,
    /// Serve this .ewm model: builds a component for it first (needs the Edgewood
    /// source tree and `rustup target add wasm32-wasip2`).
    #[arg(long, value_name = "FILE", conflicts_with = "component")]
    model: Option<PathBuf>,
    /// Serve this component (.wasm) instead of the built-in one, e.g. one built with
    /// `EDGEWOOD_MODEL=model.ewm cargo xtask spin`.
    #[arg(long, value_name = "FILE.wasm")]
    component: Option<PathBuf>,
    /// A Spin variable for the component, NAME=VALUE (repeatable): api_key,
    /// allowed_origins, max_body_bytes, max_batch_rows. The environment variable
    /// `EDGEWOOD_VAR_<NAME>` (e.g. `EDGEWOOD_VAR_API_KEY`) sets one too; flags win.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Per-request time limit in milliseconds; a request over it is stopped and answered 500.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,
    /// Linear memory limit of each component instance, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    memory_mib: usize,
    /// Most requests handled at once (also the size of the instance pool).
    #[arg(long, default_value_t = 256)]
    max_concurrency: u32,
    /// Do not print the component's per-request log lines.
    #[arg(long)]
    quiet: bool,
    /// Worker threads serving requests (default: one per CPU).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Pages of an instance's memory that its request wrote, up to this many KiB, are
    /// restored in place when the next request reuses the slot, so pages it only read
    /// (the embedded model) stay mapped; beyond this, and where Linux lacks the
    /// PAGEMAP_SCAN ioctl (before 6.7), memory is reset with madvise and faults back in.
    /// 0 turns the in-place reset off.
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    keep_resident_kib: usize,
    /// Compile the component afresh instead of using wasmtime's on-disk code cache.
    #[arg(long)]
    no_cache: bool,
}

/// Per-request store state.
struct Host {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    limits: StoreLimits,
    vars: Arc<HashMap<String, String>>,
    hooks: NoOutgoingRequests,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The host's `wasi:http` hooks: the component answers requests and makes none, so an
/// outgoing request is denied (Spin likewise allows none unless the manifest lists
/// `allowed_outbound_hosts`).
struct NoOutgoingRequests;

impl wasmtime_wasi_http::WasiHttpHooks for NoOutgoingRequests {
    fn send_request(
        &mut self,
        _request: hyper::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = wasmtime_wasi_http::Result<(
                    hyper::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(std::future::ready(Err(
            wasmtime_wasi_http::Error::HttpRequestDenied,
        )))
    }
}

/// What every connection shares.
struct Server {
    pre: ProxyPre<Host>,
    vars: Arc<HashMap<String, String>>,
    metrics: Metrics,
    timeout_ticks: u64,
    /// Wall-clock bound on a request, body upload included (the epoch deadline only
    /// counts while guest code runs).
    wall_limit: Duration,
    memory_bytes: usize,
    /// Where the component's stderr goes, `None` with `--quiet`.
    log: Option<Arc<Log>>,
    permits: tokio::sync::Semaphore,
}

/// Capacity of a request's stderr buffer: a component writing more traps (its request
/// is answered 500). The component writes one line of about 150 bytes.
const STDERR_CAPACITY: usize = 1 << 20;

/// The components' log lines on their way to stderr.
///
/// Each request's stderr is collected in memory and appended here, whole, when the
/// request ends; a thread writes what has gathered every [`LOG_FLUSH`]. Measured
/// before: with stderr inherited, every guest write was a system call under std's
/// stderr lock (10% of a request's time), and waking a writer thread for every line
/// cost as much. Now a request only appends to a buffer, a request's lines stay
/// together, and one `write` carries all the lines of 10 ms.
struct Log {
    pending: std::sync::Mutex<Vec<u8>>,
}

/// How often [`Log`] is written out: the most a log line waits.
const LOG_FLUSH: Duration = Duration::from_millis(10);

/// Most bytes waiting: beyond this (stderr blocked), lines are dropped, not queued.
const LOG_MAX_PENDING: usize = 16 << 20;

impl Log {
    /// Starts the writer thread.
    fn start() -> Arc<Log> {
        let log = Arc::new(Log {
            pending: std::sync::Mutex::new(Vec::new()),
        });
        let writer = log.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(LOG_FLUSH);
            writer.flush();
        });
        log
    }

    fn push(&self, lines: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() + lines.len() <= LOG_MAX_PENDING {
            pending.extend_from_slice(lines);
        }
    }

    /// Writes what is pending (also called once more at shutdown).
    fn flush(&self) {
        use std::io::Write as _;
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !batch.is_empty() {
            // A closed stderr is no reason to stop serving.
            let _ = std::io::stderr().write_all(&batch);
        }
    }
}

/// Collects Spin variables: EDGEWOOD_VAR_* from the environment, then --var flags.
fn variables(flags: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("EDGEWOOD_VAR_") {
            vars.insert(name.to_ascii_lowercase(), v);
        }
    }
    for flag in flags {
        let Some((k, v)) = flag.split_once('=') else {
            bail!("--var {flag}: expected NAME=VALUE");
        };
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            bail!("--var {flag}: a variable name is lower-case letters, digits and '_'");
        }
        vars.insert(k, v.to_string());
    }
    Ok(vars)
}

/// Runs `edgewood serve`.
pub fn run(args: Args) -> anyhow::Result<()> {
    // wasmtime builds an error value while it drops every request's store, and with
    // RUST_BACKTRACE=1 in the environment std captures a backtrace for each one (5% of a
    // request's time, measured). Library backtraces serve no one here; panics still get
    // theirs from RUST_BACKTRACE. Set before any thread starts, unless the user chose.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let vars = Arc::new(variables(&args.vars)?);
    let component_bytes: std::borrow::Cow<'static, [u8]> = match (&args.model, &args.component) {
        (Some(model), _) => build_for_model(model)?.into(),
        (None, Some(path)) => std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .into(),
        (None, None) => COMPONENT.into(),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        runtime.worker_threads(n);
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(serve(args, vars, &component_bytes))
}

fn engine(args: &Args) -> anyhow::Result<Engine> {
    let memory_bytes = args
        .memory_mib
        .checked_mul(1 << 20)
        .context("--memory-mib is too large")?;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(args.max_concurrency)
        .total_core_instances(args.max_concurrency.saturating_mul(8))
        .total_memories(args.max_concurrency.saturating_mul(2))
        .total_tables(args.max_concurrency.saturating_mul(8))
        .total_stacks(args.max_concurrency)
        .max_memory_size(memory_bytes.max(1 << 16));
    // By default a slot's memory goes back to the component's copy-on-write image with
    // madvise after every request: each request then faults in again every page it
    // reads (329 faults a request for a 23 MB model, 8 for Iris), and each madvise
    // flushes the TLB of every CPU running the process. With PAGEMAP_SCAN (Linux ≥ 6.7)
    // wasmtime finds the pages the request wrote and copies the image back over only
    // those, so pages that were only read (the model) stay mapped for the next request.
    // Without the ioctl, keeping memory resident would mean memset-ing the lowest
    // addresses (the guest's 1 MiB stack) on every request: worse than madvise.
    let keep_resident = args
        .keep_resident_kib
        .checked_mul(1024)
        .context("--keep-resident-kib is too large")?;
    if keep_resident > 0 && PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(keep_resident)
            .table_keep_resident(keep_resident);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if !args.no_cache {
        // Compiling the component takes seconds; the cache (wasmtime's, in the user's
        // cache directory, keyed by the component's hash) makes later starts instant.
        match wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => eprintln!("edgewood serve: no code cache ({e}); compiling afresh"),
        }
    }
    Engine::new(&config).map_err(|e| anyhow::Error::from(e.context("cannot start wasmtime")))
}

async fn serve(
    args: Args,
    vars: Arc<HashMap<String, String>>,
    component: &[u8],
) -> anyhow::Result<()> {
    let engine = engine(&args)?;
    let started = Instant::now();
    let component = Component::new(&engine, component)
        .map_err(|e| anyhow::Error::from(e.context("cannot compile the component")))?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    spin_vars::add_to_linker(&mut linker)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component).map_err(|e| {
        anyhow::Error::from(e.context("the component needs imports this host does not provide"))
    })?)?;
    let compile_ms = started.elapsed().as_millis();

    // The epoch ticker: a plain thread, so a guest spinning on every tokio worker
    // cannot stop its own timeout.
    let ticker = engine.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(EPOCH_TICK);
        ticker.increment_epoch();
    });

    let log = (!args.quiet).then(Log::start);
    let server = Arc::new(Server {
        pre,
        vars: vars.clone(),
        metrics: Metrics::default(),
        timeout_ticks: args.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64),
        wall_limit: Duration::from_millis(args.timeout_ms) + Duration::from_secs(1),
        memory_bytes: args.memory_mib << 20,
        log: log.clone(),
        permits: tokio::sync::Semaphore::new(args.max_concurrency as usize),
    });
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let name = if args.model.is_none() && args.component.is_none() {
        edgewood_spin::MODEL_NAME
    } else {
        "custom"
    };
    // One write, errors ignored: whoever started us may have stopped reading stdout.
    let mut banner = format!("edgewood serve: listening on http://{addr} (model {name}, component compiled in {compile_ms} ms)\n");
    if args.model.is_none() && args.component.is_none() {
        banner.push_str(&format!(
            "  curl -s -X POST http://{addr}/predict -H 'Content-Type: application/json' -d '{{\"sepal_length\":5.1,\"sepal_width\":3.5,\"petal_length\":1.4,\"petal_width\":0.2}}'\n"
        ));
    }
    banner.push_str(&format!("  API documentation: http://{addr}/docs\n"));
    if vars.get("api_key").is_some_and(|k| !k.is_empty()) {
        banner.push_str("  (an API key is required: add -H 'X-API-Key: ...')\n");
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(c) => c,
                    // Out of file descriptors and the like: wait, never exit.
                    Err(e) => { eprintln!("edgewood serve: accept failed: {e}"); tokio::time::sleep(Duration::from_millis(50)).await; continue; }
                };
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(req).await) }
                    });
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            // Finish the request in progress, then close.
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
                // Reap finished connections so the set does not grow.
                while connections.try_join_next().is_some() {}
            }
        }
    }
    eprintln!(
        "edgewood serve: shutting down, finishing {} connection(s)",
        connections.len()
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!("edgewood serve: connections still open after 10 s; closing them");
    }
    if let Some(log) = log {
        log.flush();
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

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
    async fn handle(
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

    /// `GET /metrics`, behind the API key when one is set.
    fn metrics_response(
        &self,
        req: &hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        if req.method() != hyper::Method::GET {
            return detail(405, "Method Not Allowed: /metrics accepts GET");
        }
        if let Some(key) = self.vars.get("api_key").filter(|k| !k.is_empty()) {
            let header = |n: &str| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
            };
            let presented = header("x-api-key").or_else(|| {
                let (scheme, token) = header("authorization")?.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
            if !presented
                .is_some_and(|p| edgewood_spin::api::constant_time_eq(p.as_bytes(), key.as_bytes()))
            {
                return detail(
                    401,
                    "missing or invalid API key: send it in X-API-Key or Authorization: Bearer",
                );
            }
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

/// Builds a component embedding `model` with the source tree this binary was built
/// from, and returns its bytes.
fn build_for_model(model: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let model = model
        .canonicalize()
        .with_context(|| format!("cannot read the model {}", model.display()))?;
    let bytes = std::fs::read(&model)
        .with_context(|| format!("cannot read the model {}", model.display()))?;
    edgewood_core::Model::open_validated(&bytes).with_context(|| {
        format!(
            "{} is not a usable .ewm model (convert other formats with `edgewood convert`)",
            model.display()
        )
    })?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("spin-app/Cargo.toml").exists() {
        bail!(
            "--model needs the Edgewood source tree to build a component for the model; \
             build one with `EDGEWOOD_MODEL=FILE cargo xtask spin` and pass it with --component"
        );
    }
    let target = root.join("target/model-components");
    eprintln!(
        "edgewood serve: building a component for {} …",
        model.display()
    );
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-p",
                "edgewood-spin",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "wasm-release",
                "--target-dir",
            ])
            .arg(&target)
            .env("EDGEWOOD_MODEL", &model)
            .status()
            .context("cannot run cargo to build the component")?;
    if !status.success() {
        bail!(
            "building the component for {} failed ({status})",
            model.display()
        );
    }
    let wasm = target.join("wasm32-wasip2/wasm-release/edgewood_spin.wasm");
    std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))
}
