//! drive.html: a drive for people, in a browser — one self-contained file (the style of
//! report.html, charts as inline SVG drawn here, no script, nothing fetched). Throughput and
//! latency second by second with the pace overlaid (a dashed line: where a ramp broke the
//! service shows as the answers falling behind it), the thresholds, the latency table and the
//! oracle's verdict.
//!
//! Each series is a `<polyline data-series="NAME">` with one point per timeline row (past
//! `MAX_POINTS` rows, one per group of rows: their mean for counts, their worst for latencies),
//! and a `<title>` naming it; the pace is `data-series="pace"`.

use super::latency::ENDPOINTS;
use super::report::DriveReport;
use super::timeline::Row;
use offersim_reports::html::{escape, page, table};
use std::fmt::Write as _;

/// The most points a series has.
pub const MAX_POINTS: usize = 3_600;

const COLOURS: [&str; 4] = ["#4062bb", "#e0883a", "#1b7f3b", "#b00020"];
const PACE: &str = "#7a7f8f";

/// One line of a chart: its name, colour, dashed or not, and a value per point (none: a gap).
struct Series {
    name: String,
    colour: &'static str,
    dashed: bool,
    values: Vec<Option<f64>>,
}

/// Where a chart draws the pace.
enum PaceAxis {
    /// On the chart's own axis (the chart is in requests/s too).
    Shared,
    /// On an axis of its own at the right.
    Own,
}

/// A chart of lines over the seconds `xs`, the left axis in `unit`, with the pace (requests/s).
fn lines(title: &str, unit: &str, xs: &[f64], series: &[Series], pace: &Series, axis: PaceAxis) -> String {
    let (w, h, left, right, top, bottom) = (1040.0, 260.0, 70.0, 70.0, 14.0, 40.0);
    let max_of =
        |s: &[&Series]| s.iter().flat_map(|s| s.values.iter().flatten()).copied().fold(0.0, f64::max).max(1e-9) * 1.05;
    let mut all: Vec<&Series> = series.iter().collect();
    let pace_max = match axis {
        PaceAxis::Own => Some(max_of(&[pace])),
        PaceAxis::Shared => {
            all.push(pace);
            None
        }
    };
    let y_max = max_of(&all);
    let x_max = xs.last().copied().unwrap_or(0.0).max(1.0);
    let x = |v: f64| left + (w - left - right) * v / x_max;
    let y = |v: f64, max: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg role="img" aria-label="{t}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        t = escape(title)
    );
    for k in 0..=4 {
        let v = y_max * k as f64 / 4.0;
        let yy = y(v, y_max);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{} {}</text>"#,
            w - right,
            left - 4.0,
            yy + 4.0,
            short(v),
            escape(unit)
        );
        if let Some(pm) = pace_max {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}">{}/s</text>"#,
                w - right + 4.0,
                yy + 4.0,
                short(pm * k as f64 / 4.0)
            );
        }
    }
    for k in 0..=5 {
        let v = x_max * k as f64 / 5.0;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} s</text>"#,
            x(v),
            h - bottom + 16.0,
            short(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the traffic started</text>"#,
        (left + w - right) / 2.0,
        h - 4.0
    );
    let draw = |s: &mut String, line: &Series, max: f64, class: &str| {
        let pts: Vec<String> = xs
            .iter()
            .zip(&line.values)
            .filter_map(|(px, v)| v.map(|v| format!("{:.1},{:.1}", x(*px), y(v, max))))
            .collect();
        let dash = if line.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            s,
            r#"<polyline class="{class}" data-series="{n}" fill="none" stroke="{c}" stroke-width="2"{dash} points="{p}"><title>{n}</title></polyline>"#,
            n = escape(&line.name),
            c = line.colour,
            p = pts.join(" ")
        );
    };
    for line in series {
        draw(&mut s, line, y_max, "series");
    }
    draw(&mut s, pace, pace_max.unwrap_or(y_max), "pace");
    s.push_str("</svg>");
    // The legend.
    s.push_str(r#"<p class="meta">"#);
    for line in series.iter().chain([pace]) {
        let dash = if line.dashed { " (dashed)" } else { "" };
        let _ = write!(s, r#"<span style="color:{}">■</span> {}{dash} &nbsp; "#, line.colour, escape(&line.name));
    }
    s.push_str("</p>");
    s
}

/// A number for an axis: whole above 10, else 2 decimals.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The rows in at most `MAX_POINTS` groups: each group's start, and `f` of its rows.
fn grouped<T>(rows: &[Row], f: impl Fn(&[Row]) -> T) -> (Vec<f64>, Vec<T>) {
    let size = rows.len().div_ceil(MAX_POINTS).max(1);
    rows.chunks(size).map(|g| (g[0].t as f64, f(g))).unzip()
}

/// The drive as a page.
pub fn render(r: &DriveReport) -> String {
    let mut b = String::new();
    let v = &r.correctness;
    if let Some(a) = &r.aborted {
        let unit = if a.condition.contains("_latency") { " ms" } else { "" };
        let _ = write!(
            b,
            r#"<p class="fail">Aborted at t={} s: <code>{}</code> was {}{unit} and can no longer pass ({}).</p>"#,
            a.at_s,
            escape(&a.condition),
            a.actual,
            escape(&a.why)
        );
    }
    let verdict = if !r.correctness_judged {
        r#"<p class="meta">Correctness not judged: the drive was aborted, and a partial drive cannot be compared with the reference pipeline.</p>"#.to_string()
    } else if v.discrepancies() == 0 && !r.traffic.complete {
        format!(
            r#"<p class="fail">Incomplete: {} of {} requests sent before the time limit; the comparison includes traffic never sent.</p>"#,
            r.traffic.sent, r.traffic.planned
        )
    } else if v.discrepancies() == 0 {
        format!(
            r#"<p class="pass">Correct: {} of {} credits match the reference pipeline; {} differences explained by arrival order.</p>"#,
            v.correct, v.expected_credits, v.explained_by_arrival_order
        )
    } else {
        format!(
            r#"<p class="fail">WRONG: {} discrepancies against the reference pipeline (missed {}, false {}, double {}, wrong amount {}, wrong reversal {}, unknown {}, budget overspent {}); drive.md lists examples with their replay commands.</p>"#,
            v.discrepancies(),
            v.missed,
            v.false_credits,
            v.double,
            v.wrong_amount,
            v.wrong_reversal,
            v.unknown,
            v.budget_overspent
        )
    };
    b.push_str(&verdict);
    let t = &r.traffic;
    let _ = write!(
        b,
        r#"<p class="meta">{} of {} requests sent in {:.2} s ({:.0}/s; pace: {}; {} connections); seed {}. Replay: <code>{}</code></p>"#,
        t.sent,
        t.planned,
        t.wall_seconds,
        t.achieved_rate,
        escape(&r.pace),
        r.connections,
        r.seed,
        escape(&r.replay)
    );
    let step = r.timeline_step_s.max(1) as f64;
    let rows = &r.timeline;
    let per_s =
        |f: fn(&Row) -> u64| move |g: &[Row]| Some(g.iter().map(f).sum::<u64>() as f64 / (g.len() as f64 * step));
    let (xs, pace) = grouped(rows, per_s(|r| r.scheduled));
    let pace = Series { name: "pace (scheduled)".into(), colour: PACE, dashed: true, values: pace };
    let count = |name: &str, colour, f: fn(&Row) -> u64| Series {
        name: name.into(),
        colour,
        dashed: false,
        values: grouped(rows, per_s(f)).1,
    };
    b.push_str("<h2>Throughput per second</h2>");
    let throughput = [
        count("sent", COLOURS[0], |r| r.sent),
        count("completed", COLOURS[2], |r| r.completed),
        count("errors", COLOURS[3], |r| r.errors),
        count("in flight (max)", COLOURS[1], |r| r.in_flight_max),
    ];
    b.push_str(&lines("Throughput per second", "/s", &xs, &throughput, &pace, PaceAxis::Shared));
    for (title, p99) in [("p99 latency per second", true), ("p50 latency per second", false)] {
        let series: Vec<Series> = ENDPOINTS
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                name: name.to_string(),
                colour: COLOURS[k % COLOURS.len()],
                dashed: false,
                values: grouped(rows, |g| {
                    let of = |r: &Row| r.endpoints.get(k).and_then(|e| if p99 { e.p99_ms } else { e.p50_ms });
                    g.iter().filter_map(of).reduce(f64::max)
                })
                .1,
            })
            .collect();
        let _ = write!(b, "<h2>{}</h2>", escape(title));
        b.push_str(&lines(title, "ms", &xs, &series, &pace, PaceAxis::Own));
    }
    if !r.thresholds.is_empty() {
        b.push_str("<h2>Thresholds</h2><table><tr><th>condition</th><th>actual</th><th>result</th></tr>");
        for j in &r.thresholds {
            let (class, result, actual) = match (&j.not_judged, j.passed) {
                (Some(why), _) => ("meta", format!("not judged: {why}"), String::new()),
                (None, true) => ("pass", "pass".to_string(), j.actual.to_string()),
                (None, false) => ("fail", "FAIL".to_string(), j.actual.to_string()),
            };
            let _ = write!(
                b,
                r#"<tr><td><code>{}</code></td><td class="n">{}</td><td class="{class}">{}</td></tr>"#,
                escape(&j.condition),
                escape(&actual),
                escape(&result)
            );
        }
        b.push_str("</table>");
    }
    b.push_str("<h2>Latency over the whole drive (ms, from the scheduled send time)</h2>");
    let body: Vec<Vec<String>> = r
        .latency
        .iter()
        .chain(std::iter::once(&r.all))
        .map(|l| {
            let mut row = vec![l.endpoint.clone(), l.requests.to_string()];
            row.extend([l.p50_ms, l.p90_ms, l.p99_ms, l.p99_9_ms, l.max_ms].map(|v| format!("{v:.2}")));
            row.extend([l.errors, l.timeouts, l.failed, l.retries, l.skipped].map(|v| v.to_string()));
            row
        })
        .collect();
    let head = [
        "endpoint", "requests", "p50", "p90", "p99", "p99.9", "max", "errors", "timeouts", "failed", "retries",
        "skipped",
    ];
    b.push_str(&table(&head, &body, 1));
    page(&format!("offersim drive: {} against {}", r.scenario, r.target), &b)
}
