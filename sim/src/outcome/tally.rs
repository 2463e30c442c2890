//! The tally: builds a shard's `Outcome` from the world's events (people, purchases, the feed
//! the network sent) and the platform's decisions. It only ever writes: no decision of the
//! platform or the world reads it back (the platform keeps its own budgets; the harness keeps
//! the shops' inventory).

use super::{Bucket, Outcome};
use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::people::{Assignment, Purchase, UserEvent};
use crate::platform::{Decided, Platform};
use crate::world::attribution::Surface;
use crate::world::network::{MessageKind, NetworkMessage, PurchaseId};
use crate::world::{OfferId, World};
use std::collections::BTreeMap;

pub struct Tally {
    out: Outcome,
    /// Each merchant's purchase counts while the tally runs, added to `out.merchants` when it
    /// is handed over (`flush_purchases`).
    purchases: Vec<MerchantPurchases>,
    /// The surface each credited purchase is credited to when not organic (its clawbacks go to
    /// the same one).
    credited_surface: BTreeMap<PurchaseId, Surface>,
}

/// A merchant's purchases by channel, and those credited to no surface (most of them), in one
/// cache line. Purchases come at merchants in no order, and `MerchantStats` is some 400 bytes:
/// counting into it missed the cache on nearly every purchase. These stay in it (5,000
/// merchants: 320 KB); purchases credited to a surface are counted in `MerchantStats` at once.
#[derive(Debug, Default, Clone, Copy)]
#[repr(align(64))]
struct MerchantPurchases {
    by_channel: [u64; 3],
    spend_by_channel: [Cents; 3],
    organic: u64,
    organic_spend: Cents,
}

/// The bucket of `enrollments_by_impressions` for an enrollment at the `n`-th impression (from
/// 1): 1, 2, 3, 4, 5 to 9, 10 and more.
fn impressions_bucket(n: u32) -> usize {
    match n {
        0..=4 => n.saturating_sub(1) as usize,
        5..=9 => 4,
        _ => 5,
    }
}

/// The bin of `baskets_around_min_spend` of an amount against a minimum spend: below half of
/// it, ten bins of a tenth each from half to one and a half times it, then above.
fn basket_bin(amount: Cents, min: Cents) -> usize {
    let tenths = amount.0.saturating_mul(10) / min.0.max(1);
    (tenths.clamp(4, 15) - 4) as usize
}

impl Tally {
    pub fn new(world: &World) -> Tally {
        let purchases = vec![MerchantPurchases::default(); world.merchants.len()];
        Tally { out: Outcome::empty(world), purchases, credited_surface: BTreeMap::new() }
    }

    /// A tally of part of a shard (`harness::fold`), to be added to the shard's with
    /// `absorb_part`: nothing in it but what it counts (no budget, no stock).
    pub fn new_part(world: &World) -> Tally {
        let mut out = Outcome::empty(world);
        for s in &mut out.offers {
            s.budget_left = s.budget_left.map(|_| Cents::ZERO);
        }
        for s in &mut out.shops {
            s.inventory_left = s.inventory_left.map(|_| 0);
        }
        let purchases = vec![MerchantPurchases::default(); world.merchants.len()];
        Tally { out, purchases, credited_surface: BTreeMap::new() }
    }

    /// Adds a part's tally (`new_part`): its counts, sums and series.
    pub fn absorb_part(&mut self, mut part: Tally) {
        debug_assert!(part.credited_surface.is_empty());
        part.flush_purchases();
        self.out.absorb(part.out);
    }

    /// Events counted so far (the event log's sequence numbers follow it).
    pub fn events_processed(&self) -> u64 {
        self.out.events_processed
    }

    /// One more event processed (user event, delivery, timer).
    pub fn event(&mut self) {
        self.out.events_processed += 1;
    }

    /// Views, clicks and abandoned card entries added up without being replayed: per offer
    /// (impressions, clicks, card entries abandoned), and how many events they were.
    pub fn folded(&mut self, per_offer: &[(u64, u64, u64)], events: u64) {
        for (&(impressions, clicks, abandoned), s) in per_offer.iter().zip(&mut self.out.offers) {
            (s.impressions, s.clicks, s.card_entries_abandoned) = (impressions, clicks, abandoned);
            let f = &mut self.out.funnel;
            (f.impressions, f.clicks, f.card_entries_abandoned) =
                (f.impressions + impressions, f.clicks + clicks, f.card_entries_abandoned + abandoned);
        }
        self.out.events_processed += events;
    }

    /// Applies `f` to the hour and the day of `now` in the time series (hours exist only for the
    /// activity period, days for the whole run).
    fn count_in_buckets(&mut self, now: SimTime, f: impl Fn(&mut Bucket)) {
        if let Some(b) = self.out.hourly.get_mut(now.hour_index()) {
            f(b);
        }
        if let Some(b) = self.out.daily.get_mut(now.day_index()) {
            f(b);
        }
    }

    /// A person's event, as far as counting goes (card deletions: `card_deleted`; purchases:
    /// `purchase`).
    pub fn user_event(&mut self, e: &UserEvent) {
        let (o, f) = (&mut self.out.offers, &mut self.out.funnel);
        match *e {
            UserEvent::Exposure { offer, impressions } => {
                f.impressions += impressions as u64;
                o[offer.0 as usize].impressions += impressions as u64;
            }
            UserEvent::Click { offer } => {
                f.clicks += 1;
                o[offer.0 as usize].clicks += 1;
            }
            UserEvent::CardEntryAbandoned { offer } => {
                f.card_entries_abandoned += 1;
                o[offer.0 as usize].card_entries_abandoned += 1;
            }
            UserEvent::CardAdded { .. } => f.cards_added += 1,
            UserEvent::Enrolled { offer, one_tap, impressions, .. } => {
                let stats = &mut o[offer.0 as usize];
                stats.enrollments += 1;
                f.enrollments += 1;
                if one_tap {
                    stats.one_tap_enrollments += 1;
                    f.one_tap_enrollments += 1;
                } else {
                    stats.cards_added += 1;
                }
                if impressions > 0 {
                    stats.enrollments_by_impressions[impressions_bucket(impressions)] += 1;
                }
            }
            UserEvent::ShareSeen { offer, .. } => o[offer.0 as usize].share_views += 1,
            UserEvent::EnrolledFromShare { offer } => o[offer.0 as usize].share_enrollments += 1,
            UserEvent::Shared { offer, .. } => o[offer.0 as usize].shares += 1,
            UserEvent::HashtagPost { offer, enrolls } => {
                let stats = &mut o[offer.0 as usize];
                stats.hashtag_posts += 1;
                stats.hashtag_enrollments += enrolls as u64;
            }
            UserEvent::ShopSeen { shop, impressions } => {
                self.out.shops[shop as usize].impressions += impressions as u64
            }
            UserEvent::ShopTap { shop } => self.out.shops[shop as usize].taps += 1,
            UserEvent::SiteVisit { shop } => self.out.shops[shop as usize].visits += 1,
            UserEvent::ShopCardAbandoned { shop } => self.out.shops[shop as usize].card_entries_abandoned += 1,
            UserEvent::CardDeleted { .. } | UserEvent::Purchase(_) => {}
        }
    }

    /// A card deleted, with what the platform decided: returns how many enrollments in offers
    /// still running it ended.
    pub fn card_deleted(&mut self, world: &World, now: SimTime, decided: &[Decided]) -> u32 {
        let mut ended = 0;
        for d in decided {
            if let Decided::EnrollmentEnded { offer } = *d {
                if world.offers[offer.0 as usize].end > now {
                    self.out.offers[offer.0 as usize].enrollments_ended_by_deletion += 1;
                    ended += 1;
                }
            }
        }
        self.out.funnel.card_deletions += 1;
        self.out.funnel.enrollments_ended_by_deletion += ended as u64;
        ended
    }

    /// A visit that an extra visit during the offer took the place of: it does not happen, and
    /// the offer's incremental spend is net of it.
    pub fn pulled_forward(&mut self, offer: OfferId, amount: Cents) {
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.pulled_forward += 1;
        stats.pulled_forward_spend += amount;
        stats.incremental_spend -= amount;
    }

    /// An extra visit the offer would have caused, withdrawn with the offer.
    pub fn extra_visit_withdrawn(&mut self, offer: OfferId) {
        self.out.offers[offer.0 as usize].uplift_purchases_withdrawn += 1;
    }

    pub fn extra_visit(&mut self, offer: OfferId, amount: Cents) {
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.incremental_spend += amount;
        stats.extra_visits += 1;
        stats.extra_visit_spend += amount;
    }

    pub fn top_up_withdrawn(&mut self, offer: OfferId) {
        self.out.offers[offer.0 as usize].top_ups_withdrawn += 1;
    }

    pub fn top_up(&mut self, offer: OfferId, added: Cents) {
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.incremental_spend += added;
        stats.top_ups += 1;
        stats.top_up_spend += added;
    }

    /// A buy-button order refused: sold out.
    pub fn order_refused(&mut self, shop: u32) {
        self.out.shops[shop as usize].refused_sold_out += 1;
    }

    /// A buy-button order served (`sold_out`: it took the last unit).
    pub fn order(&mut self, now: SimTime, shop: u32, units: u32, amount: Cents, sold_out: bool) {
        let st = &mut self.out.shops[shop as usize];
        if sold_out {
            st.sold_out_at.get_or_insert(now);
        }
        st.orders += 1;
        st.units += units as u64;
        st.spend += amount;
    }

    /// A purchase on a card enrolled in `offer` (one with a minimum spend, at its merchant, in
    /// its window).
    pub fn basket(&mut self, world: &World, offer: OfferId, amount: Cents) {
        let min = world.offers[offer.0 as usize].min_spend;
        self.out.offers[offer.0 as usize].baskets_around_min_spend[basket_bin(amount, min)] += 1;
    }

    /// A purchase made (credited to `surface`).
    pub fn purchase(&mut self, now: SimTime, p: &Purchase, surface: Surface) {
        self.out.funnel.purchases += 1;
        self.out.money.spend += p.amount;
        let s = &mut self.out.surfaces[surface.index()];
        s.purchases += 1;
        s.spend += p.amount;
        let m = &mut self.purchases[p.merchant.0 as usize];
        m.by_channel[p.channel as usize] += 1;
        m.spend_by_channel[p.channel as usize] += p.amount;
        if surface == Surface::Organic {
            m.organic += 1;
            m.organic_spend += p.amount;
        } else {
            let ms = &mut self.out.merchants[p.merchant.0 as usize].by_surface[surface.index()];
            ms.purchases += 1;
            ms.spend += p.amount;
        }
        self.count_in_buckets(now, |b| {
            b.purchases += 1;
            b.spend += p.amount;
        });
    }

    /// Starts loading the counts a purchase at `merchant` will add to (a hint: it changes nothing).
    pub fn prefetch_merchant(&self, merchant: crate::world::MerchantId) {
        if let Some(m) = self.purchases.get(merchant.0 as usize) {
            crate::core::prefetch::prefetch(m);
        }
    }

    /// Adds the merchants' purchase counts kept aside (`MerchantPurchases`) to the outcome's.
    fn flush_purchases(&mut self) {
        for (m, p) in self.out.merchants.iter_mut().zip(&mut self.purchases) {
            let p = std::mem::take(p);
            for c in 0..3 {
                m.purchases_by_channel[c] += p.by_channel[c];
                m.spend_by_channel[c] += p.spend_by_channel[c];
            }
            let organic = &mut m.by_surface[Surface::Organic.index()];
            organic.purchases += p.organic;
            organic.spend += p.organic_spend;
        }
    }

    /// The network's purchase report: what it did wrong on purpose.
    pub fn faults(&mut self) -> &mut crate::world::network::FaultCounts {
        &mut self.out.faults
    }

    /// A delivery the network sends (`after_horizon`: it would arrive after the run's end).
    pub fn sent(&mut self, m: &NetworkMessage, after_horizon: bool) {
        let feed = &mut self.out.feed;
        feed.deliveries += 1;
        if m.copy == 0 {
            match m.kind {
                MessageKind::Auth => feed.auths += 1,
                MessageKind::Clearing => feed.clearings += 1,
                MessageKind::Reversal => feed.reversals += 1,
                MessageKind::Refund => feed.refunds += 1,
            }
        }
        if after_horizon {
            feed.after_horizon += 1;
        }
    }

    /// A delivery about a card not linked at its network timestamp: it never reaches the platform.
    pub fn not_linked(&mut self) {
        self.out.feed.not_linked += 1;
    }

    /// A message of the clean feed: what the merchant keeps. Reversed or refunded extra visits
    /// and top-ups come off the incremental spend (a refund of a topped-up purchase takes the
    /// added dollars back first), whether or not the platform hears of them.
    pub fn settled(&mut self, m: &NetworkMessage, incremental: Option<(OfferId, Cents)>) {
        if let (Some((o, added)), MessageKind::Reversal | MessageKind::Refund) = (incremental, m.kind) {
            self.out.offers[o.0 as usize].incremental_spend -= m.amount.min(added);
        }
        if m.kind == MessageKind::Refund {
            self.out.money.refunded += m.amount;
        }
    }

    /// What the platform decided, at `now`, on an input about a purchase credited to `surface`.
    pub fn decided(&mut self, now: SimTime, d: &Decided, surface: Surface) {
        let out = &mut self.out;
        match *d {
            Decided::Received { .. } => out.feed.received += 1,
            Decided::Duplicate { .. } => out.feed.duplicates_ignored += 1,
            Decided::OutOfNetworkOrder => out.feed.clearings_out_of_network_order += 1,
            Decided::UnknownMid => out.feed.unknown_mid += 1,
            Decided::Qualified => out.funnel.qualifying_transactions += 1,
            Decided::Declined { offer, why, .. } => {
                use crate::platform::matching::Decline;
                let stats = &mut out.offers[offer.0 as usize];
                let f = &mut out.funnel;
                stats.qualifying_transactions += 1;
                match why {
                    Decline::PerCardCap => (stats.declined_per_card_cap += 1, f.declined_per_card_cap += 1),
                    Decline::PerUserCap => (stats.declined_per_user_cap += 1, f.declined_per_user_cap += 1),
                    Decline::EnrollmentLimit => {
                        (stats.declined_enrollment_limit += 1, f.declined_enrollment_limit += 1)
                    }
                    Decline::Budget => (stats.declined_budget += 1, f.declined_budget += 1),
                    Decline::PeriodBudget => (stats.declined_period_budget += 1, f.declined_period_budget += 1),
                };
            }
            Decided::Awarded(a) => {
                // Most purchases are organic (the default): only the others need remembering.
                if surface != Surface::Organic {
                    self.credited_surface.insert(a.purchase, surface);
                }
                for s in [
                    &mut out.surfaces[surface.index()],
                    &mut out.merchants[a.merchant.0 as usize].by_surface[surface.index()],
                ] {
                    s.rewards += a.reward;
                    s.fees += a.fee;
                }
                let stats = &mut out.offers[a.offer.0 as usize];
                stats.budget_overspend += a.overspend;
                stats.period_overspend += a.period_overspend;
                stats.qualifying_transactions += 1;
                stats.redemptions += 1;
                stats.rewards_credited += a.reward;
                stats.fees_charged += a.fee;
                stats.attributed_spend += a.spend;
                if let Some(d) = stats.rewards_by_day.get_mut(now.day_index()) {
                    *d += a.reward;
                }
                out.funnel.credits += 1;
                out.money.rewards_credited += a.reward;
                out.money.fees_charged += a.fee;
                out.time_to_credit.push(now.0 - a.bought_at.0);
                self.count_in_buckets(now, |b| {
                    b.credits += 1;
                    b.rewards += a.reward;
                });
            }
            Decided::Confirmed { .. } => {}
            Decided::Paid { amount, .. } => out.money.rewards_paid += amount,
            Decided::Reversed(r) => {
                out.offers[r.offer.0 as usize].attributed_spend -= r.refunded;
                let reward = r.reward();
                if reward == Cents::ZERO && r.fee == Cents::ZERO {
                    return;
                }
                let surface = self.credited_surface.get(&r.purchase).copied().unwrap_or_default();
                for s in [
                    &mut out.surfaces[surface.index()],
                    &mut out.merchants[r.merchant.0 as usize].by_surface[surface.index()],
                ] {
                    s.rewards_clawed_back += reward;
                    s.fees_refunded += r.fee;
                }
                let stats = &mut out.offers[r.offer.0 as usize];
                stats.clawbacks += 1;
                stats.rewards_clawed_back += reward;
                stats.fees_refunded += r.fee;
                out.funnel.clawbacks += 1;
                let states = &mut out.reversals;
                states.pending += r.taken[0];
                states.confirmed += r.taken[1];
                states.paid += r.taken[2];
                if r.taken[2] > Cents::ZERO {
                    states.clawbacks_from_cardholders += 1;
                }
                out.money.rewards_clawed_back += reward;
                out.money.fees_refunded += r.fee;
                self.count_in_buckets(now, |b| b.clawbacks += 1);
            }
            Decided::UnreferencedRefund { .. } | Decided::EnrollmentEnded { .. } => {}
        }
    }

    /// The shard's outcome: the platform's budgets and books as they ended, the holdout
    /// experiments' spend by group (`experiments`: each assigned person's spend), the shops'
    /// inventory left, and the reconciliation with the truth.
    pub fn finish(
        mut self,
        world: &World,
        platform: &Platform<'_>,
        experiments: impl Iterator<Item = (Assignment, Cents)>,
        inventory_left: &[Option<u64>],
        correctness: crate::truth::Correctness,
    ) -> Outcome {
        self.flush_purchases();
        let out = &mut self.out;
        out.time_to_credit.sort_unstable();
        for (k, (o, s)) in world.offers.iter().zip(&mut out.offers).enumerate() {
            s.budget_left = platform.budget_left(OfferId(k as u32));
            s.budget_ran_out_at = platform.budget_ran_out_at(OfferId(k as u32));
            if o.targeting.holdout > 0.0 {
                s.experiment = Some(Default::default());
            }
        }
        for (a, spent) in experiments {
            let Some(x) = out.offers[a.offer.0 as usize].experiment.as_mut() else {
                continue;
            };
            if a.held_out {
                x.held_out.add(spent);
            } else {
                x.exposed.add(spent);
                if a.enrolled {
                    x.enrolled.add(spent)
                } else {
                    x.not_enrolled.add(spent)
                }
            }
        }
        for (s, left) in out.shops.iter_mut().zip(inventory_left) {
            s.inventory_left = *left;
        }
        out.ledger = platform.ledger().clone();
        out.correctness = correctness;
        self.out
    }
}
