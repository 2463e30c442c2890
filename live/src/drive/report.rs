//! The drive's report (`drive.json`, `drive.md`, the summary on stdout) and its thresholds.
//! Unlike a run's report it holds measurements of a real service — latencies vary from run to
//! run; the correctness verdict does not.

use super::latency::Summary;
use super::oracle::{Discrepancy, Figures, Verdict};
use super::Measured;
pub use offersim_sim::core::condition::Op;
use offersim_sim::core::condition::{split_metric, split_op};
use serde::Serialize;
use std::fmt::Write as _;

/// Metrics a drive threshold can name: latencies over every endpoint in milliseconds (a unit
/// `us`, `ms` or `s` may follow the limit), counts, and the achieved rate in requests/s.
pub const METRICS: [&str; 9] = [
    "p50_latency",
    "p90_latency",
    "p99_latency",
    "p99_9_latency",
    "max_latency",
    "errors",
    "skipped",
    "discrepancies",
    "achieved_rate",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub metric: String,
    pub op: Op,
    /// In the metric's unit (milliseconds for latencies).
    pub limit: f64,
    pub text: String,
}

/// Parses `p99_latency < 10ms`, `discrepancies == 0`, `achieved_rate >= 5000`.
pub fn parse_condition(s: &str) -> Result<Condition, String> {
    let t = s.trim();
    let (metric, rest) = split_metric(t).ok_or_else(|| {
        format!("`{s}` is not a condition; write e.g. \"p99_latency < 10ms\" or \"discrepancies == 0\"")
    })?;
    let metric = metric.to_string();
    if !METRICS.contains(&metric.as_str()) {
        return Err(format!("`{metric}` is not a drive metric; known: {}", METRICS.join(", ")));
    }
    let (op, value) = split_op(rest).ok_or_else(|| format!("`{s}`: the operator must be one of < <= > >= == !="))?;
    let latency = metric.ends_with("_latency");
    let (number, scale) = if !latency {
        (value, 1.0)
    } else if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    let limit: f64 =
        number.trim().replace('_', "").parse().map_err(|_| {
            format!("`{s}`: `{value}` is not a number{}", if latency { " (with us, ms or s)" } else { "" })
        })?;
    Ok(Condition { metric, op, limit: limit * scale, text: t.to_string() })
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Judged {
    pub condition: String,
    pub actual: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub planned: u64,
    pub sent: u64,
    /// Planned but never sent: the traffic phase hit `--max-seconds`.
    pub dropped: u64,
    pub complete: bool,
    pub wall_seconds: f64,
    pub achieved_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriveReport {
    pub schema: &'static str,
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub target: String,
    pub pace: String,
    pub connections: usize,
    pub merchants: usize,
    pub offers: usize,
    pub traffic: Traffic,
    pub latency: Vec<Summary>,
    pub all: Summary,
    pub correctness: Verdict,
    pub thresholds: Vec<Judged>,
    /// The command that repeats this drive.
    pub replay: String,
}

impl DriveReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        m: Measured,
        scenario: &str,
        file: &str,
        seed: u64,
        target: &str,
        pace: String,
        connections: usize,
        replay: String,
        conditions: &[Condition],
    ) -> DriveReport {
        let errors = m.all.errors + m.all.timeouts + m.all.failed;
        let rate = if m.wall_seconds > 0.0 { m.sent as f64 / m.wall_seconds } else { 0.0 };
        let thresholds = conditions
            .iter()
            .map(|c| {
                let actual = match c.metric.as_str() {
                    "p50_latency" => m.all.p50_ms,
                    "p90_latency" => m.all.p90_ms,
                    "p99_latency" => m.all.p99_ms,
                    "p99_9_latency" => m.all.p99_9_ms,
                    "max_latency" => m.all.max_ms,
                    "errors" => errors as f64,
                    "skipped" => m.all.skipped as f64,
                    "discrepancies" => m.verdict.discrepancies() as f64,
                    _ => (rate * 10.0).round() / 10.0,
                };
                Judged { condition: c.text.clone(), actual, passed: c.op.holds(actual, c.limit) }
            })
            .collect();
        DriveReport {
            schema: "offersim.drive/1",
            scenario: scenario.to_string(),
            file: file.to_string(),
            seed,
            target: target.to_string(),
            pace,
            connections,
            merchants: m.setup.0,
            offers: m.setup.1,
            traffic: Traffic {
                planned: m.planned,
                sent: m.sent,
                dropped: m.planned - m.sent,
                complete: m.complete,
                wall_seconds: (m.wall_seconds * 1000.0).round() / 1000.0,
                achieved_rate: (rate * 10.0).round() / 10.0,
            },
            latency: m.endpoints,
            all: m.all,
            correctness: m.verdict,
            thresholds,
            replay,
        }
    }

    /// Whether the drive passed: it finished and every threshold held.
    pub fn passed(&self) -> bool {
        self.traffic.complete && self.thresholds.iter().all(|t| t.passed)
    }

    fn figures(f: &Option<Figures>) -> String {
        match f {
            None => "—".into(),
            Some(f) => {
                let times = if f.times > 1 { format!(" ×{}", f.times) } else { String::new() };
                format!("{} (fee {}, reversed {}){times}", f.reward, f.fee, f.reversed)
            }
        }
    }

    pub fn user_replay(&self, d: &Discrepancy) -> Option<String> {
        d.user.map(|u| format!("offersim drive {} --target {} --user {u}", self.file, self.target))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let v = &self.correctness;
        let _ = writeln!(s, "# offersim drive: {} against {}\n", self.scenario, self.target);
        let verdict = if v.discrepancies() == 0 && self.traffic.complete {
            if v.explained_by_arrival_order == 0 {
                format!("**Correct**: all {} credits match the reference pipeline (seed {}).", v.correct, self.seed)
            } else {
                format!(
                    "**Correct**: {} of {} credits match the reference pipeline (seed {}) exactly; {} differences are explained by arrival order (who got a budget, and how many rewards fit in it, when concurrent requests arrived in another order), none is unexplained.",
                    v.correct, v.expected_credits, self.seed, v.explained_by_arrival_order
                )
            }
        } else {
            let parts = [
                (v.missed, "missed"),
                (v.false_credits, "false"),
                (v.double, "double"),
                (v.wrong_amount, "wrong amount"),
                (v.wrong_reversal, "wrong reversal"),
                (v.unknown, "unknown"),
                (v.budget_overspent, "budget overspent"),
            ];
            let list: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, k)| format!("{n} {k}")).collect();
            format!(
                "**WRONG**: {} discrepancies against the reference pipeline (seed {}): {}; {} credits correct, {} explained by arrival order.",
                v.discrepancies(),
                self.seed,
                if list.is_empty() { "none".to_string() } else { list.join(", ") },
                v.correct,
                v.explained_by_arrival_order
            )
        };
        let _ = writeln!(s, "{verdict}\n");
        if !self.traffic.complete {
            let _ = writeln!(
                s,
                "**Incomplete**: {} of {} requests sent before the time limit ({} dropped); the comparison includes traffic never sent.\n",
                self.traffic.sent, self.traffic.planned, self.traffic.dropped
            );
        }
        let _ = writeln!(
            s,
            "{} requests in {:.2} s ({:.0}/s; pace: {}; {} connections); {} merchants and {} offers registered.\n",
            self.traffic.sent,
            self.traffic.wall_seconds,
            self.traffic.achieved_rate,
            self.pace,
            self.connections,
            self.merchants,
            self.offers
        );
        let _ = writeln!(s, "## Latency (from the scheduled send time, ms)\n");
        let _ = writeln!(
            s,
            "| endpoint | requests | p50 | p90 | p99 | p99.9 | max | errors | timeouts | failed | retries | skipped |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for l in self.latency.iter().chain(std::iter::once(&self.all)) {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
                l.endpoint,
                l.requests,
                l.p50_ms,
                l.p90_ms,
                l.p99_ms,
                l.p99_9_ms,
                l.max_ms,
                l.errors,
                l.timeouts,
                l.failed,
                l.retries,
                l.skipped
            );
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(s, "\n## Thresholds\n");
            for t in &self.thresholds {
                let mark = if t.passed { "pass" } else { "FAIL" };
                let _ = writeln!(s, "- {mark}: `{}` (actual {})", t.condition, t.actual);
            }
        }
        if !v.examples.is_empty() {
            let _ = writeln!(s, "\n## Discrepancies (first {} of each kind)\n", super::oracle::EXAMPLES);
            let _ =
                writeln!(s, "| kind | transaction | offer | expected | target | replay (against a fresh service) |");
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            for d in &v.examples {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    d.kind.name(),
                    d.transaction,
                    d.offer,
                    Self::figures(&d.expected),
                    Self::figures(&d.got),
                    self.user_replay(d).map(|c| format!("`{c}`")).unwrap_or_default()
                );
            }
        }
        let _ = writeln!(s, "\nReplay: `{}`", self.replay);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_with_units_and_refuse_unknown_metrics() {
        let c = parse_condition("p99_latency < 10ms").unwrap();
        assert_eq!((c.metric.as_str(), c.op, c.limit), ("p99_latency", Op::Lt, 10.0));
        assert_eq!(parse_condition("max_latency<=2s").unwrap().limit, 2000.0);
        assert_eq!(parse_condition("p50_latency < 500us").unwrap().limit, 0.5);
        assert_eq!(parse_condition("discrepancies == 0").unwrap().op, Op::Eq);
        assert!(parse_condition("p99 < 10ms").unwrap_err().contains("p99_latency"));
        assert!(parse_condition("errors ~ 3").is_err());
        assert!(parse_condition("errors < many").unwrap_err().contains("not a number"));
    }
}
