//! `report.html`: the report for people, in a browser. One self-contained file — inline CSS,
//! charts as inline SVG, no script, no font or image from anywhere — so it opens offline and can
//! be attached to a ticket. Charts: purchases and credits per hour across the surge, the funnel,
//! budget burn per offer, and the time-to-credit histogram. Every chart element that carries a
//! value has `class="datum"` and a `<title>` with the value (a tooltip, and what the browser
//! test counts).

use crate::json::Report;
use crate::numbers::{count, usd};
use offersim_sim::core::time::format_duration;
use offersim_sim::outcome::Outcome;
use std::fmt::Write as _;

/// Escapes text for HTML (and SVG) content and attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}\
blockquote{color:#555;margin:.5rem 0;padding-left:1rem;border-left:3px solid #ccd}\
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eef}\
th{text-align:left;background:#f5f6fa}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.fail{color:#b00020;font-weight:600}.pass{color:#1b7f3b}.meta{color:#555;font-size:.9rem}\
svg{display:block;margin:.5rem 0 1rem}svg text{font-size:11px;fill:#333}.grid{stroke:#e3e5ee}\
.bar{fill:#4062bb}.whisker{stroke:#1d2330;stroke-width:2}.bar2{fill:#e0883a}.under{fill:#eef0f7}\
.band{fill:#4062bb;fill-opacity:.18}.line{stroke:#4062bb;stroke-width:2}.dot{fill:#4062bb}";

/// A chart of vertical bars: one value per label, with a few labels on the axis.
fn columns(title: &str, labels: &[String], values: &[f64], class: &str, unit: &dyn Fn(f64) -> String) -> String {
    let (w, h, left, bottom, top) = (1040.0, 180.0, 60.0, 24.0, 12.0);
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-9);
    let n = values.len().max(1) as f64;
    let bw = (w - left) / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg role="img" aria-label="{t}" width="{w}" height="{}" viewBox="0 {} {w} {}">"#,
        h + bottom + top,
        -top,
        h + bottom + top,
        t = esc(title)
    );
    for k in 0..=4 {
        let y = h - h * k as f64 / 4.0;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left}" x2="{w}" y1="{y:.1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 4.0,
            y + 4.0,
            esc(&unit(max * k as f64 / 4.0))
        );
    }
    let every = (values.len() / 8).max(1);
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let bh = h * v / max;
        let x = left + bw * i as f64;
        let _ = write!(
            s,
            r#"<rect class="{class} datum" x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>{}: {}</title></rect>"#,
            h - bh,
            (bw - 0.5).max(0.5),
            esc(l),
            esc(&unit(*v))
        );
        if i % every == 0 {
            let _ = write!(s, r#"<text x="{x:.1}" y="{}">{}</text>"#, h + 16.0, esc(l));
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one per row: (label, value shown, fraction of the full width).
fn rows(title: &str, items: &[(String, String, f64)]) -> String {
    let (w, row, left) = (1040.0, 22.0, 260.0);
    let h = row * items.len() as f64 + 4.0;
    let mut s = String::new();
    let _ = write!(s, r#"<svg role="img" aria-label="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#, esc(title));
    for (i, (label, shown, frac)) in items.iter().enumerate() {
        let y = row * i as f64 + 2.0;
        let full = w - left - 120.0;
        let bw = (full * frac.clamp(0.0, 1.0)).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="under" x="{left}" y="{y:.1}" width="{full:.1}" height="{:.1}"/><rect class="bar datum" x="{left}" y="{y:.1}" width="{bw:.1}" height="{:.1}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}">{}</text>"#,
            left - 6.0,
            y + 14.0,
            esc(label),
            row - 6.0,
            row - 6.0,
            esc(label),
            esc(shown),
            left + full + 6.0,
            y + 14.0,
            esc(shown)
        );
    }
    s.push_str("</svg>");
    s
}

/// A table: a header row, then the body's cells, right-aligned (`class="n"`) from column
/// `numeric_from` on.
pub fn table(head: &[&str], body: &[Vec<String>], numeric_from: usize) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for r in body {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i >= numeric_from { " class=\"n\"" } else { "" };
            let _ = write!(s, "<td{class}>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// Time to credit in bins of whole hours (the width grows with the spread).
fn ttc_histogram(out: &Outcome) -> (Vec<String>, Vec<f64>) {
    let Some(&max) = out.time_to_credit.last() else {
        return (vec![], vec![]);
    };
    let hours = max / 3_600 + 1;
    let width = hours.div_ceil(60).max(1); // at most 60 bins
    let bins = hours.div_ceil(width) as usize;
    let mut counts = vec![0f64; bins];
    for &t in &out.time_to_credit {
        counts[((t / 3_600) / width) as usize] += 1.0;
    }
    let labels = (0..bins).map(|b| format_duration(b as u64 * width * 3_600)).collect();
    (labels, counts)
}

/// The page. `out` gives what the JSON report summarises (the time-to-credit distribution).
pub fn render(r: &Report, out: &Outcome) -> String {
    let sc = &r.scenario;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>offersim report: {n}</title><style>{STYLE}</style></head><body><h1>offersim report: {n}</h1>",
        n = esc(&sc.name)
    );
    for line in sc.description.lines() {
        let _ = write!(s, "<blockquote>{}</blockquote>", esc(line));
    }
    let _ = write!(
        s,
        "<p class=\"meta\">Seed {} · {} → {} ({} days, then {} of settlement) · {} users{} · {} merchants · {} offers</p>",
        sc.seed,
        esc(&sc.period_start),
        esc(&sc.period_end),
        sc.days,
        sc.settle_days,
        count(sc.users),
        if sc.shards > 1 { format!(" in {} shards", sc.shards) } else { String::new() },
        count(sc.merchants as u64),
        count(sc.offers as u64)
    );
    let (f, m) = (&r.funnel, &r.money);
    s.push_str("<h2>Summary</h2>");
    s.push_str(&table(
        &["", ""],
        &[
            vec!["Purchases".into(), count(f.purchases)],
            vec!["Spend".into(), usd(m.spend)],
            vec!["Enrollments".into(), count(f.enrollments)],
            vec!["Rewards granted".into(), count(f.credits)],
            vec!["Rewards, net of clawbacks".into(), usd(m.net_rewards)],
            vec!["Merchant cost".into(), usd(m.merchant_cost)],
            vec!["Unexplained discrepancies with the truth".into(), count(r.correctness.unexplained())],
            vec!["Ledger balanced".into(), if r.ledger.balanced { "yes".into() } else { "NO".into() }],
        ],
        1,
    ));
    if !r.thresholds.is_empty() {
        s.push_str("<h2>Thresholds</h2><table><tr><th>Metric</th><th>Condition</th><th>Actual</th><th></th></tr>");
        for t in &r.thresholds {
            let (class, word) = if t.passed { ("pass", "pass") } else { ("fail", "FAIL") };
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"{class}\">{word}</td></tr>",
                esc(t.metric),
                esc(&t.condition),
                esc(&t.actual)
            );
        }
        s.push_str("</table>");
    }
    let hours: Vec<String> = r.hourly.iter().map(|h| h.hour.clone()).collect();
    s.push_str("<h2>Purchases per hour</h2>");
    let purchases: Vec<f64> = r.hourly.iter().map(|h| h.purchases as f64).collect();
    s.push_str(&columns("Purchases per hour", &hours, &purchases, "bar", &|v| count(v.round() as u64)));
    s.push_str("<h2>Rewards granted per hour</h2>");
    let credits: Vec<f64> = r.hourly.iter().map(|h| h.credits as f64).collect();
    s.push_str(&columns("Rewards granted per hour", &hours, &credits, "bar2", &|v| count(v.round() as u64)));
    s.push_str("<h2>Funnel</h2>");
    let steps = [
        ("Impressions", f.impressions),
        ("Clicks", f.clicks),
        ("Cards added", f.cards_added),
        ("Enrollments", f.enrollments),
        ("Qualifying transactions", f.qualifying_transactions),
        ("Rewards granted", f.credits),
    ];
    let top = (steps[0].1.max(1) as f64).ln_1p();
    let funnel: Vec<(String, String, f64)> =
        steps.iter().map(|(l, n)| (l.to_string(), count(*n), (*n as f64).ln_1p() / top)).collect();
    s.push_str("<p class=\"meta\">Bar lengths on a log scale.</p>");
    s.push_str(&rows("Funnel", &funnel));
    let mut burn: Vec<(String, String, f64)> = r
        .offers
        .iter()
        .filter_map(|o| {
            let b = o.budget?;
            let used = (b.0 - o.budget_left.map_or(0, |l| l.0)) as f64 / b.0.max(1) as f64;
            Some((o.id.clone(), format!("{:.0}% of {}", used * 100.0, usd(b)), used))
        })
        .collect();
    if !burn.is_empty() {
        burn.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let shown = burn.len().min(30);
        let _ = write!(s, "<h2>Budget burn per offer</h2><p class=\"meta\">Share of each budget spent by the end of the run ({} of {} offers with a budget, most spent first).</p>", shown, burn.len());
        s.push_str(&rows("Budget burn per offer", &burn[..shown]));
    }
    let (labels, counts) = ttc_histogram(out);
    if !counts.is_empty() {
        let t = &r.time_to_credit;
        let _ = write!(
            s,
            "<h2>Time to credit</h2><p class=\"meta\">Purchase → reward granted, {} rewards: p50 {}, p90 {}, p99 {}.</p>",
            count(t.credits as u64),
            esc(t.p50.as_deref().unwrap_or("n/a")),
            esc(t.p90.as_deref().unwrap_or("n/a")),
            esc(t.p99.as_deref().unwrap_or("n/a"))
        );
        s.push_str(&columns("Time to credit", &labels, &counts, "bar", &|v| count(v.round() as u64)));
    }
    s.push_str("<h2>Offers</h2>");
    let mut offers: Vec<&crate::json::OfferRow> = r.offers.iter().collect();
    offers.sort_by(|a, b| b.net_rewards.cmp(&a.net_rewards).then(a.id.cmp(&b.id)));
    let body: Vec<Vec<String>> = offers
        .iter()
        .take(50)
        .map(|o| {
            vec![
                o.id.clone(),
                o.reward.clone(),
                count(o.enrollments),
                count(o.redemptions),
                usd(o.net_rewards),
                o.budget_ran_out_at.clone().unwrap_or_default(),
                usd(o.incremental_spend),
                o.roi.map_or("n/a".into(), |x| x.to_string()),
            ]
        })
        .collect();
    s.push_str(&table(
        &["Offer", "Reward", "Enrollments", "Redemptions", "Net rewards", "Budget ran out", "Incremental spend", "ROI"],
        &body,
        2,
    ));
    behaviour(&mut s, r);
    // Surfaces side by side: where the spend came from, each surface's funnel, and which paid off.
    let a = &r.attribution;
    let _ = write!(
        s,
        "<h2>Surfaces and attribution</h2><p class=\"meta\">Each purchase credited to the {} with its merchant within {} days; organic: no touch.</p>",
        if a.rule == "last_touch" { "last touch" } else { "first touch" },
        a.window_days
    );
    let top = a.surfaces.iter().map(|x| x.spend.0).max().unwrap_or(0).max(1) as f64;
    let items: Vec<(String, String, f64)> = a
        .surfaces
        .iter()
        .map(|x| (x.surface.to_string(), format!("{} ({}%)", usd(x.spend), x.share_of_spend), x.spend.0 as f64 / top))
        .collect();
    s.push_str(&rows("Spend by surface", &items));
    let body: Vec<Vec<String>> = a
        .surfaces
        .iter()
        .map(|x| {
            let f = a.funnels.iter().find(|f| f.surface == x.surface);
            vec![
                x.surface.to_string(),
                f.map_or(String::new(), |f| count(f.impressions)),
                f.map_or(String::new(), |f| format!("{} {}", count(f.engagements), f.engagement)),
                f.map_or(String::new(), |f| format!("{} {}", count(f.conversions), f.conversion)),
                count(x.purchases),
                usd(x.spend),
                usd(x.net_rewards + x.net_fees),
                x.roi.map_or("n/a".into(), |d| d.to_string()),
            ]
        })
        .collect();
    s.push_str(&table(
        &["Surface", "Impressions", "Engaged", "Converted", "Purchases credited", "Spend", "Rewards + fees", "ROI"],
        &body,
        1,
    ));
    let c = &r.correctness;
    s.push_str("<h2>Correctness against the ground truth</h2>");
    s.push_str(&table(
        &["", ""],
        &[
            vec!["Should earn a reward".into(), count(c.expected_credits)],
            vec!["Credited correctly".into(), count(c.correct_credits)],
            vec![
                "Missed / false / double".into(),
                format!("{} / {} / {}", c.missed_credits, c.false_credits, c.double_credits),
            ],
            vec!["Wrong amounts / wrong reversals".into(), format!("{} / {}", c.wrong_amounts, c.wrong_reversals)],
        ],
        1,
    ));
    s.push_str("<p class=\"meta\">Generated by offersim from the scenario and seed alone; report.json and report.md hold the same facts.</p></body></html>\n");
    s
}

/// A horizontal interval chart: per row a label, a mean (a dot on a bar from zero) and a 95%
/// interval (a whisker), on one shared scale. For comparing sweep variants.
/// How people responded: take-up by impression and the incremental split per offer, and the
/// baskets around the minimum spend of the busiest offer (as in report.md).
fn behaviour(s: &mut String, r: &Report) {
    let mut offers: Vec<&crate::json::OfferRow> = r.offers.iter().filter(|o| o.enrollments > 0).collect();
    if offers.is_empty() {
        return;
    }
    offers.sort_by(|a, b| b.enrollments.cmp(&a.enrollments).then(a.id.cmp(&b.id)));
    s.push_str("<h2>Behaviour</h2><p class=\"meta\">The impression of the offer each enrollment came at, and the incremental spend split into extra visits, top-ups to the minimum spend, and the later visits that extra visits took the place of.</p>");
    let body: Vec<Vec<String>> = offers
        .iter()
        .take(50)
        .map(|o| {
            let [first, second_to_fourth, later] = o.behaviour.take_up();
            let known = (first + second_to_fourth + later).max(1) as f64;
            let share = |n: u64| format!("{:.1}%", n as f64 * 100.0 / known);
            vec![
                o.id.clone(),
                count(o.enrollments),
                share(first),
                share(second_to_fourth),
                share(later),
                usd(o.extra_visit_spend),
                usd(o.top_up_spend),
                format!("−{}", usd(o.pulled_forward_spend)),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "Offer",
            "Enrollments",
            "1st impression",
            "2nd–4th",
            "5th or later",
            "Extra-visit spend",
            "Top-up spend",
            "Pulled forward",
        ],
        &body,
        1,
    ));
    if let Some(o) = r.busiest_baskets() {
        let bins = &o.behaviour.baskets_around_min_spend;
        let labels: Vec<String> = bins.iter().map(|b| b.label()).collect();
        let values: Vec<f64> = bins.iter().map(|b| b.purchases as f64).collect();
        let title = format!("Baskets around the minimum spend: {} ({})", o.id, usd(o.min_spend));
        s.push_str(&columns(&title, &labels, &values, "bar", &|v| count(v.round() as u64)));
    }
}

pub fn intervals(title: &str, items: &[(String, f64, Option<f64>)], show: &dyn Fn(f64) -> String) -> String {
    let (w, row, left, right) = (1040.0, 26.0, 360.0, 150.0);
    let h = row * items.len() as f64 + 24.0;
    let lo = items.iter().map(|(_, m, hw)| m - hw.unwrap_or(0.0)).fold(0.0, f64::min);
    let hi = items.iter().map(|(_, m, hw)| m + hw.unwrap_or(0.0)).fold(0.0, f64::max);
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| left + (w - left - right) * (v - lo) / span;
    let mut s = String::new();
    let _ = write!(s, r#"<svg role="img" aria-label="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#, esc(title));
    let _ = write!(s, r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="0" y2="{:.1}"/>"#, x(0.0), x(0.0), h - 20.0);
    for (i, (label, mean, half)) in items.iter().enumerate() {
        let y = row * i as f64 + 4.0;
        let mid = y + (row - 8.0) / 2.0;
        let (a, b) = (x(0.0).min(x(*mean)), x(0.0).max(x(*mean)));
        let shown = match half {
            Some(hw) => format!("{} ± {}", show(*mean), show(*hw)),
            None => show(*mean),
        };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="bar datum" x="{a:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}: {}</title></rect>"#,
            left - 6.0,
            mid + 4.0,
            esc(label),
            (b - a).max(1.0),
            row - 8.0,
            esc(label),
            esc(&shown)
        );
        if let Some(hw) = half {
            let _ = write!(
                s,
                r##"<line class="whisker" x1="{:.1}" x2="{:.1}" y1="{mid:.1}" y2="{mid:.1}"/>"##,
                x(mean - hw),
                x(mean + hw)
            );
        }
        let _ = write!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, w - right + 8.0, mid + 4.0, esc(&shown));
    }
    s.push_str("</svg>");
    s
}

/// A metric against a numeric setting: the means joined by a line, each a dot, inside a band of
/// their 95% intervals (a shaded polygon), on linear axes. For sweeps over one setting.
pub fn band(title: &str, x_name: &str, points: &[(f64, f64, Option<f64>)], show: &dyn Fn(f64) -> String) -> String {
    let (w, h, left, right, top, bottom) = (1040.0, 320.0, 110.0, 40.0, 16.0, 44.0);
    if points.is_empty() {
        return String::new();
    }
    let (x_lo, x_hi) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let lows = points.iter().map(|(_, m, hw)| m - hw.unwrap_or(0.0));
    let highs = points.iter().map(|(_, m, hw)| m + hw.unwrap_or(0.0));
    let y_lo = lows.fold(0.0, f64::min);
    let y_hi = highs.fold(0.0, f64::max);
    let x = |v: f64| left + (w - left - right) * (v - x_lo) / (x_hi - x_lo).max(1e-9);
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - y_lo) / (y_hi - y_lo).max(1e-9));
    let mut s = String::new();
    let _ = write!(s, r#"<svg role="img" aria-label="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#, esc(title));
    // The band: upper edge left to right, lower edge back.
    let mut poly: Vec<String> =
        points.iter().map(|(px, m, hw)| format!("{:.1},{:.1}", x(*px), y(m + hw.unwrap_or(0.0)))).collect();
    poly.extend(points.iter().rev().map(|(px, m, hw)| format!("{:.1},{:.1}", x(*px), y(m - hw.unwrap_or(0.0)))));
    let _ = write!(s, r#"<polygon class="band" points="{}"/>"#, poly.join(" "));
    let line: Vec<String> = points.iter().map(|(px, m, _)| format!("{:.1},{:.1}", x(*px), y(*m))).collect();
    let _ = write!(s, r#"<polyline class="line" fill="none" points="{}"/>"#, line.join(" "));
    let _ =
        write!(s, r#"<line class="grid" x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#, w - right, y(0.0), y(0.0));
    for (px, m, hw) in points {
        let shown = match hw {
            Some(hw) => format!("{} ± {}", show(*m), show(*hw)),
            None => show(*m),
        };
        let _ = write!(
            s,
            r#"<circle class="dot datum" cx="{:.1}" cy="{:.1}" r="4"><title>{} = {}: {}</title></circle>"#,
            x(*px),
            y(*m),
            esc(x_name),
            px,
            esc(&shown)
        );
        let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, x(*px), h - bottom + 16.0, px);
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (left + w - right) / 2.0,
        h - 6.0,
        esc(x_name)
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        left - 8.0,
        y(y_hi) + 4.0,
        esc(&show(y_hi))
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        left - 8.0,
        y(y_lo) + 4.0,
        esc(&show(y_lo))
    );
    s.push_str("</svg>");
    s
}

/// A self-contained page around `body` (already HTML), in the report's style.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>{body}</body></html>\n",
        t = esc(title)
    )
}

/// HTML text of `s` (for callers building a page).
pub fn escape(s: &str) -> String {
    esc(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn a_column_chart_has_one_datum_per_value() {
        let svg = columns("t", &["a".into(), "b".into(), "c".into()], &[1.0, 0.0, 3.0], "bar", &|v| format!("{v}"));
        assert_eq!(svg.matches("class=\"bar datum\"").count(), 3);
        assert!(svg.contains("<title>c: 3</title>"));
    }
}
