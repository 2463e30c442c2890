//! `--abort-on-fail`: during the traffic phase, the thresholds are checked several times a
//! second, and the drive stops at the first that **can no longer pass**, whatever the rest of
//! the requests do. It never stops a drive that would have passed:
//!
//! - counts (`errors`, `skipped`, per endpoint or over all) only grow: `< L` and `<= L` can no
//!   longer pass once they fail, `== L` once the count is past L;
//! - a latency percentile `pQ < L` (or `<=`), `max_latency` being p100: the end's pQ is the
//!   latency of the ⌈Q·N⌉-th fastest of the N requests answered, N at most the P requests this
//!   driver plans for that endpoint (or all). Once more than (1 − Q)·P answers have been slower
//!   than L, fewer than Q·N can be faster at the end, so pQ fails. For p99 that is 1% of the
//!   planned requests answered too slowly; for `max_latency` one. ("Slower" is judged on the
//!   value the report would show for that answer: its histogram bucket, in ms to 2 decimals.)
//! - `>`, `>=`, `!=`, `discrepancies` (known only after the credits are read) and
//!   `achieved_rate` are judged at the end only.
//!
//! An aborted drive sends nothing more (requests queued are dropped, retries stopped), lets the
//! requests in flight finish (each within `--timeout-ms`), and reads no credits: its verdict is
//! "not judged", since a partial drive cannot be compared with the reference pipeline.

use super::latency::Endpoint;
use super::report::{Condition, Op};
use serde::Serialize;

/// Why a drive was aborted.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Aborted {
    /// Seconds from the traffic phase's start.
    pub at_s: f64,
    /// The condition as written.
    pub condition: String,
    /// Its metric's value then (ms for latencies).
    pub actual: f64,
    /// Why it can no longer pass.
    pub why: String,
}

/// The thresholds watched during traffic, with what the driver plans per endpoint.
#[derive(Debug, Clone)]
pub struct Watch {
    pub conditions: Vec<Condition>,
    /// Requests this driver plans per endpoint (`ENDPOINTS` order).
    pub planned: Vec<u64>,
}

/// The quantile a latency metric is, if it is one.
fn quantile(metric: &str) -> Option<f64> {
    match metric {
        "p50_latency" => Some(0.5),
        "p90_latency" => Some(0.9),
        "p99_latency" => Some(0.99),
        "p99_9_latency" => Some(0.999),
        "max_latency" => Some(1.0),
        _ => None,
    }
}

/// Milliseconds to 2 decimals, as the report shows a latency (`latency::Summary`).
fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

impl Watch {
    /// The first condition that can no longer pass given `per` (each endpoint's measurements so
    /// far), with its value now and why; `at_s` is stamped on it.
    pub fn check(&self, per: &[Endpoint], at_s: f64) -> Option<Aborted> {
        self.conditions.iter().find_map(|c| {
            self.verdict(c, per).map(|(actual, why)| Aborted {
                at_s: (at_s * 10.0).round() / 10.0,
                condition: c.text.clone(),
                actual,
                why,
            })
        })
    }

    fn verdict(&self, c: &Condition, per: &[Endpoint]) -> Option<(f64, String)> {
        let chosen: Vec<&Endpoint> = match c.endpoint {
            Some(i) => per.get(i).into_iter().collect(),
            None => per.iter().collect(),
        };
        let planned: u64 = match c.endpoint {
            Some(i) => self.planned.get(i).copied().unwrap_or(0),
            None => self.planned.iter().sum(),
        };
        let count = match c.metric.as_str() {
            "errors" => Some(chosen.iter().map(|e| e.errors + e.timeouts + e.failed).sum::<u64>()),
            "skipped" => Some(chosen.iter().map(|e| e.skipped).sum()),
            _ => None,
        };
        if let Some(n) = count {
            let v = n as f64;
            let lost = match c.op {
                Op::Lt | Op::Le => !c.op.holds(v, c.limit),
                Op::Eq => v > c.limit,
                Op::Gt | Op::Ge | Op::Ne => false,
            };
            return lost.then(|| (v, format!("{} is {n} and only grows", c.metric)));
        }
        let q = quantile(&c.metric)?;
        if !matches!(c.op, Op::Lt | Op::Le) {
            return None;
        }
        // Answers whose latency, as reported, fails the condition.
        let mut slow = 0u64;
        let mut all = Endpoint::new();
        for e in &chosen {
            all.add(e);
        }
        for v in all.hist.iter_recorded() {
            if !c.op.holds(ms(v.value_iterated_to()), c.limit) {
                slow += v.count_at_value();
            }
        }
        let allowed = (1.0 - q) * planned as f64;
        if slow as f64 <= allowed || all.hist.is_empty() {
            return None;
        }
        let now = if q >= 1.0 { all.hist.max() } else { all.hist.value_at_quantile(q) };
        let why = if q >= 1.0 {
            format!("{slow} answers already took longer")
        } else {
            let share = ((1.0 - q) * 1000.0).round() / 10.0;
            format!("{slow} answers already took longer, more than {share}% of the {planned} planned")
        };
        Some((ms(now), why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::report::parse_condition;

    fn watch(conditions: &[&str], planned: u64) -> Watch {
        Watch {
            conditions: conditions.iter().map(|c| parse_condition(c).expect("a condition")).collect(),
            planned: vec![planned; 4],
        }
    }

    fn endpoints(slow_enrollments: u64) -> Vec<Endpoint> {
        let mut per: Vec<Endpoint> = (0..4).map(|_| Endpoint::new()).collect();
        for _ in 0..100 {
            per[0].record(1_000);
        }
        for _ in 0..slow_enrollments {
            per[2].record(35_000);
        }
        per
    }

    #[test]
    fn a_percentile_aborts_only_once_it_cannot_pass_whatever_comes_next() {
        // 1,000 enrollments planned: p99 < 20ms survives 10 slow answers, not 11.
        let w = watch(&["p99_latency{endpoint=enrollments} < 20ms"], 1_000);
        assert_eq!(w.check(&endpoints(10), 1.0), None);
        let a = w.check(&endpoints(11), 2.34).expect("11 slow of 1,000: p99 can no longer pass");
        assert_eq!(a.condition, "p99_latency{endpoint=enrollments} < 20ms");
        assert_eq!(a.at_s, 2.3);
        assert!((a.actual - 35.0).abs() < 0.1, "{}", a.actual);
        assert!(a.why.contains("11 answers"), "{}", a.why);
        // The cards are fast: their own threshold never aborts; nor a `>` one.
        let w = watch(&["p99_latency{endpoint=cards} < 20ms", "p50_latency > 100ms"], 1_000);
        assert_eq!(w.check(&endpoints(1_000), 1.0), None);
        // max_latency: one slow answer is enough.
        let w = watch(&["max_latency < 20ms"], 1_000_000);
        assert!(w.check(&endpoints(1), 1.0).is_some());
    }

    #[test]
    fn counts_abort_once_past_their_limit() {
        let mut per = endpoints(0);
        per[3].timeouts = 2;
        assert!(watch(&["errors < 3"], 10).check(&per, 0.0).is_none());
        assert!(watch(&["errors <= 1"], 10).check(&per, 0.0).is_some());
        assert!(watch(&["errors{endpoint=network_messages} == 1"], 10).check(&per, 0.0).is_some());
        assert!(watch(&["errors{endpoint=cards} == 0"], 10).check(&per, 0.0).is_none());
        assert!(watch(&["errors == 3", "errors > 5", "errors != 2"], 10).check(&per, 0.0).is_none());
        assert!(watch(&["discrepancies == 0", "achieved_rate > 1e9"], 10).check(&per, 0.0).is_none());
    }
}
