//! `edgewood serve`: the Spin component under wasmtime, as Spin runs it.
//!
//! Every request gets a fresh component instance from one `InstancePre` (the pooling
//! allocator makes that cheap), so no request can see another's state and a trap ends
//! only its own request (answered 500). The host adds what a host owns: Prometheus
//! `/metrics`, a per-request timeout (epoch interruption) and memory limit, graceful
//! shutdown on SIGINT/SIGTERM, and configuration variables (`wasi:config`) from flags or the environment.
//!
//! The component is built into this binary (see `host/build.rs`), so `edgewood serve`
//! with no arguments serves the embedded Iris model. `--component FILE.wasm` serves
//! another build, and `--model FILE` packages any model into the built-in component
//! first (see `crate::component`).
//!
//! One concern per module: [`component`] picks the component, [`runtime`] sets up
//! wasmtime, [`listener`] accepts connections, [`request`] runs one request in a fresh
//! instance, [`log`] batches the component's log lines, [`metrics`] counts for
//! `/metrics`, and [`config_store`] serves the configuration (`wasi:config/store`).

mod component;
mod config_store;
mod listener;
mod log;
mod metrics;
mod request;
mod runtime;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;

/// Arguments of `edgewood serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:3000", value_name = "ADDR")]
    pub(super) listen: SocketAddr,
    /// Serve this model (any format `edgewood convert` reads, or .ewm): packaged into
    /// the built-in component as `edgewood component` does, with no compiler.
    #[arg(long, value_name = "FILE", conflicts_with = "component")]
    pub(super) model: Option<PathBuf>,
    /// With --model: the schema overrides `edgewood convert` takes.
    #[command(flatten)]
    pub(super) import: crate::cli::ImportArgs,
    /// Serve this component (.wasm) instead of the built-in one, e.g. one written by
    /// `edgewood component`.
    #[arg(long, value_name = "FILE.wasm")]
    pub(super) component: Option<PathBuf>,
    /// A Spin variable for the component, NAME=VALUE (repeatable): api_key,
    /// allowed_origins, max_body_bytes, max_batch_rows, jwt_hs256_secret, jwt_public_key
    /// (a PEM, newlines and all), jwt_jwks, jwt_issuer, jwt_audience, jwt_leeway_seconds.
    /// The environment variable `EDGEWOOD_VAR_<NAME>` (e.g. `EDGEWOOD_VAR_API_KEY`) sets
    /// one too; flags win.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(super) vars: Vec<String>,
    /// Per-request time limit in milliseconds; a request over it is stopped and answered 500.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub(super) timeout_ms: u64,
    /// Linear memory limit of each component instance, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub(super) memory_mib: usize,
    /// Most requests handled at once (also the size of the instance pool).
    #[arg(long, default_value_t = 256)]
    pub(super) max_concurrency: u32,
    /// Do not print the component's per-request log lines.
    #[arg(long)]
    pub(super) quiet: bool,
    /// Worker threads serving requests (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub(super) threads: Option<usize>,
    /// Pages of an instance's memory that its request wrote, up to this many KiB, are
    /// restored in place when the next request reuses the slot, so pages it only read
    /// (the embedded model) stay mapped; beyond this, and where Linux lacks the
    /// PAGEMAP_SCAN ioctl (before 6.7), memory is reset with madvise and faults back in.
    /// 0 turns the in-place reset off.
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub(super) keep_resident_kib: usize,
    /// Compile the component afresh instead of using wasmtime's on-disk code cache.
    #[arg(long)]
    pub(super) no_cache: bool,
}

/// Collects the configuration variables: EDGEWOOD_VAR_* from the environment, then --var flags.
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
    let (component_bytes, model_name) = component::select(&args)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        runtime.worker_threads(n);
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(listener::serve(args, vars, &component_bytes, &model_name))
}
