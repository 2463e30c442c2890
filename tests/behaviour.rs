//! People respond to an offer's terms (`sim/src/behaviour.rs`): the defaults reproduce their
//! public sources, and a better offer only ever adds — enrollments, redemptions, visits — for
//! every person (common random numbers).

mod common;
use common::*;
use offersim::{load_str, Overrides};
use offersim_sim::behaviour::Behaviour;
use offersim_sim::events::NoProgress;
use offersim_sim::RunOptions;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[test]
fn lee_1982_orange_juice_coupons_are_reproduced() {
    // 35¢ per 24 oz: a 15¢ coupon redeemed 24.6 / 12.7 = 1.94 times as often as a 10¢ one.
    let b = Behaviour::default();
    let ratio = b.response(15.0 / 35.0) / b.response(10.0 / 35.0);
    assert!((ratio - 24.6 / 12.7).abs() < 0.1, "1.5 times the value takes up {ratio:.2} times as often");
}

/// One segment, one offer worth exactly the reference value ($2 back, $8 baskets), seen about
/// once every ten days for a year, no purchases (they do not matter here).
fn prompts_world(users: u32) -> String {
    format!(
        r#"
[scenario]
name = "prompts"
seed = 7
start = "2026-01-01"
days = 366
settle_days = 0

[population]
users = {users}

[segments.all]
share = 1.0
purchases_per_day = 0
schemes = {{ visa = 1.0 }}
click_rate = 0.02
card_entry_completion = 1.0

[merchants.cafe]
name = "Cafe"
category = "cafe"
basket = {{ median = 8.00, sigma = 0.3 }}

[offers.two_back]
merchant = "cafe"
reward = {{ fixed = 2.00 }}
min_spend = 0
start = "2026-01-01T00:00"
end = "2027-01-02T00:00"
targeting = {{ impressions_per_day = 0.1 }}

[network.schemes.visa]
clearing_delay_hours = {{ min = 24, mode = 36, max = 72 }}
"#
    )
}

#[test]
fn pymnts_2024_prompts_are_reproduced_22_percent_first_44_after_two_to_four() {
    let s = load_str("prompts.toml", &prompts_world(80_000), &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(2), &NoProgress, Some(&mut log)).unwrap();
    // Per person: impressions so far (a day's impressions counted at its first), and the
    // impression of their first click (every click enrolls here: one offer, entries complete).
    let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
    let mut at: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &log.0 {
        let user = e["user"].as_u64().unwrap_or(u64::MAX);
        match e["type"].as_str() {
            Some("exposure") => *seen.entry(user).or_default() += e["impressions"].as_u64().unwrap(),
            Some("click") => {
                at.entry(user).or_insert(seen[&user]);
            }
            _ => {}
        }
    }
    let n = at.len() as f64;
    let share = |lo: u64, hi: u64| at.values().filter(|&&k| (lo..=hi).contains(&k)).count() as f64 / n;
    let (first, two_to_four) = (share(1, 1), share(2, 4));
    eprintln!(
        "{n} enrollees: {:.1}% at the first impression, {:.1}% at the second to fourth, {:.1}% later",
        first * 100.0,
        two_to_four * 100.0,
        share(5, u64::MAX) * 100.0
    );
    assert!(n > 1_000.0, "{n} enrollees");
    assert!((first - 0.22).abs() < 0.03, "first impression: {:.1}% of enrollees", first * 100.0);
    assert!((two_to_four - 0.44).abs() < 0.05, "second to fourth: {:.1}%", two_to_four * 100.0);
}

/// A café with one offer of `reward` dollars back over $5 and an uplift, no budget and no card
/// deletions (an earlier enrollment would otherwise also mean an earlier deletion).
fn cafe(seed: u64, reward: &str) -> String {
    let text = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["scenario"]["seed"] = toml_edit::value(seed as i64);
    doc["population"]["users"] = toml_edit::value(300);
    let offer = &mut doc["offers"]["cafe_2_over_5"];
    offer["reward"] = toml_edit::Item::Value(format!("{{ fixed = {reward} }}").parse().unwrap());
    if let Some(t) = offer.as_table_like_mut() {
        t.remove("budget");
        t.remove("per_card_cap");
    }
    for (_, seg) in doc["segments"].as_table_like_mut().unwrap().iter_mut() {
        if let Some(t) = seg.as_table_like_mut() {
            t.remove("card_delete_per_day");
        }
    }
    doc.to_string()
}

/// Per person: enrollments, redemptions (credits) and spend at the café.
fn per_person(text: &str) -> BTreeMap<u64, (u64, u64, i64)> {
    let s = load_str("cafe.toml", text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, Some(&mut log)).unwrap();
    let mut out: BTreeMap<u64, (u64, u64, i64)> = BTreeMap::new();
    for e in &log.0 {
        let user_of = |p: &serde_json::Value| -> u64 {
            p.as_str().and_then(|p| p.trim_start_matches('P').split('.').next()?.parse().ok()).unwrap_or(u64::MAX)
        };
        match e["type"].as_str() {
            Some("enrollment") => out.entry(e["user"].as_u64().unwrap()).or_default().0 += 1,
            Some("credit") => out.entry(user_of(&e["purchase"])).or_default().1 += 1,
            Some("purchase") if e["merchant"] == "cafe_lumiere" => {
                out.entry(e["user"].as_u64().unwrap()).or_default().2 += cents(&e["amount"]);
            }
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn a_richer_offer_never_lowers_anyones_enrollments_redemptions_or_spend(
        seed in 0u64..1_000_000,
        low in 1u32..6,
        more in 1u32..6,
    ) {
        let poorer = per_person(&cafe(seed, &format!("{low}.00")));
        let richer = per_person(&cafe(seed, &format!("{}.00", low + more)));
        for (user, p) in &poorer {
            let r = richer.get(user).copied().unwrap_or_default();
            prop_assert!(r.0 >= p.0, "user {user}: enrollments {} -> {}", p.0, r.0);
            prop_assert!(r.1 >= p.1, "user {user}: redemptions {} -> {}", p.1, r.1);
            prop_assert!(r.2 >= p.2, "user {user}: spend {} -> {}", p.2, r.2);
        }
        let total = |m: &BTreeMap<u64, (u64, u64, i64)>| m.values().map(|v| v.0).sum::<u64>();
        prop_assert!(total(&richer) >= total(&poorer));
    }
}

#[test]
fn a_worthless_offer_is_never_taken_up_and_adds_no_visits() {
    let zero = per_person(&cafe(3, "0.01").replace("{ fixed = 0.01 }", "{ percent = 0.0001 }"));
    let none: u64 = zero.values().map(|v| v.0).sum();
    // $0.0001% of a basket is worth nothing to anyone: a response of (almost) zero.
    assert_eq!(none, 0, "{none} enrollments in a worthless offer");
}
