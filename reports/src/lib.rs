//! Rendering of a run's outcome: `report.json` (stable, diffable, documented in
//! `reports/README.md`) and `report.md` (the same facts for people).
//!
//! Architecture invariant: a report contains only what the scenario and seed determine: no
//! wall-clock time, host name or performance figure ever goes in.

pub mod html;
mod json;
pub mod lift;
mod markdown;
pub mod numbers;
pub mod surfaces;

pub use html::render as html;
pub use json::{build, Report, SCHEMA};
pub use markdown::render as markdown;

/// `report.json` text: pretty-printed, with a final newline.
pub fn json_text(report: &Report) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}
