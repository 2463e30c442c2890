//! Every shipped scenario runs as is, and its report proves that nothing was lost: zero missed,
//! false, double, wrong-amount and wrong-reversal credits against the ground truth. The fault
//! scenarios also show that their faults were injected. (black_friday.toml, the largest, is
//! run in release by CI instead.)

mod common;
use common::*;
use serde_json::Value;

fn report(name: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = run_to(&scenario(name), dir.path(), &[]);
    serde_json::from_str(&json).unwrap()
}

fn assert_nothing_lost(r: &Value, name: &str) {
    let c = &r["correctness"];
    for k in ["missed_credits", "false_credits", "double_credits", "wrong_amounts", "wrong_reversals"] {
        assert_eq!(c[k], 0, "{name}: {k}");
    }
    assert!(c["expected_credits"].as_u64().unwrap() > 0, "{name}: the scenario earns rewards");
    assert_eq!(r["ledger"]["balanced"], true);
    assert_eq!(r["ledger"]["credits_match_rewards"], true);
}

#[test]
fn the_small_scenarios_credit_exactly_what_the_truth_says() {
    for name in ["cafe.toml", "budget_exhaustion.toml", "card_deletion.toml"] {
        assert_nothing_lost(&report(name), name);
    }
}

#[test]
fn network_outage_holds_the_black_friday_peak_and_loses_nothing() {
    let r = report("network_outage.toml");
    assert_nothing_lost(&r, "network_outage");
    assert!(r["faults"]["held_by_outage"].as_u64().unwrap() > 10_000, "{}", r["faults"]);
    assert!(r["network"]["duplicates_ignored"].as_u64().unwrap() > 0);
    assert!(r["faults"]["clearings_without_auth"].as_u64().unwrap() > 0);
}

#[test]
fn duplicate_webhooks_are_all_ignored() {
    let r = report("duplicate_webhooks.toml");
    assert_nothing_lost(&r, "duplicate_webhooks");
    let ignored = r["network"]["duplicates_ignored"].as_u64().unwrap();
    assert!(ignored > 1_000, "{ignored}");
    assert!(r["faults"]["clearing_amount_changed"].as_u64().unwrap() > 0);
}

#[test]
fn refund_storm_reverses_rewards_before_and_after_payment() {
    let r = report("refund_storm.toml");
    assert_nothing_lost(&r, "refund_storm");
    let reversed = &r["ledger"]["reversed"];
    assert!(cents(&reversed["pending"]) > 0, "{reversed}");
    assert!(cents(&reversed["paid"]) > 0, "{reversed}");
    assert!(reversed["clawbacks_from_cardholders"].as_u64().unwrap() > 0);
    assert!(r["faults"]["partial_refunds"].as_u64().unwrap() > 0);
    assert!(r["faults"]["unreferenced_refunds"].as_u64().unwrap() > 0);
}
