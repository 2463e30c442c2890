//! `report.html`: self-contained, every chart drawn with data, and rendered by a real browser
//! (headless Chromium) without a console message.

mod common;
use common::browser::{charts, chromium, headless, rendered_dom};
use common::*;
use std::path::Path;

/// The charts of a run with credits and budgets: purchases and rewards per hour, funnel, budget
/// burn, time to credit.
const CHARTS: [&str; 5] =
    ["Purchases per hour", "Rewards granted per hour", "Funnel", "Budget burn per offer", "Time to credit"];

fn report_html(dir: &Path) -> String {
    report_html_of("cafe.toml", dir)
}

fn report_html_of(name: &str, dir: &Path) -> String {
    run_to(&scenario(name), dir, &[]);
    std::fs::read_to_string(dir.join("report.html")).expect("report.html written beside report.json")
}

#[test]
fn the_html_report_is_self_contained_and_every_chart_has_data() {
    let dir = tempfile::tempdir().unwrap();
    let html = report_html(dir.path());
    for needle in ["http://", "https://", "<script", " src=", "<link", "@import"] {
        assert!(!html.contains(needle), "nothing loaded from anywhere: found `{needle}`");
    }
    let found = charts(&html);
    for name in CHARTS {
        let (_, svg) = found.iter().find(|(l, _)| l == name).unwrap_or_else(|| panic!("chart `{name}` missing"));
        let data = svg.matches("datum").count();
        assert!(data > 0, "chart `{name}` has data");
        assert!(svg.contains("<title>"), "chart `{name}` has value tooltips");
    }
    assert!(html.contains("One NYC café"), "the scenario's description");
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_no_console_message() {
    let Some(browser) = chromium() else {
        return;
    };
    // The main demo: Black Friday week, every chart drawn.
    let dir = tempfile::tempdir().unwrap();
    report_html_of("black_friday.toml", dir.path());
    let profile = dir.path().join("profile");
    let rendered = rendered_dom(&browser, &dir.path().join("report.html"), &profile);
    // The rendered DOM (after parsing by the browser) holds every chart, with data.
    let found = charts(&rendered);
    for name in CHARTS {
        let (_, svg) =
            found.iter().find(|(l, _)| l == name).unwrap_or_else(|| panic!("`{name}` not in the rendered page"));
        assert!(svg.matches("datum").count() > 0, "`{name}` rendered with data");
    }
    // A screenshot: a PNG of real content (charts and tables, not a blank page).
    let png = dir.path().join("report.png");
    let shot = headless(
        &browser,
        &profile,
        &[
            "--hide-scrollbars",
            "--window-size=1200,2400",
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", dir.path().join("report.html").display()),
        ],
    );
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 30_000, "a page with content ({} bytes)", bytes.len());
}

#[test]
fn the_sweep_comparison_renders_in_headless_chromium_with_every_metric_charted() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let o = min_spend_sweep(&out, "3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    let rendered = rendered_dom(&browser, &out.join("sweep.html"), &dir.path().join("profile"));
    let found = charts(&rendered);
    for metric in ["roi", "redemptions", "reward_cost", "incremental_spend"] {
        let (_, svg) = found.iter().find(|(l, _)| l == metric).unwrap_or_else(|| panic!("`{metric}` chart missing"));
        assert_eq!(svg.matches("class=\"bar datum\"").count(), 2, "`{metric}`: one bar per variant");
    }
    assert!(found[0].0 == "net_margin", "the chosen metric (net margin by default) first");
}
