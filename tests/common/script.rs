//! Scripted runs: a small scenario (Cafe Lumiere, "$2 back on $5 or more" all week from Monday
//! 2026-11-23, 10% platform fee; Visa clears exactly 48 h after the purchase, Amex 24 h, no
//! batches) and hand-written user timelines replayed through the real engine and mock network,
//! for hand-computed cases.

use super::Memory;
use offersim::scenario::{load_str, Overrides, Scenario};
use offersim_sim::harness::{run_scripted, RunOptions};
use offersim_sim::outcome::Outcome;
use offersim_sim::people::{Purchase, UserEvent};
use offersim_sim::world::network::PurchaseId;
use offersim_sim::world::Token;
use offersim_sim::world::{Channel, MerchantId, MidId, OfferId};
use offersim_sim::{Cents, SimTime};
use serde_json::Value;

pub const BASE: &str = r#"
[scenario]
name = "faults"
seed = 1
start = "2026-11-23"
days = 7
settle_days = 40
SCENARIO

[population]
users = 4

[segments.all]
share = 1.0
purchases_per_day = 0.5
cards_per_user = [0.5, 0.5]
schemes = { visa = 0.5, amex = 0.5 }
click_rate = 0.1
card_entry_completion = 1.0

[merchants.cafe]
name = "Cafe Lumiere"
category = "cafe"
mids = 2
channels = { in_store = 0.8, app = 0.2 }
basket = { median = 6.50, sigma = 0.4 }
MERCHANT

[offers.two_over_five]
merchant = "cafe"
reward = { fixed = 2.00 }
min_spend = 5.00
start = "2026-11-23T00:00"
end = "2026-11-30T00:00"
platform_fee_percent = 10
OFFER

[network.schemes.visa]
auth_delay_seconds = [2, 2]
clearing_delay_hours = { min = 48, mode = 48, max = 48 }
clearing_batches_per_day = 0
VISA_EXTRA

[network.schemes.amex]
auth_delay_seconds = [2, 2]
clearing_delay_hours = { min = 24, mode = 24, max = 24 }
clearing_batches_per_day = 0
"#;

pub const VISA: u8 = 0;
pub const AMEX: u8 = 1;

/// The scenario with `offer` lines added to the café offer, `visa` lines to the Visa scheme,
/// and `tail` (more tables: network faults, other offers) at the end.
pub fn scenario(offer: &str, visa: &str, tail: &str) -> Scenario {
    zoned("", "", offer, visa, tail)
}

/// The same with lines added to `[scenario]` and to the café's merchant table.
pub fn zoned(scenario: &str, merchant: &str, offer: &str, visa: &str, tail: &str) -> Scenario {
    let text = base(scenario, merchant, offer, visa) + tail;
    load_str("faults.toml", &text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"))
}

/// The scenario's text with its placeholders filled.
pub fn base(scenario: &str, merchant: &str, offer: &str, visa: &str) -> String {
    BASE.replace("SCENARIO", scenario).replace("MERCHANT", merchant).replace("OFFER", offer).replace("VISA_EXTRA", visa)
}

pub fn at(day: u64, hour: u64, minute: u64) -> SimTime {
    SimTime(day * 86_400 + hour * 3_600 + minute * 60)
}

pub fn token(user: u32, slot: u8) -> Token {
    Token(1_000 + user as u64 * 10 + slot as u64)
}

/// A user who links card `slot` and enrolls it at `when`.
pub fn enroll(user: u32, slot: u8, when: SimTime) -> Vec<(SimTime, UserEvent)> {
    let token = token(user, slot);
    vec![
        (when, UserEvent::CardAdded { slot, token }),
        (when, UserEvent::Enrolled { offer: OfferId(0), token, one_tap: false, impressions: 1 }),
    ]
}

/// An in-store purchase at the café's counter (MID `cafe#2`).
pub fn buy(user: u32, seq: u32, when: SimTime, cents: i64, slot: u8, scheme: u8) -> (SimTime, UserEvent) {
    buy_via(user, seq, when, cents, slot, scheme, Channel::InStore)
}

/// A purchase on `channel`: in store at MID `cafe#2`, in the app at `cafe#1` (the e-commerce
/// MID comes first).
pub fn buy_via(
    user: u32,
    seq: u32,
    when: SimTime,
    cents: i64,
    slot: u8,
    scheme: u8,
    channel: Channel,
) -> (SimTime, UserEvent) {
    let mid = if channel == Channel::InStore { MidId(1) } else { MidId(0) };
    (
        when,
        UserEvent::Purchase(Purchase {
            id: PurchaseId { user, seq },
            key: seq as u64,
            merchant: MerchantId(0),
            mid,
            channel,
            amount: Cents(cents),
            slot,
            scheme,
            effect: Default::default(),
            touch: Default::default(),
            order: None,
        }),
    )
}

pub fn run(s: &Scenario, script: Vec<(u32, Vec<(SimTime, UserEvent)>)>) -> (Outcome, Vec<Value>) {
    let mut log = Memory::default();
    let out = run_scripted(&s.world, &s.network, RunOptions::threads(1), script, Some(&mut log));
    assert!(out.ledger.is_balanced());
    (out, log.0)
}

/// The exactly-once verdict: everything the truth expects was credited, nothing else.
pub fn assert_exact(out: &Outcome, credits: u64) {
    let c = &out.correctness;
    assert_eq!(c.unexplained(), 0, "{c:?}");
    assert_eq!(c.explained.len(), 0, "{c:?}");
    assert_eq!((c.expected_credits, c.correct_credits, out.funnel.credits), (credits, credits, credits), "{c:?}");
}

pub fn one_purchase(cents: i64) -> Vec<(u32, Vec<(SimTime, UserEvent)>)> {
    let mut events = enroll(0, 0, at(0, 8, 0));
    events.push(buy(0, 0, at(0, 9, 0), cents, 0, VISA));
    vec![(0, events)]
}
