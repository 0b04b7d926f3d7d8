//! Prometheus metrics of `edgewood serve`: requests by route and status, a latency
//! histogram, and the number of requests in flight, in the text exposition format.
//!
//! Routes are the API's path patterns (`/v2/models/{name}/infer`), never raw paths, so a
//! client probing random URLs cannot grow the label set: those count as `other`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Counters shared by all connections.
#[derive(Default)]
pub struct Metrics {
    in_flight: AtomicI64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    /// Per route: bucket counts, sum of seconds, count.
    latency: BTreeMap<&'static str, ([u64; BUCKETS.len()], f64, u64)>,
    traps: u64,
}

/// Decrements the in-flight gauge when the request ends, however it ends.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a request as in flight until the guard drops.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records a finished request.
    pub fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.requests.entry((route, status)).or_default() += 1;
        let (buckets, sum, count) = inner.latency.entry(route).or_default();
        for (b, &le) in buckets.iter_mut().zip(BUCKETS.iter()) {
            if secs <= le {
                *b += 1;
            }
        }
        *sum += secs;
        *count += 1;
    }

    /// Records a guest trap or timeout.
    pub fn trap(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).traps += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP edgewood_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE edgewood_http_requests_total counter\n");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "edgewood_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP edgewood_http_request_duration_seconds Time from request to response headers.\n");
        out.push_str("# TYPE edgewood_http_request_duration_seconds histogram\n");
        for (route, (buckets, sum, count)) in &inner.latency {
            for (b, le) in buckets.iter().zip(BUCKETS.iter()) {
                let _ = writeln!(out, "edgewood_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {b}");
            }
            let _ = writeln!(out, "edgewood_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                out,
                "edgewood_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "edgewood_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        out.push_str("# HELP edgewood_http_requests_in_flight Requests being handled now.\n");
        out.push_str("# TYPE edgewood_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "edgewood_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str("# HELP edgewood_guest_traps_total Requests whose component instance trapped or timed out.\n");
        out.push_str("# TYPE edgewood_guest_traps_total counter\n");
        let _ = writeln!(out, "edgewood_guest_traps_total {}", inner.traps);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauge() {
        let m = Metrics::default();
        let guard = m.start();
        m.record("/predict", 200, Duration::from_micros(300));
        m.record("/predict", 200, Duration::from_millis(20));
        m.record("other", 404, Duration::from_micros(100));
        let text = m.render();
        assert!(text.contains("edgewood_http_requests_total{route=\"/predict\",status=\"200\"} 2"));
        assert!(text.contains("edgewood_http_requests_total{route=\"other\",status=\"404\"} 1"));
        assert!(text.contains(
            "edgewood_http_request_duration_seconds_bucket{route=\"/predict\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "edgewood_http_request_duration_seconds_bucket{route=\"/predict\",le=\"0.025\"} 2"
        ));
        assert!(text.contains("edgewood_http_request_duration_seconds_count{route=\"/predict\"} 2"));
        assert!(text.contains("edgewood_http_requests_in_flight 1"));
        drop(guard);
        assert!(m.render().contains("edgewood_http_requests_in_flight 0"));
    }
}
