//! Surges shape the purchase rate exactly, including where they overlap, and edge timings at
//! the end of the run are handled.

use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;

fn scenario(extra: &str, settle_days: u32) -> String {
    format!(
        r#"
[scenario]
name = "surges"
seed = 3
start = "2026-11-23"
days = 3
settle_days = {settle_days}

[population]
users = 2000

[segments.all]
share = 1.0
purchases_per_day = 2.0
schemes = {{ visa = 1.0 }}
click_rate = 1.0
card_entry_completion = 0.5

[merchants.m]
name = "M"
category = "x"
basket = {{ median = 10.00, sigma = 0.5 }}

[offers.o]
merchant = "m"
reward = {{ fixed = 1.00 }}
targeting = {{ hours = [23, 24], impressions_per_day = 50 }}

[network.schemes.visa]
clearing_delay_hours = {{ min = 24, mode = 48, max = 72 }}
{extra}
"#
    )
}

#[test]
fn a_small_surge_ending_inside_a_big_one_does_not_cap_it() {
    // ×0.5 for day 0; ×4 from day 0 12:00 to the end of day 1: day 1 runs at ×4.
    let surges = r#"
[[surges]]
name = "quiet"
start = "2026-11-23T00:00"
hours = 24
multiplier = 0.5

[[surges]]
name = "rush"
start = "2026-11-23T12:00"
hours = 36
multiplier = 4
"#;
    let s = load_str("surges.toml", &scenario(surges, 5), &Overrides::default()).unwrap();
    assert_eq!(s.world.max_surge(), 4.0);
    let factors: Vec<f64> = s.world.surge_segments().iter().map(|(_, _, f)| *f).collect();
    assert_eq!(factors, [0.5, 2.0, 4.0, 1.0]);
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, None).unwrap();
    // Expected purchases: 2,000 users × 2 a day × factor (flat profile).
    let expect = [2000.0 * 2.0 * (0.5 + 2.0) / 2.0, 2000.0 * 2.0 * 4.0, 2000.0 * 2.0];
    for (day, e) in expect.iter().enumerate() {
        let got = out.daily[day].purchases as f64;
        assert!((got - e).abs() < 0.05 * e, "day {day}: {got} purchases, expected about {e}");
    }
}

#[test]
fn card_entries_finishing_after_the_last_day_are_handled_with_no_settlement() {
    // Exposures until 24:00 on the last day; card entries take minutes, so enrollments land
    // after the period, and with settle_days = 0 after the horizon too.
    let s = load_str("surges.toml", &scenario("", 0), &Overrides::default()).unwrap();
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, None).unwrap();
    assert!(out.funnel.enrollments > 0);
    assert!(out.ledger.is_balanced());
}
