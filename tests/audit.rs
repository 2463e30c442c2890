//! `offersim audit`: a run's event log checked from the outside. It passes on the logs of
//! shipped scenarios (and, in tests/invariants.rs, of random scenarios with every fault), and a
//! log with one line taken out, repeated or moved fails, naming the line or the reward.

mod common;
use common::{offersim, scenario};
use std::path::Path;

/// Runs a shipped scenario with its event log; returns the log's lines.
fn logged(name: &str, dir: &Path) -> Vec<String> {
    let events = dir.join("events.jsonl");
    let o = offersim(&[
        "run",
        scenario(name).to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(events).unwrap().lines().map(str::to_string).collect()
}

/// `offersim audit` of `lines` (written to `dir`), with the run's report: (exit code, stdout).
fn audit(name: &str, dir: &Path, lines: &[String]) -> (i32, String) {
    let log = dir.join("audited.jsonl");
    std::fs::write(&log, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let report = dir.join("report.json");
    let o = offersim(&[
        "audit",
        scenario(name).to_str().unwrap(),
        log.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let from = line.find(&key).map(|i| i + key.len()).expect("field");
    &line[from..from + line[from..].find('"').unwrap()]
}

#[test]
fn the_logs_of_shipped_scenarios_pass_and_their_books_match_the_reports() {
    for name in ["cafe.toml", "card_deletion.toml", "duplicate_webhooks.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let lines = logged(name, dir.path());
        let (code, out) = audit(name, dir.path(), &lines);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("passed: every check holds"), "{name}: {out}");
        assert!(out.contains("the books match") && out.contains("(9 balances)"), "{name}: {out}");
    }
}

#[test]
fn a_log_with_one_credit_removed_fails_naming_the_reward() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = logged("cafe.toml", dir.path());
    let i = lines.iter().position(|l| l.contains("\"type\":\"credit\"")).expect("a credit");
    let removed = lines.remove(i);
    let (code, out) = audit("cafe.toml", dir.path(), &lines);
    assert_eq!(code, 1, "{out}");
    let reward = format!("{} / {}", field(&removed, "purchase"), field(&removed, "offer"));
    assert!(out.contains(&format!("[not_settled]: {reward} confirmed but never paid")), "{out}");
    assert!(out.contains("[ledger]: the log's books give cardholder_credits"), "{out}");
}

#[test]
fn a_log_with_one_credit_duplicated_fails_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = logged("cafe.toml", dir.path());
    let i = lines.iter().position(|l| l.contains("\"type\":\"credit\"")).expect("a credit");
    let copy = lines[i].clone();
    lines.insert(i + 1, copy.clone());
    let (code, out) = audit("cafe.toml", dir.path(), &lines);
    assert_eq!(code, 1, "{out}");
    let reward = format!("{} / {}", field(&copy, "purchase"), field(&copy, "offer"));
    // Line numbers count from 1: the copy is line i + 2.
    assert!(out.contains(&format!("line {} [reward_state]: credit of {reward} for", i + 2)), "{out}");
}

#[test]
fn a_repeated_match_and_a_lost_clearing_are_each_named() {
    let dir = tempfile::tempdir().unwrap();
    let lines = logged("cafe.toml", dir.path());
    let pos = |kind: &str| lines.iter().position(|l| l.contains(&format!("\"type\":\"{kind}\""))).unwrap();

    let mut twice = lines.clone();
    let m = pos("match");
    twice.insert(m + 1, lines[m].clone());
    let (code, out) = audit("cafe.toml", dir.path(), &twice);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("line {} [reward_duplicated]: {}", m + 2, field(&lines[m], "purchase"))), "{out}");

    // A clearing of a purchase on a linked card that earned nothing, taken out.
    let lost = lines
        .iter()
        .position(|l| {
            l.contains("\"type\":\"clearing\"")
                && !lines
                    .iter()
                    .any(|o| o.contains("\"type\":\"match\"") && field(o, "purchase") == field(l, "purchase"))
                && lines.iter().any(|o| {
                    o.contains("\"type\":\"purchase\"")
                        && field(o, "purchase") == field(l, "purchase")
                        && !o.contains("\"card\":null")
                })
        })
        .expect("a clearing with no reward of a purchase on a linked card");
    let mut without = lines.clone();
    let gone = without.remove(lost);
    let (code, out) = audit("cafe.toml", dir.path(), &without);
    assert_eq!(code, 1);
    let p = field(&gone, "purchase");
    assert!(out.contains(&format!("[accounting]: purchase {p} on a linked card: no clearing or reversal")), "{out}");
}

#[test]
fn a_clawback_without_its_refund_is_named() {
    // A scenario whose refunds reach credited purchases (the café's few refunds may not).
    let dir = tempfile::tempdir().unwrap();
    let lines = logged("duplicate_webhooks.toml", dir.path());
    let c = lines.iter().position(|l| l.contains("\"type\":\"clawback\"")).expect("a clawback");
    let refund = (0..c).rev().find(|&i| lines[i].contains("\"type\":\"refund\"")).unwrap();
    let mut unexplained = lines.clone();
    unexplained.remove(refund);
    let (code, out) = audit("duplicate_webhooks.toml", dir.path(), &unexplained);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("line {} [clawback_without_refund]: {}", c, field(&lines[c], "purchase"))), "{out}");
}

#[test]
fn a_reward_on_a_card_deleted_before_its_clearing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lines = logged("cafe.toml", dir.path());
    let m = lines.iter().position(|l| l.contains("\"type\":\"match\"")).unwrap();
    let clearing = (0..m).rev().find(|&i| lines[i].contains("\"type\":\"clearing\"")).unwrap();
    let token = field(&lines[clearing], "card").to_string();
    let added = lines.iter().position(|l| l.contains("\"type\":\"card_added\"") && l.contains(&token)).unwrap();
    // The card deleted right after it was added (same time, same seq: in order).
    let deleted = lines[added]
        .replace("\"type\":\"card_added\"", "\"type\":\"card_deleted\"")
        .replace("\"physical_card\"", "\"enrollments_ended\":0,\"was\"");
    let mut tampered = lines.clone();
    tampered.insert(added + 1, deleted);
    let (code, out) = audit("cafe.toml", dir.path(), &tampered);
    assert_eq!(code, 1);
    assert!(out.contains("[reward_after_unlink]") && out.contains(field(&lines[m], "purchase")), "{out}");
}

#[test]
fn a_log_that_is_not_one_is_invalid_input_located_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.jsonl");
    std::fs::write(&log, "{\"seq\":0,\"t\":0,\"at\":\"x\",\"shard\":0,\"type\":\"click\",\"user\":1,\"offer\":\"o\"}\n{\"seq\": 1, oops}\n").unwrap();
    let o = offersim(&["audit", scenario("cafe.toml").to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2, column 12"), "{err}");
    std::fs::write(&log, "{\"seq\":0,\"t\":0,\"at\":\"x\",\"shard\":0,\"type\":\"teleport\"}\n").unwrap();
    let o = offersim(&["audit", scenario("cafe.toml").to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1, column 1: unknown line type `teleport`"));
    let o = offersim(&["audit", scenario("cafe.toml").to_str().unwrap(), "/nonexistent/events.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
}
