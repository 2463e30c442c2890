//! Broken scenario files: each gives `file:line:column: what is wrong`, exit code 2, no panic,
//! and nothing written, from `check` and from `run` alike.
//!
//! Each `tests/bad/<case>.toml` has a `<case>.expect` beside it: `LINE:COL: text`, where text
//! must appear in the first diagnostic.

mod common;
use common::*;
use std::path::Path;

fn expectation(case: &Path) -> (String, String) {
    let text = std::fs::read_to_string(case.with_extension("expect")).expect("every bad case has an .expect file");
    let line = text.lines().next().unwrap_or_default();
    let (pos, msg) = line.split_once(": ").map_or((line, ""), |(a, b)| (a, b));
    (pos.to_string(), msg.to_string())
}

/// Every `tests/bad/*.toml`, in name order.
fn bad_cases() -> Vec<std::path::PathBuf> {
    let dir = root().join("tests").join("bad");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_bad_scenario_gets_a_located_error_and_nothing_is_written() {
    let cases = bad_cases();
    assert!(cases.len() >= 40, "a battery of at least 40 cases, found {}", cases.len());
    let out = tempfile::tempdir().unwrap();
    for case in &cases {
        let rel = case.strip_prefix(root()).unwrap().to_str().unwrap().to_string();
        let (pos, msg) = expectation(case);
        for cmd in ["check", "run"] {
            let target = out.path().join(case.file_stem().unwrap());
            let o = if cmd == "check" {
                offersim(&["check", &rel])
            } else {
                offersim(&["run", &rel, "--out", target.to_str().unwrap(), "--quiet"])
            };
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{cmd} {rel}: exit code 2\n{stderr}");
            assert!(!stderr.contains("panicked"), "{cmd} {rel}: no panic\n{stderr}");
            let first = stderr.lines().next().unwrap_or_default();
            let prefix = format!("{rel}:{pos}: ");
            assert!(first.starts_with(&prefix), "{cmd} {rel}: expected `{prefix}...`, got `{first}`");
            assert!(first.contains(&msg), "{cmd} {rel}: expected `{msg}` in `{first}`");
            assert!(!target.exists(), "{cmd} {rel}: nothing written");
            assert!(o.stdout.is_empty(), "{cmd} {rel}: no summary on stdout");
        }
    }
}

#[test]
fn a_directory_or_a_missing_file_is_refused_clearly() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("x");
    for (arg, expect) in [("scenarios", "is a directory"), ("scenarios/nope.toml", "cannot read the scenario file")] {
        let o = offersim(&["run", arg, "--out", target.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}");
        assert!(stderr.starts_with(&format!("{arg}: {expect}")), "{arg}: {stderr}");
        assert!(!target.exists());
    }
}

#[test]
fn check_reports_every_problem_of_a_file_in_file_order() {
    let o = offersim(&["check", "tests/fixtures/multiple_problems.toml"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].contains(":10:2: segments: segment shares must sum to 1"), "{stderr}");
    assert!(lines[1].contains(":15:14: segments.all.click_rate"), "{stderr}");
    assert!(lines[2].contains(":24:12: offers.deal.merchant: unknown merchant `shopp`"), "{stderr}");
    assert!(lines[3].contains(":27:7: offers.deal.end"), "{stderr}");
}

#[test]
fn check_accepts_every_shipped_scenario() {
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let o = offersim(&["check", p.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
            assert!(String::from_utf8_lossy(&o.stdout).contains(": ok: scenario"));
        }
    }
}

/// `check --format json` and `--format github` carry every bad case's diagnostics for other
/// programs: the JSON object's line, column and message say what the text form says (path,
/// message and hint put back together are the text's message), and the GitHub Actions command
/// names the file, line and column.
#[test]
fn every_bad_scenario_is_located_alike_as_json_and_as_a_github_annotation() {
    let cases = bad_cases();
    for case in &cases {
        let rel = case.strip_prefix(root()).unwrap().to_str().unwrap().to_string();
        let text = offersim(&["check", &rel]);
        let first = String::from_utf8_lossy(&text.stderr).lines().next().unwrap_or_default().to_string();
        let json = offersim(&["check", &rel, "--format", "json"]);
        assert_eq!(json.status.code(), Some(2), "{rel}");
        let line = String::from_utf8_lossy(&json.stdout).lines().next().unwrap_or_default().to_string();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{rel}: {e}: {line}"));
        let (l, c) = (v["line"].as_u64().unwrap(), v["column"].as_u64().unwrap());
        let mut message = v["message"].as_str().unwrap().to_string();
        if let Some(p) = v["path"].as_str() {
            message = format!("{p}: {message}");
        }
        if let Some(h) = v["hint"].as_str() {
            message = format!("{message}; {h}");
        }
        assert_eq!(format!("{rel}:{l}:{c}: {message}"), first, "{rel}");
        let gh = offersim(&["check", &rel, "--format", "github"]);
        assert_eq!(gh.status.code(), Some(2));
        let annotation = String::from_utf8_lossy(&gh.stdout).lines().next().unwrap_or_default().to_string();
        assert!(annotation.starts_with(&format!("::error file={rel},line={l},col={c}")), "{rel}: {annotation}");
    }
}
