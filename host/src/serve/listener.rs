//! The HTTP side of `edgewood serve`: the listening socket, the banner, one hyper
//! connection task per client, and graceful shutdown on SIGINT/SIGTERM.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use wasmtime_wasi_http::io::TokioIo;

use super::log::Log;
use super::metrics::Metrics;
use super::request::Server;
use super::runtime::{self, EPOCH_TICK};
use super::Args;

/// Serves requests until SIGINT or SIGTERM, then lets the requests in progress finish.
pub(super) async fn serve(
    args: Args,
    vars: Arc<HashMap<String, String>>,
    component: &[u8],
    name: &str,
) -> anyhow::Result<()> {
    let engine = runtime::engine(&args)?;
    let started = Instant::now();
    let pre = runtime::instantiate_pre(&engine, component)?;
    let compile_ms = started.elapsed().as_millis();

    runtime::start_epoch_ticker(&engine);

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
