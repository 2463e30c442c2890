//! Holdout experiments: a random share of an offer's targeted audience never sees it; the report
//! estimates incremental spend and lift from exposed vs held-out people.

mod common;
use common::*;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::world::OfferId;
use offersim_sim::RunOptions;

fn dollars(v: &serde_json::Value) -> f64 {
    v.as_str().expect("money is a string").parse().expect("a number")
}

#[test]
fn the_holdout_estimate_covers_the_simulators_own_truth_and_the_naive_lift_overstates() {
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = run_to(&scenario("cafe_holdout.toml"), dir.path(), &[]);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let offer = &r["offers"][0];
    let h = &offer["holdout"];
    let (exposed, held) = (h["exposed_users"].as_u64().unwrap(), h["held_out_users"].as_u64().unwrap());
    let share = held as f64 / (exposed + held) as f64;
    assert!((share - 0.3).abs() < 0.02, "about 30% held out: {share}");
    let truth = dollars(&offer["incremental_spend"]);
    let (lo, hi) = (dollars(&h["incremental_spend"]["ci95"][0]), dollars(&h["incremental_spend"]["ci95"][1]));
    assert!(lo < truth && truth < hi, "the 95% interval [{lo}, {hi}] covers the true {truth}");
    assert!(lo > 0.0, "the effect is detected");
    let lift: f64 = h["lift_percent"]["estimate"].as_str().unwrap().parse().unwrap();
    let naive: f64 = h["naive_lift_percent"].as_str().unwrap().parse().unwrap();
    assert!(naive > lift, "the naive comparison overstates the lift: {naive} vs {lift}");
    assert!(md.contains("## Incrementality: holdout against exposed"));
}

/// The café scenario at 3,000 people with the given holdout, run with an event log.
fn run_cafe(holdout: &str) -> (offersim::Scenario, Vec<serde_json::Value>) {
    let text = std::fs::read_to_string(scenario("cafe_holdout.toml")).unwrap();
    let text =
        text.replace("users = 40_000", "users = 3_000").replace("holdout = 0.3 ", &format!("holdout = {holdout} "));
    let s = load_str("cafe_holdout.toml", &text, &Overrides::default()).unwrap();
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, Some(&mut log)).unwrap();
    (s, log.0)
}

#[test]
fn held_out_people_never_see_the_offer_and_holding_out_changes_nothing_else() {
    let (s, with) = run_cafe("0.3");
    let (_, without) = run_cafe("0.0");
    let held = |u: u64| offersim_sim::people::held_out(&s.world, u as u32, OfferId(0));
    let users_seen = |log: &[serde_json::Value]| -> Vec<u64> {
        log.iter().filter(|e| e["type"] == "exposure").map(|e| e["user"].as_u64().unwrap()).collect()
    };
    let seen_with = users_seen(&with);
    assert!(!seen_with.is_empty());
    assert!(seen_with.iter().all(|&u| !held(u)), "no held-out person sees the offer");
    assert!(users_seen(&without).iter().any(|&u| held(u)), "without a holdout they would have");
    // Everyone else sees exactly what they saw without the holdout (common random numbers).
    let not_held: Vec<&serde_json::Value> =
        without.iter().filter(|e| e["type"] == "exposure" && !held(e["user"].as_u64().unwrap())).collect();
    let exposures_with: Vec<&serde_json::Value> = with.iter().filter(|e| e["type"] == "exposure").collect();
    assert_eq!(
        not_held.iter().map(|e| (&e["t"], &e["user"], &e["impressions"])).collect::<Vec<_>>(),
        exposures_with.iter().map(|e| (&e["t"], &e["user"], &e["impressions"])).collect::<Vec<_>>()
    );
}

/// With four weeks after the offer in the run, the extra visits that were only pulled forward
/// show as a dip after it: the truth is net of it, and so is the holdout estimate, which
/// measures over the offer's window and the `pull_forward_days` after it.
#[test]
fn the_holdout_estimate_covers_the_truth_net_of_the_dip_after_the_offer() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scenario("cafe_holdout.toml")).unwrap();
    let text = text.replace("days = 7\n", "days = 35\n").replace("users = 40_000", "users = 20_000");
    assert!(text.contains("days = 35"), "the scenario's period is a week");
    let file = dir.path().join("cafe_holdout_long.toml");
    std::fs::write(&file, text).unwrap();
    let (json, _) = run_to(&file, &dir.path().join("out"), &[]);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let offer = &r["offers"][0];
    let pulled = offer["pulled_forward"].as_u64().unwrap();
    let extra = offer["extra_visits"].as_u64().unwrap();
    assert!(pulled * 5 > extra, "a dip after the offer: {pulled} of {extra} extra visits pulled forward");
    assert_eq!(offer["behaviour"]["pull_forward_cut_by_period"], false);
    let h = &offer["holdout"];
    let truth = dollars(&offer["incremental_spend"]);
    let (lo, hi) = (dollars(&h["incremental_spend"]["ci95"][0]), dollars(&h["incremental_spend"]["ci95"][1]));
    assert!(lo < truth && truth < hi, "the 95% interval [{lo}, {hi}] covers the true {truth}");
    // Without the dip the truth would be higher by the pulled-forward spend.
    assert!(truth < dollars(&offer["extra_visit_spend"]) + dollars(&offer["top_up_spend"]));
}
