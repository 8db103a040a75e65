//! Prometheus metrics, served at `/admin/metrics/prometheus`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("kratos".into()), None).unwrap_or_else(|_| Registry::new());
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by API, route, method and status code.",
            ),
            &["api", "route", "method", "code"],
        );
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by API and route.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["api", "route"],
        );
        // The metric definitions above are static and valid; registration cannot fail for them.
        let (requests, duration) = match (requests, duration) {
            (Ok(r), Ok(d)) => (r, d),
            _ => unreachable_metrics(),
        };
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(duration.clone()));
        Metrics {
            registry,
            requests,
            duration,
        }
    }

    pub fn observe(&self, api: &str, route: &str, method: &str, code: u16, seconds: f64) {
        self.requests
            .with_label_values(&[api, route, method, &code.to_string()])
            .inc();
        self.duration
            .with_label_values(&[api, route])
            .observe(seconds);
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[allow(clippy::panic)]
fn unreachable_metrics() -> ! {
    panic!("static metric definitions are invalid")
}
