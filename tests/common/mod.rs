//! Helpers shared by the integration tests: running the real `offersim` binary, scripted runs.

#![allow(dead_code)]

pub mod browser;
pub mod openapi;
pub mod script;
pub mod served;

use offersim_sim::harness::events::{EventLog, Record};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str) -> PathBuf {
    root().join("scenarios").join(name)
}

pub fn offersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offersim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the offersim binary runs")
}

/// Runs a scenario into `out` and returns (report.json, report.md).
pub fn run_to(scenario: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let o = offersim(&args);
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json written");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md written");
    (json, md)
}

/// Every record of a run, as JSON values, kept in memory.
#[derive(Default)]
pub struct Memory(pub Vec<Value>);

impl EventLog for Memory {
    fn record(&mut self, r: &Record<'_>) {
        self.0.push(serde_json::to_value(r).expect("records serialize"));
    }
}

/// Every record of a run as `--events` writes it (JSON lines), kept in memory.
#[derive(Default)]
pub struct JsonLines(pub Vec<u8>);

impl EventLog for JsonLines {
    fn record(&mut self, r: &Record<'_>) {
        serde_json::to_writer(&mut self.0, r).expect("records serialize");
        self.0.push(b'\n');
    }
}

/// `offersim audit` of a run's log: the violations it found, one per line (empty: it passed).
pub fn audit(world: &offersim_sim::world::World, log: &[u8]) -> String {
    let limits = offersim_audit::Limits { keep_violations: 5, ..Default::default() };
    let f = offersim_audit::audit(log, &offersim::audit_terms(world), limits).expect("the log reads");
    f.violations.iter().map(|v| format!("{v}\n")).collect()
}

/// Runs every line of `dir/jobs.txt` (a sweep's or a regression's plan) from `dir`, last line
/// first (a cluster runs them in any order), with the binary under test as `$OFFERSIM`.
pub fn run_jobs(dir: &Path) -> Vec<String> {
    let jobs = std::fs::read_to_string(dir.join("jobs.txt")).expect("jobs.txt");
    let lines: Vec<String> = jobs.lines().map(str::to_string).collect();
    for line in lines.iter().rev() {
        let o = Command::new("sh")
            .args(["-c", line])
            .current_dir(dir)
            .env("OFFERSIM", env!("CARGO_BIN_EXE_offersim"))
            .output()
            .expect("sh runs");
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    }
    lines
}

/// A money string of the reports (`"12.50"`, `"-0.05"`) in cents; exactly two decimals.
pub fn cents(v: &Value) -> i64 {
    let s = v.as_str().expect("money is a string");
    let (whole, frac) = s.trim_start_matches('-').split_once('.').expect("two decimal places");
    assert_eq!(frac.len(), 2, "{s}: two decimal places");
    let c = whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if s.starts_with('-') {
        -c
    } else {
        c
    }
}

/// `offersim sweep` of the café's minimum spend ($5 or $10) at `seeds` seeds into `out`.
pub fn min_spend_sweep(out: &Path, seeds: &str) -> Output {
    offersim(&[
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        "offers.cafe_2_over_5.min_spend=5.00,10.00",
        "--seeds",
        seeds,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
}

/// The errors of `doc` against the committed `schemas/<name>.schema.json` (the `jsonschema`
/// crate, draft-07), one line each: empty when it validates.
pub fn schema_errors(name: &str, doc: &Value) -> Vec<String> {
    let path = root().join("schemas").join(format!("{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let v = jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path)).collect()
}
