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

/// A run of one shard on two or more threads replays with helpers (the oracle on its own thread,
/// the network's reports computed ahead); on one thread without. Budget exhaustion withdraws
/// top-ups, so some purchases happen for less than generated and their reports are computed
/// again: the event log, message by message, and the report are the same either way.
#[test]
fn the_replays_helper_threads_change_no_report_and_no_logged_event() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario("budget_exhaustion.toml");
    let mut logs = Vec::new();
    let mut reports = Vec::new();
    for threads in ["1", "2"] {
        let log = dir.path().join(format!("events-{threads}.jsonl"));
        let out = dir.path().join(format!("t{threads}"));
        reports.push(run_to(&s, &out, &["--threads", threads, "--events", log.to_str().unwrap()]));
        logs.push(std::fs::read(&log).unwrap());
    }
    let withdrawn = reports[0].0.split("\"top_ups_withdrawn\": ").skip(1).filter(|rest| !rest.starts_with('0')).count();
    assert!(withdrawn > 0, "the scenario withdraws top-ups (purchases smaller than generated)");
    assert_eq!(reports[0], reports[1], "--threads 1 vs 2");
    assert_eq!(logs[0], logs[1], "event logs, --threads 1 vs 2");
}

/// Without an event log, the replay settles at the purchase the messages the platform can only
/// refuse (a card not linked yet, or never), and the purchases of people who never link a card
/// are settled as they are generated, never replayed (`harness/fold.rs`); with a log, they are
/// replayed and their messages delivered through the queue and refused there. Refunds (a credit
/// can exist by their arrival), deleted cards and holdout experiments (their spend net of
/// refunds) included: the report is the same either way.
#[test]
fn settling_refused_messages_early_changes_no_report() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["refund_storm.toml", "card_deletion.toml", "cafe.toml", "cafe_holdout.toml"] {
        let s = scenario(name);
        let log = dir.path().join(format!("{name}.jsonl"));
        let logged = run_to(&s, &dir.path().join(format!("{name}-log")), &["--events", log.to_str().unwrap()]);
        let quiet = run_to(&s, &dir.path().join(format!("{name}-quiet")), &[]);
        assert_eq!(logged, quiet, "{name}: with an event log vs without");
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

/// `budget_exhaustion.toml` cut into `shards` shards (budgets split between them).
fn sharded(dir: &std::path::Path, shards: u32) -> std::path::PathBuf {
    let text = std::fs::read_to_string(scenario("budget_exhaustion.toml")).unwrap();
    assert!(text.contains("[population]\n"));
    let path = dir.join(format!("sharded-{shards}.toml"));
    std::fs::write(&path, text.replace("[population]\n", &format!("[population]\nshards = {shards}\n"))).unwrap();
    path
}

#[test]
fn a_sharded_run_is_identical_for_any_thread_count_and_with_an_event_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = sharded(dir.path(), 3);
    let one = run_to(&s, &dir.path().join("t1"), &["--threads", "1"]);
    let two = run_to(&s, &dir.path().join("t2"), &["--threads", "2"]);
    let three = run_to(&s, &dir.path().join("t3"), &["--threads", "3"]);
    assert_eq!(one, two, "--threads 1 vs 2");
    assert_eq!(one, three, "--threads 1 vs 3");
    // With an event log, shards run one after another: same report.
    let log = dir.path().join("events.jsonl");
    let logged = run_to(&s, &dir.path().join("log"), &["--threads", "2", "--events", log.to_str().unwrap()]);
    assert_eq!(one, logged, "an event log does not change a sharded run");
    // One sequence of `seq` numbers across the shards.
    let seqs: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "seq never goes back, across shards");
    assert!(seqs.len() > 1_000 && seqs[0] < seqs[seqs.len() - 1]);
}

#[test]
fn the_shard_count_is_part_of_the_scenario_and_budgets_still_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (one, _) = run_to(&sharded(dir.path(), 1), &dir.path().join("s1"), &[]);
    let (four, _) = run_to(&sharded(dir.path(), 4), &dir.path().join("s4"), &[]);
    let (one, four): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&one).unwrap(), serde_json::from_str(&four).unwrap());
    // What people do before the shared replay does not depend on shards.
    assert_eq!(one["funnel"]["impressions"], four["funnel"]["impressions"]);
    assert_eq!(one["funnel"]["enrollments"], four["funnel"]["enrollments"]);
    // Budgets: split, still never exceeded, the books still balance and match the truth.
    for r in [&one, &four] {
        assert_eq!(r["ledger"]["balanced"], true);
        assert_eq!(r["ledger"]["within_budgets"], true);
        assert_eq!(r["correctness"]["missed_credits"], 0);
        assert_eq!(r["correctness"]["false_credits"], 0);
    }
}

#[test]
fn every_surface_on_is_deterministic_for_any_thread_count_and_shard_count_keeps_sales_within_stock() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["concert_buy_button.toml", "shop_carousel.toml", "lunch_hashtag.toml"] {
        let s = scenario(name);
        let one = run_to(&s, &dir.path().join(format!("{name}-1")), &["--threads", "1"]);
        let two = run_to(&s, &dir.path().join(format!("{name}-2")), &["--threads", "2"]);
        assert_eq!(one, two, "{name}: --threads 1 vs 2");
        // In four shards (the tickets split between them), at any thread count.
        let text = std::fs::read_to_string(&s).unwrap().replace("[population]\n", "[population]\nshards = 4\n");
        let file = dir.path().join(format!("sharded-{name}"));
        std::fs::write(&file, text).unwrap();
        let a = run_to(&file, &dir.path().join(format!("{name}-s1")), &["--threads", "1"]);
        let b = run_to(&file, &dir.path().join(format!("{name}-s3")), &["--threads", "3"]);
        assert_eq!(a, b, "{name}: 4 shards, --threads 1 vs 3");
        let r: serde_json::Value = serde_json::from_str(&a.0).unwrap();
        for shop in r["attribution"]["shops"].as_array().unwrap() {
            if let Some(inv) = shop["inventory"].as_u64() {
                assert_eq!(shop["units"].as_u64().unwrap() + shop["inventory_left"].as_u64().unwrap(), inv, "{shop}");
            }
        }
    }
}

/// A network that fails on every purchase after the first `left` it reports on, as a bug would.
struct Failing<'a> {
    inner: &'a dyn offersim_sim::world::network::CardNetwork,
    left: std::sync::atomic::AtomicU64,
}

impl offersim_sim::world::network::CardNetwork for Failing<'_> {
    fn schemes(&self) -> Vec<String> {
        self.inner.schemes()
    }
    fn report(
        &self,
        p: &offersim_sim::world::network::PurchaseFacts,
        draws: offersim_sim::core::rng::Hashed,
        out: &mut Vec<(offersim_sim::SimTime, offersim_sim::world::network::NetworkMessage)>,
        faults: &mut offersim_sim::world::network::FaultCounts,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.left.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1)).is_err() {
            panic!("the network failed");
        }
        self.inner.report(p, draws, out, faults);
    }
}

/// With helper threads beside the replay (one shard, two threads), a panic ends the run with that
/// panic — it neither hangs (helpers waiting on the replay, the replay's scope on the helpers) nor
/// is lost. Here the network fails on its helper thread first, then on the replay's own thread.
#[test]
fn a_panic_beside_the_replays_helpers_ends_the_run_instead_of_hanging_it() {
    let (done, verdict) = std::sync::mpsc::channel();
    // On a thread of its own, so that a hang fails the test instead of hanging the suite.
    std::thread::spawn(move || {
        let text = std::fs::read_to_string(scenario("budget_exhaustion.toml")).unwrap();
        let s = offersim::load_str("budget_exhaustion.toml", &text, &Default::default()).unwrap();
        let failing = Failing { inner: &s.network, left: std::sync::atomic::AtomicU64::new(5_000) };
        let opts = offersim_sim::harness::RunOptions::threads(2);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            offersim_sim::run(&s.world, &failing, opts, &offersim_sim::harness::events::NoProgress, None)
        }));
        let _ = done.send(run.is_err());
    });
    let panicked = verdict.recv_timeout(std::time::Duration::from_secs(120)).expect("the run ended within 2 minutes");
    assert!(panicked, "the network's panic reaches the caller");
}
