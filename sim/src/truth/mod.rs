//! The ground truth: which purchases *should* earn which rewards. The engine feeds this oracle
//! the users' card and enrollment events and a **clean** copy of the network's feed: every
//! clearing and refund once (in the order the platform first receives them: budgets and caps
//! are first come, first served by receipt), judged as of the network's timestamp, with the
//! true amount, the true merchant, and the original of every refund known. The oracle applies
//! the offer rules with its own state. At the end, `reconcile` compares its verdicts with what
//! the pipeline credited from the faulty feed (repeats, outages, late authorizations, changed
//! amounts, unknown MIDs, refunds without reference).
//!
//! The rules are those of `matching.rs`, written out again as plainly as possible; the shared
//! pieces are the offer terms themselves (`Offer::admits`, `Offer::fits`, `Reward::on`).

mod feed;
mod reconcile;

pub use feed::{Feed, Input};
pub use reconcile::{reconcile, Correctness, Discrepancy, Granted, Policy};

use crate::core::bitset::BitSet;
use crate::core::money::{percent_of, Cents};
use crate::core::per_user::PerUser;
use crate::core::time::SimTime;
pub use crate::world::network::CreditKey;
use crate::world::network::PurchaseId;
use crate::world::Token;
use crate::world::{Channel, MerchantId, MidId, OfferId, World};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::ops::Range;

/// A card as the oracle knows it, with its enrollments: (offer, since, credits earned).
struct Card {
    slot: u8,
    token: Token,
    added: SimTime,
    deleted: Option<SimTime>,
    enrolled: SmallVec<[(OfferId, SimTime, u32); 2]>,
}

/// A cleared transaction as the truth sees it.
#[derive(Debug, Clone, Copy)]
pub struct Cleared {
    pub purchase: PurchaseId,
    /// The network's timestamp of the clearing.
    pub stamp: SimTime,
    pub slot: u8,
    pub merchant: MerchantId,
    /// False when the network reported it under a terminal id the MID registry lacks.
    pub registered: bool,
    pub bought_at: SimTime,
    pub amount: Cents,
    pub channel: Channel,
    pub scheme: u8,
    pub mid: MidId,
}

/// What a purchase should have earned from one offer, and what refunds should have taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub reward: Cents,
    pub fee: Cents,
    pub amount: Cents,
    pub refunded: Cents,
    /// Reward still owed after refunds.
    pub net_reward: Cents,
}

pub struct Oracle<'w> {
    world: &'w World,
    /// Per user: their cards, the first inline (one cache miss to a card and its first
    /// enrollments).
    cards: PerUser<SmallVec<[Card; 1]>>,
    /// Credits per (user, physical card, offer).
    redeemed: BTreeMap<(u32, u8, OfferId), u32>,
    budget_left: Vec<Option<Cents>>,
    period_spent: BTreeMap<(OfferId, u32), Cents>,
    /// Per user: (purchase, merchant, purchase time) of the clearings seen on linked cards at
    /// registered MIDs, for new-customer offers.
    history: PerUser<Vec<(PurchaseId, MerchantId, SimTime)>>,
    pub expected: BTreeMap<CreditKey, Expected>,
    /// Purchases that met an offer's terms at a terminal the MID registry lacks: by the
    /// `unknown_mid` policy they do not qualify (offers pay at registered locations only).
    pub unknown_mid_excluded: u64,
    /// Users who ever linked a card.
    has_cards: BitSet,
    /// Whether any offer asks for new customers (else no history is kept).
    keeps_history: bool,
    /// Offers whose terms the clearing meets (reused).
    meets: Vec<(OfferId, Cents, usize)>,
}

impl<'w> Oracle<'w> {
    /// The oracle of the users `users` (a shard), with the world's budgets (a shard's share).
    pub fn new(world: &'w World, users: Range<u32>) -> Self {
        Oracle {
            world,
            cards: PerUser::new(users.clone()),
            redeemed: BTreeMap::new(),
            budget_left: world.offers.iter().map(|o| o.budget).collect(),
            period_spent: BTreeMap::new(),
            history: PerUser::new(users.clone()),
            expected: BTreeMap::new(),
            unknown_mid_excluded: 0,
            has_cards: BitSet::new(users.len()),
            keeps_history: world.offers.iter().any(|o| o.new_customer_window.is_some()),
            meets: Vec::new(),
        }
    }

    /// Starts loading the user's cards (`core::prefetch`): the next input about them reads
    /// them.
    pub fn prefetch_user(&self, user: u32) {
        self.cards.prefetch(user);
    }

    pub fn card_added(&mut self, now: SimTime, user: u32, slot: u8, token: Token) {
        self.cards[user].push(Card { slot, token, added: now, deleted: None, enrolled: SmallVec::new() });
        self.has_cards.insert(self.cards.local(user) as u32);
    }

    pub fn enrolled(&mut self, now: SimTime, user: u32, token: Token, offer: OfferId) {
        if let Some(c) = self.cards[user].iter_mut().find(|c| c.token == token && c.deleted.is_none()) {
            if !c.enrolled.iter().any(|(o, _, _)| *o == offer) {
                c.enrolled.push((offer, now, 0));
            }
        }
    }

    pub fn card_deleted(&mut self, now: SimTime, user: u32, token: Token) {
        if let Some(c) = self.cards[user].iter_mut().find(|c| c.token == token && c.deleted.is_none()) {
            c.deleted = Some(now);
        }
    }

    /// A clearing of the clean feed.
    pub fn clearing(&mut self, t: &Cleared) {
        let world = self.world;
        let user = t.purchase.user;
        if !self.has_cards.contains(self.cards.local(user) as u32) {
            return;
        }
        // The card linked at the clearing's network time (the feed covers linked cards only).
        let Some(ci) = self.cards[user]
            .iter()
            .position(|c| c.slot == t.slot && c.added <= t.stamp && c.deleted.is_none_or(|d| d > t.stamp))
        else {
            return;
        };
        // Offers whose terms the purchase meets: (offer, reward, position in the card's list).
        let history = &self.history[user];
        let mut meets = std::mem::take(&mut self.meets);
        meets.clear();
        for (k, &(offer, since, _)) in self.cards[user][ci].enrolled.iter().enumerate() {
            // The merchant from the world's packed terms first: most enrolled offers are at
            // another merchant, and their `Offer` is a cache miss.
            if since > t.bought_at || world.offer_merchant(offer) != t.merchant {
                continue;
            }
            let o = &world.offers[offer.0 as usize];
            if o.merchant != t.merchant || !o.admits(&world.calendar, t.bought_at, t.amount, t.channel, t.scheme, t.mid)
            {
                continue;
            }
            if let Some(w) = o.new_customer_window {
                let since = SimTime(t.bought_at.0.saturating_sub(w));
                if history
                    .iter()
                    .any(|&(p, m, at)| p != t.purchase && m == t.merchant && since <= at && at < t.bought_at)
                {
                    continue;
                }
            }
            let reward = o.reward.on(t.amount);
            if reward > Cents::ZERO {
                meets.push((offer, reward, k));
            }
        }
        if !t.registered {
            if !meets.is_empty() {
                self.unknown_mid_excluded += 1;
            }
            self.meets = meets;
            return;
        }
        if self.keeps_history {
            self.history[user].push((t.purchase, t.merchant, t.bought_at));
        }
        // Limits: caps per card, per user, per enrollment; budgets.
        let passes = |s: &Self, offer: OfferId, reward: Cents, k: usize| {
            let o = &world.offers[offer.0 as usize];
            let card_credits = s.redeemed.get(&(user, t.slot, offer)).copied().unwrap_or(0);
            let user_credits: u32 = s
                .redeemed
                .range((user, 0, offer)..=(user, u8::MAX, offer))
                .filter(|(key, _)| key.2 == offer)
                .map(|(_, n)| n)
                .sum();
            let enrollment_credits = s.cards[user][ci].enrolled[k].2;
            let period_left = o
                .period_budget
                .map(|b| b.amount - s.period_spent.get(&(offer, o.period_of(t.stamp))).copied().unwrap_or_default());
            o.per_card_cap.is_none_or(|cap| card_credits < cap)
                && o.per_user_cap.is_none_or(|cap| user_credits < cap)
                && o.per_enrollment_limit.is_none_or(|n| enrollment_credits < n)
                && s.budget_left[offer.0 as usize].is_none_or(|left| o.fits(left, reward))
                && period_left.is_none_or(|left| o.fits(left, reward))
        };
        let mut paid: Vec<(OfferId, Cents, usize)> = Vec::new();
        let mut winner: Option<(OfferId, Cents, usize)> = None;
        for &(offer, reward, k) in &meets {
            if !passes(self, offer, reward, k) {
                continue;
            }
            let o = &world.offers[offer.0 as usize];
            if o.stackable {
                paid.push((offer, reward, k));
                continue;
            }
            let better = match winner {
                None => true,
                Some((w, wr, _)) => {
                    let wo = &world.offers[w.0 as usize];
                    (o.priority, reward) > (wo.priority, wr) || ((o.priority, reward) == (wo.priority, wr) && offer < w)
                }
            };
            if better {
                winner = Some((offer, reward, k));
            }
        }
        self.meets = meets;
        paid.extend(winner);
        for (offer, reward, k) in paid {
            let o = &world.offers[offer.0 as usize];
            *self.redeemed.entry((user, t.slot, offer)).or_default() += 1;
            self.cards[user][ci].enrolled[k].2 += 1;
            if let Some(left) = self.budget_left[offer.0 as usize].as_mut() {
                *left -= reward;
            }
            if o.period_budget.is_some() {
                *self.period_spent.entry((offer, o.period_of(t.stamp))).or_default() += reward;
            }
            let fee = percent_of(reward, o.fee_percent);
            self.expected.insert(
                (t.purchase, offer),
                Expected { reward, fee, amount: t.amount, refunded: Cents::ZERO, net_reward: reward },
            );
        }
    }

    /// A refund of `amount` of `purchase` (the oracle always knows the original).
    pub fn refund(&mut self, purchase: PurchaseId, amount: Cents) {
        let world = self.world;
        for ((_, offer), e) in self.expected.range_mut((purchase, OfferId(0))..=(purchase, OfferId(u32::MAX))) {
            e.refunded += amount.min(e.amount - e.refunded);
            e.net_reward = world.offers[offer.0 as usize].reward_after_refund(e.reward, e.amount - e.refunded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Offer, Reward};
    use rust_decimal::Decimal;

    fn offer(reward: Reward, min_spend: i64) -> Offer {
        Offer::for_tests(reward, Cents(min_spend))
    }

    #[test]
    fn a_fixed_reward_survives_a_partial_refund_above_the_minimum_spend() {
        let o = offer(Reward::Fixed(Cents(200)), 500);
        assert_eq!(o.reward_after_refund(Cents(200), Cents(500)), Cents(200));
        assert_eq!(o.reward_after_refund(Cents(200), Cents(499)), Cents::ZERO);
        assert_eq!(o.reward_after_refund(Cents(200), Cents::ZERO), Cents::ZERO);
    }

    #[test]
    fn a_percent_reward_is_recomputed_on_what_is_left_and_never_grows() {
        let o = offer(Reward::Percent { percent: Decimal::from(5), cap: Some(Cents(300)) }, 0);
        // 5% of $80.00 = $4.00, capped at $3.00; after a refund leaving $45.10: 5% = 2.255 → 2.26
        // (half to even on the third decimal: 225.5 cents → 226).
        assert_eq!(o.reward_after_refund(Cents(300), Cents(4_510)), Cents(226));
        assert_eq!(o.reward_after_refund(Cents(300), Cents(7_000)), Cents(300), "capped, never more");
    }

    fn exp(reward: i64, net: i64) -> Expected {
        Expected {
            reward: Cents(reward),
            fee: Cents::ZERO,
            amount: Cents(1_000),
            refunded: Cents::ZERO,
            net_reward: Cents(net),
        }
    }

    fn got(reward: i64, net: i64, times: u32) -> Granted {
        Granted { reward: Cents(reward), fee: Cents::ZERO, net_reward: Cents(net), times }
    }

    #[test]
    fn reconcile_sorts_every_reward_into_exactly_one_category() {
        let k = |seq, offer| (PurchaseId { user: 1, seq }, OfferId(offer));
        let expected = BTreeMap::from([
            (k(0, 0), exp(200, 200)), // correct
            (k(1, 0), exp(200, 200)), // missed
            (k(3, 0), exp(200, 200)), // double
            (k(4, 0), exp(200, 200)), // wrong amount
            (k(5, 0), exp(200, 0)),   // wrong reversal
            (k(6, 0), exp(200, 200)), // wrong reversal, explained
            (k(7, 0), exp(200, 200)), // the winner, correct...
            (k(7, 1), exp(50, 50)),   // ...and a stackable bonus, missed
        ]);
        let granted = BTreeMap::from([
            (k(0, 0), got(200, 200, 1)),
            (k(2, 0), got(200, 200, 1)), // false
            (k(3, 0), got(200, 400, 2)),
            (k(4, 0), got(300, 300, 1)),
            (k(5, 0), got(200, 200, 1)),
            (k(6, 0), got(200, 0, 1)),
            (k(7, 0), got(200, 200, 1)),
        ]);
        let policies = BTreeMap::from([(PurchaseId { user: 1, seq: 6 }, Policy::UnreferencedRefund)]);
        let c = reconcile(&expected, 0, &granted, &policies, &["bonus", "main"]);
        assert_eq!(
            (
                c.correct_credits,
                c.missed_credits,
                c.false_credits,
                c.double_credits,
                c.wrong_amounts,
                c.wrong_reversals
            ),
            (2, 2, 1, 1, 1, 1)
        );
        assert_eq!(c.explained, BTreeMap::from([(Policy::UnreferencedRefund, 1)]));
        assert_eq!(c.expected_credits, 8);
        assert_eq!(c.examples.len(), 7);
    }
}
