//! Latency per endpoint, from each request's **scheduled** send time to its answer (so time
//! spent waiting behind a slow answer counts: no coordinated omission), in an HdrHistogram
//! (microseconds, 3 significant digits); and what went wrong.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The endpoints under load, in report order.
pub const ENDPOINTS: [&str; 4] = ["cards", "card_deletions", "enrollments", "network_messages"];

pub struct Endpoint {
    pub hist: Histogram<u64>,
    /// Answered with a 4xx (never retried) or a 5xx after the last retry.
    pub errors: u64,
    pub timeouts: u64,
    /// No answer at all (connection refused or reset after the last retry).
    pub failed: u64,
    pub retries: u64,
    /// Skipped: it depended on a request that failed (an enrollment on a card never linked).
    pub skipped: u64,
    /// Not sent: queued when the time limit passed.
    pub dropped: u64,
}

impl Endpoint {
    pub fn new() -> Endpoint {
        // 1 µs to 1 hour.
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        Endpoint { hist, errors: 0, timeouts: 0, failed: 0, retries: 0, skipped: 0, dropped: 0 }
    }
    pub fn add(&mut self, o: &Endpoint) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.hist.add(&o.hist);
        self.errors += o.errors;
        self.timeouts += o.timeouts;
        self.failed += o.failed;
        self.retries += o.retries;
        self.skipped += o.skipped;
        self.dropped += o.dropped;
    }
    pub fn record(&mut self, micros: u64) {
        self.hist.saturating_record(micros.max(1));
    }
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint::new()
    }
}

/// One endpoint's line of the report; latencies in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Summary {
    pub endpoint: String,
    pub requests: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub failed: u64,
    pub retries: u64,
    pub skipped: u64,
    pub dropped: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p99_9_ms: f64,
    pub max_ms: f64,
}

fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

impl Summary {
    pub fn of(name: &str, e: &Endpoint) -> Summary {
        let h = &e.hist;
        let q = |p: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(p)) };
        Summary {
            endpoint: name.to_string(),
            requests: h.len(),
            errors: e.errors,
            timeouts: e.timeouts,
            failed: e.failed,
            retries: e.retries,
            skipped: e.skipped,
            dropped: e.dropped,
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            p99_9_ms: q(0.999),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut e = Endpoint::new();
        for us in 1..=1_000u64 {
            e.record(us * 10); // 10 µs .. 10 ms
        }
        let s = Summary::of("x", &e);
        assert_eq!(s.requests, 1_000);
        assert!((s.p50_ms - 5.0).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.p99_ms - 9.9).abs() < 0.01, "{}", s.p99_ms);
        assert!((s.max_ms - 10.0).abs() < 0.01, "{}", s.max_ms);
    }
}
