//! Same scenario + seed → byte-identical reports, whatever the thread count; another seed →
//! another report.

mod common;
use common::*;

#[test]
fn same_seed_twice_gives_byte_identical_reports_and_event_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let ev_a = dir.path().join("a.jsonl");
    let ev_b = dir.path().join("b.jsonl");
    let s = scenario("budget_exhaustion.toml");
    let ra = run_to(&s, &a, &["--events", ev_a.to_str().unwrap()]);
    let rb = run_to(&s, &b, &["--events", ev_b.to_str().unwrap()]);
    assert_eq!(ra, rb);
    let (la, lb) = (std::fs::read(&ev_a).unwrap(), std::fs::read(&ev_b).unwrap());
    assert!(la.len() > 10_000, "the event log has content");
    assert_eq!(la, lb);
}

#[test]
fn thread_count_never_changes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["card_deletion.toml", "cafe.toml"] {
        let s = scenario(name);
        let one = run_to(&s, &dir.path().join(format!("{name}-1")), &["--threads", "1"]);
        let two = run_to(&s, &dir.path().join(format!("{name}-2")), &["--threads", "2"]);
        let four = run_to(&s, &dir.path().join(format!("{name}-4")), &["--threads", "4"]);
        assert_eq!(one, two, "{name}: --threads 1 vs 2");
        assert_eq!(one, four, "{name}: --threads 1 vs 4");
    }
}

#[test]
fn a_different_seed_gives_a_different_report() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario("cafe.toml");
    let (a, _) = run_to(&s, &dir.path().join("a"), &["--seed", "1"]);
    let (b, _) = run_to(&s, &dir.path().join("b"), &["--seed", "2"]);
    assert_ne!(a, b);
    assert!(a.contains("\"seed\": 1,") && b.contains("\"seed\": 2,"));
}

#[test]
fn the_report_holds_no_wall_clock_or_host_details() {
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = run_to(&scenario("cafe.toml"), dir.path(), &[]);
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for text in [&json, &md] {
        assert!(!text.contains("ran in") && !text.contains("events/s"), "no performance figures");
        if !host.trim().is_empty() {
            assert!(!text.contains(host.trim()), "no host name");
        }
    }
}
