//! Random streams are per entity and purpose: changing one part of a scenario leaves what does
//! not depend on it exactly as it was.

mod common;
use common::Memory;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;
use serde_json::Value;
use std::collections::BTreeMap;

const BASE: &str = r#"
[scenario]
name = "stability"
seed = 99
start = "2026-06-01"
days = 4
settle_days = 5

[population]
users = 300

[segments.all]
share = 1.0
hashtags = { coffee = 0.5, books = 0.3 }
purchases_per_day = 2.0
cards_per_user = [0.5, 0.5]
schemes = { visa = 1.0 }
click_rate = 0.3
card_entry_completion = 0.7
card_delete_per_day = 0.2

[merchants.cafe]
name = "Cafe"
category = "cafe"
basket = { median = 6.00, sigma = 0.4 }

[merchants.shop]
name = "Shop"
category = "retail"
mids = 3
channels = { in_store = 0.7, online = 0.3 }
basket = { median = 30.00, sigma = 0.6 }

[offers.coffee]
merchant = "cafe"
reward = { fixed = 1.00 }
min_spend = 3.00
uplift = 0.5
targeting = { hashtags = ["coffee"], impressions_per_day = 2.0 }

[network.schemes.visa]
clearing_delay_hours = { min = 24, mode = 48, max = 72 }
reversal_rate = 0.05
refund_rate = 0.1
"#;

fn events(text: &str) -> Vec<Value> {
    let s = load_str("stability.toml", text, &Overrides::default()).expect("valid scenario");
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(2), &NoProgress, Some(&mut log)).expect("runs");
    // `seq` is the processing index: it shifts when anything is added, so it is left out.
    log.0
        .into_iter()
        .map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("seq");
            }
            v
        })
        .collect()
}

/// The user a record is about (from `user`, or from a purchase id `P<user>.<n>`).
fn user_of(v: &Value) -> Option<u64> {
    v["user"].as_u64().or_else(|| v["purchase"].as_str()?.strip_prefix('P')?.split('.').next()?.parse().ok())
}

/// Each user's own events: funnel, purchases and the network's messages about them (credits
/// are left out: budgets are shared, so they may legitimately move).
fn by_user(log: &[Value]) -> BTreeMap<u64, Vec<Value>> {
    let mut m: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for v in log {
        let own = !matches!(v["type"].as_str(), Some("match" | "declined" | "credit" | "clawback"));
        if let (true, Some(u)) = (own, user_of(v)) {
            m.entry(u).or_default().push(v.clone());
        }
    }
    m
}

#[test]
fn adding_users_leaves_existing_users_unchanged() {
    let before = by_user(&events(BASE));
    let after = by_user(&events(&BASE.replace("users = 300", "users = 400")));
    assert!(after.keys().any(|u| *u >= 300), "the new users did something");
    for (u, evs) in &before {
        assert_eq!(Some(evs), after.get(u), "user {u}");
    }
}

#[test]
fn appending_a_merchant_moves_only_the_purchases_it_wins() {
    // Without uplift: the uplift rate follows the offer merchant's share, which a new merchant
    // changes, and uplift purchases renumber the user's purchases.
    let base = BASE.replace("uplift = 0.5", "uplift = 0.0");
    let before = events(&base);
    let after = events(&format!(
        "{base}\n[merchants.deli]\nname = \"Deli\"\ncategory = \"grocery\"\nbasket = {{ median = 9.00, sigma = 0.5 }}\n"
    ));
    let purchases = |log: &[Value]| -> BTreeMap<String, Value> {
        log.iter()
            .filter(|v| v["type"] == "purchase")
            .map(|v| (v["purchase"].as_str().unwrap().to_string(), v.clone()))
            .collect()
    };
    let (b, a) = (purchases(&before), purchases(&after));
    assert_eq!(b.len(), a.len(), "as many purchases");
    assert!(b.keys().eq(a.keys()), "the same purchase ids");
    let mut moved = 0;
    for (id, pb) in &b {
        let pa = &a[id];
        assert_eq!(pb["t"], pa["t"], "{id}: time unchanged");
        if pb != pa {
            assert_eq!(pa["merchant"], "deli", "{id}: a purchase that changes goes to the new merchant");
            moved += 1;
        }
    }
    // Zipf ranks 1, 2, 3 with exponent 1: the third merchant has (1/3) / (1 + 1/2 + 1/3) of the
    // traffic, 18.2%.
    let share = moved as f64 / b.len() as f64;
    assert!((share - 0.182).abs() < 0.03, "moved share {share}");
}

#[test]
fn adding_an_offer_leaves_users_it_never_reaches_unchanged() {
    let before = by_user(&events(BASE));
    let after_log = events(&format!(
        "{BASE}\n[offers.books]\nmerchant = \"shop\"\nreward = {{ percent = 10 }}\nuplift = 0.5\ntargeting = {{ hashtags = [\"books\"] }}\n"
    ));
    let reached: std::collections::BTreeSet<u64> =
        after_log.iter().filter(|v| v["type"] == "exposure" && v["offer"] == "books").filter_map(user_of).collect();
    let after = by_user(&after_log);
    assert!(!reached.is_empty() && reached.len() < before.len(), "the new offer reaches some users, not all");
    let mut compared = 0;
    for (u, evs) in &before {
        if !reached.contains(u) {
            assert_eq!(Some(evs), after.get(u), "user {u} never saw the new offer");
            compared += 1;
        }
    }
    assert!(compared > 100);
}
