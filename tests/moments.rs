//! Time-boxed targeting moments: the #hungry lunch window and a burst of exposures at a big
//! game's ad break.

mod common;

use common::Memory;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;
use serde_json::Value;

fn run(targeting: &str) -> Vec<Value> {
    let text = format!(
        "[scenario]\nname = \"moments\"\nseed = 3\nstart = \"2026-02-02\"\ndays = 7\nsettle_days = 3\n\n\
         [population]\nusers = 3000\n\n\
         [segments.fans]\nshare = 0.5\nhashtags = {{ hungry = 1.0 }}\npurchases_per_day = 0.3\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.0\ncard_entry_completion = 0.5\n\n\
         [segments.others]\nshare = 0.5\npurchases_per_day = 0.3\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.0\ncard_entry_completion = 0.5\n\n\
         [merchants.snacks]\nname = \"Snacks\"\ncategory = \"c\"\nbasket = {{ median = 6.00, sigma = 0.3 }}\n\n\
         [offers.snack]\nmerchant = \"snacks\"\nreward = {{ fixed = 1.00 }}\ntargeting = {targeting}\n\n\
         [network.schemes.visa]\nclearing_delay_hours = {{ min = 1, mode = 2, max = 3 }}\n"
    );
    let s = load_str("moments.toml", &text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, Some(&mut log)).unwrap();
    log.0
}

#[test]
fn the_hungry_lunch_audience_sees_the_offer_between_ten_and_one_only() {
    let log = run("{ hashtags = [\"hungry\"], hours = [10, 13], impressions_per_day = 2.0 }");
    let views: Vec<&Value> = log.iter().filter(|e| e["type"] == "exposure").collect();
    assert!(views.len() > 500);
    for v in &views {
        let hour: u32 = v["at"].as_str().unwrap()[11..13].parse().unwrap();
        assert!((10..13).contains(&hour), "{v}");
    }
    // Only people who post #hungry (the fans: half the population, by profile).
    let people: std::collections::BTreeSet<u64> = views.iter().map(|v| v["user"].as_u64().unwrap()).collect();
    assert!(people.len() < 1_600, "{}", people.len());
}

#[test]
fn a_burst_puts_its_exposures_inside_the_ad_break() {
    // No steady exposure; a 3-minute burst at 20:15 on Sunday, two impressions per person on average.
    let log = run(
        "{ hashtags = [\"hungry\"], impressions_per_day = 0.0, bursts = [{ start = \"2026-02-08T20:15\", minutes = 3, impressions = 2.0 }] }",
    );
    let views: Vec<&Value> = log.iter().filter(|e| e["type"] == "exposure").collect();
    let total: u64 = views.iter().map(|v| v["impressions"].as_u64().unwrap()).sum();
    for v in &views {
        let at = v["at"].as_str().unwrap();
        assert!(("2026-02-08T20:15:00".."2026-02-08T20:18:00").contains(&at), "{v}");
    }
    // About 1,500 fans × 2 impressions.
    assert!((2_600..=3_400).contains(&total), "{total} impressions");
}

#[test]
fn a_burst_outside_the_activity_period_is_refused() {
    let text = "{ bursts = [{ start = \"2027-01-01T00:00\", minutes = 3, impressions = 1.0 }] }";
    let r = std::panic::catch_unwind(|| run(text));
    assert!(r.is_err(), "a burst after the period must be refused");
}
