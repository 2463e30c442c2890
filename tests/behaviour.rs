//! People respond to an offer's terms (`sim/src/behaviour.rs`): the defaults reproduce their
//! public sources, and a better offer only ever adds — enrollments, redemptions, visits — for
//! every person (common random numbers).

mod common;
use common::*;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::world::behaviour::Behaviour;
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

/// An online grocer built like Zhou, Jin, Gumus and Animesh's (SSRN 6297139, 2026): carts a
/// little under the threshold (median $70), free shipping ($7.99, paid back as a reward) over
/// `min_spend`, shown often enough that most people take it up in the first two days.
fn grocer(min_spend: u32) -> String {
    format!(
        r#"
[scenario]
name = "grocer"
seed = 11
start = "2026-01-05"
days = 56
settle_days = 0

[population]
users = 4000

[segments.shoppers]
share = 1.0
purchases_per_day = 0.15
schemes = {{ visa = 1.0 }}
click_rate = 1.0
card_entry_completion = 1.0

[merchants.grocer]
name = "Online Grocer"
category = "grocery"
channels = {{ online = 1.0 }}
basket = {{ median = 70.00, sigma = 0.35 }}

[offers.free_shipping]
merchant = "grocer"
reward = {{ fixed = 7.99 }}
min_spend = {min_spend}
start = "2026-01-05T00:00"
end = "2026-03-02T00:00"
uplift = 0.3
targeting = {{ impressions_per_day = 20, hours = [0, 24] }}

[network.schemes.visa]
clearing_delay_hours = {{ min = 24, mode = 36, max = 72 }}
"#
    )
}

/// From the third day on, of the people enrolled: their spend per person, and the share of
/// their below-threshold orders on the enrolled card that were topped up.
fn grocer_run(min_spend: u32) -> (f64, f64) {
    let s = load_str("grocer.toml", &grocer(min_spend), &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(2), &NoProgress, Some(&mut log)).unwrap();
    let (mut enrolled, mut spend, mut topped, mut below) = (std::collections::BTreeSet::new(), 0i64, 0u64, 0u64);
    for e in &log.0 {
        match e["type"].as_str() {
            Some("enrollment") => {
                enrolled.insert(e["user"].as_u64().unwrap());
            }
            Some("purchase") if enrolled.contains(&e["user"].as_u64().unwrap()) => {
                if e["at"].as_str().unwrap() < "2026-01-07" {
                    continue;
                }
                let amount = cents(&e["amount"]);
                spend += amount;
                if !e["top_up"].is_null() {
                    topped += 1;
                } else if !e["card"].is_null() && amount < min_spend as i64 * 100 {
                    below += 1;
                }
            }
            _ => {}
        }
    }
    (spend as f64 / 100.0 / enrolled.len() as f64, topped as f64 / (topped + below) as f64)
}

#[test]
fn raising_the_minimum_from_80_to_100_means_fewer_top_ups_and_less_spend() {
    let (spend_80, padded_80) = grocer_run(80);
    let (spend_100, padded_100) = grocer_run(100);
    eprintln!(
        "min $80: ${spend_80:.2} per enrolled person, {:.1}% of below-threshold orders topped up; \
         min $100: ${spend_100:.2}, {:.1}% ({:+.1}% spend)",
        padded_80 * 100.0,
        padded_100 * 100.0,
        (spend_100 / spend_80 - 1.0) * 100.0
    );
    // Hemmati, Elmaghraby, Kabra and Jain (SSRN 3794442, 2021): 12.4% to 28.4% of
    // below-threshold orders padded, across a retailer's free-shipping policies.
    assert!((0.124..=0.284).contains(&padded_80), "{padded_80}");
    assert!(padded_100 < padded_80 - 0.05, "a farther goal is stretched for less: {padded_100}");
    // Zhou et al.: spending fell (19.4%) through smaller carts. Here the direction holds; the
    // size is smaller (scenarios/README.md, "Behaviour", says why).
    assert!(spend_100 < spend_80, "${spend_100:.2} at $100 against ${spend_80:.2} at $80");
}

/// The product team's question on the café, without its budget (a budget caps what the merchant
/// pays whatever the reward, which is a different question): richer rewards bring more people
/// and more redemptions, but past a point cost more than the visits they add.
#[test]
fn the_cafe_reward_sweep_has_an_interior_optimum() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    if let Some(t) = doc["offers"]["cafe_2_over_5"].as_table_like_mut() {
        t.remove("budget");
    }
    let file = dir.path().join("cafe_unbudgeted.toml");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = dir.path().join("sweep");
    let o = offersim(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "offers.cafe_2_over_5.reward=0.5..5/0.5",
        // Twenty seeds: the café is small (a few hundred customers), and with ten the paired
        // interval of the best reward against $0.50 can still reach below zero.
        "--seeds",
        "20",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let variants = s["variants"].as_array().unwrap();
    let mean = |v: &serde_json::Value, m: &str| -> f64 { v["metrics"][m]["mean"].as_str().unwrap().parse().unwrap() };
    for w in variants.windows(2) {
        for m in ["enrollments", "redemptions", "incremental_spend"] {
            assert!(mean(&w[1], m) > mean(&w[0], m), "{m} falls from {} to {}", w[0]["label"], w[1]["label"]);
        }
    }
    let best = s["best"].as_u64().unwrap() as usize;
    let margins: Vec<f64> = variants.iter().map(|v| mean(v, "net_margin")).collect();
    eprintln!("net margin by reward $0.50..$5.00: {margins:?}; best #{best}");
    assert!(best > 1 && best < variants.len(), "the best reward is at an end of the grid: #{best}");
    // Clearly better than both ends, seed by seed.
    let first = &variants[best - 1]["paired_vs_first"]["ci95"];
    assert!(first[0].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "not clearly better than $0.50: {first}");
    assert!(margins[best - 1] > margins[margins.len() - 1] + 100.0, "$5.00 nearly as good: {margins:?}");
}

#[test]
fn the_report_shows_take_up_by_impression_the_incremental_split_and_bunching_at_the_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = run_to(&scenario("cafe.toml"), dir.path(), &[]);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let o = &r["offers"][0];
    let b = &o["behaviour"];
    let by: Vec<u64> = b["enrollments_by_impressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["enrollments"].as_u64().unwrap())
        .collect();
    assert_eq!(by.iter().sum::<u64>(), o["enrollments"].as_u64().unwrap(), "every enrollment has its impression");
    assert!(by[1] + by[2] + by[3] > by[0], "repeated prompts bring more than the first: {by:?}");
    // Incremental spend is the extra visits and the top-ups, less what was reversed or refunded.
    let (extra, top, incremental) =
        (cents(&o["extra_visit_spend"]), cents(&o["top_up_spend"]), cents(&o["incremental_spend"]));
    assert!(top > 0 && extra > 0 && incremental <= extra + top && incremental > (extra + top) * 9 / 10);
    // Top-ups land on the minimum: the bin just above it outnumbers the one just below.
    let bins: Vec<u64> =
        b["baskets_around_min_spend"].as_array().unwrap().iter().map(|x| x["purchases"].as_u64().unwrap()).collect();
    assert_eq!(bins.len(), 12);
    assert!(bins[6] > bins[5] * 2, "100–110% {} against 90–100% {}", bins[6], bins[5]);
    assert!(md.contains("## Behaviour") && md.contains("top-ups land at 100–110%"), "{md}");
}

/// Regulars of one café (a visit a day), an offer for two weeks, then four weeks without it; no
/// reversals or refunds, so the books of incremental spend are exact.
fn regulars(pull_forward: &str) -> String {
    format!(
        r#"
[scenario]
name = "regulars"
seed = 5
start = "2026-03-02"
days = 42
settle_days = 0

[population]
users = 3000

[segments.regulars]
share = 1.0
purchases_per_day = 1.0
schemes = {{ visa = 1.0 }}
click_rate = 0.3
card_entry_completion = 1.0

[merchants.cafe]
name = "Cafe"
category = "cafe"
basket = {{ median = 8.00, sigma = 0.3 }}

[offers.two_back]
merchant = "cafe"
reward = {{ fixed = 2.00 }}
start = "2026-03-02T00:00"
end = "2026-03-16T00:00"
uplift = 0.5
targeting = {{ impressions_per_day = 2 }}

[behaviour]
pull_forward = {pull_forward}

[network.schemes.visa]
clearing_delay_hours = {{ min = 24, mode = 36, max = 72 }}
reversal_rate = 0
refund_rate = 0
"#
    )
}

fn offer_of(text: &str) -> offersim_sim::outcome::OfferStats {
    let s = load_str("regulars.toml", text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(2), &NoProgress, None).unwrap();
    out.offers[0].clone()
}

#[test]
fn a_third_of_extra_visits_are_borrowed_from_after_the_offer() {
    let o = offer_of(&regulars("0.33"));
    let share = o.pulled_forward as f64 / o.extra_visits as f64;
    eprintln!("{} extra visits, {} pulled forward ({:.1}%)", o.extra_visits, o.pulled_forward, share * 100.0);
    // van Heerde, Leeflang and Wittink (2004): about a third of the bump is borrowed.
    assert!(o.extra_visits > 2_000 && (share - 0.33).abs() < 0.03, "{share}");
    // The truth is net of the dip, to the cent.
    assert_eq!(o.incremental_spend, o.extra_visit_spend + o.top_up_spend - o.pulled_forward_spend);
    // Without pull-forward, the same extra visits and no dip (common random numbers).
    let none = offer_of(&regulars("0"));
    assert_eq!((none.extra_visits, none.pulled_forward), (o.extra_visits, 0));
    assert_eq!(none.incremental_spend, o.incremental_spend + o.pulled_forward_spend);
}

#[test]
fn the_worlds_tables_give_the_behaviour_models_own_values_and_the_surge_pieces() {
    // `World::response` and `World::prompt` read tables built with the world; they must be the
    // model's functions to the bit, on every shipped scenario (a table changes no draw).
    let dir = root().join("scenarios");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).expect("scenarios/").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let world = offersim::load_file(&path, &Overrides::default()).expect("scenario loads").world;
        for s in 0..world.segments.len() {
            for o in 0..world.offers.len() {
                let (seg, offer) = (offersim_sim::world::SegmentId(s as u32), offersim_sim::world::OfferId(o as u32));
                let own = world.behaviour.response(world.perceived_value(seg, offer));
                assert_eq!(world.response(seg, offer).to_bits(), own.to_bits(), "{path:?} segment {s} offer {o}");
            }
        }
        for n in 0..200 {
            assert_eq!(world.prompt(n).to_bits(), world.behaviour.prompt(n).to_bits(), "{path:?} prompt {n}");
        }
        assert_eq!(world.max_response().to_bits(), world.behaviour.max_response().to_bits());
        let bits = |v: &[(offersim_sim::SimTime, offersim_sim::SimTime, f64)]| {
            v.iter().map(|&(a, b, f)| (a, b, f.to_bits())).collect::<Vec<_>>()
        };
        assert_eq!(bits(world.surge_pieces()), bits(&world.surge_segments()), "{path:?} surge pieces");
    }
}
