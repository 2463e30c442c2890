//! The command line: what `run` and `check` print, and how they fail.

mod common;
use common::*;
use std::process::{Command, Stdio};

#[test]
fn run_prints_a_one_line_summary_and_where_the_reports_are() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = offersim(&["run", "scenarios/cafe.toml", "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("cafe (seed 2013): ") && lines[0].ends_with("ledger balanced"), "{}", lines[0]);
    assert!(lines[1].starts_with("reports: ") && lines[1].contains("report.json"), "{}", lines[1]);
    assert_eq!(lines[2], "thresholds: all 2 hold", "the scenario's [thresholds]");
    // Timings go to stderr, never into the reports.
    assert!(String::from_utf8_lossy(&o.stderr).contains("ran in "));
}

#[test]
fn check_prints_one_line_per_valid_file() {
    let o = offersim(&["check", "scenarios/cafe.toml", "scenarios/card_deletion.toml"]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.lines().count(), 2);
    assert!(
        stdout.starts_with("scenarios/cafe.toml: ok: scenario `cafe`, seed 2013, 7 days from 2013-11-11, 400 users")
    );
}

#[test]
fn check_fails_if_any_file_is_invalid_and_still_checks_the_others() {
    let o = offersim(&["check", "tests/bad/zero_users.toml", "scenarios/cafe.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("tests/bad/zero_users.toml:8:9: "));
    assert!(String::from_utf8_lossy(&o.stdout).contains("scenarios/cafe.toml: ok"));
}

#[test]
fn an_unwritable_event_log_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let events = dir.path().join("no_such_dir").join("e.jsonl");
    let o =
        offersim(&["run", "scenarios/cafe.toml", "--out", out.to_str().unwrap(), "--events", events.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.starts_with("error: cannot create ") && error.contains("e.jsonl.partial"), "{stderr}");
    assert!(!out.exists(), "no output directory");
    assert!(o.stdout.is_empty());
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_offersim"))
        .args(["run", "scenarios/cafe.toml", "--quiet", "--out", dir.path().to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `offersim run ... | head -0`
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    assert!(dir.path().join("report.json").exists());
}

#[test]
fn threads_out_of_range_is_a_usage_error() {
    let o = offersim(&["run", "scenarios/cafe.toml", "--threads", "5000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("5000 is not in 0..=1024"));
}

#[test]
fn the_event_log_can_go_in_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new").join("r");
    let events = out.join("events.jsonl");
    let o =
        offersim(&["run", "scenarios/cafe.toml", "--out", out.to_str().unwrap(), "--events", events.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("report.json").exists());
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(log.lines().count() > 1_000);
    assert!(!out.join("events.jsonl.partial").exists());
}

/// `offersim completions SHELL` prints a script the shell loads, offering every subcommand;
/// `offersim man` prints a roff manual page that names them all.
#[test]
fn completions_load_in_bash_and_the_manual_page_names_every_subcommand() {
    let commands =
        ["run", "check", "diff", "sweep", "regress", "audit", "merge", "serve", "drive", "completions", "man"];
    let bash = offersim(&["completions", "bash"]);
    assert!(bash.status.success());
    let script = String::from_utf8(bash.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offersim.bash");
    std::fs::write(&file, &script).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p offersim", file.display()))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("-F _offersim offersim"), "{loaded:?}");
    for shell in ["zsh", "fish"] {
        let o = offersim(&["completions", shell]);
        assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("offersim"), "{shell}");
    }
    let man = offersim(&["man"]);
    assert!(man.status.success());
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(page.contains(".TH offersim 1"), "{}", &page[..200.min(page.len())]);
    for c in commands {
        assert!(script.contains(c), "bash completion offers `{c}`");
        assert!(page.contains(c), "the manual page names `{c}`");
    }
    assert_eq!(offersim(&["completions", "tcsh"]).status.code(), Some(2), "an unknown shell is a usage error");
}
