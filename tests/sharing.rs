//! Sharing as a branching process: hand-computed with certain rates, the same for any shard
//! count, and supercritical cascades grow while subcritical ones fizzle.

mod common;

use common::Memory;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn text(sharing: &str, shards: u32) -> String {
    format!(
        "[scenario]\nname = \"share\"\nseed = 9\nstart = \"2026-06-01\"\ndays = 4\nsettle_days = 5\n\n\
         [population]\nusers = 2000\nshards = {shards}\n\n\
         [segments.fans]\nshare = 0.1\nhashtags = {{ tour = 1.0 }}\npurchases_per_day = 0.5\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.2\ncard_entry_completion = 0.8\n\n\
         [segments.others]\nshare = 0.9\npurchases_per_day = 0.5\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.1\ncard_entry_completion = 0.8\n\n\
         [merchants.arena]\nname = \"Arena\"\ncategory = \"c\"\nbasket = {{ median = 30.00, sigma = 0.3 }}\n\n\
         [offers.tour]\nmerchant = \"arena\"\nreward = {{ fixed = 5.00 }}\nmin_spend = 10.00\nuplift = 0.5\n\
         targeting = {{ hashtags = [\"tour\"], impressions_per_day = 0.5 }}\nsharing = {sharing}\n\n\
         [network.schemes.visa]\nclearing_delay_hours = {{ min = 1, mode = 2, max = 3 }}\n"
    )
}

fn run(t: &str) -> (Value, Vec<Value>) {
    let s = load_str("share.toml", t, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(2), &NoProgress, Some(&mut log)).unwrap();
    (serde_json::to_value(offersim_reports::build(&s.world, &out)).unwrap(), log.0)
}

fn cascade(r: &Value) -> &Value {
    &r["attribution"]["sharing"][0]
}

fn sum(v: &Value) -> u64 {
    v.as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum()
}

#[test]
fn nobody_shares_at_a_zero_rate() {
    let (r, log) = run(&text("{ share_rate = 0.0 }", 1));
    assert_eq!(sum(&cascade(&r)["sharers_by_generation"]), 0);
    assert_eq!(cascade(&r)["people_reached"], 0);
    assert!(!log.iter().any(|e| e["type"] == "share_seen" || e["type"] == "shared"));
}

#[test]
fn when_everyone_shares_to_three_followers_each_share_is_three_views() {
    let (r, log) =
        run(&text("{ share_rate = 1.0, followers_median = 3, followers_sigma = 0.0, delay_hours = 0.01 }", 1));
    let c = cascade(&r);
    let sharers = sum(&c["sharers_by_generation"]);
    let views = sum(&c["views_by_generation"]);
    assert!(sharers > 100, "{c}");
    // Three followers each; only a self-follow or a view after the offer ends is skipped.
    assert!(views <= 3 * sharers && views + 10 >= 3 * sharers, "{views} views for {sharers} sharers");
    // The log says the same, person by person: each shares once, after seeing the post.
    let mut first_seen: BTreeMap<u64, u64> = BTreeMap::new();
    let mut shared: BTreeSet<u64> = BTreeSet::new();
    let mut seen_events = 0;
    for e in &log {
        let (u, t) = (e["user"].as_u64().unwrap_or(u64::MAX), e["t"].as_u64().unwrap());
        match e["type"].as_str().unwrap() {
            "exposure" | "share_seen" => {
                first_seen.entry(u).or_insert(t);
                seen_events += (e["type"] == "share_seen") as u64;
            }
            "shared" => {
                assert!(shared.insert(u), "user {u} shared twice");
                assert!(first_seen.get(&u).is_some_and(|&s| s < t), "user {u} shared before seeing the post");
            }
            _ => {}
        }
    }
    assert_eq!(shared.len() as u64, sharers);
    assert_eq!(seen_events, views);
    let reached: BTreeSet<u64> =
        log.iter().filter(|e| e["type"] == "share_seen").map(|e| e["user"].as_u64().unwrap()).collect();
    assert_eq!(reached.len() as u64, c["people_reached"].as_u64().unwrap());
}

#[test]
fn the_cascade_is_the_same_in_any_number_of_shards() {
    let spec = "{ share_rate = 0.05, followers_median = 40, followers_sigma = 1.0 }";
    let (a, _) = run(&text(spec, 1));
    let (b, _) = run(&text(spec, 3));
    assert_eq!(cascade(&a), cascade(&b));
    assert!(sum(&cascade(&a)["views_by_generation"]) > 0);
}

#[test]
fn a_supercritical_cascade_grows_and_a_subcritical_one_fizzles() {
    // Mean followers 40 × e^(1/2) ≈ 66: a 5% share rate makes 3.3 new sharers per sharer, 0.5% 0.33.
    let (big, _) =
        run(&text("{ share_rate = 0.05, followers_median = 40, followers_sigma = 1.0, max_reach = 1000000 }", 1));
    let (small, _) = run(&text("{ share_rate = 0.005, followers_median = 40, followers_sigma = 1.0 }", 1));
    let v = |r: &Value| {
        cascade(r)["views_by_generation"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect::<Vec<_>>()
    };
    let (g, s) = (v(&big), v(&small));
    assert!(g.iter().skip(1).any(|n| *n > g[0]), "viral: a later generation outgrows the first: {g:?}");
    assert!(
        cascade(&big)["people_reached"].as_u64().unwrap()
            > 10 * cascade(&small)["people_reached"].as_u64().unwrap().max(1),
        "{g:?} vs {s:?}"
    );
    assert!(s.iter().skip(1).all(|n| *n <= s[0]), "fizzles: {s:?}");
}
