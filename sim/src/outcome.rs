//! What a run produced: counters, money, per-offer rows and time series, all in simulated
//! units. Rendering (JSON, Markdown) lives in `offersim-reports`.

use crate::ledger::Ledger;
use crate::money::Cents;
use crate::network::FaultCounts;
use crate::time::SimTime;
use crate::truth::Correctness;

/// The funnel, from impressions to credits. Serialized as is in `report.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Funnel {
    pub impressions: u64,
    pub clicks: u64,
    pub card_entries_abandoned: u64,
    pub cards_added: u64,
    pub one_tap_enrollments: u64,
    pub enrollments: u64,
    pub card_deletions: u64,
    pub enrollments_ended_by_deletion: u64,
    pub purchases: u64,
    /// Cleared transactions that met an enrolled offer's terms (before caps and budget).
    pub qualifying_transactions: u64,
    /// Rewards granted (a stackable offer adds one on top of the winner).
    pub credits: u64,
    pub declined_per_card_cap: u64,
    pub declined_per_user_cap: u64,
    pub declined_enrollment_limit: u64,
    pub declined_budget: u64,
    pub declined_period_budget: u64,
    pub clawbacks: u64,
}

/// Transaction messages, as the network sent them and as the platform received them (the feed
/// covers linked cards only).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Messages the network emitted, by kind (each once, however often delivered).
    pub auths: u64,
    pub clearings: u64,
    pub reversals: u64,
    pub refunds: u64,
    /// Deliveries, repeated ones included.
    pub deliveries: u64,
    /// Deliveries the platform took in (first copies of messages on linked cards).
    pub received: u64,
    /// Repeated deliveries the platform recognised and ignored.
    pub duplicates_ignored: u64,
    /// Deliveries about cards not linked at the network's timestamp: never reach the platform.
    pub not_linked: u64,
    /// Clearings under a terminal id the platform's MID registry lacks.
    pub unknown_mid: u64,
    /// Clearings received after a clearing with a later network timestamp (an outage on one
    /// scheme, a late retry): budgets and caps go by order of receipt, so these may find them
    /// taken by purchases the network stamped later.
    pub clearings_out_of_network_order: u64,
    /// Deliveries that would arrive after the run's horizon.
    pub after_horizon: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MoneyTotals {
    pub spend: Cents,
    pub refunded: Cents,
    /// Rewards granted (at clearing, pending first).
    pub rewards_credited: Cents,
    /// Statement credits paid.
    pub rewards_paid: Cents,
    pub rewards_clawed_back: Cents,
    pub fees_charged: Cents,
    pub fees_refunded: Cents,
}

/// Rewards taken back by refunds, by the state they were in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reversals {
    pub pending: Cents,
    pub confirmed: Cents,
    pub paid: Cents,
    /// Reversals that debited a card account (the reward had been paid).
    pub clawbacks_from_cardholders: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OfferStats {
    pub impressions: u64,
    pub clicks: u64,
    pub card_entries_abandoned: u64,
    pub cards_added: u64,
    pub enrollments: u64,
    pub one_tap_enrollments: u64,
    pub enrollments_ended_by_deletion: u64,
    pub qualifying_transactions: u64,
    pub redemptions: u64,
    pub declined_per_card_cap: u64,
    pub declined_per_user_cap: u64,
    pub declined_enrollment_limit: u64,
    pub declined_budget: u64,
    pub declined_period_budget: u64,
    pub clawbacks: u64,
    pub rewards_credited: Cents,
    pub rewards_clawed_back: Cents,
    pub fees_charged: Cents,
    pub fees_refunded: Cents,
    /// Spend of credited purchases, net of clawed-back ones.
    pub attributed_spend: Cents,
    /// Spend that exists only because users were enrolled (the simulator's ground truth).
    pub incremental_spend: Cents,
    /// Extra purchases that did not happen because the offer's budget had run out.
    pub uplift_purchases_withdrawn: u64,
    pub budget_left: Option<Cents>,
    /// Rewards paid beyond the total budget under the `finish_last` policy.
    pub budget_overspend: Cents,
    /// Rewards paid beyond the budgets of periods under `finish_last`, summed over the periods.
    pub period_overspend: Cents,
    pub budget_ran_out_at: Option<SimTime>,
    /// Rewards credited on each day of the run (the budget burn), before clawbacks.
    pub rewards_by_day: Vec<Cents>,
}

impl OfferStats {
    pub fn net_rewards(&self) -> Cents {
        self.rewards_credited - self.rewards_clawed_back
    }
    pub fn net_fees(&self) -> Cents {
        self.fees_charged - self.fees_refunded
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub purchases: u64,
    pub spend: Cents,
    pub credits: u64,
    pub rewards: Cents,
    pub clawbacks: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub funnel: Funnel,
    pub feed: Feed,
    /// What the network did wrong on purpose.
    pub faults: FaultCounts,
    /// Pipeline against ground truth.
    pub correctness: Correctness,
    pub money: MoneyTotals,
    pub reversals: Reversals,
    pub offers: Vec<OfferStats>,
    /// One bucket per hour of the activity period.
    pub hourly: Vec<Bucket>,
    /// One bucket per day of the whole run (activity + settlement).
    pub daily: Vec<Bucket>,
    /// Purchase → credit delay of every credit, in seconds, sorted.
    pub time_to_credit: Vec<u64>,
    pub ledger: Ledger,
    pub events_processed: u64,
}

impl Outcome {
    /// Nearest-rank percentile of the time to credit, in seconds.
    pub fn time_to_credit_percentile(&self, pct: u32) -> Option<u64> {
        let n = self.time_to_credit.len();
        if n == 0 {
            return None;
        }
        let rank = (pct as usize * n).div_ceil(100).clamp(1, n);
        Some(self.time_to_credit[rank - 1])
    }
}
