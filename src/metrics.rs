//! Counters for the admin listener's `/metrics`, in the Prometheus text format.
//!
//! Recording is lock-free (one atomic add per counter) so it can sit on the forwarding path;
//! rendering walks the tables only when Prometheus scrapes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};

/// Methods counted by name; any other method counts as `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];

/// Status codes 100 to 599 each get a slot.
const STATUS_SLOTS: usize = 500;

/// Upper bounds of the latency histogram, in seconds. Rekaz calls have been seen taking from
/// under a second to 11 s, so the buckets reach up to the default 30 s timeout.
const LATENCY_BOUNDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Exchange counters and the upstream latency histogram.
pub struct Metrics {
    exchanges: Vec<AtomicU64>,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

/// Values read at scrape time from the parts of the proxy that own them.
pub struct Gauges<'a> {
    /// Requests sent to Rekaz whose response has not ended.
    pub in_flight: usize,
    /// Whether credentials are usable now (what `/readyz` reports).
    pub ready: bool,
    /// Diagnoses made since start, by cause name, repeats not logged included.
    pub diagnoses: &'a [(&'static str, u64)],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates zeroed counters.
    pub fn new() -> Self {
        Metrics {
            exchanges: (0..METHODS.len() * STATUS_SLOTS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            latency_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_count: AtomicU64::new(0),
            latency_sum_micros: AtomicU64::new(0),
        }
    }

    /// Counts one finished exchange; `upstream` is the time to Rekaz's response headers, when
    /// Rekaz sent them.
    pub fn record(&self, method: &Method, status: StatusCode, upstream: Option<Duration>) {
        let slot = usize::from(status.as_u16())
            .saturating_sub(100)
            .min(STATUS_SLOTS - 1);
        let index = method_index(method) * STATUS_SLOTS + slot;
        self.exchanges[index].fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = upstream {
            self.record_latency(latency);
        }
    }

    fn record_latency(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(bucket) = LATENCY_BOUNDS.iter().position(|bound| seconds <= *bound) {
            self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Renders every metric in the Prometheus text exposition format, version 0.0.4.
    pub fn render(&self, gauges: &Gauges<'_>) -> String {
        let mut out = String::with_capacity(4096);
        self.render_exchanges(&mut out);
        self.render_latency(&mut out);
        render_gauges(&mut out, gauges);
        out
    }

    fn render_exchanges(&self, out: &mut String) {
        header(
            out,
            "rekaz_proxy_exchanges_total",
            "counter",
            "Exchanges finished, by method and status sent to the client.",
        );
        for (index, counter) in self.exchanges.iter().enumerate() {
            let count = counter.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let method = METHODS[index / STATUS_SLOTS];
            let status = index % STATUS_SLOTS + 100;
            let _ = writeln!(
                out,
                "rekaz_proxy_exchanges_total{{method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
    }

    fn render_latency(&self, out: &mut String) {
        let name = "rekaz_proxy_upstream_latency_seconds";
        header(
            out,
            name,
            "histogram",
            "Time from sending a request to Rekaz until its response headers arrived.",
        );
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BOUNDS.iter().zip(&self.latency_buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

fn render_gauges(out: &mut String, gauges: &Gauges<'_>) {
    header(
        out,
        "rekaz_proxy_upstream_in_flight",
        "gauge",
        "Requests sent to Rekaz whose response has not ended.",
    );
    let _ = writeln!(out, "rekaz_proxy_upstream_in_flight {}", gauges.in_flight);
    header(
        out,
        "rekaz_proxy_credentials_ready",
        "gauge",
        "1 when the credentials are usable, 0 when the last reload or token request failed.",
    );
    let _ = writeln!(
        out,
        "rekaz_proxy_credentials_ready {}",
        u8::from(gauges.ready)
    );
    header(out, "rekaz_proxy_diagnoses_total", "counter", "Failed exchanges by diagnosed cause, including those not logged because of repeat limiting.");
    for (cause, count) in gauges.diagnoses {
        let _ = writeln!(
            out,
            "rekaz_proxy_diagnoses_total{{cause=\"{cause}\"}} {count}"
        );
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|name| *name == method.as_str())
        .unwrap_or(METHODS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(metrics: &Metrics) -> String {
        metrics.render(&Gauges {
            in_flight: 3,
            ready: true,
            diagnoses: &[("credentials_rejected", 2)],
        })
    }

    #[test]
    fn exchanges_counted_by_method_and_status() {
        let metrics = Metrics::new();
        metrics.record(&Method::GET, StatusCode::OK, None);
        metrics.record(&Method::GET, StatusCode::OK, None);
        metrics.record(
            &Method::from_bytes(b"PROPFIND").unwrap(),
            StatusCode::UNAUTHORIZED,
            None,
        );
        let text = render(&metrics);
        assert!(
            text.contains("rekaz_proxy_exchanges_total{method=\"GET\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("rekaz_proxy_exchanges_total{method=\"OTHER\",status=\"401\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("status=\"500\""), "{text}");
    }

    #[test]
    fn latency_histogram_is_cumulative() {
        let metrics = Metrics::new();
        metrics.record(&Method::GET, StatusCode::OK, Some(Duration::from_millis(3)));
        metrics.record(
            &Method::GET,
            StatusCode::OK,
            Some(Duration::from_millis(700)),
        );
        metrics.record(&Method::GET, StatusCode::OK, Some(Duration::from_secs(40)));
        let text = render(&metrics);
        assert!(text.contains("_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("_bucket{le=\"0.5\"} 1\n"), "{text}");
        assert!(text.contains("_bucket{le=\"1\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"30\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(
            text.contains("rekaz_proxy_upstream_latency_seconds_count 3\n"),
            "{text}"
        );
        assert!(
            text.contains("rekaz_proxy_upstream_latency_seconds_sum 40.703\n"),
            "{text}"
        );
    }

    #[test]
    fn gauges_and_causes_rendered() {
        let text = render(&Metrics::new());
        assert!(
            text.contains("rekaz_proxy_upstream_in_flight 3\n"),
            "{text}"
        );
        assert!(text.contains("rekaz_proxy_credentials_ready 1\n"), "{text}");
        assert!(
            text.contains("rekaz_proxy_diagnoses_total{cause=\"credentials_rejected\"} 2\n"),
            "{text}"
        );
    }
}
