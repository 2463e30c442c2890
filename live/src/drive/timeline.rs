//! The drive's timeline: what happened in each second of the traffic phase, for a load test you
//! can watch (timeline.csv, drive.json's `timeline`, drive.html's charts).
//!
//! A row covers `step` seconds from the traffic phase's start (`t` is its first second): 1 s for
//! drives of up to a day (`--max-seconds` ≤ 86,400), wider beyond, so the traffic takes at most
//! 86,400 rows; [`MAX_ROWS`] leaves an hour past that for the last answers, and anything later
//! still is counted in the last row. In each row:
//!
//! - `scheduled`: the requests the pace sends in the row (the pace, to overlay on the rest);
//! - `sent`: requests whose first attempt went out in the row and that were not dropped (their
//!   sum is the drive's `sent` less its `skipped`, which it counts but never go out);
//! - `completed`, `errors` (split into `errors_4xx`, `errors_5xx`, `timeouts` and
//!   `errors_other`: connections refused or reset, oversize or unreadable answers) and `retries`
//!   of the requests answered in the row (their sums are the drive's totals);
//! - `in_flight_max`: the most requests sent and not yet answered at any moment of the row;
//! - per endpoint, the requests answered in the row, their errors, and the p50 and p99 of their
//!   latency (from an HdrHistogram of 2 significant digits per row: within 1%; none when nothing
//!   was answered).
//!
//! Memory: one open row's histograms (4 × 27 KB) and a few numbers per closed row. A part
//! (`--part K/N`) also keeps each row's histograms as their (value, count) pairs, so that
//! `--collect` merges rows second by second exactly (counts added, histograms added).

use super::latency::ENDPOINTS;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The most rows a timeline holds: a day of seconds and an hour for the last answers.
pub const MAX_ROWS: usize = 86_400 + 3_600;

/// Seconds a row covers for a traffic phase of at most `max`: 1 for a day or less.
pub fn step_for(max: Duration) -> u64 {
    max.as_secs().div_ceil(86_400).max(1)
}

/// What an answered request came to, for the row's error columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Http4xx,
    /// A 5xx (after the last retry), or any other status that is not a success.
    Http5xx,
    Timeout,
    /// No answer (refused, reset), or an answer too large or unreadable.
    Other,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointRow {
    pub endpoint: String,
    pub completed: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Row {
    /// Seconds from the traffic phase's start to the row's start.
    pub t: u64,
    pub scheduled: u64,
    pub sent: u64,
    pub completed: u64,
    pub errors: u64,
    pub errors_4xx: u64,
    pub errors_5xx: u64,
    pub timeouts: u64,
    pub errors_other: u64,
    pub retries: u64,
    pub in_flight_max: u64,
    /// In `ENDPOINTS` order.
    pub endpoints: Vec<EndpointRow>,
}

impl Row {
    fn empty(index: usize, step: u64, scheduled: u64) -> Row {
        Row {
            t: index as u64 * step,
            scheduled,
            endpoints: ENDPOINTS
                .iter()
                .map(|e| EndpointRow { endpoint: e.to_string(), ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }
}

/// A row's latencies per endpoint, as (µs, count) pairs of its histograms (parts only).
pub type RowLatency = Vec<Vec<(u64, u64)>>;

/// A finished timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Seconds per row.
    pub step: u64,
    pub rows: Vec<Row>,
    /// Per row, when kept (a part's): its histograms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_us: Vec<RowLatency>,
}

fn row_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 2 significant digits: 27 KB.
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid histogram bounds")
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Fills `row`'s percentiles from its histograms.
fn percentiles(row: &mut Row, hists: &[Histogram<u64>]) {
    for (e, h) in row.endpoints.iter_mut().zip(hists) {
        (e.p50_ms, e.p99_ms) = if h.is_empty() {
            (None, None)
        } else {
            (Some(ms(h.value_at_quantile(0.5))), Some(ms(h.value_at_quantile(0.99))))
        };
    }
}

/// Records the timeline as the traffic happens (under the drive's statistics lock).
pub struct Recorder {
    start: Instant,
    step: u64,
    /// The requests the pace schedules in each row.
    scheduled: Vec<u64>,
    /// Closed rows, then the open one (last).
    rows: Vec<Row>,
    /// The open row's histograms, per endpoint.
    hists: Vec<Histogram<u64>>,
    /// Closed rows' histograms, when kept.
    kept: Option<Vec<RowLatency>>,
    in_flight: u64,
}

impl Recorder {
    /// `due`: when each request of this driver is due after the start; `keep`: keep every
    /// row's histograms (a part's, for `--collect`).
    pub fn new(start: Instant, step: u64, due: impl Iterator<Item = Duration>, keep: bool) -> Recorder {
        let step = step.max(1);
        let mut scheduled: Vec<u64> = Vec::new();
        for d in due {
            let i = ((d.as_secs() / step) as usize).min(MAX_ROWS - 1);
            if scheduled.len() <= i {
                scheduled.resize(i + 1, 0);
            }
            scheduled[i] += 1;
        }
        let first = Row::empty(0, step, scheduled.first().copied().unwrap_or(0));
        Recorder {
            start,
            step,
            scheduled,
            rows: vec![first],
            hists: ENDPOINTS.iter().map(|_| row_histogram()).collect(),
            kept: keep.then(Vec::new),
            in_flight: 0,
        }
    }

    fn index(&self, at: Instant) -> usize {
        ((at.saturating_duration_since(self.start).as_secs() / self.step) as usize).min(MAX_ROWS - 1)
    }

    fn close_open(&mut self) {
        let Some(row) = self.rows.last_mut() else { return };
        percentiles(row, &self.hists);
        if let Some(kept) = &mut self.kept {
            kept.push(
                self.hists
                    .iter()
                    .map(|h| h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect())
                    .collect(),
            );
        }
        for h in &mut self.hists {
            h.reset();
        }
    }

    /// Closes the rows before the one `now` is in (empty seconds get their rows).
    pub fn advance(&mut self, now: Instant) {
        let at = self.index(now);
        while self.rows.len() <= at {
            self.close_open();
            let i = self.rows.len();
            let due = self.scheduled.get(i).copied().unwrap_or(0);
            let mut row = Row::empty(i, self.step, due);
            row.in_flight_max = self.in_flight;
            self.rows.push(row);
        }
    }

    fn open(&mut self) -> &mut Row {
        self.rows.last_mut().expect("a recorder always has an open row")
    }

    /// A request's first attempt goes out now.
    pub fn sent(&mut self, now: Instant) {
        self.advance(now);
        self.in_flight += 1;
        let n = self.in_flight;
        let row = self.open();
        row.in_flight_max = row.in_flight_max.max(n);
    }

    /// A request sent at `sent_at` was not sent after all (dropped at the time limit or abort).
    pub fn dropped(&mut self, now: Instant) {
        self.advance(now);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A request of `endpoint`, first sent at `sent_at`, was answered now after `micros`.
    pub fn answered(
        &mut self,
        now: Instant,
        sent_at: Instant,
        endpoint: usize,
        micros: u64,
        outcome: Outcome,
        retries: u64,
    ) {
        self.advance(now);
        self.in_flight = self.in_flight.saturating_sub(1);
        let sent_in = self.index(sent_at).min(self.rows.len() - 1);
        self.rows[sent_in].sent += 1;
        if let Some(h) = self.hists.get_mut(endpoint) {
            h.saturating_record(micros.max(1));
        }
        let row = self.open();
        row.completed += 1;
        row.retries += retries;
        let failed = outcome != Outcome::Ok;
        if let Some(e) = row.endpoints.get_mut(endpoint) {
            e.completed += 1;
            e.errors += failed as u64;
        }
        row.errors += failed as u64;
        match outcome {
            Outcome::Ok => {}
            Outcome::Http4xx => row.errors_4xx += 1,
            Outcome::Http5xx => row.errors_5xx += 1,
            Outcome::Timeout => row.timeouts += 1,
            Outcome::Other => row.errors_other += 1,
        }
    }

    /// The timeline up to `end` (the traffic phase's end).
    pub fn finish(mut self, end: Instant) -> Timeline {
        self.advance(end);
        self.close_open();
        Timeline { step: self.step, rows: self.rows, latency_us: self.kept.unwrap_or_default() }
    }
}

impl Timeline {
    /// The timelines of several parts added up row by row (each part's rows counted from its own
    /// start): counts added, `in_flight_max` the sum of the parts' (an upper bound of the whole's),
    /// percentiles from the rows' histograms added up. Without a part's histograms (none kept),
    /// its answers count but do not weigh in the percentiles.
    pub fn merge(parts: &[&Timeline]) -> Result<Timeline, String> {
        let parts: Vec<&Timeline> = parts.iter().copied().filter(|p| !p.rows.is_empty()).collect();
        let step = parts.first().map_or(1, |p| p.step.max(1));
        if let Some(p) = parts.iter().find(|p| p.step != step) {
            return Err(format!("timelines of {step} s and {} s rows cannot be merged", p.step));
        }
        let len = parts.iter().map(|p| p.rows.len()).max().unwrap_or(0).min(MAX_ROWS);
        let mut out = Timeline { step, rows: Vec::with_capacity(len), latency_us: Vec::new() };
        let mut hists: Vec<Histogram<u64>> = ENDPOINTS.iter().map(|_| row_histogram()).collect();
        for i in 0..len {
            let mut row = Row::empty(i, step, 0);
            for h in &mut hists {
                h.reset();
            }
            for p in &parts {
                let Some(r) = p.rows.get(i) else { continue };
                row.scheduled += r.scheduled;
                row.sent += r.sent;
                row.completed += r.completed;
                row.errors += r.errors;
                row.errors_4xx += r.errors_4xx;
                row.errors_5xx += r.errors_5xx;
                row.timeouts += r.timeouts;
                row.errors_other += r.errors_other;
                row.retries += r.retries;
                row.in_flight_max += r.in_flight_max;
                for (sum, e) in row.endpoints.iter_mut().zip(&r.endpoints) {
                    sum.completed += e.completed;
                    sum.errors += e.errors;
                }
                for (h, pairs) in hists.iter_mut().zip(p.latency_us.get(i).into_iter().flatten()) {
                    for &(v, n) in pairs {
                        h.record_n(v, n).map_err(|e| format!("row {i}: latency {v} µs × {n}: {e:?}"))?;
                    }
                }
            }
            percentiles(&mut row, &hists);
            out.rows.push(row);
        }
        Ok(out)
    }

    pub fn csv(&self) -> String {
        csv(&self.rows)
    }
}

/// timeline.csv: a header, then a row per step, columns in a fixed order; latencies in ms with 3
/// decimals, empty when nothing of that endpoint was answered in the row.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "t,scheduled,sent,completed,errors,errors_4xx,errors_5xx,timeouts,errors_other,retries,in_flight_max",
    );
    for e in ENDPOINTS {
        let _ = write!(s, ",{e}_completed,{e}_errors,{e}_p50_ms,{e}_p99_ms");
    }
    s.push('\n');
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    for r in rows {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.t,
            r.scheduled,
            r.sent,
            r.completed,
            r.errors,
            r.errors_4xx,
            r.errors_5xx,
            r.timeouts,
            r.errors_other,
            r.retries,
            r.in_flight_max
        );
        for e in &r.endpoints {
            let _ = write!(s, ",{},{},{},{}", e.completed, e.errors, opt(e.p50_ms), opt(e.p99_ms));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_land_in_their_second_and_sends_in_the_second_they_went_out() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let due = [0, 100, 900, 1_500, 2_100].map(Duration::from_millis);
        let mut r = Recorder::new(start, 1, due.into_iter(), true);
        r.sent(at(10));
        r.sent(at(20));
        r.answered(at(1_200), at(10), 2, 1_190_000, Outcome::Ok, 0);
        r.answered(at(2_500), at(20), 3, 30_000, Outcome::Http5xx, 2);
        let t = r.finish(at(3_100));
        assert_eq!(t.rows.len(), 4, "seconds 0 to 3");
        assert_eq!(t.rows.iter().map(|r| r.scheduled).collect::<Vec<_>>(), [3, 1, 1, 0]);
        assert_eq!((t.rows[0].sent, t.rows[0].in_flight_max, t.rows[0].completed), (2, 2, 0));
        assert_eq!((t.rows[1].completed, t.rows[1].in_flight_max), (1, 2));
        let p50 = t.rows[1].endpoints[2].p50_ms.expect("an answer in second 1");
        assert!((p50 - 1_190.0).abs() <= 11.9, "within 1%: {p50}");
        assert_eq!((t.rows[2].errors, t.rows[2].errors_5xx, t.rows[2].retries), (1, 1, 2));
        assert_eq!(t.rows[2].endpoints[3].errors, 1);
        assert_eq!(t.rows[3].endpoints[3].p99_ms, None, "nothing answered");
        // Merged with itself: counts double, percentiles stay.
        let m = Timeline::merge(&[&t, &t]).unwrap();
        assert_eq!(m.rows[0].sent, 4);
        assert_eq!(m.rows[1].endpoints[2].p50_ms, t.rows[1].endpoints[2].p50_ms);
        let csv = t.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("t,scheduled,sent,completed,errors,"));
        assert_eq!(lines[0].split(',').count(), lines[2].split(',').count());
        assert!(lines[3].contains(",30.0"), "{}", lines[3]);
    }

    #[test]
    fn rows_are_bounded_and_late_answers_count_in_the_last() {
        let start = Instant::now();
        let mut r = Recorder::new(start, 1, std::iter::empty(), false);
        r.sent(start);
        let late = start + Duration::from_secs(MAX_ROWS as u64 * 3);
        r.answered(late, start, 0, 5, Outcome::Ok, 0);
        let t = r.finish(late);
        assert_eq!(t.rows.len(), MAX_ROWS);
        assert_eq!(t.rows[MAX_ROWS - 1].completed, 1);
        assert_eq!(step_for(Duration::from_secs(3_600)), 1);
        assert_eq!(step_for(Duration::from_secs(86_401)), 2);
    }
}
