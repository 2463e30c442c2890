//! Budgets: each offer's total budget and its budgets per period, spent first come, first
//! served by receipt under the offer's overspend policy; and the counters matching reads
//! (`matching::Counters`) for one clearing.

use super::Received;
use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::platform::matching::{Counters, Decision, Decline};
use crate::world::network::PurchaseId;
use crate::world::{MerchantId, Offer, OfferId, World};
use std::collections::BTreeMap;

/// Which budget a decision concerns: the offer's total budget, or one period of its budget per
/// period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BudgetScope {
    Total,
    Period(u32),
}

/// Decides the budget checks of a platform in place of its budgets; everything else (terms,
/// caps, precedence, crediting) stays the platform's. The live driver's oracle
/// (`offersim-live`, `drive/oracle.rs`) replays a target's budget decisions with it, to see
/// what else they imply for each person.
pub trait BudgetRule: Send {
    /// Whether the budgets of `offer` (which has one, total or per period) pay `reward` on the
    /// clearing of `purchase`: `None`, or the decline. Budgets are not checked then, and may be
    /// spent past their limit.
    fn blocks(&self, purchase: PurchaseId, offer: OfferId, reward: Cents) -> Option<Decline>;
    /// What matching decided on the clearing of `purchase` (network timestamp `stamp`), after
    /// the budget checks it asked.
    fn decided(&mut self, _purchase: PurchaseId, _stamp: SimTime, _decision: &Decision) {}
}

pub(super) struct Budgets<'w> {
    /// Per offer: what is left of its total budget (none: no total budget).
    pub(super) left: Vec<Option<Cents>>,
    /// Per offer: when its budget ran out (a reward left nothing, or a reward was declined).
    pub(super) ran_out_at: Vec<Option<SimTime>>,
    /// Per offer: rewards granted in each budget period (offers with a budget per period).
    period_spent: Vec<BTreeMap<u32, Cents>>,
    /// Decides budget checks instead of the budgets, when given.
    pub(super) rule: Option<&'w mut dyn BudgetRule>,
}

impl<'w> Budgets<'w> {
    pub(super) fn new(world: &World) -> Budgets<'w> {
        Budgets {
            left: world.offers.iter().map(|o| o.budget).collect(),
            ran_out_at: vec![None; world.offers.len()],
            period_spent: world.offers.iter().map(|_| BTreeMap::new()).collect(),
            rule: None,
        }
    }

    /// The counters matching reads for one clearing of one user.
    pub(super) fn view<'a>(
        &'a self,
        world: &'a World,
        redeemed: &'a [(u8, OfferId, u32)],
        slot: u8,
        received: &'a [Received],
        purchase: PurchaseId,
        stamp: SimTime,
    ) -> View<'a, 'w> {
        View { offers: &world.offers, budgets: self, redeemed, slot, received, purchase, stamp }
    }

    /// Spends `reward` of offer `offer`'s budgets (`o`: its terms; a clearing stamped `stamp`,
    /// received `now`): returns what it paid beyond the total budget left and beyond its
    /// period's budget, and the period it counts in. A budget rule may pay past the budget (to
    /// replay a target that did); the offer's own policy never pays beyond what it allows.
    pub(super) fn spend(
        &mut self,
        now: SimTime,
        stamp: SimTime,
        offer: OfferId,
        o: &Offer,
        reward: Cents,
    ) -> (Cents, Cents, Option<u32>) {
        let ruled = self.rule.is_some();
        let k = offer.0 as usize;
        let mut overspend = Cents::ZERO;
        if let Some(left) = self.left[k].as_mut() {
            assert!(ruled || o.fits(*left, reward), "budget overspent beyond the offer's policy");
            overspend = (reward - *left).max(Cents::ZERO);
            *left -= reward;
            if *left <= Cents::ZERO {
                self.ran_out_at[k].get_or_insert(now);
            }
        }
        let mut period_overspend = Cents::ZERO;
        let period = o.period_budget.map(|pb| {
            let period = o.period_of(stamp);
            let spent = self.period_spent[k].entry(period).or_default();
            let left = pb.amount - *spent;
            assert!(ruled || o.fits(left, reward), "period budget overspent beyond the offer's policy");
            period_overspend = (reward - left).max(Cents::ZERO);
            *spent += reward;
            period
        });
        (overspend, period_overspend, period)
    }
}

/// The platform's counters as matching sees them, for one clearing of one user.
pub(super) struct View<'a, 'w> {
    offers: &'a [Offer],
    budgets: &'a Budgets<'w>,
    redeemed: &'a [(u8, OfferId, u32)],
    /// The physical card that cleared.
    slot: u8,
    received: &'a [Received],
    purchase: PurchaseId,
    /// The clearing's network timestamp (its budget period).
    stamp: SimTime,
}

impl Counters for View<'_, '_> {
    fn card_redemptions(&self, offer: OfferId) -> u32 {
        self.redeemed.iter().find(|(s, o, _)| *s == self.slot && *o == offer).map_or(0, |(_, _, n)| *n)
    }

    fn user_redemptions(&self, offer: OfferId) -> u32 {
        self.redeemed.iter().filter(|(_, o, _)| *o == offer).map(|(_, _, n)| n).sum()
    }

    fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline> {
        let o = &self.offers[offer.0 as usize];
        if let Some(rule) = self.budgets.rule.as_deref() {
            let budgeted = o.budget.is_some() || o.period_budget.is_some();
            return if budgeted { rule.blocks(self.purchase, offer, reward) } else { None };
        }
        if self.budgets.left[offer.0 as usize].is_some_and(|left| !o.fits(left, reward)) {
            return Some(Decline::Budget);
        }
        let pb = o.period_budget?;
        let spent =
            self.budgets.period_spent[offer.0 as usize].get(&o.period_of(self.stamp)).copied().unwrap_or_default();
        (!o.fits(pb.amount - spent, reward)).then_some(Decline::PeriodBudget)
    }

    fn seen_customer(&self, merchant: MerchantId, since: SimTime, before: SimTime) -> bool {
        self.received.iter().any(|c| {
            c.purchase != self.purchase && c.merchant == merchant && since <= c.bought_at && c.bought_at < before
        })
    }
}
