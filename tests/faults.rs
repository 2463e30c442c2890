//! One hand-computed case per card-network fault: a scripted user (a card, an enrollment, a
//! purchase or two) replayed through the real engine and mock network with that fault switched
//! on, and the exact credits, clawbacks and reconciliation against the ground truth checked.
//!
//! The scenario is `tests/common/script.rs`'s café.

mod common;

use common::script::*;
use offersim::scenario::{load_str, Overrides};
use offersim_sim::harness::{run_scripted, RunOptions};
use offersim_sim::people::UserEvent;
use offersim_sim::Cents;

#[test]
fn repeated_deliveries_are_credited_once() {
    let s = scenario("", "", "[network.faults]\nduplicate_rate = 1.0\nduplicate_copies = [3, 3]\n");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    assert_eq!(out.faults.duplicate_deliveries, 4, "auth and clearing, two extra copies each");
    assert_eq!(out.feed.duplicates_ignored, 4);
    assert_eq!(out.money.rewards_credited, Cents(200));
    assert_eq!(out.money.fees_charged, Cents(20));
    assert_eq!(log.iter().filter(|r| r["type"] == "duplicate_ignored").count(), 4);
}

#[test]
fn without_idempotency_the_reconciliation_catches_the_double_credit() {
    let s = scenario("", "", "[network.faults]\nduplicate_rate = 1.0\nduplicate_copies = [2, 2]\n");
    let opts = RunOptions { threads: 1, idempotency: false };
    let out = run_scripted(&s.world, &s.network, opts, one_purchase(650), None);
    assert_eq!(out.money.rewards_credited, Cents(400), "the repeated clearing paid again");
    assert!(out.ledger.is_balanced(), "a double credit is still a balanced one");
    assert_eq!(out.correctness.double_credits, 1);
    assert_eq!(out.correctness.correct_credits, 0);
}

#[test]
fn an_outage_backlog_is_judged_in_the_networks_order() {
    // A budget for one reward. User 0 (Visa) buys Monday 10:00, clearing Wednesday 10:00; user 1
    // (Amex) buys Tuesday 09:30, clearing Wednesday 09:30, earlier. The feed is down Wednesday
    // 09:00-15:00: both arrive at 15:00 in one burst, user 0's scheduled first. The network's
    // order gives the last $2 to user 1, as the truth does.
    let outage = "[[network.outages]]\nstart = \"2026-11-25T09:00\"\nhours = 6\n";
    let s = scenario("budget = 2.00", "", outage);
    let mut u0 = enroll(0, 0, at(0, 8, 0));
    u0.push(buy(0, 0, at(0, 10, 0), 650, 0, VISA));
    let mut u1 = enroll(1, 0, at(0, 8, 0));
    u1.push(buy(1, 0, at(1, 9, 30), 650, 0, AMEX));
    let (out, log) = run(&s, vec![(0, u0), (1, u1)]);
    assert_exact(&out, 1);
    assert_eq!(out.faults.held_by_outage, 2);
    assert_eq!(out.funnel.declined_budget, 1);
    let credit = log.iter().find(|r| r["type"] == "credit").expect("one credit");
    assert_eq!(credit["purchase"], "P1.0");
    assert_eq!(credit["at"], "2026-11-25T15:00:00", "credited when the backlog arrived");
}

#[test]
fn a_clearing_without_an_authorization_still_earns() {
    let s = scenario("", "", "[network]\nauth_enabled_share = 0.0\n");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    assert_eq!(out.faults.clearings_without_auth, 1);
    assert_eq!(log.iter().filter(|r| r["type"] == "auth").count(), 0);
}

#[test]
fn an_authorization_after_its_clearing_changes_nothing() {
    let s = scenario("", "", "[network.faults]\nauth_after_clearing_rate = 1.0\n");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    assert_eq!(out.faults.auths_after_clearing, 1);
    let kinds: Vec<&str> = log
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .filter(|k| ["auth", "clearing", "credit"].contains(k))
        .collect();
    assert_eq!(kinds, ["clearing", "credit", "auth"]);
}

#[test]
fn the_cleared_amount_decides_the_minimum_spend_not_the_authorization() {
    // $5.40 with a 20% tip: the authorization was $4.50, under the $5 minimum; the clearing is
    // $5.40 and earns.
    let s = scenario(
        "",
        "",
        "[network.faults]\nclearing_amount_change_rate = 1.0\nclearing_amount_change_percent = [20, 20]\n",
    );
    let (out, log) = run(&s, one_purchase(540));
    assert_exact(&out, 1);
    let auth = log.iter().find(|r| r["type"] == "auth").expect("an auth");
    assert_eq!(auth["amount"], "4.50");
    let clearing = log.iter().find(|r| r["type"] == "clearing").expect("a clearing");
    assert_eq!(clearing["amount"], "5.40");
}

#[test]
fn a_late_submission_past_the_offer_end_still_earns() {
    // Bought Sunday 23:00, the last hour of the offer; the merchant submits five days late, so
    // the clearing comes a week after the offer ended. The purchase time decides.
    let s = scenario("", "", "[network.faults]\nlate_submission_rate = 1.0\nlate_submission_days = [5, 5]\n");
    let mut events = enroll(0, 0, at(0, 8, 0));
    events.push(buy(0, 0, at(6, 23, 0), 650, 0, VISA));
    let (out, log) = run(&s, vec![(0, events)]);
    assert_exact(&out, 1);
    assert_eq!(out.faults.late_submissions, 1);
    let credit = log.iter().find(|r| r["type"] == "credit").expect("a credit");
    assert_eq!(credit["at"], "2026-12-06T23:00:00");
    assert_eq!(out.time_to_credit, [7 * 86_400]);
}

#[test]
fn a_purchase_at_an_unknown_mid_earns_nothing_by_policy() {
    let s = scenario("", "", "[network.faults]\nunknown_mid_rate = 1.0\n");
    let (out, _) = run(&s, one_purchase(650));
    assert_eq!(out.funnel.credits, 0);
    assert_eq!(out.feed.unknown_mid, 1);
    let c = &out.correctness;
    assert_eq!((c.expected_credits, c.unknown_mid_excluded, c.unexplained()), (0, 1, 0));
}

#[test]
fn a_partial_refund_takes_back_only_what_the_rest_no_longer_earns() {
    // 10% back, no minimum: $20.00 earns $2.00. A partial refund of r leaves 20 - r, which
    // earns 10% of it (half-even to the cent); the clawback is the difference.
    let text = base("", "", "", "refund_rate = 1.0\npartial_refund_share = 1.0")
        .replace("reward = { fixed = 2.00 }\nmin_spend = 5.00", "reward = { percent = 10 }\nmin_spend = 0");
    let s = load_str("partial.toml", &text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let (out, log) = run(&s, one_purchase(2_000));
    assert_exact(&out, 1);
    let refund = log.iter().find(|r| r["type"] == "refund").expect("a refund");
    let r = common::cents(&refund["amount"]);
    assert!((200..=1_800).contains(&r), "a partial refund: {r}");
    let left = 2_000 - r;
    // 10% of `left` cents, half to even.
    let keep = if left % 10 == 5 { (left / 10) + (left / 10) % 2 } else { (left + 5) / 10 };
    assert_eq!(out.money.rewards_clawed_back, Cents(200 - keep));
    assert_eq!(out.offers[0].net_rewards(), Cents(keep));
    assert_eq!(out.correctness.expected_net_rewards, Cents(keep));
}

#[test]
fn an_unreferenced_refund_finds_its_original_by_amount() {
    // Two credited purchases on one card, $6.00 then $9.00, both refunded in full without a
    // reference. The earlier refund ($6.00) must go to the $6.00 purchase, not to the latest one.
    let s = scenario(
        "",
        "refund_rate = 1.0\nunreferenced_refund_share = 1.0\nrefund_delay_days = { min = 2, mode = 2, max = 2 }",
        "",
    );
    let mut events = enroll(0, 0, at(0, 8, 0));
    events.push(buy(0, 0, at(0, 9, 0), 600, 0, VISA));
    events.push(buy(0, 1, at(1, 9, 0), 900, 0, VISA));
    let (out, log) = run(&s, vec![(0, events)]);
    assert_exact(&out, 2);
    assert_eq!(out.faults.unreferenced_refunds, 2);
    let clawed: Vec<&str> =
        log.iter().filter(|r| r["type"] == "clawback").map(|r| r["purchase"].as_str().unwrap()).collect();
    assert_eq!(clawed, ["P0.0", "P0.1"]);
    assert_eq!(out.offers[0].net_rewards(), Cents::ZERO);
}

#[test]
fn a_card_deleted_between_purchase_and_clearing_earns_nothing() {
    let s = scenario("", "", "");
    let mut events = one_purchase(650).remove(0).1;
    events.push((at(1, 12, 0), UserEvent::CardDeleted { token: token(0, 0) }));
    let (out, _) = run(&s, vec![(0, events)]);
    assert_exact(&out, 0);
    assert_eq!(out.feed.not_linked, 1, "the clearing, emitted after the deletion");
}

#[test]
fn a_card_deleted_during_an_outage_after_its_clearing_still_earns() {
    // Cleared Wednesday 09:00, while the feed is down until 15:00; the card is deleted at 12:00.
    // The network emitted the clearing while the card was linked: it counts.
    let s = scenario("", "", "[[network.outages]]\nstart = \"2026-11-25T08:00\"\nhours = 7\n");
    let mut events = one_purchase(650).remove(0).1;
    events.push((at(2, 12, 0), UserEvent::CardDeleted { token: token(0, 0) }));
    let (out, _) = run(&s, vec![(0, events)]);
    assert_exact(&out, 1);
}

#[test]
fn an_enrollment_after_the_purchase_does_not_qualify() {
    let s = scenario("", "", "");
    let mut events = vec![buy(0, 0, at(0, 9, 0), 650, 0, VISA)];
    events.extend(enroll(0, 0, at(0, 10, 0)));
    let (out, _) = run(&s, vec![(0, events)]);
    assert_exact(&out, 0);
    assert_eq!(out.feed.received, 1, "the clearing reached the platform and earned nothing");
}

#[test]
fn each_card_of_a_user_earns_on_its_own_enrollment_across_schemes() {
    // A Visa and an Amex card, both enrolled, a per-card cap of one: one credit each.
    let s = scenario("per_card_cap = 1", "", "");
    let mut events = enroll(0, 0, at(0, 8, 0));
    events.extend(enroll(0, 1, at(0, 8, 5)));
    events.push(buy(0, 0, at(0, 9, 0), 650, 0, VISA));
    events.push(buy(0, 1, at(0, 10, 0), 650, 1, AMEX));
    events.push(buy(0, 2, at(0, 11, 0), 650, 1, AMEX));
    let (out, _) = run(&s, vec![(0, events)]);
    assert_exact(&out, 2);
    assert_eq!(out.funnel.declined_per_card_cap, 1);
}

// ---- the reward's life: pending → confirmed → paid, or reversed on refund -------------------

const HOLD: &str = "return_period_days = 14\npayout_delay_days = 2";

#[test]
fn a_reward_is_pending_through_the_return_period_then_confirmed_then_paid() {
    // Cleared Wednesday 25th 09:00; pending 14 days → confirmed Dec 9 09:00; paid 2 days later.
    let s = scenario(HOLD, "", "");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    let when = |kind: &str| log.iter().find(|r| r["type"] == kind).map(|r| r["at"].as_str().unwrap().to_string());
    assert_eq!(when("match").as_deref(), Some("2026-11-25T09:00:00"));
    assert_eq!(when("confirm").as_deref(), Some("2026-12-09T09:00:00"));
    assert_eq!(when("credit").as_deref(), Some("2026-12-11T09:00:00"));
    assert_eq!(out.money.rewards_paid, Cents(200));
    use offersim_sim::platform::ledger::Account;
    assert_eq!(out.ledger.balance(Account::CardholderCredits), Cents(200));
    assert_eq!(out.ledger.balance(Account::RewardsPending), Cents::ZERO);
}

#[test]
fn a_refund_inside_the_return_period_reverses_the_pending_reward_and_nothing_is_paid() {
    let s = scenario(HOLD, "refund_rate = 1.0\nrefund_delay_days = { min = 7, mode = 7, max = 7 }", "");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    let clawback = log.iter().find(|r| r["type"] == "clawback").expect("a reversal");
    assert_eq!(
        (clawback["from"].as_str(), clawback["amount"].as_str(), clawback["fee"].as_str()),
        (Some("pending"), Some("2.00"), Some("0.20"))
    );
    assert_eq!(log.iter().filter(|r| r["type"] == "credit" || r["type"] == "confirm").count(), 0);
    assert_eq!(out.reversals.pending, Cents(200));
    assert_eq!(out.reversals.clawbacks_from_cardholders, 0);
    assert_eq!(out.ledger.merchant_cost(), Cents::ZERO, "the merchant pays nothing in the end");
}

#[test]
fn a_refund_after_payment_claws_back_from_the_card_account() {
    // Return period 3 days, paid 2 days later (5 days after the clearing); refund 7 days after.
    let s = scenario(
        "return_period_days = 3\npayout_delay_days = 2",
        "refund_rate = 1.0\nrefund_delay_days = { min = 7, mode = 7, max = 7 }",
        "",
    );
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    let clawback = log.iter().find(|r| r["type"] == "clawback").expect("a clawback");
    assert_eq!(clawback["from"], "paid");
    assert_eq!(clawback["at"], "2026-12-02T09:00:00");
    assert_eq!((out.reversals.paid, out.reversals.clawbacks_from_cardholders), (Cents(200), 1));
    assert_eq!(out.money.rewards_paid, Cents(200));
    use offersim_sim::platform::ledger::Account;
    assert_eq!(out.ledger.balance(Account::CardholderCredits), Cents::ZERO);
}

#[test]
fn a_reward_still_in_its_return_period_at_the_end_stays_pending_in_the_books() {
    // Cleared Wednesday 25th; a 60-day return period outlasts the run (40 settlement days).
    let s = scenario("return_period_days = 60", "", "");
    let (out, log) = run(&s, one_purchase(650));
    assert_exact(&out, 1);
    assert_eq!(log.iter().filter(|r| r["type"] == "confirm" || r["type"] == "credit").count(), 0);
    use offersim_sim::platform::ledger::Account;
    assert_eq!(out.ledger.balance(Account::RewardsPending), Cents(200));
    assert_eq!(out.money.rewards_paid, Cents::ZERO);
}
