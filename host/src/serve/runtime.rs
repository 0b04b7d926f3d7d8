//! The wasmtime side of `edgewood serve`: the engine (pooling allocator, epoch
//! interruption, code cache), the per-request store state the WASI and `wasi:http`
//! interfaces see, and the component compiled once into an `InstancePre`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::{config_store, Args};

/// How often the epoch ticks: the granularity of the request timeout.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Per-request store state.
pub(super) struct Host {
    pub(super) table: ResourceTable,
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) limits: StoreLimits,
    pub(super) vars: Arc<HashMap<String, String>>,
    pub(super) hooks: NoOutgoingRequests,
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
pub(super) struct NoOutgoingRequests;

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

/// The engine `edgewood serve` runs every instance in, configured from its flags.
pub(super) fn engine(args: &Args) -> anyhow::Result<Engine> {
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

/// Compiles the component (or takes it from the code cache) and links it against the
/// host's WASI, `wasi:http` and `wasi:config`, once for all requests.
pub(super) fn instantiate_pre(engine: &Engine, component: &[u8]) -> anyhow::Result<ProxyPre<Host>> {
    let component = Component::new(engine, component)
        .map_err(|e| anyhow::Error::from(e.context("cannot compile the component")))?;
    let mut linker: Linker<Host> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    config_store::add_to_linker(&mut linker)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component).map_err(|e| {
        anyhow::Error::from(e.context("the component needs imports this host does not provide"))
    })?)?;
    Ok(pre)
}

/// Starts the epoch ticker: a plain thread, so a guest spinning on every tokio worker
/// cannot stop its own timeout.
pub(super) fn start_epoch_ticker(engine: &Engine) {
    let ticker = engine.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(EPOCH_TICK);
        ticker.increment_epoch();
    });
}
