//! One shard's replay: every person's events and every network delivery in one virtual-time
//! queue. Each input goes to the platform and, on its first delivery, clean, to the truth
//! oracle; the world's effects (an offer withdrawn when its budget runs out, a shop sold out)
//! are applied here; the tally counts, the tap and the event log hear what was decided.

use super::ahead::{self, Ahead};
use super::fold;
use super::hours::Hours;
use super::links::FirstLinks;
use super::stream::UserStream;
use super::RunOptions;
use crate::core::money::Cents;
use crate::core::per_user::PerUser;
use crate::core::queue::EventQueue;
use crate::core::time::SimTime;
use crate::harness::events::{LogEvent, Progress, Record, ShardLog, Tap};
use crate::outcome::tally::Tally;
use crate::outcome::Outcome;
use crate::people::{Assignment, Effect, Purchase, UserEvent};
use crate::platform::{Decided, Delivery, Input, MessageFacts, Platform, Timer};
use crate::truth::{self, reconcile, Feed, Granted, Oracle, Policy};
use crate::world::attribution::Surface;
use crate::world::network::{CardNetwork, CreditKey, FaultCounts, MessageKind, NetworkMessage, PurchaseId};
use crate::world::{MerchantId, OfferId, World};
use crate::world::{PhysicalCard, Token};
use hints::PREFETCH_AHEAD;
use std::collections::BTreeMap;
use std::ops::Range;

mod hints;

/// Width of the network queue's buckets: a minute keeps the heap of messages due within the
/// current bucket (authorizations, seconds after their purchase) small.
const QUEUE_BUCKET_SECONDS: u64 = 60;

/// The name of the replay's phase on a progress bar (its length: the user events to replay).
pub(super) const REPLAY_PHASE: &str = "events";

/// Progress is reported every this many events (reporting costs a clock read).
const PROGRESS_EVERY: u64 = 4_096;

/// What waits in the queue: a delivery of the (faulty) feed to the platform (the first delivery
/// of each message also carries it, clean, to the ground-truth oracle), or a reward timer.
#[derive(Clone, Copy)]
enum InFlight {
    Delivery(NetworkMessage, TxnContext),
    Timer(Timer),
}

/// What travels with each network message: the facts the wire carries, the network's dense
/// transaction number (the idempotency index), and what only the world knows.
#[derive(Clone, Copy)]
struct TxnContext {
    facts: MessageFacts,
    index: u32,
    /// The offer that made the purchase or part of it, and how much (ground truth of
    /// incrementality): an extra visit as a whole, or a top-up's added dollars.
    incremental: Option<(OfferId, Cents)>,
    /// The surface the purchase is credited to (`attribution.rs`).
    surface: Surface,
    /// Whether the card was linked when the purchase was made (the event log accounts for
    /// every message of such a purchase, `undelivered` when the platform never gets one).
    on_linked_card: bool,
}

pub(super) struct Harness<'w> {
    world: &'w World,
    network: &'w dyn CardNetwork,
    platform: Platform<'w>,
    /// The ground-truth oracle, here or on its own thread.
    truth: Feed<'w>,
    tally: Tally,
    /// What the platform decided on the current input (reused).
    decided: Vec<Decided>,
    log: Option<ShardLog<'w>>,
    /// Receives the platform's inputs (`run_tapped`, the live driver's plan).
    tap: Option<&'w mut dyn Tap>,
    /// Purchases where the platform applied a documented policy (for the reconciliation).
    policies: BTreeMap<PurchaseId, Policy>,
    /// The shard's first user; when users first link a card, and which cards they link (known
    /// from their timelines), by position in the shard.
    first: u32,
    links: FirstLinks,
    /// Purchases of users who link a card so far: the next one's dense transaction number.
    transactions: u32,
    /// Per user: their holdout assignments and their spend at each offer's merchant in its
    /// window (only users targeted by an offer with a holdout).
    experiments: PerUser<Vec<(Assignment, Cents)>>,
    /// Whether any offer holds out part of its audience (else `experiments` stays empty).
    any_experiment: bool,
    /// Per shop: units left (products with an inventory).
    inventory: Vec<Option<u64>>,
    /// The network's messages about the current purchase (reused).
    scratch: Vec<(SimTime, NetworkMessage)>,
    /// The network's reports computed ahead, when they are (`ahead.rs`).
    ahead: Option<Ahead>,
}

impl<'w> Harness<'w> {
    pub(super) fn new(
        world: &'w World,
        network: &'w dyn CardNetwork,
        users: Range<u32>,
        opts: RunOptions,
        log: Option<ShardLog<'w>>,
        tap: Option<&'w mut dyn Tap>,
    ) -> Self {
        let platform = Platform::new(world, users.clone());
        Harness {
            world,
            network,
            platform: if opts.idempotency { platform } else { platform.without_idempotency() },
            truth: Feed::new(Oracle::new(world, users.clone())),
            tally: Tally::new(world),
            decided: Vec::new(),
            log,
            tap,
            policies: BTreeMap::new(),
            first: users.start,
            links: FirstLinks::new(users.len()),
            transactions: 0,
            experiments: PerUser::new(users),
            any_experiment: world.offers.iter().any(|o| o.targeting.holdout > 0.0),
            inventory: world.shops.iter().map(|s| s.inventory.map(u64::from)).collect(),
            scratch: Vec::new(),
            ahead: None,
        }
    }

    /// Replays the users' events and the network's messages in time order; at the same
    /// instant, user events go first. Returns the shard's outcome and every credit the platform
    /// granted, by (purchase, offer).
    /// The replay is an "events" phase of `progress`, advanced by user events (a multi-shard
    /// run's `ShardProgress` turns that into the shard's share of the run's bar).
    /// `helpers`: the oracle runs on a thread of its own (`truth::feed`) and the network's reports
    /// are computed ahead on another (`ahead.rs`), for a run whose other cores would sit idle
    /// during the replay; the result is the same either way.
    pub(super) fn replay(
        mut self,
        stream: UserStream,
        progress: &dyn Progress,
        helpers: bool,
    ) -> (Outcome, BTreeMap<CreditKey, Granted>) {
        self.links = stream.links;
        // The holdout assignments, with what the folded purchases spent (`fold.rs`).
        for (u, a, spent) in stream.assignments {
            self.experiments[u].push((a, spent));
        }
        self.tally.folded(&stream.folded, stream.folded_events);
        if let Some(unheard) = stream.unheard {
            self.tally.absorb_part(unheard.tally);
        }
        let hours = Hours::new(stream.buckets);
        if helpers {
            std::thread::scope(|scope| {
                let oracle = self.truth.spawn(scope);
                self.ahead = Some(Ahead::spawn(scope, self.world, self.network, &hours));
                // The helpers stop when their channels close; a scope waits for its threads
                // before it passes a panic on, so on a panic here the channels close first (or the
                // helpers would wait for the replay, and the scope for them, forever).
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.run(&hours, progress);
                }));
                self.ahead = None;
                self.truth.join(oracle);
                if let Err(panic) = ran {
                    std::panic::resume_unwind(panic);
                }
            });
        } else {
            self.run(&hours, progress);
        }
        assert!(self.platform.ledger().is_balanced(), "ledger out of balance at the end of the run");
        let granted: BTreeMap<CreditKey, Granted> = self
            .platform
            .credits_after(None)
            .map(|(k, c)| (k, Granted { reward: c.reward, fee: c.fee, net_reward: c.reward_left(), times: c.times }))
            .collect();
        let names: Vec<&str> = self.world.offers.iter().map(|o| o.id.as_str()).collect();
        let oracle = self.truth.oracle();
        let correctness = reconcile(&oracle.expected, oracle.unknown_mid_excluded, &granted, &self.policies, &names);
        let experiments = self.experiments.iter().flatten().copied();
        let out = self.tally.finish(self.world, &self.platform, experiments, &self.inventory, correctness);
        (out, granted)
    }

    /// The event loop: user events and network messages in time order, to the horizon.
    fn run(&mut self, stream: &Hours, progress: &dyn Progress) {
        let horizon = self.world.horizon_end();
        let mut queue: EventQueue<InFlight> = EventQueue::new(horizon, QUEUE_BUCKET_SECONDS);
        progress.phase(REPLAY_PHASE, stream.len());
        // The user event `PREFETCH_AHEAD` after the next one, walked in step with `users`: a
        // reader of the hours, so that none goes before it has passed it.
        let mut ahead = stream.reader().cursor().skip(PREFETCH_AHEAD);
        // The replay's own cursor, which hands each hour back once every reader has passed it.
        let mut users = stream.replay_cursor().peekable();
        let mut done: u64 = 0;
        // Events (user events, deliveries, timers, folded views) reported to the bar so far.
        let mut reported: u64 = 0;
        loop {
            // Network messages due strictly before the next user event go first; at equal
            // times the user event does.
            let next = match users.peek() {
                Some((at, _, _)) => queue.pop_before(*at),
                // Nothing happens after the horizon: rewards still in their return period (or
                // waiting for payout) stay pending (or confirmed) in the final books.
                None => queue.pop_before(horizon),
            };
            if let Some((at, item)) = next {
                self.prefetch_delivery(&queue);
                match item {
                    InFlight::Delivery(m, ctx) => self.delivery(at, m, ctx),
                    InFlight::Timer(t) => {
                        self.decided.clear();
                        self.platform.timer(at, t, &mut self.decided);
                        self.settle(at, None);
                    }
                }
                for (t, timer) in self.platform.take_timers() {
                    queue.schedule(t, InFlight::Timer(timer));
                }
            } else {
                let Some((at, u, e)) = users.next() else {
                    break;
                };
                if let Some((_, u, e)) = ahead.next() {
                    self.prefetch_for(u, &e);
                }
                done += 1;
                self.user_event(at, u, e, &mut queue);
                if done % PROGRESS_EVERY == 0 {
                    progress.advance(PROGRESS_EVERY);
                    progress.events(self.tally.events_processed() - reported);
                    reported = self.tally.events_processed();
                    progress.at(at);
                }
            }
            self.tally.event();
            debug_assert!(self.platform.ledger().is_balanced());
        }
    }

    fn record(&mut self, now: SimTime, event: LogEvent<'_>) {
        if let Some(l) = self.log.as_mut() {
            let at = self.world.calendar.format(now);
            let seq = l.seq_base + self.tally.events_processed();
            l.log.record(&Record { seq, t: now, at: &at, shard: l.shard, event });
        }
    }

    fn offer_id(&self, o: OfferId) -> &'w str {
        &self.world.offers[o.0 as usize].id
    }

    fn user_event(&mut self, now: SimTime, u: u32, event: UserEvent, queue: &mut EventQueue<InFlight>) {
        self.tally.user_event(&event);
        let logging = self.log.is_some();
        let world = self.world;
        match event {
            UserEvent::Exposure { offer, impressions } if logging => {
                self.record(now, LogEvent::Exposure { user: u, offer: self.offer_id(offer), impressions })
            }
            UserEvent::Click { offer } if logging => {
                self.record(now, LogEvent::Click { user: u, offer: self.offer_id(offer) })
            }
            UserEvent::CardEntryAbandoned { offer } if logging => {
                self.record(now, LogEvent::CardEntryAbandoned { user: u, offer: self.offer_id(offer) })
            }
            UserEvent::CardAdded { slot, token } => {
                if let Some(tap) = self.tap.as_deref_mut() {
                    tap.input(now, Input::CardAdded { user: u, slot, token });
                }
                self.truth.send(truth::Input::CardAdded { now, user: u, slot, token });
                self.platform.card_added(now, u, slot, token);
                let physical_card = PhysicalCard { user: u, slot };
                self.record(now, LogEvent::CardAdded { user: u, card: token, physical_card });
            }
            UserEvent::Enrolled { offer, token, one_tap, .. } => {
                if let Some(tap) = self.tap.as_deref_mut() {
                    tap.input(now, Input::Enrolled { user: u, token, offer });
                }
                self.truth.send(truth::Input::Enrolled { now, user: u, token, offer });
                if self.platform.enroll(now, u, token, offer).is_err() {
                    unreachable!("enrollment on a card that is not linked: the user model links before enrolling");
                }
                self.record(now, LogEvent::Enrollment { user: u, offer: self.offer_id(offer), card: token, one_tap });
            }
            UserEvent::CardDeleted { token } => self.delete_card(now, u, token),
            UserEvent::Purchase(p) => {
                // The network's report, if computed ahead: its messages go to `scratch` now
                // (taken for every purchase event, in order, whether or not it happens).
                let ahead = match self.ahead.as_mut().and_then(Ahead::next) {
                    Some(r) => {
                        self.scratch.clear();
                        self.scratch.extend_from_slice(r.messages);
                        Some((r.amount, r.faults))
                    }
                    None => None,
                };
                self.purchase(now, u, &p, ahead, queue)
            }
            UserEvent::ShareSeen { offer, generation } if logging => {
                self.record(now, LogEvent::ShareSeen { user: u, offer: self.offer_id(offer), generation })
            }
            UserEvent::Shared { offer, generation } if logging => {
                self.record(now, LogEvent::Shared { user: u, offer: self.offer_id(offer), generation })
            }
            UserEvent::HashtagPost { offer, .. } if logging => {
                let tag = world.offers[offer.0 as usize].hashtag_sync.as_ref().map_or("", |h| h.tag.as_str());
                self.record(now, LogEvent::HashtagPost { user: u, offer: self.offer_id(offer), tag });
            }
            UserEvent::ShopSeen { shop, impressions } if logging => {
                let id = world.shops[shop as usize].id.as_str();
                self.record(now, LogEvent::ShopSeen { user: u, shop: id, impressions });
            }
            UserEvent::ShopTap { shop } if logging => {
                self.record(now, LogEvent::ShopTap { user: u, shop: world.shops[shop as usize].id.as_str() })
            }
            UserEvent::SiteVisit { shop } if logging => {
                self.record(now, LogEvent::SiteVisit { user: u, shop: world.shops[shop as usize].id.as_str() })
            }
            UserEvent::ShopCardAbandoned { shop } if logging => {
                self.record(now, LogEvent::ShopCardAbandoned { user: u, shop: world.shops[shop as usize].id.as_str() })
            }
            _ => {}
        }
    }

    fn delete_card(&mut self, now: SimTime, u: u32, token: Token) {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.input(now, Input::CardDeleted { user: u, token });
        }
        self.truth.send(truth::Input::CardDeleted { now, user: u, token });
        self.decided.clear();
        self.platform.delete_card(now, u, token, &mut self.decided);
        let ended = self.tally.card_deleted(self.world, now, &self.decided);
        self.record(now, LogEvent::CardDeleted { user: u, card: token, enrollments_ended: ended });
    }

    /// The world's effects of an offer on a purchase: an extra visit or a top-up withdrawn with
    /// the offer (its budget ran out), a visit pulled forward by an extra visit. Returns the
    /// purchase as it happens (none: it does not) and what of it the offer made.
    fn effect(&mut self, now: SimTime, mut p: Purchase) -> Option<(Purchase, Option<(OfferId, Cents)>)> {
        match p.effect {
            Effect::None => Some((p, None)),
            Effect::PulledBy(o, extra_at) => {
                if self.platform.budget_ran_out_at(o).is_none_or(|t| t > extra_at) {
                    // An extra visit during the offer took this visit's place: it does not
                    // happen, and the offer's incremental spend is net of it.
                    self.tally.pulled_forward(o, p.amount);
                    return None;
                }
                Some((p, None))
            }
            Effect::Extra(o) => {
                if self.platform.budget_ran_out_at(o).is_some_and(|t| t <= now) {
                    // The offer was withdrawn when its budget ran out: the extra purchase it
                    // would have caused does not happen.
                    self.tally.extra_visit_withdrawn(o);
                    return None;
                }
                self.tally.extra_visit(o, p.amount);
                Some((p, Some((o, p.amount))))
            }
            Effect::TopUp(o, added) => {
                if self.platform.budget_ran_out_at(o).is_some_and(|t| t <= now) {
                    // Withdrawn: nothing to stretch for, the basket stays as it was.
                    self.tally.top_up_withdrawn(o);
                    p.amount -= added;
                    p.effect = Effect::None;
                    return Some((p, None));
                }
                self.tally.top_up(o, added);
                Some((p, Some((o, added))))
            }
        }
    }

    /// A buy-button order: served in order while the product lasts. Returns whether it is.
    fn order(&mut self, now: SimTime, u: u32, p: &Purchase) -> bool {
        let Some((k, units)) = p.order else {
            return true;
        };
        let mut sold_out = false;
        if let Some(left) = self.inventory[k as usize].as_mut() {
            if *left < units as u64 {
                // Sold out (or fewer units left than ordered): the order is refused and the
                // purchase never happens.
                self.tally.order_refused(k);
                let id = self.world.shops[k as usize].id.as_str();
                self.record(now, LogEvent::OrderRefused { user: u, shop: id, units });
                return false;
            }
            *left -= units as u64;
            sold_out = *left == 0;
        }
        self.tally.order(now, k, units, p.amount, sold_out);
        true
    }

    /// `ahead`: the network's report was computed ahead (`ahead.rs`) for this amount, with these
    /// faults, and its messages are in `scratch`.
    fn purchase(
        &mut self,
        now: SimTime,
        u: u32,
        p: &Purchase,
        ahead: Option<(Cents, FaultCounts)>,
        queue: &mut EventQueue<InFlight>,
    ) {
        let Some((p, incremental)) = self.effect(now, *p) else {
            return;
        };
        if !self.order(now, u, &p) {
            return;
        }
        let world = self.world;
        // The platform only ever hears of purchases on linked cards: a user who never links one
        // is the network's business alone (counted, and the world's bookkeeping done, without
        // queueing the messages).
        let local = u - self.first;
        let heard = self.links.ever(local);
        // (The merchant's span read only for a person the platform hears of.)
        if heard && world.min_spend_span(p.merchant).is_some_and(|(from, to)| from <= now && now < to) {
            // Baskets on enrolled cards around each offer's minimum spend, at its merchant in
            // its window. The merchant first, from the packed terms: most enrolled offers are
            // elsewhere, and the `Offer` is a cache miss.
            for offer in self.platform.enrollments_at(u, p.slot, now) {
                if world.offer_merchant(offer) != p.merchant {
                    continue;
                }
                let o = &world.offers[offer.0 as usize];
                if o.min_spend.0 > 0 && o.start <= now && now < o.end {
                    self.tally.basket(world, offer, p.amount);
                }
            }
        }
        let assigned = if self.any_experiment { self.experiments[u].as_mut_slice() } else { &mut [] };
        for (a, spent) in assigned {
            if fold::in_experiment_window(world, a, p.merchant, now) {
                *spent += p.amount;
            }
        }
        let index = self.transactions;
        if heard {
            self.transactions = self.transactions.checked_add(1).expect("at most 2^32 purchases per shard");
        }
        let facts = MessageFacts { slot: p.slot, mid: p.mid, channel: p.channel, scheme: p.scheme, bought_at: now };
        let card = if self.log.is_some() { self.platform.linked_token(u, p.slot) } else { None };
        let surface = p.touch.credited(world.attribution.rule);
        let ctx = TxnContext { facts, index, incremental, surface, on_linked_card: card.is_some() };
        let physical_card = PhysicalCard { user: u, slot: p.slot };
        self.tally.purchase(now, &p, ctx.surface);
        if self.log.is_some() {
            self.record(
                now,
                LogEvent::Purchase {
                    purchase: p.id,
                    user: u,
                    merchant: &world.merchants[p.merchant.0 as usize].id,
                    mid: &world.mids[p.mid.0 as usize].code,
                    channel: p.channel,
                    amount: p.amount,
                    scheme: &world.schemes[p.scheme as usize],
                    card,
                    physical_card,
                    local_at: merchant_local_time(world, p.merchant, now),
                    touch: p.touch,
                    top_up: match p.effect {
                        Effect::TopUp(_, added) => Some(added),
                        _ => None,
                    },
                },
            );
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        match ahead {
            // The purchase happens as generated: the report computed ahead holds.
            Some((amount, faults)) if amount == p.amount => self.tally.faults().absorb(faults),
            _ => {
                scratch.clear();
                let facts = ahead::facts(&p, now);
                ahead::report(world, self.network, &facts, p.key, u, &mut scratch, self.tally.faults());
            }
        }
        let horizon = world.horizon_end();
        for (at, m) in scratch.drain(..) {
            debug_assert!(at >= m.network_time && m.network_time >= now);
            self.tally.sent(&m, at >= horizon);
            if at >= horizon {
                if ctx.on_linked_card {
                    self.record(now, undelivered(&m, at, "after_horizon", physical_card));
                }
                continue;
            }
            // A message the platform can only refuse (the person never links a card, or not this
            // one, or not yet: `FirstLinks::refused`) is settled now, as its delivery would be:
            // it stops at the platform's door (`Platform::message`), and the first copy goes to
            // the world's bookkeeping (sums: the same whenever added), not to the oracle, which
            // would find no card for it (`settled`). With an event log, only a never-linker's
            // are: the others stay in the queue so that the log's sequence numbers stay those of
            // delivery.
            if !heard || (self.log.is_none() && self.links.refused(local, p.slot, &m, at)) {
                self.tally.not_linked();
                self.tally.event();
                if m.copy == 0 {
                    self.settled(&m, &ctx);
                }
                continue;
            }
            // At equal delivery times, the network's own order: a backlog burst keeps it.
            queue.schedule_keyed(at, m.network_time, InFlight::Delivery(m, ctx));
        }
        self.scratch = scratch;
    }

    /// A message of the clean feed: the world's own bookkeeping (`settled`) and the oracle.
    fn truth_message(&mut self, m: NetworkMessage, ctx: TxnContext) {
        self.settled(&m, &ctx);
        let merchant = self.world.merchant_of_mid(ctx.facts.mid);
        match m.kind {
            MessageKind::Clearing => self.truth.send(truth::Input::Clearing(truth::Cleared {
                purchase: m.purchase,
                stamp: m.network_time,
                slot: ctx.facts.slot,
                merchant,
                registered: m.mid_known,
                bought_at: ctx.facts.bought_at,
                amount: m.amount,
                channel: ctx.facts.channel,
                scheme: ctx.facts.scheme,
                mid: ctx.facts.mid,
            })),
            MessageKind::Refund => self.truth.send(truth::Input::Refund { purchase: m.purchase, amount: m.amount }),
            MessageKind::Auth | MessageKind::Reversal => {}
        }
    }

    /// The world's own bookkeeping of a message of the clean feed (`fold::settled`). Alone
    /// (without the oracle) for a message settled at its purchase, which the platform can only
    /// refuse: the oracle would find no card linked for its clearing at its time, and no reward
    /// to take its refund from (`FirstLinks::refused`).
    fn settled(&mut self, m: &NetworkMessage, ctx: &TxnContext) {
        let merchant = self.world.merchant_of_mid(ctx.facts.mid);
        let assigned: &mut [(Assignment, Cents)] =
            if self.any_experiment { &mut self.experiments[m.purchase.user] } else { &mut [] };
        let assigned = assigned.iter_mut().map(|(a, spent)| (&*a, spent));
        fold::settled(self.world, &mut self.tally, m, merchant, ctx.facts.bought_at, ctx.incremental, assigned);
    }

    /// A delivery of the feed: the clean copy to the truth (first delivery), then the platform.
    fn delivery(&mut self, now: SimTime, m: NetworkMessage, ctx: TxnContext) {
        if m.copy == 0 {
            // The clean feed: each message once, when first received (just before the platform
            // gets it), judged as of the network's time.
            self.truth_message(m, ctx);
        }
        self.decided.clear();
        if self.platform.message(now, m, &ctx.facts, ctx.index, &mut self.decided) == Delivery::NotLinked {
            self.tally.not_linked();
            if ctx.on_linked_card {
                let physical_card = PhysicalCard { user: m.purchase.user, slot: ctx.facts.slot };
                self.record(now, undelivered(&m, now, "not_linked", physical_card));
            }
            return;
        }
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.input(now, Input::Message { m, facts: ctx.facts });
        }
        self.settle(now, Some(&ctx));
    }

    /// Hands what the platform just decided (on a delivery of the message `ctx` travels with,
    /// or a timer) to the tally, the tap, the reconciliation's policy record and the event log,
    /// in the order it was decided.
    fn settle(&mut self, now: SimTime, ctx: Option<&TxnContext>) {
        let surface = ctx.map_or(Surface::default(), |c| c.surface);
        let slot = ctx.map_or(0, |c| c.facts.slot);
        let decided = std::mem::take(&mut self.decided);
        for d in &decided {
            self.tally.decided(now, d, surface);
            self.tapped(d);
            if let Decided::UnreferencedRefund { purchase } = *d {
                self.policies.insert(purchase, Policy::UnreferencedRefund);
            }
            if self.log.is_some() {
                self.log_decided(now, d, slot);
            }
        }
        self.decided = decided;
    }

    /// The decisions that only arrival order can change, for the tap: rewards on offers with a
    /// budget, and budget declines.
    fn tapped(&mut self, d: &Decided) {
        let Some(tap) = self.tap.as_deref_mut() else {
            return;
        };
        match *d {
            Decided::Declined { purchase, offer, scope: Some(scope), .. } => {
                tap.budget_declined(purchase, offer, scope)
            }
            Decided::Awarded(a) => {
                let o = &self.world.offers[a.offer.0 as usize];
                if o.budget.is_some() || o.period_budget.is_some() {
                    tap.awarded(a.purchase, a.offer, a.period);
                }
            }
            _ => {}
        }
    }

    /// The log line of a decision; `slot`: the card of the message decided on (0 for a timer).
    fn log_decided(&mut self, now: SimTime, d: &Decided, slot: u8) {
        let world = self.world;
        let descriptor = |m: MerchantId| world.merchants[m.0 as usize].descriptor.as_str();
        let event = match *d {
            Decided::Received { m, card } => {
                let (purchase, amount, network_t, mid_known) = (m.purchase, m.amount, m.network_time, m.mid_known);
                let physical_card = PhysicalCard { user: m.purchase.user, slot };
                match (m.kind, card) {
                    (MessageKind::Refund, card) => LogEvent::Refund {
                        purchase,
                        amount,
                        card,
                        referenced: m.referenced,
                        network_t,
                        mid_known,
                        physical_card,
                    },
                    (MessageKind::Auth, Some(card)) => {
                        LogEvent::Auth { purchase, amount, card, network_t, mid_known, physical_card }
                    }
                    (MessageKind::Reversal, Some(card)) => {
                        LogEvent::Reversal { purchase, amount, card, network_t, mid_known, physical_card }
                    }
                    (MessageKind::Clearing, Some(card)) => {
                        LogEvent::Clearing { purchase, amount, card, network_t, mid_known, physical_card }
                    }
                    (_, None) => unreachable!("only a refund reaches the platform on a card no longer linked"),
                }
            }
            Decided::Duplicate { m } => LogEvent::DuplicateIgnored {
                purchase: m.purchase,
                kind: m.kind,
                copy: m.copy,
                network_t: m.network_time,
                physical_card: PhysicalCard { user: m.purchase.user, slot },
            },
            Decided::Declined { purchase, offer, why, .. } => {
                LogEvent::Declined { purchase, offer: self.offer_id(offer), reason: why.name() }
            }
            Decided::Awarded(a) => {
                LogEvent::Match { purchase: a.purchase, offer: self.offer_id(a.offer), reward: a.reward, fee: a.fee }
            }
            Decided::Confirmed { purchase, offer, amount } => {
                LogEvent::Confirm { purchase, offer: self.offer_id(offer), amount }
            }
            Decided::Paid { purchase, offer, card, merchant, amount } => LogEvent::Credit {
                purchase,
                offer: self.offer_id(offer),
                card,
                amount,
                descriptor: descriptor(merchant),
            },
            Decided::Reversed(r) if r.reward() > Cents::ZERO || r.fee > Cents::ZERO => {
                let from = if r.taken[2] > Cents::ZERO {
                    "paid"
                } else if r.taken[1] > Cents::ZERO {
                    "confirmed"
                } else {
                    "pending"
                };
                LogEvent::Clawback {
                    purchase: r.purchase,
                    offer: self.offer_id(r.offer),
                    card: r.card,
                    amount: r.reward(),
                    fee: r.fee,
                    from,
                    descriptor: descriptor(r.merchant),
                }
            }
            _ => return,
        };
        self.record(now, event);
    }
}

/// The log line of a message the platform never acts on, due at `due`.
fn undelivered(
    m: &NetworkMessage,
    due: SimTime,
    reason: &'static str,
    physical_card: PhysicalCard,
) -> LogEvent<'static> {
    LogEvent::Undelivered {
        purchase: m.purchase,
        kind: m.kind,
        copy: m.copy,
        amount: m.amount,
        network_t: m.network_time,
        due_t: due,
        reason,
        physical_card,
    }
}

/// The merchant's local date-time of `t`, when the merchant keeps another time than the
/// scenario.
fn merchant_local_time(world: &World, merchant: MerchantId, t: SimTime) -> Option<String> {
    let offset = world.merchants[merchant.0 as usize].local_offset_secs;
    (offset != 0).then(|| {
        let local = world.calendar.datetime(SimTime(0)) + chrono::Duration::seconds(t.0 as i64 + offset);
        local.format("%Y-%m-%dT%H:%M:%S").to_string()
    })
}
