//! The launch example, checked credit by credit. The test re-derives from the event log, with
//! its own code, which purchases must earn the café's "$2 back on any order over $5" (enrolled
//! before the purchase, card still linked at clearing, $5.00 or more, in the offer's week, one
//! per physical card, a $150 budget: 75 rewards at most) and compares with what the pipeline
//! credited.

// Amounts in cents are written `150_00` for $150.00.
#![allow(clippy::inconsistent_digit_grouping)]

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

struct Log {
    lines: Vec<Value>,
}

impl Log {
    fn of(&self, kind: &str) -> impl Iterator<Item = &Value> {
        let kind = kind.to_string();
        self.lines.iter().filter(move |v| v["type"] == kind.as_str())
    }
}

#[test]
fn cafe_credits_exactly_the_purchases_the_rules_allow() {
    for seed in ["2013", "1", "2"] {
        credits_match_the_rules(seed);
    }
}

fn credits_match_the_rules(seed: &str) {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let (json, _) = run_to(&scenario("cafe.toml"), dir.path(), &["--seed", seed, "--events", events.to_str().unwrap()]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let text = std::fs::read_to_string(&events).unwrap();
    let log = Log { lines: text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect() };

    // Enrollment time per card token, and deletion time per token.
    let mut enrolled_at: BTreeMap<String, u64> = BTreeMap::new();
    for e in log.of("enrollment") {
        assert_eq!(e["offer"], "cafe_2_over_5");
        enrolled_at.entry(e["card"].as_str().unwrap().to_string()).or_insert(e["t"].as_u64().unwrap());
    }
    let deleted_at: BTreeMap<String, u64> =
        log.of("card_deleted").map(|e| (e["card"].as_str().unwrap().to_string(), e["t"].as_u64().unwrap())).collect();
    // Purchases by id: (time, merchant, amount).
    let purchases: BTreeMap<String, (u64, String, i64)> = log
        .of("purchase")
        .map(|p| {
            let id = p["purchase"].as_str().unwrap().to_string();
            (id, (p["t"].as_u64().unwrap(), p["merchant"].as_str().unwrap().to_string(), cents(&p["amount"])))
        })
        .collect();

    // The cap is per physical card. A user's card entry always stores their primary card, so
    // every token of a user is the same card: the cap is per user here.
    let owner: BTreeMap<String, u64> =
        log.of("card_added").map(|e| (e["card"].as_str().unwrap().to_string(), e["user"].as_u64().unwrap())).collect();

    // Walk the clearings in log order, applying the rules by hand.
    let week = (0u64, 7 * 86_400u64);
    let mut credited_cards: BTreeSet<u64> = BTreeSet::new();
    let mut expected: Vec<String> = Vec::new();
    let mut budget_cents = 150_00i64;
    for c in log.of("clearing") {
        let card = c["card"].as_str().unwrap();
        let id = c["purchase"].as_str().unwrap();
        let (bought, merchant, amount) = &purchases[id];
        let cleared = c["t"].as_u64().unwrap();
        let qualifies = merchant == "cafe_lumiere"
            && *amount >= 5_00
            && (week.0..week.1).contains(bought)
            && enrolled_at.get(card).is_some_and(|t| t <= bought)
            && deleted_at.get(card).is_none_or(|t| *t > cleared);
        let physical = owner[card];
        if qualifies && !credited_cards.contains(&physical) && budget_cents >= 2_00 {
            credited_cards.insert(physical);
            budget_cents -= 2_00;
            expected.push(id.to_string());
        }
    }
    let credited: Vec<String> = log.of("credit").map(|c| c["purchase"].as_str().unwrap().to_string()).collect();
    assert!(expected.len() >= 20, "the scenario exercises the offer ({} credits)", expected.len());
    assert_eq!(credited, expected, "seed {seed}: the pipeline credits exactly the purchases the rules allow");

    // Every reward: $2.00 with a 10% fee of $0.20; every statement credit (paid at once: the
    // café has no return period) $2.00 with the café's descriptor.
    for m in log.of("match") {
        assert_eq!(m["reward"], "2.00");
        assert_eq!(m["fee"], "0.20");
    }
    for c in log.of("credit") {
        assert_eq!(c["amount"], "2.00");
        assert_eq!(c["descriptor"], "Offers * Cafe Lumiere");
    }
    // The report agrees with the log.
    let n = expected.len() as i64;
    let clawbacks = log.of("clawback").count() as i64;
    assert_eq!(report["funnel"]["credits"], n);
    assert_eq!(report["funnel"]["clawbacks"], clawbacks);
    assert_eq!(cents(&report["money"]["rewards_credited"]), n * 2_00);
    assert_eq!(cents(&report["money"]["net_rewards"]), (n - clawbacks) * 2_00);
    assert_eq!(cents(&report["money"]["platform_fees"]), (n - clawbacks) * 20);
    assert_eq!(cents(&report["money"]["merchant_cost"]), (n - clawbacks) * 2_20);
    let offer = &report["offers"][0];
    assert_eq!(cents(&offer["budget_left"]), 150_00 - n * 2_00);
    assert_eq!(report["ledger"]["balanced"], true);
}

/// (Not the café itself: too few of its credited purchases are refunded.)
#[test]
fn a_refund_of_a_credited_purchase_claws_back_exactly_that_reward() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    // The card-deletion scenario: enough credits and refunds to see clawbacks.
    run_to(&scenario("card_deletion.toml"), dir.path(), &["--events", events.to_str().unwrap()]);
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let credits: BTreeMap<&str, &Value> =
        lines.iter().filter(|v| v["type"] == "credit").map(|v| (v["purchase"].as_str().unwrap(), v)).collect();
    let matches: BTreeMap<&str, &Value> =
        lines.iter().filter(|v| v["type"] == "match").map(|v| (v["purchase"].as_str().unwrap(), v)).collect();
    let refunds: BTreeSet<&str> =
        lines.iter().filter(|v| v["type"] == "refund").map(|v| v["purchase"].as_str().unwrap()).collect();
    let clawbacks: Vec<&Value> = lines.iter().filter(|v| v["type"] == "clawback").collect();
    let expected: BTreeSet<&str> = credits.keys().filter(|p| refunds.contains(*p)).copied().collect();
    let got: BTreeSet<&str> = clawbacks.iter().map(|v| v["purchase"].as_str().unwrap()).collect();
    assert_eq!(got, expected, "every refunded credit, and only those, is clawed back");
    assert!(!got.is_empty(), "this seed has clawbacks to check");
    for c in clawbacks {
        let credit = credits[c["purchase"].as_str().unwrap()];
        assert_eq!(c["amount"], credit["amount"]);
        assert_eq!(c["fee"], matches[c["purchase"].as_str().unwrap()]["fee"]);
        assert_eq!(c["card"], credit["card"]);
        assert_eq!(c["from"], "paid", "no return period: the reward was paid, the clawback debits the card");
    }
}
