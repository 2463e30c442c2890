//! Headless Chromium for the tests of the HTML pages (report.html, sweep.html, drive.html).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium, if installed (`CHROMIUM` or /usr/bin/chromium). CI sets `OFFERSIM_REQUIRE_BROWSER`
/// so that a missing browser fails instead of skipping.
pub fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("OFFERSIM_REQUIRE_BROWSER").is_none(),
        "Chromium is required here: {} is missing",
        p.display()
    );
    eprintln!("skipped: no Chromium at {} (CI installs it)", p.display());
    None
}

pub fn headless(browser: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium starts")
}

/// Each chart's SVG in a page, by its label.
pub fn charts(html: &str) -> Vec<(String, String)> {
    html.split("<svg ")
        .skip(1)
        .map(|part| {
            let label = part.split("aria-label=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
            (label, part.split("</svg>").next().unwrap_or("").to_string())
        })
        .collect()
}

/// The DOM Chromium renders from `page` (a file), asserting that it started, rendered and
/// logged no console message (a script error, a refused load).
pub fn rendered_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.display());
    let dom = headless(browser, profile, &["--dump-dom", &url]);
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let stderr = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages in {}: {console:?}", page.display());
    String::from_utf8_lossy(&dom.stdout).into_owned()
}
