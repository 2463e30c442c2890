//! Matching: which enrolled offer, if any, a cleared transaction earns.
//!
//! Rules (all must hold): the card was enrolled in the offer before the purchase and is still
//! linked when the clearing arrives; the MID belongs to the offer's merchant; the **purchase
//! time** (the transaction time the network reports, not the clearing time) lies in the offer's
//! window, on an allowed weekday and hour; the amount is at least the minimum spend; the card has
//! not reached the per-card cap; the remaining budget covers the whole reward (no partial
//! rewards). Among the offers that pass, the highest reward wins, then the earliest offer id
//! (file order).

use crate::money::{percent_of, Cents};
use crate::time::{Calendar, SimTime};
use crate::world::{Offer, OfferId, Reward};

/// The reward an offer pays on `amount`, rounded half-even to cents, capped.
pub fn reward_for(reward: &Reward, amount: Cents) -> Cents {
    match *reward {
        Reward::Fixed(c) => c,
        Reward::Percent { percent, cap } => {
            let r = percent_of(amount, percent);
            cap.map_or(r, |c| r.min(c))
        }
    }
}

/// A transaction as matching sees it.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    pub at: SimTime,
    pub merchant: u32,
    pub amount: Cents,
}

/// An enrollment of the card that cleared.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled {
    pub offer: OfferId,
    pub since: SimTime,
    /// Credits this card has had from this offer.
    pub redemptions: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No enrolled offer's terms admit the transaction.
    NoMatch,
    /// Terms met, but every qualifying offer was at its per-card cap or out of budget.
    Declined { budget: bool, offer: OfferId },
    Matched { offer: OfferId, reward: Cents },
}

/// Matches `t` against a card's enrollments. `remaining` gives an offer's remaining budget
/// (`None`: unlimited).
pub fn match_txn(
    t: &Txn,
    cal: &Calendar,
    offers: &[Offer],
    enrolled: &[Enrolled],
    remaining: &dyn Fn(OfferId) -> Option<Cents>,
) -> Verdict {
    let mut best: Option<(Cents, OfferId)> = None;
    let mut declined: Option<(bool, OfferId)> = None;
    for e in enrolled {
        let o = &offers[e.offer.0 as usize];
        if e.since > t.at || o.merchant.0 != t.merchant || t.amount < o.min_spend || !o.admits_time(cal, t.at) {
            continue;
        }
        let reward = reward_for(&o.reward, t.amount);
        if reward <= Cents::ZERO {
            continue;
        }
        if o.per_card_cap.is_some_and(|cap| e.redemptions >= cap) {
            declined = declined.or(Some((false, e.offer)));
            continue;
        }
        if remaining(e.offer).is_some_and(|left| left < reward) {
            declined = Some((true, e.offer));
            continue;
        }
        let better = match best {
            None => true,
            Some((r, id)) => reward > r || (reward == r && e.offer < id),
        };
        if better {
            best = Some((reward, e.offer));
        }
    }
    match (best, declined) {
        (Some((reward, offer)), _) => Verdict::Matched { offer, reward },
        (None, Some((budget, offer))) => Verdict::Declined { budget, offer },
        (None, None) => Verdict::NoMatch,
    }
}
