//! An outside auditor of offersim's event log (`offersim run --events`): reads the log once, as
//! a stream, and checks what anyone can check from it and the scenario's terms alone, without
//! the engine — every message of every purchase on a linked card accounted for, every reward
//! granted on a clearing of an enrolled, linked card, every confirm and statement credit at its
//! time and for what is left, every clawback caused by a refund or reversal, and the books they
//! add up to. It is written from `reports/README.md` ("Event log") and `scenarios/README.md`,
//! and shares no code with the engine's matching or its ground truth (it does not depend on
//! `offersim-sim` at all): a third opinion.
//!
//! Memory grows with what is still open — cards, enrollments, rewards, and purchases made once
//! the person had linked a card — never with the log's length; each has a limit (`Limits`).

mod books;
mod feed;
mod line;

use books::Books;
use feed::Feed;
use std::collections::BTreeMap;
use std::io::BufRead;

pub use books::Ledger;
pub use line::dollars;

/// What the scenario says that the log does not: its offers, merchants, end and shards.
#[derive(Debug, Clone)]
pub struct Terms {
    pub offers: Vec<OfferTerms>,
    /// Every merchant id of the scenario.
    pub merchants: Vec<String>,
    /// The end of the run, in seconds since the start (nothing is delivered at or after it).
    pub horizon_t: u64,
    pub shards: u32,
}

#[derive(Debug, Clone)]
pub struct OfferTerms {
    pub id: String,
    pub merchant: String,
    pub return_period_secs: u64,
    pub payout_delay_secs: u64,
}

/// Bounds on what the audit holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line read (a longer one is malformed input, not a violation).
    pub max_line_bytes: usize,
    /// Most entries held at once in each table: purchases, rewards, cards, enrollments.
    pub max_entries: usize,
    /// Violations described in full (the rest are counted).
    pub keep_violations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: 64 * 1024, max_entries: 50_000_000, keep_violations: 20 }
    }
}

/// One way the log breaks a rule, at the line that shows it (0: found at the end of the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub line: u64,
    pub check: &'static str,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "at the end [{}]: {}", self.check, self.message),
            n => write!(f, "line {n} [{}]: {}", self.check, self.message),
        }
    }
}

/// What the audit found: the first violations, how many of each check, what it counted.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub lines: u64,
    pub purchases: u64,
    pub messages: u64,
    pub rewards: u64,
    pub violations: Vec<Violation>,
    pub by_check: BTreeMap<&'static str, u64>,
    /// The books from the log: balances by account at the end.
    pub ledger: Ledger,
}

impl Findings {
    pub fn passed(&self) -> bool {
        self.by_check.is_empty()
    }
    pub fn violation_count(&self) -> u64 {
        self.by_check.values().sum()
    }
}

/// Why the log could not be audited (as opposed to what is wrong in it).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read line {line}: {source}")]
    Read { line: u64, source: std::io::Error },
    #[error("line {line}, column {column}: {message}")]
    Malformed { line: u64, column: usize, message: String },
    #[error("line {line} is longer than {limit} bytes: not an offersim event log")]
    TooLong { line: u64, limit: usize },
    #[error("line {line}: more than {limit} {what} held at once (the limit keeps the audit's memory bounded)")]
    TooMany { line: u64, what: &'static str, limit: usize },
}

/// Why a line could not be taken.
pub(crate) enum LineError {
    Malformed(String),
    TooMany(&'static str),
}

impl From<line::Malformed> for LineError {
    fn from(m: line::Malformed) -> Self {
        LineError::Malformed(m.0)
    }
}

/// Collects violations: the first `keep` in full, all counted by check.
pub(crate) struct Sink {
    keep: usize,
    line: u64,
    found: Vec<Violation>,
    by_check: BTreeMap<&'static str, u64>,
}

impl Sink {
    pub(crate) fn flag(&mut self, check: &'static str, message: impl FnOnce() -> String) {
        *self.by_check.entry(check).or_default() += 1;
        if self.found.len() < self.keep {
            self.found.push(Violation { line: self.line, check, message: message() });
        }
    }
}

/// Audits the log read from `input` against the scenario's `terms`.
pub fn audit(input: impl BufRead, terms: &Terms, limits: Limits) -> Result<Findings, AuditError> {
    let mut sink = Sink { keep: limits.keep_violations, line: 0, found: Vec::new(), by_check: BTreeMap::new() };
    let mut feed = Feed::new(terms, limits.max_entries);
    let mut books = Books::new(terms, limits.max_entries);
    let mut order = Order::default();
    let mut buf = Vec::new();
    let mut input = input;
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = std::io::Read::take(input.by_ref(), limits.max_line_bytes as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|source| AuditError::Read { line: n + 1, source })?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.len() > limits.max_line_bytes && buf.last() != Some(&b'\n') {
            return Err(AuditError::TooLong { line: n, limit: limits.max_line_bytes });
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let l: line::Line = serde_json::from_slice(text).map_err(|e| AuditError::Malformed {
            line: n,
            column: e.column(),
            message: e.to_string().split(" at line").next().unwrap_or_default().to_string(),
        })?;
        sink.line = n;
        order.check(&l, terms, &mut sink);
        if order.new_group {
            books.new_group();
        }
        let took = match l.kind.as_ref() {
            "match" | "confirm" | "credit" | "clawback" | "declined" => books.line(&l, &feed, &mut sink),
            _ => feed.line(&l, &books, &mut sink).map(|m| books.message(m)),
        };
        took.map_err(|e| match e {
            LineError::Malformed(message) => AuditError::Malformed { line: n, column: 1, message },
            LineError::TooMany(what) => AuditError::TooMany { line: n, what, limit: limits.max_entries },
        })?;
    }
    sink.line = 0;
    feed.finish(&mut sink);
    books.finish(terms, &mut sink);
    Ok(Findings {
        lines: n,
        purchases: feed.purchases,
        messages: feed.messages,
        rewards: books.rewards(),
        violations: sink.found,
        by_check: sink.by_check,
        ledger: books.ledger(),
    })
}

/// The log's order: `seq` never goes back, shards come one after another, and within a shard
/// time never goes back; every line is within the run.
#[derive(Default)]
struct Order {
    last: Option<(u64, u32, u64)>,
    /// Whether the line starts a new `seq` (one engine event: a delivery or a timer and what
    /// was decided on it).
    new_group: bool,
}

impl Order {
    fn check(&mut self, l: &line::Line, terms: &Terms, sink: &mut Sink) {
        if l.shard >= terms.shards {
            sink.flag("order", || format!("shard {} of a scenario with {} shards", l.shard, terms.shards));
        }
        if l.t >= terms.horizon_t {
            sink.flag("order", || format!("t = {} is at or after the end of the run ({})", l.t, terms.horizon_t));
        }
        self.new_group = true;
        if let Some((seq, shard, t)) = self.last {
            self.new_group = l.seq != seq;
            if l.seq < seq {
                sink.flag("order", || format!("seq {} after seq {seq}", l.seq));
            }
            if l.shard < shard {
                sink.flag("order", || format!("shard {} after shard {shard}", l.shard));
            } else if l.shard == shard && l.t < t {
                sink.flag("order", || format!("t = {} after t = {t} in shard {shard}", l.t));
            }
        }
        self.last = Some((l.seq, l.shard, l.t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        let offer = OfferTerms { id: "o".into(), merchant: "m".into(), return_period_secs: 0, payout_delay_secs: 0 };
        Terms { offers: vec![offer], merchants: vec!["m".into()], horizon_t: 1_000, shards: 2 }
    }

    fn line(seq: u64, t: u64, shard: u32, rest: &str) -> String {
        format!("{{\"seq\":{seq},\"t\":{t},\"at\":\"-\",\"shard\":{shard},{rest}}}\n")
    }

    #[test]
    fn time_going_back_within_a_shard_or_past_the_end_is_an_order_violation() {
        let click = "\"type\":\"click\",\"user\":1,\"offer\":\"o\"";
        let log =
            [line(0, 10, 0, click), line(1, 5, 0, click), line(2, 1, 1, click), line(3, 1_000, 1, click)].concat();
        let f = audit(log.as_bytes(), &terms(), Limits::default()).unwrap();
        let lines: Vec<(u64, &str)> = f.violations.iter().map(|v| (v.line, v.check)).collect();
        // Shard 1 may start earlier than shard 0 ended; t = 1000 is the end of the run.
        assert_eq!(lines, [(2, "order"), (4, "order")], "{:?}", f.violations);
    }

    #[test]
    fn a_line_too_long_and_a_table_too_full_are_errors_not_violations() {
        let click = line(0, 0, 0, "\"type\":\"click\",\"user\":1,\"offer\":\"o\"");
        let short = Limits { max_line_bytes: 20, ..Limits::default() };
        assert!(matches!(audit(click.as_bytes(), &terms(), short), Err(AuditError::TooLong { line: 1, .. })));
        let card = |n: u64, tok: &str| {
            line(
                n,
                0,
                0,
                &format!("\"type\":\"card_added\",\"user\":1,\"card\":\"{tok}\",\"physical_card\":\"pc_1_0\""),
            )
        };
        let log = [card(0, "tok_aaaaaaaaaaaaab"), card(1, "tok_aaaaaaaaaaaaac")].concat();
        let one = Limits { max_entries: 1, ..Limits::default() };
        match audit(log.as_bytes(), &terms(), one) {
            Err(e @ AuditError::TooMany { line: 2, what: "cards", .. }) => {
                assert!(e.to_string().contains("more than 1 cards held at once"))
            }
            other => panic!("{other:?}"),
        }
    }
}
