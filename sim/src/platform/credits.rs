//! Crediting: a clearing matched (`fastmatch::OfferTable::decide`, the decision of
//! `matching.rs` at hardware speed) becomes rewards and declines; a reward is
//! **pending** through the offer's return period, then **confirmed**, then **paid** as a
//! statement credit; a refund takes back what the rest of the purchase no longer earns, from the
//! unpaid state first. Every movement is a balanced journal entry (`ledger.rs`).

use super::{Award, Decided, MessageFacts, Platform, Reversal};
use crate::core::money::{percent_of, Cents};
use crate::core::time::SimTime;
use crate::platform::fastmatch::FastTxn;
use crate::platform::ledger::Account;
use crate::platform::matching::Decline;
use crate::world::network::{CreditKey, NetworkMessage, PurchaseId};
use crate::world::Token;
use crate::world::{MerchantId, OfferId};

/// A reward state change that falls due later.
#[derive(Debug, Clone, Copy)]
pub enum Timer {
    /// The return period of a reward (this much of it) is over.
    Confirm(CreditKey, Cents),
    /// The statement credit of a confirmed reward (this much of it) is due.
    Pay(CreditKey, Cents),
}

/// One credit as the platform holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditView {
    pub reward: Cents,
    pub fee: Cents,
    pub pending: Cents,
    pub confirmed: Cents,
    pub paid: Cents,
    pub fee_left: Cents,
    /// How many times it was granted (more than once only if idempotency failed).
    pub times: u32,
}

impl CreditView {
    /// The reward still owed: what refunds have not taken back.
    pub fn reward_left(&self) -> Cents {
        self.pending + self.confirmed + self.paid
    }
}

pub(super) struct CreditRecord {
    offer: OfferId,
    token: Token,
    pub(super) slot: u8,
    merchant: MerchantId,
    /// The reward as granted; what is left of it after reversals, by state; the fee left.
    reward: Cents,
    pending: Cents,
    confirmed: Cents,
    paid: Cents,
    /// The fee as charged.
    fee: Cents,
    fee_left: Cents,
    /// How many times the purchase was credited: more than once only without idempotency.
    times: u32,
}

impl CreditRecord {
    pub(super) fn reward_left(&self) -> Cents {
        self.pending + self.confirmed + self.paid
    }
    pub(super) fn view(&self) -> CreditView {
        CreditView {
            reward: self.reward,
            fee: self.fee,
            pending: self.pending,
            confirmed: self.confirmed,
            paid: self.paid,
            fee_left: self.fee_left,
            times: self.times,
        }
    }
}

/// A clearing being credited: received `now`, stamped `stamp` by the network (its budget
/// period), on card `slot` linked under `token` (`link`: its index among the user's links).
struct Clearing {
    now: SimTime,
    stamp: SimTime,
    purchase: PurchaseId,
    token: Token,
    slot: u8,
    link: usize,
    txn: FastTxn,
}

/// Moves up to `amount` from one reward state to the next (less if a refund took some back);
/// returns what moved.
fn shift(from: &mut Cents, to: &mut Cents, amount: Cents) -> Cents {
    let moved = amount.min(*from);
    *from -= moved;
    *to += moved;
    moved
}

impl Platform<'_> {
    /// Matches a clearing (`link`: the card's link at its network timestamp) and credits it.
    pub(super) fn clear(
        &mut self,
        now: SimTime,
        m: &NetworkMessage,
        facts: &MessageFacts,
        link: usize,
        token: Token,
        out: &mut Vec<Decided>,
    ) {
        let world = self.world;
        let u = m.purchase.user;
        let txn = FastTxn {
            mid: facts.mid,
            at: facts.bought_at.0,
            amount: m.amount,
            channel: facts.channel,
            scheme: facts.scheme,
        };
        let c = Clearing { now, stamp: m.network_time, purchase: m.purchase, token, slot: facts.slot, link, txn };
        let mut decision = std::mem::take(&mut self.decision);
        let view = self.budgets.view(world, &self.redeemed[u], c.slot, &self.received[u], c.purchase, c.stamp);
        self.offers.decide(&txn, &self.links[u][link].enrolled, &view, &mut decision);
        if let Some(rule) = self.budgets.rule.as_deref_mut() {
            rule.decided(c.purchase, c.stamp, &decision);
        }
        if !decision.awards.is_empty() || !decision.declines.is_empty() {
            out.push(Decided::Qualified);
        }
        for &(offer, why) in &decision.declines {
            self.decline(&c, offer, why, out);
        }
        for &(offer, reward) in &decision.awards {
            self.award(&c, offer, reward, out);
        }
        self.decision = decision;
    }

    fn decline(&mut self, c: &Clearing, offer: OfferId, why: Decline, out: &mut Vec<Decided>) {
        let scope = match why {
            Decline::Budget => {
                self.budgets.ran_out_at[offer.0 as usize].get_or_insert(c.now);
                Some(super::BudgetScope::Total)
            }
            Decline::PeriodBudget => {
                Some(super::BudgetScope::Period(self.world.offers[offer.0 as usize].period_of(c.stamp)))
            }
            _ => None,
        };
        out.push(Decided::Declined { purchase: c.purchase, offer, why, scope });
    }

    fn award(&mut self, c: &Clearing, offer: OfferId, reward: Cents, out: &mut Vec<Decided>) {
        let world = self.world;
        let (u, purchase) = (c.purchase.user, c.purchase);
        let o = &world.offers[offer.0 as usize];
        let fee = percent_of(reward, o.fee_percent);
        for e in self.links[u][c.link].enrolled.iter_mut().filter(|e| e.offer() == offer) {
            e.credit();
        }
        match self.redeemed[u].iter_mut().find(|(s, o, _)| *s == c.slot && *o == offer) {
            Some((_, _, n)) => *n += 1,
            None => self.redeemed[u].push((c.slot, offer, 1)),
        }
        self.ledger.grant(o.merchant, reward, fee);
        let (overspend, period_overspend, period) = self.budgets.spend(c.now, c.stamp, offer, o, reward);
        self.credits
            .entry((purchase, offer))
            .or_insert(CreditRecord {
                offer,
                token: c.token,
                slot: c.slot,
                merchant: o.merchant,
                reward,
                pending: Cents::ZERO,
                confirmed: Cents::ZERO,
                paid: Cents::ZERO,
                fee,
                fee_left: Cents::ZERO,
                times: 0,
            })
            .absorb_grant(reward, fee);
        out.push(Decided::Awarded(Award {
            purchase,
            offer,
            card: c.token,
            merchant: o.merchant,
            reward,
            fee,
            spend: c.txn.amount,
            bought_at: SimTime(c.txn.at),
            overspend,
            period_overspend,
            period,
        }));
        // Pending until the return period after the clearing is over.
        let due = c.stamp.plus_seconds(o.return_period_secs).max(c.now);
        self.after(c.now, due, Timer::Confirm((purchase, offer), reward), out);
    }

    /// A reward timer that fell due: confirms what is still pending of its amount (the return
    /// period is over), or pays what is still confirmed (the statement credit).
    pub fn timer(&mut self, now: SimTime, t: Timer, out: &mut Vec<Decided>) {
        match t {
            Timer::Confirm(key, amount) => {
                let Some(c) = self.credits.get_mut(&key) else {
                    return;
                };
                let moved = shift(&mut c.pending, &mut c.confirmed, amount);
                if moved == Cents::ZERO {
                    return;
                }
                let offer = c.offer;
                self.ledger.confirm(moved);
                out.push(Decided::Confirmed { purchase: key.0, offer, amount: moved });
                let delay = self.world.offers[offer.0 as usize].payout_delay_secs;
                self.after(now, now.plus_seconds(delay), Timer::Pay(key, moved), out);
            }
            Timer::Pay(key, amount) => {
                let Some(c) = self.credits.get_mut(&key) else {
                    return;
                };
                let moved = shift(&mut c.confirmed, &mut c.paid, amount);
                if moved == Cents::ZERO {
                    return;
                }
                self.ledger.pay(moved);
                out.push(Decided::Paid {
                    purchase: key.0,
                    offer: c.offer,
                    card: c.token,
                    merchant: c.merchant,
                    amount: moved,
                });
            }
        }
    }

    /// The rewards of one purchase, one per offer that paid it.
    fn purchase_credits(&self, p: PurchaseId) -> Vec<CreditKey> {
        self.credits.range((p, OfferId(0))..=(p, OfferId(u32::MAX))).map(|(k, _)| *k).collect()
    }

    /// The purchase a refund takes back: its reference, or without one the clearing on the
    /// same card at the same merchant that the refund fits, preferring the exact remaining
    /// amount, then the latest purchase. Marks the refunded amount on that clearing and returns
    /// the purchase, the amount refunded now and what is left of the purchase.
    fn original_of(&mut self, m: &NetworkMessage, facts: &MessageFacts) -> Option<(PurchaseId, Cents, Cents)> {
        let cleared = &mut self.received[m.purchase.user];
        let found = if m.referenced {
            cleared.iter_mut().find(|c| c.purchase == m.purchase)
        } else if !m.mid_known {
            None
        } else {
            let merchant = self.world.merchant_of_mid(facts.mid);
            cleared
                .iter_mut()
                .filter(|c| {
                    c.slot == facts.slot
                        && c.merchant == merchant
                        && c.bought_at <= m.network_time
                        && c.amount - c.refunded >= m.amount
                })
                .max_by_key(|c| (c.amount - c.refunded == m.amount, c.bought_at, c.purchase))
        };
        let c = found?;
        let now = m.amount.min(c.amount - c.refunded);
        c.refunded += now;
        Some((c.purchase, now, c.amount - c.refunded))
    }

    pub(super) fn refund(&mut self, m: NetworkMessage, facts: &MessageFacts, out: &mut Vec<Decided>) {
        let original = self.original_of(&m, facts);
        if !m.referenced && original.map(|(p, _, _)| p) != Some(m.purchase) {
            // Policy: a refund without reference goes to the credit it fits best; when that is
            // not its original (or none fits), both purchases are explained by this policy.
            out.push(Decided::UnreferencedRefund { purchase: m.purchase });
            if let Some((p, _, _)) = original {
                out.push(Decided::UnreferencedRefund { purchase: p });
            }
        }
        let Some((p, refunded, left)) = original else {
            return;
        };
        for key in self.purchase_credits(p) {
            self.reverse(key, refunded, left, out);
        }
    }

    /// A refund of `refunded` leaves `left` of the purchase: takes back what the reward of
    /// `key` no longer earns, from the state it is in.
    fn reverse(&mut self, key: CreditKey, refunded: Cents, left: Cents, out: &mut Vec<Decided>) {
        let world = self.world;
        let Some(c) = self.credits.get_mut(&key) else {
            return;
        };
        let o = &world.offers[c.offer.0 as usize];
        let keep = o.reward_after_refund(c.reward, left).min(c.reward_left());
        let mut take = c.reward_left() - keep;
        let fee = c.fee_left - percent_of(keep, o.fee_percent).min(c.fee_left);
        c.fee_left -= fee;
        // Taken from the reward not yet paid first, then from the statement credit.
        let mut taken = [Cents::ZERO; 3];
        for (held, part) in [&mut c.pending, &mut c.confirmed, &mut c.paid].into_iter().zip(taken.iter_mut()) {
            let t = take.min(*held);
            *held -= t;
            take -= t;
            *part = t;
        }
        let r = Reversal { purchase: key.0, offer: c.offer, card: c.token, merchant: c.merchant, refunded, taken, fee };
        // One journal entry per state the reward is taken from; the fee goes with the first.
        let mut fee_to_post = fee;
        let accounts = [Account::RewardsPending, Account::RewardsConfirmed, Account::CardholderCredits];
        for (account, t) in accounts.into_iter().zip(taken).filter(|(_, t)| *t > Cents::ZERO) {
            self.ledger.reverse(account, r.merchant, t, std::mem::take(&mut fee_to_post));
        }
        if fee_to_post > Cents::ZERO {
            self.ledger.reverse(Account::RewardsPending, r.merchant, Cents::ZERO, fee_to_post);
        }
        out.push(Decided::Reversed(r));
    }
}

impl CreditRecord {
    fn absorb_grant(&mut self, reward: Cents, fee: Cents) {
        self.times += 1;
        self.pending += reward;
        self.fee_left += fee;
    }
}
