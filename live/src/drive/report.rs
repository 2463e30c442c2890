//! The drive's report (`drive.json`, `drive.md`, the summary on stdout) and its thresholds.
//! Unlike a run's report it holds measurements of a real service — latencies vary from run to
//! run; the correctness verdict does not.

use super::abort::Aborted;
use super::latency::{Summary, ENDPOINTS};
use super::oracle::{Discrepancy, Figures, Verdict};
use super::timeline::Row;
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

/// The metrics that take k6's tag `{endpoint=NAME}`, judged on that endpoint alone: latencies,
/// errors (4xx and 5xx answers, timeouts, failed connections) and skipped requests.
/// `discrepancies` (the oracle's, per credit) and `achieved_rate` (the whole drive's) do not.
pub const TAGGED_METRICS: [&str; 7] =
    ["p50_latency", "p90_latency", "p99_latency", "p99_9_latency", "max_latency", "errors", "skipped"];

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Condition {
    pub metric: String,
    /// `{endpoint=NAME}`: the endpoint's index in `ENDPOINTS`; none: over every endpoint.
    pub endpoint: Option<usize>,
    pub op: Op,
    /// In the metric's unit (milliseconds for latencies).
    pub limit: f64,
    pub text: String,
}

/// `metric{endpoint=NAME}` → the metric and the endpoint's index (k6's tag syntax; the only
/// tag is `endpoint`).
fn split_tag(s: &str, metric: &str) -> Result<(String, Option<usize>), String> {
    let Some((name, tags)) = metric.split_once('{') else { return Ok((metric.to_string(), None)) };
    let name = name.trim();
    let Some(tags) = tags.trim().strip_suffix('}') else {
        return Err(format!("`{s}`: a tag is written `{name}{{endpoint=NAME}}`"));
    };
    let Some((key, value)) = tags.split_once('=') else {
        return Err(format!("`{s}`: a tag is written `{name}{{endpoint=NAME}}`"));
    };
    let (key, value) = (key.trim(), value.trim().trim_matches(['"', '\'']));
    if key != "endpoint" {
        return Err(format!("`{s}`: `{key}` is not a tag of drive metrics; the one tag is `endpoint`"));
    }
    if !METRICS.contains(&name) {
        return Err(format!("`{name}` is not a drive metric; known: {}", METRICS.join(", ")));
    }
    if !TAGGED_METRICS.contains(&name) {
        return Err(format!(
            "`{s}`: `{name}` is over the whole drive, not per endpoint; metrics with {{endpoint=...}}: {}",
            TAGGED_METRICS.join(", ")
        ));
    }
    match ENDPOINTS.iter().position(|e| *e == value) {
        Some(i) => Ok((name.to_string(), Some(i))),
        None => Err(format!("`{s}`: `{value}` is not an endpoint; known: {}", ENDPOINTS.join(", "))),
    }
}

/// Parses `p99_latency < 10ms`, `p99_latency{endpoint=enrollments} < 20ms`,
/// `discrepancies == 0`, `achieved_rate >= 5000`.
pub fn parse_condition(s: &str) -> Result<Condition, String> {
    let t = s.trim();
    // A tag's `=` is not an operator: `metric{...}` ends at its `}`.
    let tagged = t.find('{').filter(|&at| !t[..at].contains(['<', '>', '=', '!']));
    let (metric, rest) = match tagged {
        Some(at) => match t[at..].find('}') {
            Some(close) => t.split_at(at + close + 1),
            None => {
                return Err(format!(
                    "`{s}`: the tag is not closed; write e.g. `{}{{endpoint=enrollments}}`",
                    t[..at].trim()
                ))
            }
        },
        None => split_metric(t).ok_or_else(|| {
            format!("`{s}` is not a condition; write e.g. \"p99_latency < 10ms\" or \"discrepancies == 0\"")
        })?,
    };
    let (metric, endpoint) = split_tag(s, metric.trim())?;
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
    Ok(Condition { metric, endpoint, op, limit: limit * scale, text: t.to_string() })
}

impl Condition {
    /// The metric's value in a drive's figures: `all` over every endpoint, `endpoints` each.
    pub fn actual(&self, all: &Summary, endpoints: &[Summary], discrepancies: u64, rate: f64) -> f64 {
        let l = self.endpoint.and_then(|i| endpoints.get(i)).unwrap_or(all);
        match self.metric.as_str() {
            "p50_latency" => l.p50_ms,
            "p90_latency" => l.p90_ms,
            "p99_latency" => l.p99_ms,
            "p99_9_latency" => l.p99_9_ms,
            "max_latency" => l.max_ms,
            "errors" => (l.errors + l.timeouts + l.failed) as f64,
            "skipped" => l.skipped as f64,
            "discrepancies" => discrepancies as f64,
            _ => (rate * 10.0).round() / 10.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Judged {
    pub condition: String,
    pub actual: f64,
    pub passed: bool,
    /// Why it was not judged (the oracle's verdict of an aborted drive); it then counts as not
    /// passed, never as a finding about the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Traffic {
    pub planned: u64,
    pub sent: u64,
    /// Planned but never sent: the traffic phase hit `--max-seconds`.
    pub dropped: u64,
    pub complete: bool,
    pub wall_seconds: f64,
    pub achieved_rate: f64,
}

/// The shape tag at the top of drive.json (and the title of its schema).
pub const SCHEMA: &str = "offersim.drive/1";

/// drive.json.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    /// Whether the credits were read and judged against the reference (not when aborted).
    pub correctness_judged: bool,
    /// Why the drive stopped early (`--abort-on-fail`), if it did.
    pub aborted: Option<Aborted>,
    /// Seconds each timeline row covers (1 unless `--max-seconds` exceeds a day).
    pub timeline_step_s: u64,
    /// The traffic second by second (`timeline`; timeline.csv holds the same rows).
    pub timeline: Vec<Row>,
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
        let rate = if m.wall_seconds > 0.0 { m.sent as f64 / m.wall_seconds } else { 0.0 };
        let thresholds = conditions
            .iter()
            .map(|c| {
                if c.metric == "discrepancies" && !m.judged {
                    let why = "the drive was aborted, and a partial drive cannot be compared with the reference";
                    return Judged {
                        condition: c.text.clone(),
                        actual: 0.0,
                        passed: false,
                        not_judged: Some(why.into()),
                    };
                }
                let actual = c.actual(&m.all, &m.endpoints, m.verdict.discrepancies(), rate);
                Judged { condition: c.text.clone(), actual, passed: c.op.holds(actual, c.limit), not_judged: None }
            })
            .collect();
        DriveReport {
            schema: SCHEMA,
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
            correctness_judged: m.judged,
            aborted: m.aborted,
            timeline_step_s: m.timeline.step,
            timeline: m.timeline.rows,
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

    /// timeline.csv (`timeline::Timeline::csv`).
    pub fn timeline_csv(&self) -> String {
        super::timeline::csv(&self.timeline)
    }

    pub fn user_replay(&self, d: &Discrepancy) -> Option<String> {
        d.user.map(|u| format!("offersim drive {} --target {} --user {u}", self.file, self.target))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let v = &self.correctness;
        let _ = writeln!(s, "# offersim drive: {} against {}\n", self.scenario, self.target);
        if let Some(a) = &self.aborted {
            let unit = if a.condition.contains("_latency") { " ms" } else { "" };
            let _ = writeln!(
                s,
                "**Aborted** at t={} s: `{}` was {}{unit}, and can no longer pass ({}). {} of {} requests were sent before it stopped.\n",
                a.at_s, a.condition, a.actual, a.why, self.traffic.sent, self.traffic.planned
            );
        }
        let verdict = if !self.correctness_judged {
            "**Correctness not judged**: the drive was aborted, and a partial drive cannot be compared with the reference pipeline (no credits were read).".to_string()
        } else if v.discrepancies() == 0 && self.traffic.complete {
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
        if !self.traffic.complete && self.aborted.is_none() {
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
                match (&t.not_judged, t.passed) {
                    (Some(why), _) => _ = writeln!(s, "- not judged: `{}` ({why})", t.condition),
                    (None, true) => _ = writeln!(s, "- pass: `{}` (actual {})", t.condition, t.actual),
                    (None, false) => _ = writeln!(s, "- FAIL: `{}` (actual {})", t.condition, t.actual),
                }
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

    #[test]
    fn a_tag_names_one_endpoint_as_k6_writes_it() {
        let c = parse_condition("p99_latency{endpoint=enrollments} < 20ms").unwrap();
        assert_eq!((c.metric.as_str(), c.endpoint, c.op, c.limit), ("p99_latency", Some(2), Op::Lt, 20.0));
        assert_eq!(c.text, "p99_latency{endpoint=enrollments} < 20ms", "shown as written");
        let c = parse_condition(" errors{ endpoint = \"network_messages\" }<=3 ").unwrap();
        assert_eq!((c.metric.as_str(), c.endpoint, c.op, c.limit), ("errors", Some(3), Op::Le, 3.0));
        assert_eq!(parse_condition("max_latency{endpoint=cards} < 1s").unwrap().limit, 1000.0);
        assert_eq!(parse_condition("skipped{endpoint=card_deletions} == 0").unwrap().endpoint, Some(1));
        // Untagged: every endpoint.
        assert_eq!(parse_condition("p99_latency < 20ms").unwrap().endpoint, None);
    }

    #[test]
    fn a_bad_tag_is_refused_naming_what_is_known() {
        let e = parse_condition("p99_latency{endpoint=payments} < 20ms").unwrap_err();
        assert!(
            e.contains("`payments` is not an endpoint; known: cards, card_deletions, enrollments, network_messages"),
            "{e}"
        );
        let e = parse_condition("p99_latency{method=POST} < 20ms").unwrap_err();
        assert!(e.contains("`method` is not a tag") && e.contains("`endpoint`"), "{e}");
        let e = parse_condition("discrepancies{endpoint=cards} == 0").unwrap_err();
        assert!(e.contains("not per endpoint") && e.contains("p99_latency, "), "{e}");
        let e = parse_condition("achieved_rate{endpoint=cards} > 5").unwrap_err();
        assert!(e.contains("not per endpoint"), "{e}");
        assert!(parse_condition("p99_latency{endpoint=cards < 20ms").unwrap_err().contains("not closed"));
        assert!(parse_condition("p99_latency{endpoint} < 20ms").unwrap_err().contains("{endpoint=NAME}"));
        assert!(parse_condition("p99_latency{endpoint=cards}").unwrap_err().contains("operator"));
        assert!(parse_condition("p99{endpoint=cards} < 1ms").unwrap_err().contains("not a drive metric"));
    }

    #[test]
    fn a_tagged_threshold_is_judged_on_its_endpoint_alone() {
        let mut slow = Summary::of("enrollments", &super::super::latency::Endpoint::new());
        slow.p99_ms = 35.0;
        let fast = Summary { endpoint: "cards".into(), p99_ms: 2.0, ..slow.clone() };
        let all = Summary { endpoint: "all".into(), p99_ms: 30.0, ..slow.clone() };
        let per = [fast.clone(), fast.clone(), slow, fast];
        let actual = |c: &str| parse_condition(c).unwrap().actual(&all, &per, 0, 0.0);
        assert_eq!(actual("p99_latency{endpoint=enrollments} < 20ms"), 35.0);
        assert_eq!(actual("p99_latency{endpoint=cards} < 20ms"), 2.0);
        assert_eq!(actual("p99_latency < 20ms"), 30.0);
    }
}
