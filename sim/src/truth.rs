//! The ground truth: which purchases *should* earn which reward. The engine feeds this oracle
//! the users' card and enrollment events and a **clean** copy of the network's feed (every
//! clearing and refund once, at the network's own timestamp, with the true merchant and the
//! original purchase always known), and the oracle applies the offer rules with its own state.
//! At the end, `reconcile` compares its verdicts with what the pipeline credited from the
//! faulty feed (duplicates, outages, late and reordered messages, unknown MIDs, refunds without
//! reference).
//!
//! The rules are those of `matching.rs`, written out again as plainly as possible; the shared
//! pieces are the offer terms themselves (`Offer::admits_time`, `reward_for`).

use crate::matching::reward_for;
use crate::money::{percent_of, Cents};
use crate::network::PurchaseId;
use crate::population::Token;
use crate::time::SimTime;
use crate::world::{MerchantId, OfferId, Reward, World};
use serde::Serialize;
use std::collections::BTreeMap;

/// A card as the oracle knows it.
struct Card {
    slot: u8,
    token: Token,
    added: SimTime,
    deleted: Option<SimTime>,
    enrolled: Vec<(OfferId, SimTime)>,
}

/// What a purchase should have earned, and what refunds should have taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub offer: OfferId,
    pub reward: Cents,
    pub fee: Cents,
    pub amount: Cents,
    pub refunded: Cents,
    /// Reward still owed after refunds.
    pub net_reward: Cents,
}

/// What the pipeline did about one purchase, as `reconcile` needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub offer: OfferId,
    pub reward: Cents,
    pub net_reward: Cents,
    /// How many times the purchase was credited (more than once is a double credit).
    pub times: u32,
}

/// Why a difference between pipeline and truth is expected: a documented policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// A refund without reference was matched by card, merchant and amount to another purchase
    /// than its original.
    UnreferencedRefund,
    /// The message was still in the network (an outage backlog, a late retry) when the run
    /// ended.
    InFlightAtEnd,
}

pub struct Oracle<'w> {
    world: &'w World,
    cards: Vec<Vec<Card>>,
    /// Credits per (user, physical card, offer).
    redeemed: BTreeMap<(u32, u8, OfferId), u32>,
    budget_left: Vec<Option<Cents>>,
    pub expected: BTreeMap<PurchaseId, Expected>,
    /// Purchases that met an offer's terms at a terminal the MID registry lacks: by the
    /// `unknown_mid` policy they do not qualify (offers pay at registered locations only).
    pub unknown_mid_excluded: u64,
}

impl<'w> Oracle<'w> {
    pub fn new(world: &'w World, users: usize) -> Self {
        Oracle {
            world,
            cards: (0..users).map(|_| Vec::new()).collect(),
            redeemed: BTreeMap::new(),
            budget_left: world.offers.iter().map(|o| o.budget).collect(),
            expected: BTreeMap::new(),
            unknown_mid_excluded: 0,
        }
    }

    pub fn card_added(&mut self, now: SimTime, user: u32, slot: u8, token: Token) {
        self.cards[user as usize].push(Card { slot, token, added: now, deleted: None, enrolled: Vec::new() });
    }

    pub fn enrolled(&mut self, now: SimTime, user: u32, token: Token, offer: OfferId) {
        if let Some(c) = self.cards[user as usize].iter_mut().find(|c| c.token == token && c.deleted.is_none()) {
            c.enrolled.push((offer, now));
        }
    }

    pub fn card_deleted(&mut self, now: SimTime, user: u32, token: Token) {
        if let Some(c) = self.cards[user as usize].iter_mut().find(|c| c.token == token && c.deleted.is_none()) {
            c.deleted = Some(now);
        }
    }

    /// A clearing at `now` (the network's timestamp) of `amount` for a purchase made at
    /// `bought_at` on the user's card `slot` at `merchant`, at a registered location or not.
    #[allow(clippy::too_many_arguments)]
    pub fn clearing(
        &mut self,
        now: SimTime,
        purchase: PurchaseId,
        slot: u8,
        merchant: MerchantId,
        registered: bool,
        bought_at: SimTime,
        amount: Cents,
    ) {
        let user = purchase.user;
        // The card linked now (the feed covers linked cards only).
        let Some(card) = self.cards[user as usize]
            .iter()
            .find(|c| c.slot == slot && c.added <= now && c.deleted.is_none_or(|d| d > now))
        else {
            return;
        };
        let mut best: Option<(Cents, OfferId)> = None;
        for &(offer, since) in &card.enrolled {
            let o = &self.world.offers[offer.0 as usize];
            if since > bought_at
                || o.merchant != merchant
                || amount < o.min_spend
                || !o.admits_time(&self.world.calendar, bought_at)
            {
                continue;
            }
            let reward = reward_for(&o.reward, amount);
            let used = self.redeemed.get(&(user, slot, offer)).copied().unwrap_or(0);
            let under_cap = o.per_card_cap.is_none_or(|cap| used < cap);
            let in_budget = self.budget_left[offer.0 as usize].is_none_or(|left| left >= reward);
            if reward <= Cents::ZERO || !under_cap || !in_budget {
                continue;
            }
            let wins = match best {
                None => true,
                Some((r, id)) => reward > r || (reward == r && offer < id),
            };
            if wins {
                best = Some((reward, offer));
            }
        }
        let Some((reward, offer)) = best else {
            return;
        };
        if !registered {
            self.unknown_mid_excluded += 1;
            return;
        }
        *self.redeemed.entry((user, slot, offer)).or_default() += 1;
        if let Some(left) = self.budget_left[offer.0 as usize].as_mut() {
            *left -= reward;
        }
        let fee = percent_of(reward, self.world.offers[offer.0 as usize].fee_percent);
        self.expected
            .insert(purchase, Expected { offer, reward, fee, amount, refunded: Cents::ZERO, net_reward: reward });
    }

    /// A refund of `amount` of `purchase` (the oracle always knows the original).
    pub fn refund(&mut self, purchase: PurchaseId, amount: Cents) {
        let world = self.world;
        if let Some(e) = self.expected.get_mut(&purchase) {
            e.refunded += amount;
            e.net_reward = reward_after_refund(&world.offers[e.offer.0 as usize], e.reward, e.amount - e.refunded);
        }
    }
}

/// The reward a credited purchase keeps once refunds bring its amount down to `net`: nothing
/// below the minimum spend (or when nothing is left); a percent reward recomputed on what is
/// left (never more than it was); a fixed reward unchanged.
pub fn reward_after_refund(o: &crate::world::Offer, original: Cents, net: Cents) -> Cents {
    if net <= Cents::ZERO || net < o.min_spend {
        return Cents::ZERO;
    }
    match o.reward {
        Reward::Fixed(_) => original,
        Reward::Percent { .. } => reward_for(&o.reward, net).min(original),
    }
}

/// The comparison of pipeline and truth, purchase by purchase.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Correctness {
    /// Purchases the truth says earn a reward.
    pub expected_credits: u64,
    /// Rewards the truth says are owed at the end (after refunds).
    pub expected_net_rewards: Cents,
    /// Credited by the pipeline exactly as the truth says (offer, amount, refunds).
    pub correct_credits: u64,
    /// Unexplained discrepancies: each must be zero.
    pub missed_credits: u64,
    pub false_credits: u64,
    pub double_credits: u64,
    /// Credited, but with another offer or amount than the truth.
    pub wrong_amounts: u64,
    /// Credited as the truth says, but refunds took back a different amount.
    pub wrong_reversals: u64,
    /// Discrepancies a documented policy explains, by policy.
    pub explained: BTreeMap<Policy, u64>,
    /// Purchases that met an offer's terms at a terminal the MID registry lacks, not credited by
    /// the `unknown_mid` policy (in the truth as in the pipeline).
    pub unknown_mid_excluded: u64,
    /// The first few discrepancies (explained or not), for replaying.
    pub examples: Vec<Discrepancy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    pub purchase: PurchaseId,
    pub kind: &'static str,
    pub policy: Option<Policy>,
    pub expected: Cents,
    pub credited: Cents,
}

impl Correctness {
    pub fn unexplained(&self) -> u64 {
        self.missed_credits + self.false_credits + self.double_credits + self.wrong_amounts + self.wrong_reversals
    }
}

/// How many discrepancies `Correctness::examples` keeps.
pub const EXAMPLES: usize = 20;

/// Compares the pipeline's credits with the truth, purchase by purchase. `policies` lists the
/// purchases a documented policy touched (the pipeline knows when it applied one).
pub fn reconcile(
    expected: &BTreeMap<PurchaseId, Expected>,
    unknown_mid_excluded: u64,
    granted: &BTreeMap<PurchaseId, Granted>,
    policies: &BTreeMap<PurchaseId, Policy>,
) -> Correctness {
    let mut c = Correctness {
        unknown_mid_excluded,
        expected_credits: expected.len() as u64,
        expected_net_rewards: expected.values().map(|e| e.net_reward).sum(),
        ..Default::default()
    };
    let note = |c: &mut Correctness, purchase: PurchaseId, kind: &'static str, e: Cents, g: Cents| {
        let policy = policies.get(&purchase).copied();
        if let Some(p) = policy {
            *c.explained.entry(p).or_default() += 1;
        } else {
            match kind {
                "missed" => c.missed_credits += 1,
                "false" => c.false_credits += 1,
                "double" => c.double_credits += 1,
                "wrong_amount" => c.wrong_amounts += 1,
                _ => c.wrong_reversals += 1,
            }
        }
        if c.examples.len() < EXAMPLES {
            c.examples.push(Discrepancy { purchase, kind, policy, expected: e, credited: g });
        }
    };
    let mut e_iter = expected.iter().peekable();
    let mut g_iter = granted.iter().peekable();
    loop {
        let (e, g) = match (e_iter.peek(), g_iter.peek()) {
            (None, None) => break,
            (Some((pe, _)), Some((pg, _))) if pe == pg => (e_iter.next(), g_iter.next()),
            (Some((pe, _)), Some((pg, _))) if pe < pg => (e_iter.next(), None),
            (Some(_), None) => (e_iter.next(), None),
            _ => (None, g_iter.next()),
        };
        match (e, g) {
            (Some((&p, e)), None) => note(&mut c, p, "missed", e.reward, Cents::ZERO),
            (None, Some((&p, g))) => note(&mut c, p, "false", Cents::ZERO, g.reward),
            (Some((&p, e)), Some((_, g))) => {
                if g.times > 1 {
                    note(&mut c, p, "double", e.reward, Cents(g.reward.0 * g.times as i64));
                } else if g.offer != e.offer || g.reward != e.reward {
                    note(&mut c, p, "wrong_amount", e.reward, g.reward);
                } else if g.net_reward != e.net_reward {
                    note(&mut c, p, "wrong_reversal", e.net_reward, g.net_reward);
                } else {
                    c.correct_credits += 1;
                }
            }
            (None, None) => break,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Offer;
    use rust_decimal::Decimal;

    fn offer(reward: Reward, min_spend: i64) -> Offer {
        Offer::for_tests(reward, Cents(min_spend))
    }

    #[test]
    fn a_fixed_reward_survives_a_partial_refund_above_the_minimum_spend() {
        let o = offer(Reward::Fixed(Cents(200)), 500);
        assert_eq!(reward_after_refund(&o, Cents(200), Cents(500)), Cents(200));
        assert_eq!(reward_after_refund(&o, Cents(200), Cents(499)), Cents::ZERO);
        assert_eq!(reward_after_refund(&o, Cents(200), Cents::ZERO), Cents::ZERO);
    }

    #[test]
    fn a_percent_reward_is_recomputed_on_what_is_left_and_never_grows() {
        let o = offer(Reward::Percent { percent: Decimal::from(5), cap: Some(Cents(300)) }, 0);
        // 5% of $80.00 = $4.00, capped at $3.00; after a refund leaving $45.10: 5% = 2.255 → 2.26
        // (half to even on the third decimal: 225.5 cents → 226).
        assert_eq!(reward_after_refund(&o, Cents(300), Cents(4_510)), Cents(226));
        assert_eq!(reward_after_refund(&o, Cents(300), Cents(7_000)), Cents(300), "capped, never more");
    }

    fn exp(offer: u32, reward: i64, net: i64) -> Expected {
        Expected {
            offer: OfferId(offer),
            reward: Cents(reward),
            fee: Cents::ZERO,
            amount: Cents(1_000),
            refunded: Cents::ZERO,
            net_reward: Cents(net),
        }
    }

    fn got(offer: u32, reward: i64, net: i64, times: u32) -> Granted {
        Granted { offer: OfferId(offer), reward: Cents(reward), net_reward: Cents(net), times }
    }

    #[test]
    fn reconcile_sorts_every_purchase_into_exactly_one_category() {
        let p = |seq| PurchaseId { user: 1, seq };
        let expected = BTreeMap::from([
            (p(0), exp(0, 200, 200)), // correct
            (p(1), exp(0, 200, 200)), // missed
            (p(3), exp(0, 200, 200)), // double
            (p(4), exp(0, 200, 200)), // wrong offer
            (p(5), exp(0, 200, 0)),   // wrong reversal
            (p(6), exp(0, 200, 200)), // missed, explained
        ]);
        let granted = BTreeMap::from([
            (p(0), got(0, 200, 200, 1)),
            (p(2), got(0, 200, 200, 1)), // false
            (p(3), got(0, 200, 400, 2)),
            (p(4), got(1, 200, 200, 1)),
            (p(5), got(0, 200, 200, 1)),
        ]);
        let policies = BTreeMap::from([(p(6), Policy::InFlightAtEnd)]);
        let c = reconcile(&expected, 0, &granted, &policies);
        assert_eq!(
            (
                c.correct_credits,
                c.missed_credits,
                c.false_credits,
                c.double_credits,
                c.wrong_amounts,
                c.wrong_reversals
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(c.explained, BTreeMap::from([(Policy::InFlightAtEnd, 1)]));
        assert_eq!(c.expected_credits, 6);
        assert_eq!(c.examples.len(), 6);
    }
}
