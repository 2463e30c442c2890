//! Rewards and the books: each reward granted on a clearing of its purchase (same `seq`), on a
//! card linked then and enrolled before the purchase, once; confirmed and paid at their time
//! for exactly what is left; taken back only by a refund or reversal (same `seq`), from the
//! states the documented order gives; and the balances all of it adds up to.

use crate::feed::{Feed, Kind, Msg, PhysicalCard};
use crate::line::{cents, dollars, need, purchase_id, purchase_name, token, Line};
use crate::{LineError, Sink, Terms};
use std::collections::HashMap;

/// Account balances at the end of the log, as report.json's `ledger` names them (cents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    pub merchant_funding: i64,
    pub rewards_pending: i64,
    pub rewards_confirmed: i64,
    pub cardholder_credits: i64,
    pub platform_fees: i64,
    /// Rewards taken back, by the state they were taken from.
    pub reversed_pending: i64,
    pub reversed_confirmed: i64,
    pub reversed_paid: i64,
    pub clawbacks_from_cardholders: u64,
    pub rewards_granted: i64,
    pub fees_charged: i64,
}

struct Reward {
    card: u64,
    physical: PhysicalCard,
    reward: i64,
    fee: i64,
    fee_left: i64,
    /// What is left, by state: pending, confirmed, paid.
    held: [i64; 3],
    taken: [i64; 3],
    confirm_due: u64,
    pay_due: Option<u64>,
}

pub(crate) struct Books<'t> {
    terms: &'t Terms,
    offers: HashMap<&'t str, u32>,
    max: usize,
    table: HashMap<(u64, u32), Reward>,
    /// Per physical card: its rewards with something left to take back (a refund reaches the
    /// platform on such a card even when it is no longer linked).
    earned: HashMap<PhysicalCard, u32>,
    clawbacks_from_cardholders: u64,
    /// The message delivered in the current `seq`, if any (a timer's `seq` has none).
    group: Option<Msg>,
}

const STATES: [&str; 3] = ["pending", "confirmed", "paid"];
const DECLINE_REASONS: &[&str] = &["per_card_cap", "per_user_cap", "enrollment_limit", "budget", "period_budget"];

impl<'t> Books<'t> {
    pub fn new(terms: &'t Terms, max: usize) -> Self {
        Books {
            terms,
            offers: terms.offers.iter().enumerate().map(|(i, o)| (o.id.as_str(), i as u32)).collect(),
            max,
            table: HashMap::new(),
            earned: HashMap::new(),
            clawbacks_from_cardholders: 0,
            group: None,
        }
    }

    pub fn new_group(&mut self) {
        self.group = None;
    }

    pub fn message(&mut self, m: Option<Msg>) {
        if m.is_some() {
            self.group = m;
        }
    }

    pub fn credited(&self, card: PhysicalCard) -> bool {
        self.earned.get(&card).is_some_and(|&n| n > 0)
    }

    pub fn rewards(&self) -> u64 {
        self.table.len() as u64
    }

    pub fn line(&mut self, l: &Line, feed: &Feed, sink: &mut Sink) -> Result<(), LineError> {
        let kind = l.kind.as_ref();
        let p = purchase_id(need(l.purchase.as_deref(), "purchase", kind)?)?;
        let offer_id = need(l.offer.as_deref(), "offer", kind)?;
        let Some(&o) = self.offers.get(offer_id) else {
            sink.flag("reward_terms", || {
                format!("{kind} {} on {offer_id}, which the scenario does not have", purchase_name(p))
            });
            return Ok(());
        };
        let what = || format!("{} / {offer_id}", purchase_name(p));
        match kind {
            "match" => self.grant(l, feed, sink, p, o)?,
            "declined" => {
                let reason = need(l.reason.as_deref(), "reason", kind)?;
                if !DECLINE_REASONS.contains(&reason) {
                    return Err(LineError::Malformed(format!("`{reason}` is not a decline reason")));
                }
                if !self.group.is_some_and(|m| m.kind == Kind::Clearing && m.purchase == p) {
                    sink.flag("decline_without_clearing", || format!("{} declined with no clearing of it", what()));
                }
            }
            "confirm" => {
                let amount = cents(need(l.amount.as_deref(), "amount", kind)?)?;
                let Some(r) = self.table.get_mut(&(p, o)) else {
                    sink.flag("reward_state", || format!("confirm of {}, never granted", what()));
                    return Ok(());
                };
                if amount <= 0 || amount != r.held[0] || r.pay_due.is_some() {
                    let pending = r.held[0];
                    sink.flag("reward_state", || {
                        format!("confirm of {} for {} with {} pending", what(), dollars(amount), dollars(pending))
                    });
                }
                if l.t != r.confirm_due {
                    let due = r.confirm_due;
                    sink.flag("reward_state", || format!("{} confirmed at t = {}, due at {due}", what(), l.t));
                }
                let moved = amount.min(r.held[0]);
                r.held[0] -= moved;
                r.held[1] += moved;
                r.pay_due = Some(l.t + self.terms.offers[o as usize].payout_delay_secs);
            }
            "credit" => {
                let amount = cents(need(l.amount.as_deref(), "amount", kind)?)?;
                let card = token(need(l.card.as_deref(), "card", kind)?)?;
                let descriptor = need(l.descriptor.as_deref(), "descriptor", kind)?;
                let Some(r) = self.table.get_mut(&(p, o)) else {
                    sink.flag("reward_state", || format!("credit of {}, never granted", what()));
                    return Ok(());
                };
                if amount <= 0 || amount != r.held[1] {
                    let confirmed = r.held[1];
                    sink.flag("reward_state", || {
                        format!("credit of {} for {} with {} confirmed", what(), dollars(amount), dollars(confirmed))
                    });
                }
                match r.pay_due {
                    Some(due) if due == l.t => {}
                    due => sink.flag("reward_state", || format!("{} paid at t = {}, due at {due:?}", what(), l.t)),
                }
                if card != r.card {
                    sink.flag("reward_state", || format!("{} paid to another card than it was earned on", what()));
                }
                if !descriptor.starts_with("Offers * ") {
                    sink.flag("reward_state", || format!("{} paid with descriptor {descriptor:?}", what()));
                }
                let moved = amount.clamp(0, r.held[1]);
                r.held[1] -= moved;
                r.held[2] += moved;
                r.pay_due = None;
            }
            "clawback" => self.claw_back(l, sink, p, o)?,
            _ => unreachable!("the caller routes only reward lines here"),
        }
        Ok(())
    }

    /// A `match` line: a reward granted on the clearing delivered in the same `seq`.
    fn grant(&mut self, l: &Line, feed: &Feed, sink: &mut Sink, p: u64, o: u32) -> Result<(), LineError> {
        let reward = cents(need(l.reward.as_deref(), "reward", "match")?)?;
        let fee = cents(need(l.fee.as_deref(), "fee", "match")?)?;
        let terms = &self.terms.offers[o as usize];
        let what = || format!("{} / {}", purchase_name(p), terms.id);
        let clearing = self.group.filter(|m| m.kind == Kind::Clearing && m.purchase == p);
        let (card, network_t, physical) = match clearing {
            Some(m) => {
                if !m.mid_known {
                    sink.flag("credit_without_clearing", || {
                        format!("{} rewarded on a clearing under an unregistered terminal id", what())
                    });
                }
                (m.token.unwrap_or(0), m.network_t, m.physical)
            }
            None => {
                sink.flag("credit_without_clearing", || {
                    format!("{} rewarded with no clearing of it in the same event", what())
                });
                (0, l.t, (0, 0))
            }
        };
        if clearing.is_some() {
            match feed.card(card) {
                Some(c) if c.linked_at(network_t) => {}
                _ => sink.flag("reward_after_unlink", || {
                    format!("{} rewarded on a card not linked at the clearing's network time {network_t}", what())
                }),
            }
            match feed.purchase(p) {
                None => sink.flag("reward_without_enrollment", || {
                    format!("{} rewarded, but the person had linked no card when buying", what())
                }),
                Some(pp) => {
                    if feed.merchant_index(&terms.merchant) != Some(pp.merchant) {
                        sink.flag("reward_terms", || {
                            format!("{} rewarded, but the purchase was not at {}", what(), terms.merchant)
                        });
                    }
                    if feed.enrolled_since(card, o).is_none_or(|since| since > pp.t) {
                        sink.flag("reward_without_enrollment", || {
                            format!("{} rewarded, but the card was not enrolled before the purchase", what())
                        });
                    }
                }
            }
        }
        if reward < 0 || fee < 0 {
            sink.flag("reward_state", || format!("{} granted {} with fee {}", what(), dollars(reward), dollars(fee)));
        }
        if self.table.contains_key(&(p, o)) {
            sink.flag("reward_duplicated", || format!("{} rewarded a second time", what()));
            return Ok(());
        }
        if self.table.len() >= self.max {
            return Err(LineError::TooMany("rewards"));
        }
        let confirm_due = l.t.max(network_t + terms.return_period_secs);
        self.table.insert(
            (p, o),
            Reward {
                card,
                physical,
                reward,
                fee,
                fee_left: fee,
                held: [reward, 0, 0],
                taken: [0; 3],
                confirm_due,
                pay_due: None,
            },
        );
        if reward > 0 {
            *self.earned.entry(physical).or_default() += 1;
        }
        Ok(())
    }

    /// A `clawback` line: what a refund or reversal in the same `seq` takes back.
    fn claw_back(&mut self, l: &Line, sink: &mut Sink, p: u64, o: u32) -> Result<(), LineError> {
        let kind = "clawback";
        let amount = cents(need(l.amount.as_deref(), "amount", kind)?)?;
        let fee = cents(need(l.fee.as_deref(), "fee", kind)?)?;
        let card = token(need(l.card.as_deref(), "card", kind)?)?;
        let from = need(l.from.as_deref(), "from", kind)?;
        if !STATES.contains(&from) {
            return Err(LineError::Malformed(format!("`{from}` is not a reward state")));
        }
        let what = || format!("{} / {}", purchase_name(p), self.terms.offers[o as usize].id);
        let Some(r) = self.table.get_mut(&(p, o)) else {
            sink.flag("reward_state", || format!("clawback of {}, never granted", what()));
            return Ok(());
        };
        let cause = match self.group {
            Some(m) if m.kind == Kind::Reversal => m.purchase == p,
            Some(m) if m.kind == Kind::Refund => (m.purchase == p || !m.referenced) && m.physical == r.physical,
            _ => false,
        };
        if !cause {
            sink.flag("clawback_without_refund", || {
                format!("{} clawed back with no refund or reversal of it in the same event", what())
            });
        }
        if card != r.card {
            sink.flag("reward_state", || format!("{} clawed back from another card than it was earned on", what()));
        }
        let left: i64 = r.held.iter().sum();
        if amount < 0 || amount > left || fee < 0 || fee > r.fee_left || amount + fee == 0 {
            let fee_left = r.fee_left;
            sink.flag("reward_state", || {
                format!(
                    "{} clawed back {} and fee {} with {} and fee {} left",
                    what(),
                    dollars(amount),
                    dollars(fee),
                    dollars(left),
                    dollars(fee_left)
                )
            });
        }
        // Taken from the reward not yet paid first, then from the statement credit.
        let mut take = amount.clamp(0, left);
        let mut deepest = 0;
        for (i, held) in r.held.iter_mut().enumerate() {
            let t = take.min(*held);
            if t > 0 {
                deepest = i;
            }
            *held -= t;
            take -= t;
            r.taken[i] += t;
        }
        if left > 0 && r.held.iter().sum::<i64>() == 0 {
            if let Some(n) = self.earned.get_mut(&r.physical) {
                *n = n.saturating_sub(1);
            }
        }
        if from != STATES[deepest] {
            sink.flag("reward_state", || {
                format!("{} clawed back from `{from}`, but it was taken from `{}`", what(), STATES[deepest])
            });
        }
        if deepest == 2 {
            self.clawbacks_from_cardholders += 1;
        }
        r.fee_left -= fee.clamp(0, r.fee_left);
        Ok(())
    }

    /// At the end of the log: nothing left pending or confirmed past its due time.
    pub fn finish(&self, terms: &Terms, sink: &mut Sink) {
        let mut late: Vec<((u64, u32), String)> = Vec::new();
        for (&(p, o), r) in &self.table {
            let what = || format!("{} / {}", purchase_name(p), terms.offers[o as usize].id);
            if r.held[0] > 0 && r.pay_due.is_none() && r.confirm_due < terms.horizon_t {
                late.push(((p, o), format!("{} still pending, due to be confirmed at t = {}", what(), r.confirm_due)));
            }
            if let Some(due) = r.pay_due.filter(|&d| r.held[1] > 0 && d < terms.horizon_t) {
                late.push(((p, o), format!("{} confirmed but never paid, due at t = {due}", what())));
            }
        }
        late.sort();
        for (_, m) in late {
            sink.flag("not_settled", || m);
        }
    }

    pub fn ledger(&self) -> Ledger {
        let mut l = Ledger { clawbacks_from_cardholders: self.clawbacks_from_cardholders, ..Ledger::default() };
        for r in self.table.values() {
            l.rewards_granted += r.reward;
            l.fees_charged += r.fee;
            l.rewards_pending += r.held[0];
            l.rewards_confirmed += r.held[1];
            l.cardholder_credits += r.held[2];
            l.platform_fees += r.fee_left;
            l.reversed_pending += r.taken[0];
            l.reversed_confirmed += r.taken[1];
            l.reversed_paid += r.taken[2];
        }
        l.merchant_funding = -(l.rewards_pending + l.rewards_confirmed + l.cardholder_credits + l.platform_fees);
        l
    }
}
