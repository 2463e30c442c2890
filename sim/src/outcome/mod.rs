//! What a run produced: counters, money, per-offer rows and time series, all in simulated
//! units. Rendering (JSON, Markdown) lives in `offersim-reports`.

pub mod thresholds;

pub mod metrics;
pub mod surfaces;
pub mod tally;

use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::platform::ledger::Ledger;
use crate::truth::Correctness;
use crate::world::network::FaultCounts;

/// The funnel, from impressions to credits. Serialized as is in `report.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Reversals {
    pub pending: Cents,
    pub confirmed: Cents,
    pub paid: Cents,
    /// Reversals that debited a card account (the reward had been paid).
    pub clawbacks_from_cardholders: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    /// Extra visits that happened, and their spend (before reversals and refunds).
    pub extra_visits: u64,
    pub extra_visit_spend: Cents,
    /// Purchases raised to the minimum spend, and the dollars added (before refunds).
    pub top_ups: u64,
    pub top_up_spend: Cents,
    /// Top-ups that did not happen because the offer's budget had run out.
    pub top_ups_withdrawn: u64,
    /// Visits after the offer that its extra visits took the place of, and their spend (the dip
    /// after the promotion; `incremental_spend` is net of it).
    pub pulled_forward: u64,
    pub pulled_forward_spend: Cents,
    /// Enrollments by the impression they came at: 1, 2, 3, 4, 5–9, 10 and more.
    pub enrollments_by_impressions: [u64; 6],
    /// Purchases on enrolled cards at the merchant during the window, by amount against the
    /// minimum spend: below 50%, 50–60%, …, 140–150%, 150% and more (offers with a minimum).
    pub baskets_around_min_spend: [u64; 12],
    pub budget_left: Option<Cents>,
    /// Rewards paid beyond the total budget under the `finish_last` policy.
    pub budget_overspend: Cents,
    /// Rewards paid beyond the budgets of periods under `finish_last`, summed over the periods.
    pub period_overspend: Cents,
    pub budget_ran_out_at: Option<SimTime>,
    /// Rewards credited on each day of the run (the budget burn), before clawbacks.
    pub rewards_by_day: Vec<Cents>,
    /// The holdout experiment, for an offer that holds out part of its audience.
    pub experiment: Option<Experiment>,
    /// Hashtag sync: posts of the offer's hashtag, and the enrollments they made (a person
    /// already enrolled, after a shared post, posts without enrolling again).
    pub hashtag_posts: u64,
    pub hashtag_enrollments: u64,
    /// Sharing: views of shared posts, and shares.
    pub share_views: u64,
    pub shares: u64,
    /// Enrollments that followed a view of a shared post.
    pub share_enrollments: u64,
}

/// Per-user spend at the offer's merchant during the offer's window, summed over a group of
/// targeted users (exact integers: cents and cents squared).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GroupSpend {
    pub users: u64,
    pub sum: i128,
    pub sum_sq: i128,
}

impl GroupSpend {
    pub fn add(&mut self, spend: Cents) {
        self.users += 1;
        self.sum += spend.0 as i128;
        self.sum_sq += (spend.0 as i128) * (spend.0 as i128);
    }
    fn absorb(&mut self, o: GroupSpend) {
        let GroupSpend { users, sum, sum_sq } = o;
        self.users += users;
        self.sum += sum;
        self.sum_sq += sum_sq;
    }
}

/// An offer's holdout experiment: the targeted audience split at random into people shown the
/// offer (exposed) and people never shown it (held out); and, for the naive comparison, the
/// exposed split by whether they enrolled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Experiment {
    pub exposed: GroupSpend,
    pub held_out: GroupSpend,
    pub enrolled: GroupSpend,
    pub not_enrolled: GroupSpend,
}

impl Experiment {
    fn absorb(&mut self, o: Experiment) {
        let Experiment { exposed, held_out, enrolled, not_enrolled } = o;
        self.exposed.absorb(exposed);
        self.held_out.absorb(held_out);
        self.enrolled.absorb(enrolled);
        self.not_enrolled.absorb(not_enrolled);
    }
}

impl OfferStats {
    pub fn net_rewards(&self) -> Cents {
        self.rewards_credited - self.rewards_clawed_back
    }
    pub fn net_fees(&self) -> Cents {
        self.fees_charged - self.fees_refunded
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Bucket {
    pub purchases: u64,
    pub spend: Cents,
    pub credits: u64,
    pub rewards: Cents,
    pub clawbacks: u64,
}

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
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
    /// By `Surface` index: the purchases credited to each surface (organic included) under the
    /// scenario's attribution rule, and what they earned.
    pub surfaces: Vec<crate::outcome::surfaces::SurfaceStats>,
    /// By merchant: spend by channel and by surface.
    pub merchants: Vec<crate::outcome::surfaces::MerchantStats>,
    /// By `World::shops` index: each shop surface's funnel and sales.
    pub shops: Vec<crate::outcome::surfaces::ShopStats>,
    /// By offer: the reach of its sharing cascade (computed once for the whole run).
    pub sharing: Vec<crate::people::sharing::ShareStats>,
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

/// Adding up the outcomes of shards. Each `absorb` destructures the other side field by field,
/// so a field added later cannot be forgotten here (the build fails until it is merged).
impl Outcome {
    /// The outcome of a run in which nothing has happened yet.
    pub fn empty(world: &crate::world::World) -> Outcome {
        let days = (world.days + world.settle_days) as usize;
        Outcome {
            offers: world
                .offers
                .iter()
                .map(|o| OfferStats {
                    budget_left: o.budget,
                    rewards_by_day: vec![Cents::ZERO; days],
                    ..Default::default()
                })
                .collect(),
            hourly: vec![Bucket::default(); world.days as usize * 24],
            daily: vec![Bucket::default(); days],
            surfaces: vec![Default::default(); crate::world::attribution::Surface::COUNT],
            merchants: vec![Default::default(); world.merchants.len()],
            shops: world
                .shops
                .iter()
                .map(|s| crate::outcome::surfaces::ShopStats {
                    inventory_left: s.inventory.map(u64::from),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The outcome of the whole run from its shards' outcomes, in shard order: counts, money,
    /// series and books add up; the budget left is the sum of the shares left; an offer's
    /// budget ran out when it first ran out in a shard; the discrepancy examples are the
    /// first of the first shards (users are numbered across shards in order).
    pub fn sum_of_shards(world: &crate::world::World, shards: impl IntoIterator<Item = Outcome>) -> Outcome {
        let mut total = Outcome::empty(world);
        for s in &mut total.offers {
            s.budget_left = s.budget_left.map(|_| Cents::ZERO);
        }
        for s in &mut total.shops {
            s.inventory_left = s.inventory_left.map(|_| 0);
        }
        for o in shards {
            total.absorb(o);
        }
        // Each shard's delays are sorted; the whole run's are sorted once, here.
        total.time_to_credit.sort_unstable();
        total
    }

    fn absorb(&mut self, other: Outcome) {
        let Outcome {
            funnel,
            feed,
            faults,
            correctness,
            money,
            reversals,
            offers,
            hourly,
            daily,
            time_to_credit,
            ledger,
            events_processed,
            surfaces,
            merchants,
            shops,
            sharing,
        } = other;
        // The cascades are the whole run's, not a shard's: set once by the engine.
        if self.sharing.iter().all(|s| *s == Default::default()) && !sharing.is_empty() {
            self.sharing = sharing;
        }
        self.funnel.absorb(funnel);
        self.feed.absorb(feed);
        self.faults.absorb(faults);
        self.correctness.absorb(correctness);
        self.money.absorb(money);
        self.reversals.absorb(reversals);
        for (mine, theirs) in self.offers.iter_mut().zip(offers) {
            mine.absorb(theirs);
        }
        for (mine, theirs) in self.hourly.iter_mut().zip(hourly).chain(self.daily.iter_mut().zip(daily)) {
            mine.absorb(theirs);
        }
        self.time_to_credit.extend(time_to_credit);
        self.ledger.absorb(&ledger);
        self.events_processed += events_processed;
        for (mine, theirs) in self.surfaces.iter_mut().zip(&surfaces) {
            mine.absorb(theirs);
        }
        for (mine, theirs) in self.merchants.iter_mut().zip(&merchants) {
            mine.absorb(theirs);
        }
        for (mine, theirs) in self.shops.iter_mut().zip(&shops) {
            mine.absorb(theirs);
        }
    }
}

impl Funnel {
    fn absorb(&mut self, o: Funnel) {
        let Funnel {
            impressions,
            clicks,
            card_entries_abandoned,
            cards_added,
            one_tap_enrollments,
            enrollments,
            card_deletions,
            enrollments_ended_by_deletion,
            purchases,
            qualifying_transactions,
            credits,
            declined_per_card_cap,
            declined_per_user_cap,
            declined_enrollment_limit,
            declined_budget,
            declined_period_budget,
            clawbacks,
        } = o;
        self.impressions += impressions;
        self.clicks += clicks;
        self.card_entries_abandoned += card_entries_abandoned;
        self.cards_added += cards_added;
        self.one_tap_enrollments += one_tap_enrollments;
        self.enrollments += enrollments;
        self.card_deletions += card_deletions;
        self.enrollments_ended_by_deletion += enrollments_ended_by_deletion;
        self.purchases += purchases;
        self.qualifying_transactions += qualifying_transactions;
        self.credits += credits;
        self.declined_per_card_cap += declined_per_card_cap;
        self.declined_per_user_cap += declined_per_user_cap;
        self.declined_enrollment_limit += declined_enrollment_limit;
        self.declined_budget += declined_budget;
        self.declined_period_budget += declined_period_budget;
        self.clawbacks += clawbacks;
    }
}

impl Feed {
    fn absorb(&mut self, o: Feed) {
        let Feed {
            auths,
            clearings,
            reversals,
            refunds,
            deliveries,
            received,
            duplicates_ignored,
            not_linked,
            unknown_mid,
            clearings_out_of_network_order,
            after_horizon,
        } = o;
        self.auths += auths;
        self.clearings += clearings;
        self.reversals += reversals;
        self.refunds += refunds;
        self.deliveries += deliveries;
        self.received += received;
        self.duplicates_ignored += duplicates_ignored;
        self.not_linked += not_linked;
        self.unknown_mid += unknown_mid;
        self.clearings_out_of_network_order += clearings_out_of_network_order;
        self.after_horizon += after_horizon;
    }
}

impl MoneyTotals {
    fn absorb(&mut self, o: MoneyTotals) {
        let MoneyTotals {
            spend,
            refunded,
            rewards_credited,
            rewards_paid,
            rewards_clawed_back,
            fees_charged,
            fees_refunded,
        } = o;
        self.spend += spend;
        self.refunded += refunded;
        self.rewards_credited += rewards_credited;
        self.rewards_paid += rewards_paid;
        self.rewards_clawed_back += rewards_clawed_back;
        self.fees_charged += fees_charged;
        self.fees_refunded += fees_refunded;
    }
}

impl Reversals {
    fn absorb(&mut self, o: Reversals) {
        let Reversals { pending, confirmed, paid, clawbacks_from_cardholders } = o;
        self.pending += pending;
        self.confirmed += confirmed;
        self.paid += paid;
        self.clawbacks_from_cardholders += clawbacks_from_cardholders;
    }
}

impl Bucket {
    fn absorb(&mut self, o: Bucket) {
        let Bucket { purchases, spend, credits, rewards, clawbacks } = o;
        self.purchases += purchases;
        self.spend += spend;
        self.credits += credits;
        self.rewards += rewards;
        self.clawbacks += clawbacks;
    }
}

impl OfferStats {
    fn absorb(&mut self, o: OfferStats) {
        let OfferStats {
            impressions,
            clicks,
            card_entries_abandoned,
            cards_added,
            enrollments,
            one_tap_enrollments,
            enrollments_ended_by_deletion,
            qualifying_transactions,
            redemptions,
            declined_per_card_cap,
            declined_per_user_cap,
            declined_enrollment_limit,
            declined_budget,
            declined_period_budget,
            clawbacks,
            rewards_credited,
            rewards_clawed_back,
            fees_charged,
            fees_refunded,
            attributed_spend,
            incremental_spend,
            uplift_purchases_withdrawn,
            extra_visits,
            extra_visit_spend,
            top_ups,
            top_up_spend,
            top_ups_withdrawn,
            enrollments_by_impressions,
            baskets_around_min_spend,
            pulled_forward,
            pulled_forward_spend,
            budget_left,
            budget_overspend,
            period_overspend,
            budget_ran_out_at,
            rewards_by_day,
            experiment,
            hashtag_posts,
            hashtag_enrollments,
            share_views,
            shares,
            share_enrollments,
        } = o;
        self.share_enrollments += share_enrollments;
        self.hashtag_posts += hashtag_posts;
        self.hashtag_enrollments += hashtag_enrollments;
        self.share_views += share_views;
        self.shares += shares;
        self.impressions += impressions;
        self.clicks += clicks;
        self.card_entries_abandoned += card_entries_abandoned;
        self.cards_added += cards_added;
        self.enrollments += enrollments;
        self.one_tap_enrollments += one_tap_enrollments;
        self.enrollments_ended_by_deletion += enrollments_ended_by_deletion;
        self.qualifying_transactions += qualifying_transactions;
        self.redemptions += redemptions;
        self.declined_per_card_cap += declined_per_card_cap;
        self.declined_per_user_cap += declined_per_user_cap;
        self.declined_enrollment_limit += declined_enrollment_limit;
        self.declined_budget += declined_budget;
        self.declined_period_budget += declined_period_budget;
        self.clawbacks += clawbacks;
        self.rewards_credited += rewards_credited;
        self.rewards_clawed_back += rewards_clawed_back;
        self.fees_charged += fees_charged;
        self.fees_refunded += fees_refunded;
        self.attributed_spend += attributed_spend;
        self.incremental_spend += incremental_spend;
        self.uplift_purchases_withdrawn += uplift_purchases_withdrawn;
        self.extra_visits += extra_visits;
        self.extra_visit_spend += extra_visit_spend;
        self.top_ups += top_ups;
        self.top_up_spend += top_up_spend;
        self.top_ups_withdrawn += top_ups_withdrawn;
        self.pulled_forward += pulled_forward;
        self.pulled_forward_spend += pulled_forward_spend;
        for (a, b) in self.enrollments_by_impressions.iter_mut().zip(enrollments_by_impressions) {
            *a += b;
        }
        for (a, b) in self.baskets_around_min_spend.iter_mut().zip(baskets_around_min_spend) {
            *a += b;
        }
        if let (Some(mine), Some(theirs)) = (self.budget_left.as_mut(), budget_left) {
            *mine += theirs;
        }
        self.budget_overspend += budget_overspend;
        self.period_overspend += period_overspend;
        self.budget_ran_out_at = match (self.budget_ran_out_at, budget_ran_out_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (mine, theirs) in self.rewards_by_day.iter_mut().zip(rewards_by_day) {
            *mine += theirs;
        }
        match (self.experiment.as_mut(), experiment) {
            (Some(mine), Some(theirs)) => mine.absorb(theirs),
            (None, theirs) => self.experiment = theirs,
            (Some(_), None) => {}
        }
    }
}
