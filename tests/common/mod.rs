//! Helpers shared by the integration tests: running the real `offersim` binary.

#![allow(dead_code)]

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
