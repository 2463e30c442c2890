//! One hand-computed case per offer rule, on the scripted café of `tests/common/script.rs`
//! ("$2 back on $5 or more", Visa clearing 48 h and Amex 24 h after the purchase), each checked
//! against the exact credits and against the ground truth.

mod common;

use common::script::*;
use offersim_sim::people::UserEvent;
use offersim_sim::world::Channel;
use offersim_sim::Cents;
use serde_json::Value;

fn events(log: &[Value], kind: &str) -> Vec<(String, String)> {
    log.iter()
        .filter(|r| r["type"] == kind)
        .map(|r| (r["purchase"].as_str().unwrap().to_string(), r["offer"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn declines(log: &[Value]) -> Vec<(String, String)> {
    log.iter()
        .filter(|r| r["type"] == "declined")
        .map(|r| (r["purchase"].as_str().unwrap().to_string(), r["reason"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn a_per_user_cap_counts_every_card_of_the_user() {
    // One credit per user: the Visa purchase earns, the Amex one (another card) is declined.
    let s = scenario("per_user_cap = 1", "", "");
    let mut e = enroll(0, 0, at(0, 8, 0));
    e.extend(enroll(0, 1, at(0, 8, 0)));
    e.push(buy(0, 0, at(0, 9, 0), 650, 0, VISA)); // clears Wed 09:00
    e.push(buy(0, 1, at(1, 12, 0), 650, 1, AMEX)); // clears Wed 12:00
    let (out, log) = run(&s, vec![(0, e)]);
    assert_exact(&out, 1);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "two_over_five")]));
    assert_eq!(declines(&log), pairs(&[("P0.1", "per_user_cap")]));
}

#[test]
fn a_limit_per_enrollment_starts_over_with_a_new_enrollment() {
    // One transaction per enrollment: the second purchase on the same enrollment is declined;
    // after deleting the card and adding it again (a new token, a new enrollment) it earns again.
    let s = scenario("transactions_per_enrollment = 1", "", "");
    let mut e = enroll(0, 0, at(0, 8, 0));
    e.push(buy(0, 0, at(0, 9, 0), 650, 0, VISA));
    e.push(buy(0, 1, at(0, 10, 0), 650, 0, VISA));
    e.push((at(3, 8, 0), UserEvent::CardDeleted { token: token(0, 0) }));
    let again = offersim_sim::world::Token(99);
    e.push((at(3, 9, 0), UserEvent::CardAdded { slot: 0, token: again }));
    e.push((
        at(3, 9, 0),
        UserEvent::Enrolled { offer: offersim_sim::world::OfferId(0), token: again, one_tap: false, impressions: 1 },
    ));
    e.push(buy(0, 2, at(3, 10, 0), 650, 0, VISA));
    let (out, log) = run(&s, vec![(0, e)]);
    assert_exact(&out, 2);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "two_over_five"), ("P0.2", "two_over_five")]));
    assert_eq!(declines(&log), pairs(&[("P0.1", "enrollment_limit")]));
}

#[test]
fn a_maximum_spend_is_inclusive() {
    let s = scenario("max_spend = 50.00", "", "");
    let mut e = enroll(0, 0, at(0, 8, 0));
    e.push(buy(0, 0, at(0, 9, 0), 5_000, 0, VISA));
    e.push(buy(0, 1, at(0, 10, 0), 5_001, 0, VISA));
    let (out, log) = run(&s, vec![(0, e)]);
    assert_exact(&out, 1);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "two_over_five")]));
}

#[test]
fn channel_scheme_and_location_filters_admit_only_what_they_name() {
    // App orders only, on Amex cards only, at the app's MID: one purchase passes all three.
    let s = scenario("channels = [\"app\"]\nschemes = [\"amex\"]\nmids = [\"cafe#1\"]", "", "");
    let mut e = enroll(0, 0, at(0, 8, 0));
    e.extend(enroll(0, 1, at(0, 8, 0)));
    e.push(buy_via(0, 0, at(0, 9, 0), 650, 1, AMEX, Channel::App)); // passes
    e.push(buy_via(0, 1, at(0, 10, 0), 650, 0, VISA, Channel::App)); // Visa
    e.push(buy(0, 2, at(0, 11, 0), 650, 1, AMEX)); // in store, at cafe#2
    let (out, log) = run(&s, vec![(0, e)]);
    assert_exact(&out, 1);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "two_over_five")]));
    assert!(declines(&log).is_empty(), "filters are terms, not limits: nothing is declined");
}

#[test]
fn a_new_customer_offer_pays_only_the_first_visit_in_its_window() {
    // New customers: no purchase at the café seen in the last 30 days. Monday's purchase earns;
    // Thursday's (Monday's clearing was seen on Wednesday) does not. Another user's first visit
    // earns.
    let s = scenario("new_customer_days = 30", "", "");
    let mut u0 = enroll(0, 0, at(0, 8, 0));
    u0.push(buy(0, 0, at(0, 9, 0), 650, 0, VISA));
    u0.push(buy(0, 1, at(3, 9, 0), 650, 0, VISA));
    let mut u1 = enroll(1, 0, at(0, 8, 0));
    u1.push(buy(1, 0, at(3, 9, 0), 650, 0, VISA));
    let (out, log) = run(&s, vec![(0, u0), (1, u1)]);
    assert_exact(&out, 2);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "two_over_five"), ("P1.0", "two_over_five")]));
}

#[test]
fn a_budget_per_period_declines_the_reward_that_does_not_fit() {
    // $3.00 a day, $2 rewards, `decline`: of three clearings on Wednesday one is paid; Thursday's
    // clearing starts a new period and is paid.
    let s = scenario("budget_per_period = { amount = 3.00, days = 1 }", "", "");
    let mut script = Vec::new();
    for u in 0..3u32 {
        let mut e = enroll(u, 0, at(0, 8, 0));
        e.push(buy(u, 0, at(0, 9 + u as u64, 0), 650, 0, VISA)); // clear Wednesday
        script.push((u, e));
    }
    let mut e3 = enroll(3, 0, at(0, 8, 0));
    e3.push(buy(3, 0, at(1, 9, 0), 650, 0, VISA)); // clears Thursday
    script.push((3, e3));
    let (out, log) = run(&s, script);
    assert_exact(&out, 2);
    assert_eq!(declines(&log), pairs(&[("P1.0", "period_budget"), ("P2.0", "period_budget")]));
    assert_eq!(out.offers[0].period_overspend, Cents::ZERO);
}

#[test]
fn finish_last_pays_the_reward_that_overshoots_and_reports_the_overspend() {
    // Same day, `finish_last`: $2 (left $1), then $2 although only $1 is left ($1 overspent),
    // then nothing left: declined.
    let s = scenario("budget_per_period = { amount = 3.00, days = 1 }\noverspend = \"finish_last\"", "", "");
    let mut script = Vec::new();
    for u in 0..3u32 {
        let mut e = enroll(u, 0, at(0, 8, 0));
        e.push(buy(u, 0, at(0, 9 + u as u64, 0), 650, 0, VISA));
        script.push((u, e));
    }
    let (out, log) = run(&s, script);
    assert_exact(&out, 2);
    assert_eq!(declines(&log), pairs(&[("P2.0", "period_budget")]));
    assert_eq!((out.offers[0].period_overspend, out.offers[0].budget_overspend), (Cents(100), Cents::ZERO));
}

#[test]
fn priority_wins_over_a_bigger_reward_and_a_stackable_offer_pays_on_top() {
    // The café offer ($2) loses to a priority-1 loyalty offer ($1); a stackable $0.50 bonus
    // pays on top. A full refund reverses both rewards of the purchase.
    let tail = "
[offers.loyalty]
merchant = \"cafe\"
reward = { fixed = 1.00 }
priority = 1

[offers.bonus]
merchant = \"cafe\"
reward = { fixed = 0.50 }
stackable = true
";
    let s = scenario("", "refund_rate = 1.0\nrefund_delay_days = { min = 3, mode = 3, max = 3 }", tail);
    let token = token(0, 0);
    let mut e = vec![(at(0, 8, 0), UserEvent::CardAdded { slot: 0, token })];
    for offer in 0..3 {
        e.push((
            at(0, 8, 0),
            UserEvent::Enrolled {
                offer: offersim_sim::world::OfferId(offer),
                token,
                one_tap: offer > 0,
                impressions: 1,
            },
        ));
    }
    e.push(buy(0, 0, at(0, 9, 0), 650, 0, VISA));
    let (out, log) = run(&s, vec![(0, e)]);
    assert_exact(&out, 2);
    assert_eq!(events(&log, "match"), pairs(&[("P0.0", "loyalty"), ("P0.0", "bonus")]));
    assert_eq!(events(&log, "clawback"), pairs(&[("P0.0", "loyalty"), ("P0.0", "bonus")]));
    assert_eq!(out.money.rewards_credited, Cents(150));
    assert_eq!(out.money.rewards_clawed_back, Cents(150));
    assert_eq!(out.ledger.merchant_cost(), Cents::ZERO);
}

// ---- time zones: the merchant's local time decides -------------------------------------------
// The scenario runs on New York time (-05:00); the café is in San Francisco (-08:00), three
// hours behind: scenario 14:30 is 11:30 at the café.

fn west(offer: &str) -> offersim::scenario::Scenario {
    zoned("utc_offset = \"-05:00\"", "utc_offset = \"-08:00\"", offer, "", "")
}

fn one_buy(when: offersim_sim::SimTime) -> Vec<(u32, Vec<(offersim_sim::SimTime, UserEvent)>)> {
    let mut e = enroll(0, 0, at(0, 8, 0));
    e.push(buy(0, 0, when, 650, 0, VISA));
    vec![(0, e)]
}

#[test]
fn offer_hours_are_the_merchants_local_hours() {
    let s = west("hours = [11, 14]");
    assert_exact(&run(&s, one_buy(at(0, 14, 30))).0, 1); // 11:30 at the café
    assert_exact(&run(&s, one_buy(at(0, 11, 30))).0, 0); // 08:30 at the café
    assert_exact(&run(&s, one_buy(at(0, 17, 0))).0, 0); // 14:00 at the café: outside [11, 14)
}

#[test]
fn an_offer_window_ends_at_the_merchants_midnight() {
    // Ends Sunday 29th 00:00 at the café = 03:00 in New York.
    let text = base("utc_offset = \"-05:00\"", "utc_offset = \"-08:00\"", "", "")
        .replace("end = \"2026-11-30T00:00\"", "end = \"2026-11-29T00:00\"");
    let s = offersim::scenario::load_str("west.toml", &text, &Default::default()).expect("valid");
    assert_exact(&run(&s, one_buy(at(6, 2, 0))).0, 1); // Saturday 23:00 at the café
    assert_exact(&run(&s, one_buy(at(6, 3, 30))).0, 0); // Sunday 00:30 at the café
}

#[test]
fn offer_weekdays_are_the_merchants_local_days() {
    // Saturdays only, at the café: New York's Sunday 01:00 is still Saturday 22:00 there.
    let s = west("days = [\"sat\"]");
    assert_exact(&run(&s, one_buy(at(6, 1, 0))).0, 1);
    assert_exact(&run(&s, one_buy(at(5, 1, 0))).0, 0); // Friday 22:00 at the café
}

#[test]
fn a_merchant_ahead_of_the_scenario_may_start_its_offer_at_its_own_midnight() {
    // Tokyo (+09:00) against UTC: the café's Monday 00:00 is Sunday 15:00 in the scenario,
    // before it starts; the offer starts with the scenario, and Monday 09:00 UTC is 18:00 there.
    let s = zoned("", "utc_offset = \"+09:00\"", "hours = [18, 19]", "", "");
    assert_exact(&run(&s, one_buy(at(0, 9, 0))).0, 1);
    assert_exact(&run(&s, one_buy(at(0, 18, 0))).0, 0);
}
