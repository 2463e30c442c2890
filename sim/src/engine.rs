//! The event loop. The users are cut into shards of consecutive ids (`World::shard_users`), each
//! with its share of every budget (`World::shard_world`); shards run in parallel on the worker
//! threads (one after another with an event log; `run`), and their outcomes are added up in
//! shard order. Within a shard, users are simulated first (their timelines depend only on their
//! own streams; in parallel when there is one shard), then one thread replays every
//! timeline and every network delivery through a single virtual-time queue, in (time, key,
//! sequence) order: that is where enrollments are registered, transactions matched, budgets
//! spent and the ledger written. The thread count therefore changes how fast a run is, never
//! what it reports; the shard count is part of the scenario.
//!
//! The platform (this engine) must absorb the feed's faults: it ignores a message whose identity
//! it has seen (at-least-once delivery), judges every message **as of the network's timestamp**
//! (the card linked then, the budget period), gives budgets and caps in order of receipt (a
//! backlog in the network's order), and finds the original
//! of a refund without reference by card, merchant and amount. Beside it, the ground-truth
//! oracle (`truth.rs`) receives a clean copy of the feed; the two are reconciled at the end.

use crate::bitset::BitSet;
use crate::events::{BudgetScope, EventLog, Input, LogEvent, MessageFacts, Progress, Record, Tap};
use crate::ledger::Account;
use crate::matching::{match_txn, Counters, Decision, Decline, Enrolled, Txn};
use crate::money::{percent_of, Cents};
use crate::network::{CardNetwork, MessageKind, NetworkMessage, PurchaseFacts, PurchaseId};
use crate::outcome::{Bucket, OfferStats, Outcome};
use crate::per_user::PerUser;
use crate::population::{assignments, simulate, Assignment, Effect, Purchase, Timeline, Token, UserEvent};
use crate::queue::EventQueue;
use crate::rng::{Purpose, Stream};
use crate::sharing::{cascades, Cascades};
use crate::time::SimTime;
use crate::truth::{self, reconcile, reward_after_refund, Granted, Oracle, Policy};
use crate::world::{MerchantId, MidId, OfferId, World};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::ops::Range;

pub mod live;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Worker threads for user generation; 0 means one per core.
    pub threads: usize,
    /// Whether the platform ignores repeated deliveries of a message it has seen. Always on in
    /// the CLI; tests switch it off to show that the reconciliation catches double credits.
    pub idempotency: bool,
}

impl RunOptions {
    pub fn threads(threads: usize) -> RunOptions {
        RunOptions { threads, idempotency: true }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {threads} worker threads: {source}")]
    Threads { threads: usize, source: rayon::ThreadPoolBuildError },
}

/// What waits in the queue: a delivery of the (faulty) feed to the platform (the first delivery
/// of each message also carries it, clean, to the ground-truth oracle), or a reward timer.
#[derive(Clone, Copy)]
enum InFlight {
    Delivery(NetworkMessage, TxnContext),
    /// The return period of a reward (this much of it) is over.
    Confirm(CreditKey, Cents),
    /// The statement credit of a confirmed reward (this much of it) is due.
    Pay(CreditKey, Cents),
}

/// Every user event of a shard, in one bucket per hour, each ordered by (time, user, position
/// in the user's timeline); and the users who link a card at some point.
struct UserStream {
    buckets: Vec<Vec<(SimTime, u32, UserEvent)>>,
    /// By position in the shard: the platform can only ever hear of these users' purchases.
    linkers: BitSet,
    /// Without an event log, views, clicks and abandoned card entries only add to counters, in
    /// any order: they are added up here instead of being replayed (a third of all events).
    fold: bool,
    /// Per offer: (impressions, clicks, card entries abandoned) folded; and how many events.
    folded: Vec<(u64, u64, u64)>,
    folded_events: u64,
    /// Holdout experiments: (user, assignment), for users targeted by an offer with a holdout.
    assignments: Vec<(u32, Assignment)>,
}

impl UserStream {
    fn new(world: &World, users: &Range<u32>, fold: bool) -> UserStream {
        let hours = world.days as usize * 24;
        UserStream {
            buckets: (0..hours).map(|_| Vec::new()).collect(),
            linkers: BitSet::new(users.len()),
            fold,
            folded: vec![(0, 0, 0); world.offers.len()],
            folded_events: 0,
            assignments: Vec::new(),
        }
    }
    /// Files an event of user `u` (the shard starting at `first`) in its hour.
    fn push(&mut self, first: u32, at: SimTime, u: u32, e: UserEvent) {
        match e {
            UserEvent::CardAdded { .. } => self.linkers.insert(u - first),
            UserEvent::Exposure { offer, impressions } if self.fold => {
                self.folded[offer.0 as usize].0 += impressions as u64;
                self.folded_events += 1;
                return;
            }
            UserEvent::Click { offer } if self.fold => {
                self.folded[offer.0 as usize].1 += 1;
                self.folded_events += 1;
                return;
            }
            UserEvent::CardEntryAbandoned { offer } if self.fold => {
                self.folded[offer.0 as usize].2 += 1;
                self.folded_events += 1;
                return;
            }
            _ => {}
        }
        let hour = at.hour_index().min(self.buckets.len() - 1);
        self.buckets[hour].push((at, u, e));
    }
}

/// Width of the network queue's buckets: a minute keeps the heap of messages due within the
/// current bucket (authorizations, seconds after their purchase) small.
const QUEUE_BUCKET_SECONDS: u64 = 60;

/// Progress is reported every this many events (reporting costs a clock read).
const PROGRESS_EVERY: u64 = 4_096;

/// Purchase facts carried with each network message: the transaction time, the card slot, the
/// MID, and the network's dense transaction number (the idempotency index).
#[derive(Clone, Copy)]
struct TxnContext {
    bought_at: SimTime,
    slot: u8,
    mid: MidId,
    /// The offer that made the purchase or part of it, and how much (ground truth of
    /// incrementality): an extra visit as a whole, or a top-up's added dollars.
    incremental: Option<(OfferId, Cents)>,
    index: u32,
    channel: crate::world::Channel,
    scheme: u8,
    /// The surface the purchase is credited to (`attribution.rs`).
    surface: crate::attribution::Surface,
}

/// A card as the platform knows it: linked under a token from `added` until `deleted`, with its
/// enrollments.
struct Link {
    slot: u8,
    token: Token,
    added: SimTime,
    deleted: Option<SimTime>,
    enrolled: Vec<Enrolled>,
}

impl Link {
    fn active(&self) -> bool {
        self.deleted.is_none()
    }
    fn linked_at(&self, t: SimTime) -> bool {
        self.added <= t && self.deleted.is_none_or(|d| d > t)
    }
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

/// A reward: the purchase and the offer that pays it (stackable offers pay several on one
/// purchase).
type CreditKey = (PurchaseId, OfferId);

/// A clearing the platform received, kept so that a refund without reference can find it and
/// a new-customer offer can look back.
struct Received {
    purchase: PurchaseId,
    slot: u8,
    merchant: MerchantId,
    bought_at: SimTime,
    amount: Cents,
    refunded: Cents,
}

impl CreditRecord {
    fn reward_left(&self) -> Cents {
        self.pending + self.confirmed + self.paid
    }
}

/// Moves up to `amount` from one reward state to the next (less if a refund took some back);
/// returns what moved.
fn shift(from: &mut Cents, to: &mut Cents, amount: Cents) -> Cents {
    let moved = amount.min(*from);
    *from -= moved;
    *to += moved;
    moved
}

struct CreditRecord {
    offer: OfferId,
    token: Token,
    slot: u8,
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
    /// The surface its purchase is credited to.
    surface: crate::attribution::Surface,
}

struct Engine<'w> {
    world: &'w World,
    network: &'w dyn CardNetwork,
    links: PerUser<Vec<Link>>,
    /// Per user: (card slot, offer, credits) — caps count per physical card, across tokens.
    redeemed: PerUser<Vec<(u8, OfferId, u32)>>,
    credits: BTreeMap<CreditKey, CreditRecord>,
    /// Per offer: rewards granted in each budget period (offers with a budget per period).
    period_spent: Vec<BTreeMap<u32, Cents>>,
    /// Matching's output, reused.
    decision: Decision,
    /// Per user: the clearings received on their linked cards at known MIDs.
    received: PerUser<Vec<Received>>,
    /// Per network transaction: the kinds of message already received (idempotency).
    seen: Vec<u8>,
    idempotency: bool,
    /// Purchases where the platform applied a documented policy (for the reconciliation).
    policies: BTreeMap<PurchaseId, Policy>,
    oracle: Oracle<'w>,
    out: Outcome,
    log: Option<&'w mut dyn EventLog>,
    /// Receives the platform's inputs (`run_tapped`, the live driver's plan).
    tap: Option<&'w mut dyn Tap>,
    /// Decides budget checks instead of the budgets (`live::BudgetRule`; the live driver's
    /// oracle replays a target's decisions).
    budget_rule: Option<&'w mut dyn live::BudgetRule>,
    /// With a tap: every credit at the end of the run.
    granted: BTreeMap<CreditKey, Granted>,
    scratch: Vec<(SimTime, NetworkMessage)>,
    /// Users who ever linked a card (so far).
    has_linked: BitSet,
    /// Users who link a card at some point of the run (known from their timelines).
    linkers: BitSet,
    /// The latest network timestamp of a clearing received so far.
    latest_clearing: SimTime,
    /// Reward state changes to schedule (the loop moves them into the queue).
    timers: Vec<(SimTime, InFlight)>,
    /// The event log's sequence number of this shard's first event.
    seq_base: u64,
    /// Per user: their holdout assignments and their spend at each offer's merchant in its
    /// window (only users targeted by an offer with a holdout).
    experiments: PerUser<Vec<(Assignment, Cents)>>,
    /// Whether any offer holds out part of its audience (else `experiments` stays empty).
    any_experiment: bool,
    /// The surface of the clearing being matched (its rewards are credited to it), and its
    /// network timestamp (its budget period).
    clearing_surface: crate::attribution::Surface,
    clearing_stamp: SimTime,
}

/// Runs a whole scenario: its shards (`World::shard_users`) one after another when there is one
/// or an event log (the log then holds each shard's events in time order, shard after shard),
/// else in parallel on the worker threads; their outcomes are added up in shard order. Neither
/// the thread count nor the schedule can change the result: a shard's outcome depends on the
/// shard alone.
pub fn run<'a>(
    world: &'a World,
    network: &'a dyn CardNetwork,
    opts: RunOptions,
    progress: &dyn Progress,
    mut log: Option<&'a mut dyn EventLog>,
) -> Result<Outcome, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|source| RunError::Threads { threads: opts.threads, source })?;
    // Sharing cascades span shards: computed once, before anyone is simulated.
    let shares = cascades(world);
    if world.shards == 1 {
        let users = world.shard_users(0);
        progress.phase("users", users.len() as u64);
        let stream = generate(Some(&pool), world, users.clone(), log.is_none(), progress, &shares);
        let mut engine = Engine::new(world, network, users, log);
        engine.idempotency = opts.idempotency;
        let mut out = engine.replay(stream, progress, true);
        out.sharing = shares.stats;
        return Ok(out);
    }
    progress.phase("shards", world.users);
    let per_shard = ShardProgress(progress);
    // A shard with the whole run's bar: half its users when generated, half when replayed.
    let one_shard = |s: u32, log: Option<&mut dyn EventLog>, seq: u64, gen_pool: Option<&rayon::ThreadPool>| {
        let half = world.shard_users(s).len() as u64 / 2;
        let out =
            run_shard(world, network, opts, s, log, seq, gen_pool, &per_shard, &|| progress.advance(half), &shares);
        progress.advance(world.shard_users(s).len() as u64 - half);
        out
    };
    let outcomes: Vec<Outcome> = if log.is_some() {
        let mut outs: Vec<Outcome> = Vec::new();
        for s in 0..world.shards {
            let seq = outs.iter().map(|o| o.events_processed).sum();
            let log: Option<&mut dyn EventLog> = match log.as_mut() {
                Some(l) => Some(&mut **l),
                None => None,
            };
            outs.push(one_shard(s, log, seq, Some(&pool)));
        }
        outs
    } else {
        // Each worker takes the next shard and runs it whole (generation and replay), so at
        // most one shard per thread is in memory.
        let next = std::sync::atomic::AtomicU32::new(0);
        let done: std::sync::Mutex<Vec<(u32, Outcome)>> = std::sync::Mutex::new(Vec::new());
        pool.broadcast(|_| loop {
            let s = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if s >= world.shards {
                break;
            }
            let out = one_shard(s, None, 0, None);
            done.lock().unwrap_or_else(|e| e.into_inner()).push((s, out));
        });
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_by_key(|(s, _)| *s);
        done.into_iter().map(|(_, o)| o).collect()
    };
    let mut out = Outcome::sum_of_shards(world, outcomes);
    out.sharing = shares.stats;
    Ok(out)
}

/// One shard, generated (on `gen_pool` or this thread) and replayed; `generated` is called
/// between the two.
#[allow(clippy::too_many_arguments)]
fn run_shard(
    world: &World,
    network: &dyn CardNetwork,
    opts: RunOptions,
    s: u32,
    log: Option<&mut dyn EventLog>,
    seq_base: u64,
    gen_pool: Option<&rayon::ThreadPool>,
    progress: &dyn Progress,
    generated: &dyn Fn(),
    shares: &Cascades,
) -> Outcome {
    let shard = world.shard_world(s);
    let users = world.shard_users(s);
    let stream = generate(gen_pool, &shard, users.clone(), log.is_none(), progress, shares);
    generated();
    let mut engine = Engine::new(&shard, network, users, log.map(|l| l as &mut dyn EventLog));
    engine.idempotency = opts.idempotency;
    engine.seq_base = seq_base;
    engine.replay(stream, progress, false)
}

/// A shard's progress as the whole run's bar shows it: its events and simulated time, not its
/// phases.
struct ShardProgress<'a>(&'a dyn Progress);

impl Progress for ShardProgress<'_> {
    fn events(&self, n: u64) {
        self.0.events(n);
    }
    fn at(&self, now: SimTime) {
        self.0.at(now);
    }
}

/// Replays hand-written user timelines (one per user `0..world.users`, any order) instead of
/// simulated ones: for tests that need exact, hand-computed cases. Runs as one shard.
pub fn run_scripted<'a>(
    world: &'a World,
    network: &'a dyn CardNetwork,
    opts: RunOptions,
    timelines: Vec<(u32, Vec<(SimTime, UserEvent)>)>,
    log: Option<&'a mut dyn EventLog>,
) -> Outcome {
    let users = u32::try_from(world.users).unwrap_or(u32::MAX);
    let mut stream = UserStream::new(world, &(0..users), log.is_none());
    for (user, events) in timelines {
        assert!(user < users, "scripted user {user} outside the scenario's {users} users");
        for (at, e) in events {
            stream.push(0, at, user, e);
        }
    }
    for b in &mut stream.buckets {
        b.sort_by_key(|(at, u, _)| (*at, *u));
    }
    let mut engine = Engine::new(world, network, 0..users, log);
    engine.idempotency = opts.idempotency;
    engine.replay(stream, &crate::events::NoProgress, true)
}

/// Runs a whole scenario as one shard (budgets whole, whatever `[population] shards` says) and
/// hands every input of the platform to `tap` in processing order: the live driver's plan.
/// Returns the outcome and every credit the platform granted, by (purchase, offer).
pub fn run_tapped<'a>(
    world: &'a World,
    network: &'a dyn CardNetwork,
    opts: RunOptions,
    progress: &dyn Progress,
    tap: &'a mut dyn Tap,
) -> Result<(Outcome, BTreeMap<CreditKey, Granted>), RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|source| RunError::Threads { threads: opts.threads, source })?;
    let users = 0..u32::try_from(world.users).unwrap_or(u32::MAX);
    progress.phase("users", users.len() as u64);
    let shares = cascades(world);
    let stream = generate(Some(&pool), world, users.clone(), true, progress, &shares);
    let mut engine = Engine::new(world, network, users, None);
    engine.idempotency = opts.idempotency;
    engine.tap = Some(tap);
    let mut out = engine.replay(stream, progress, true);
    out.sharing = shares.stats;
    Ok((out, std::mem::take(&mut engine.granted)))
}

/// Users are simulated this many at a time, so that only one chunk of timelines is held
/// beside the merged stream.
const USERS_PER_CHUNK: u32 = 16_384;

/// Simulates the users `users` (in parallel on `pool`, chunk by chunk, or on this thread) and
/// merges their timelines into one stream in (time, user) order: scattered into hourly buckets
/// in user order, then each bucket sorted. The sort is stable, so one user's same-second events
/// keep their causal order; the result is a pure function of the timelines, so the thread count
/// cannot change it.
fn generate(
    pool: Option<&rayon::ThreadPool>,
    world: &World,
    users: Range<u32>,
    fold: bool,
    progress: &dyn Progress,
    cascades: &Cascades,
) -> UserStream {
    let mut stream = UserStream::new(world, &users, fold);
    let experiments = world.offers.iter().any(|o| o.targeting.holdout > 0.0);
    for first in users.clone().step_by(USERS_PER_CHUNK as usize) {
        let last = first.saturating_add(USERS_PER_CHUNK).min(users.end);
        let chunk: Vec<Timeline> = match pool {
            Some(pool) => {
                pool.install(|| (first..last).into_par_iter().map(|u| simulate(world, u, cascades)).collect())
            }
            None => (first..last).map(|u| simulate(world, u, cascades)).collect(),
        };
        for t in chunk {
            if experiments {
                stream.assignments.extend(assignments(world, &t).into_iter().map(|a| (t.user, a)));
            }
            for (at, e) in t.events {
                stream.push(users.start, at, t.user, e);
            }
        }
        progress.advance((last - first) as u64);
    }
    let sort = |b: &mut Vec<(SimTime, u32, UserEvent)>| {
        b.sort_by_key(|(at, u, _)| (*at, *u));
        b.shrink_to_fit();
    };
    match pool {
        Some(pool) => pool.install(|| stream.buckets.par_iter_mut().for_each(sort)),
        None => stream.buckets.iter_mut().for_each(sort),
    }
    stream
}

impl<'w> Engine<'w> {
    fn new(
        world: &'w World,
        network: &'w dyn CardNetwork,
        users: Range<u32>,
        log: Option<&'w mut dyn EventLog>,
    ) -> Self {
        let n = users.len();
        Engine {
            world,
            network,
            links: PerUser::new(users.clone()),
            redeemed: PerUser::new(users.clone()),
            credits: BTreeMap::new(),
            period_spent: world.offers.iter().map(|_| BTreeMap::new()).collect(),
            decision: Decision::default(),
            received: PerUser::new(users.clone()),
            seen: Vec::new(),
            idempotency: true,
            policies: BTreeMap::new(),
            oracle: Oracle::new(world, users.clone()),
            out: Outcome::empty(world),
            seq_base: 0,
            experiments: PerUser::new(users.clone()),
            any_experiment: world.offers.iter().any(|o| o.targeting.holdout > 0.0),
            clearing_surface: Default::default(),
            clearing_stamp: SimTime::ZERO,
            log,
            tap: None,
            budget_rule: None,
            granted: BTreeMap::new(),
            scratch: Vec::new(),
            timers: Vec::new(),
            latest_clearing: SimTime::ZERO,
            has_linked: BitSet::new(n),
            linkers: BitSet::new(n),
        }
    }

    /// Replays the users' events and the network's messages in time order; at the same
    /// instant, user events go first.
    /// `own_bar`: the replay is the run's "events" phase (else it reports events and time only).
    fn replay(&mut self, stream: UserStream, progress: &dyn Progress, own_bar: bool) -> Outcome {
        self.linkers = stream.linkers;
        for (u, a) in stream.assignments {
            self.experiments[u].push((a, Cents::ZERO));
        }
        for ((impressions, clicks, abandoned), s) in stream.folded.into_iter().zip(&mut self.out.offers) {
            (s.impressions, s.clicks, s.card_entries_abandoned) = (impressions, clicks, abandoned);
            let f = &mut self.out.funnel;
            (f.impressions, f.clicks, f.card_entries_abandoned) =
                (f.impressions + impressions, f.clicks + clicks, f.card_entries_abandoned + abandoned);
        }
        self.out.events_processed += stream.folded_events;
        let stream = stream.buckets;
        let mut queue: EventQueue<InFlight> = EventQueue::new(self.world.horizon_end(), QUEUE_BUCKET_SECONDS);
        if own_bar {
            progress.phase("events", stream.iter().map(|b| b.len() as u64).sum());
        }
        let horizon = self.world.horizon_end();
        let mut users = stream.iter().flatten().peekable();
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
                match item {
                    InFlight::Delivery(m, ctx) => {
                        if m.copy == 0 {
                            // The clean feed: each message once, when first received (just
                            // before the platform gets it), judged as of the network's time.
                            self.truth_message(m, ctx);
                        }
                        self.network_message(at, m, ctx)
                    }
                    InFlight::Confirm(k, amount) => self.confirm(at, k, amount),
                    InFlight::Pay(k, amount) => self.pay(at, k, amount),
                }
                for (t, item) in self.timers.drain(..) {
                    queue.schedule(t, item);
                }
            } else {
                let Some(&(at, u, e)) = users.next() else {
                    break;
                };
                done += 1;
                self.user_event(at, u, e, &mut queue);
                if done % PROGRESS_EVERY == 0 {
                    if own_bar {
                        progress.advance(PROGRESS_EVERY);
                    }
                    progress.events(self.out.events_processed - reported);
                    reported = self.out.events_processed;
                    progress.at(at);
                }
            }
            self.out.events_processed += 1;
            debug_assert!(self.out.ledger.is_balanced());
        }
        self.out.time_to_credit.sort_unstable();
        self.tally_experiments();
        assert!(self.out.ledger.is_balanced(), "ledger out of balance at the end of the run");
        let granted: BTreeMap<CreditKey, Granted> = self
            .credits
            .iter()
            .map(|(k, c)| (*k, Granted { reward: c.reward, fee: c.fee, net_reward: c.reward_left(), times: c.times }))
            .collect();
        let names: Vec<&str> = self.world.offers.iter().map(|o| o.id.as_str()).collect();
        self.out.correctness =
            reconcile(&self.oracle.expected, self.oracle.unknown_mid_excluded, &granted, &self.policies, &names);
        if self.tap.is_some() {
            self.granted = granted;
        }
        std::mem::take(&mut self.out)
    }

    /// Adds every assigned user's spend to their groups of the offer's experiment.
    fn tally_experiments(&mut self) {
        for (k, o) in self.world.offers.iter().enumerate() {
            if o.targeting.holdout > 0.0 {
                self.out.offers[k].experiment = Some(Default::default());
            }
        }
        for list in self.experiments.iter() {
            for &(a, spent) in list {
                let Some(x) = self.out.offers[a.offer.0 as usize].experiment.as_mut() else {
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
        }
    }

    /// Whether an event log is attached: the hot paths build their records only then.
    fn logging(&self) -> bool {
        self.log.is_some()
    }

    fn record(&mut self, now: SimTime, event: LogEvent<'_>) {
        if let Some(log) = self.log.as_deref_mut() {
            let at = self.world.calendar.format(now);
            log.record(&Record { seq: self.seq_base + self.out.events_processed, t: now, at: &at, event });
        }
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

    fn offer_id(&self, o: OfferId) -> &'w str {
        &self.world.offers[o.0 as usize].id
    }

    fn user_event(&mut self, now: SimTime, u: u32, event: UserEvent, queue: &mut EventQueue<InFlight>) {
        match event {
            UserEvent::Exposure { offer, impressions } => {
                self.out.funnel.impressions += impressions as u64;
                self.out.offers[offer.0 as usize].impressions += impressions as u64;
                if self.logging() {
                    self.record(now, LogEvent::Exposure { user: u, offer: self.offer_id(offer), impressions });
                }
            }
            UserEvent::Click { offer } => {
                self.out.funnel.clicks += 1;
                self.out.offers[offer.0 as usize].clicks += 1;
                if self.logging() {
                    self.record(now, LogEvent::Click { user: u, offer: self.offer_id(offer) });
                }
            }
            UserEvent::CardEntryAbandoned { offer } => {
                self.out.funnel.card_entries_abandoned += 1;
                self.out.offers[offer.0 as usize].card_entries_abandoned += 1;
                self.record(now, LogEvent::CardEntryAbandoned { user: u, offer: self.offer_id(offer) });
            }
            UserEvent::CardAdded { slot, token } => {
                if let Some(tap) = self.tap.as_deref_mut() {
                    tap.input(now, Input::CardAdded { user: u, slot, token });
                }
                self.out.funnel.cards_added += 1;
                self.oracle.card_added(now, u, slot, token);
                self.links[u].push(Link { slot, token, added: now, deleted: None, enrolled: Vec::new() });
                self.has_linked.insert(self.links.local(u) as u32);
                self.record(now, LogEvent::CardAdded { user: u, card: token });
            }
            UserEvent::Enrolled { offer, token, one_tap, impressions } => {
                self.enroll(now, u, offer, token, one_tap);
                if impressions > 0 {
                    self.out.offers[offer.0 as usize].enrollments_by_impressions[impressions_bucket(impressions)] += 1;
                }
            }
            UserEvent::CardDeleted { token } => self.delete_card(now, u, token),
            UserEvent::Purchase(p) => self.purchase(now, u, &p, queue),
            UserEvent::ShareSeen { offer, generation } => {
                self.out.offers[offer.0 as usize].share_views += 1;
                if self.logging() {
                    self.record(now, LogEvent::ShareSeen { user: u, offer: self.offer_id(offer), generation });
                }
            }
            UserEvent::EnrolledFromShare { offer } => self.out.offers[offer.0 as usize].share_enrollments += 1,
            UserEvent::Shared { offer, generation } => {
                self.out.offers[offer.0 as usize].shares += 1;
                if self.logging() {
                    self.record(now, LogEvent::Shared { user: u, offer: self.offer_id(offer), generation });
                }
            }
            UserEvent::HashtagPost { offer, enrolls } => {
                let stats = &mut self.out.offers[offer.0 as usize];
                stats.hashtag_posts += 1;
                stats.hashtag_enrollments += enrolls as u64;
                if self.logging() {
                    let tag = self.world.offers[offer.0 as usize].hashtag_sync.as_ref().map_or("", |h| h.tag.as_str());
                    self.record(now, LogEvent::HashtagPost { user: u, offer: self.offer_id(offer), tag });
                }
            }
            UserEvent::ShopSeen { shop, impressions } => {
                self.out.shops[shop as usize].impressions += impressions as u64;
                if self.logging() {
                    let id = self.world.shops[shop as usize].id.as_str();
                    self.record(now, LogEvent::ShopSeen { user: u, shop: id, impressions });
                }
            }
            UserEvent::ShopTap { shop } => {
                self.out.shops[shop as usize].taps += 1;
                let id = self.world.shops[shop as usize].id.as_str();
                self.record(now, LogEvent::ShopTap { user: u, shop: id });
            }
            UserEvent::SiteVisit { shop } => {
                self.out.shops[shop as usize].visits += 1;
                let id = self.world.shops[shop as usize].id.as_str();
                self.record(now, LogEvent::SiteVisit { user: u, shop: id });
            }
            UserEvent::ShopCardAbandoned { shop } => {
                self.out.shops[shop as usize].card_entries_abandoned += 1;
                let id = self.world.shops[shop as usize].id.as_str();
                self.record(now, LogEvent::ShopCardAbandoned { user: u, shop: id });
            }
        }
    }

    fn enroll(&mut self, now: SimTime, u: u32, offer: OfferId, token: Token, one_tap: bool) {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.input(now, Input::Enrolled { user: u, token, offer });
        }
        self.oracle.enrolled(now, u, token, offer);
        let Some(link) = self.links[u].iter_mut().find(|l| l.token == token && l.active()) else {
            unreachable!("enrollment on a card that is not linked: the user model links before enrolling");
        };
        link.enrolled.push(Enrolled { offer, since: now, credited: 0 });
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.enrollments += 1;
        self.out.funnel.enrollments += 1;
        if one_tap {
            stats.one_tap_enrollments += 1;
            self.out.funnel.one_tap_enrollments += 1;
        } else {
            stats.cards_added += 1;
        }
        self.record(now, LogEvent::Enrollment { user: u, offer: self.offer_id(offer), card: token, one_tap });
    }

    fn delete_card(&mut self, now: SimTime, u: u32, token: Token) {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.input(now, Input::CardDeleted { user: u, token });
        }
        let mut ended = 0;
        self.oracle.card_deleted(now, u, token);
        if let Some(link) = self.links[u].iter_mut().find(|l| l.token == token && l.active()) {
            link.deleted = Some(now);
            for e in &link.enrolled {
                if self.world.offers[e.offer.0 as usize].end > now {
                    self.out.offers[e.offer.0 as usize].enrollments_ended_by_deletion += 1;
                    ended += 1;
                }
            }
        }
        self.out.funnel.card_deletions += 1;
        self.out.funnel.enrollments_ended_by_deletion += ended as u64;
        self.record(now, LogEvent::CardDeleted { user: u, card: token, enrollments_ended: ended });
    }

    /// Counts a purchase on an enrolled card in the basket histogram of each offer at its
    /// merchant with a minimum spend, within the offer's window.
    fn count_basket(&mut self, now: SimTime, u: u32, p: &Purchase) {
        let Some(link) = self.links[u].iter().find(|l| l.slot == p.slot && l.linked_at(now)) else {
            return;
        };
        for e in &link.enrolled {
            let o = &self.world.offers[e.offer.0 as usize];
            if o.merchant == p.merchant && o.min_spend.0 > 0 && o.start <= now && now < o.end {
                self.out.offers[e.offer.0 as usize].baskets_around_min_spend[basket_bin(p.amount, o.min_spend)] += 1;
            }
        }
    }

    fn linked_token(&self, u: u32, slot: u8) -> Option<Token> {
        self.links[u].iter().find(|l| l.slot == slot && l.active()).map(|l| l.token)
    }

    /// The link of card `slot` at time `t` (the network's timestamp of a message).
    fn link_at(&self, u: u32, slot: u8, t: SimTime) -> Option<usize> {
        if !self.has_linked.contains(self.links.local(u) as u32) {
            return None; // most users never link a card: skip the cache miss on their list
        }
        self.links[u].iter().position(|l| l.slot == slot && l.linked_at(t))
    }

    fn purchase(&mut self, now: SimTime, u: u32, p: &Purchase, queue: &mut EventQueue<InFlight>) {
        let mut p = *p;
        let mut incremental = None;
        match p.effect {
            Effect::None => {}
            Effect::PulledBy(o, extra_at) => {
                let stats = &mut self.out.offers[o.0 as usize];
                if stats.budget_ran_out_at.is_none_or(|t| t > extra_at) {
                    // An extra visit during the offer took this visit's place: it does not
                    // happen, and the offer's incremental spend is net of it.
                    stats.pulled_forward += 1;
                    stats.pulled_forward_spend += p.amount;
                    stats.incremental_spend -= p.amount;
                    return;
                }
            }
            Effect::Extra(o) => {
                let stats = &mut self.out.offers[o.0 as usize];
                if stats.budget_ran_out_at.is_some_and(|t| t <= now) {
                    // The offer was withdrawn when its budget ran out: the extra purchase it
                    // would have caused does not happen.
                    stats.uplift_purchases_withdrawn += 1;
                    return;
                }
                stats.incremental_spend += p.amount;
                stats.extra_visits += 1;
                stats.extra_visit_spend += p.amount;
                incremental = Some((o, p.amount));
            }
            Effect::TopUp(o, added) => {
                let stats = &mut self.out.offers[o.0 as usize];
                if stats.budget_ran_out_at.is_some_and(|t| t <= now) {
                    // Withdrawn: nothing to stretch for, the basket stays as it was.
                    stats.top_ups_withdrawn += 1;
                    p.amount -= added;
                    p.effect = Effect::None;
                } else {
                    stats.incremental_spend += added;
                    stats.top_ups += 1;
                    stats.top_up_spend += added;
                    incremental = Some((o, added));
                }
            }
        }
        let p = &p;
        if let Some((k, units)) = p.order {
            let st = &mut self.out.shops[k as usize];
            if let Some(left) = st.inventory_left.as_mut() {
                if *left < units as u64 {
                    // Sold out (or fewer units left than ordered): the order is refused and the
                    // purchase never happens.
                    st.refused_sold_out += 1;
                    let id = self.world.shops[k as usize].id.as_str();
                    self.record(now, LogEvent::OrderRefused { user: u, shop: id, units });
                    return;
                }
                *left -= units as u64;
                if *left == 0 {
                    st.sold_out_at.get_or_insert(now);
                }
            }
            st.orders += 1;
            st.units += units as u64;
            st.spend += p.amount;
        }
        // The platform only ever hears of purchases on linked cards: a user who never links one
        // is the network's business alone (counted, and the truth's bookkeeping done, without
        // queueing the messages).
        let heard = self.linkers.contains(self.links.local(u) as u32);
        if heard {
            self.count_basket(now, u, p);
        }
        let world = self.world;
        let assigned = if self.any_experiment { self.experiments[u].as_mut_slice() } else { &mut [] };
        for (a, spent) in assigned {
            // The offer's window and the days after it that visits can be pulled forward from.
            let o = &world.offers[a.offer.0 as usize];
            if o.merchant == p.merchant && o.start <= now && now < world.effect_end(a.offer) {
                *spent += p.amount;
            }
        }
        let index = u32::try_from(self.seen.len()).expect("at most 2^32 purchases per run");
        if heard {
            self.seen.push(0);
        }
        let ctx = TxnContext {
            bought_at: now,
            slot: p.slot,
            mid: p.mid,
            incremental,
            index,
            channel: p.channel,
            scheme: p.scheme,
            surface: p.touch.credited(self.world.attribution.rule),
        };
        self.out.funnel.purchases += 1;
        self.out.money.spend += p.amount;
        let s = &mut self.out.surfaces[ctx.surface.index()];
        s.purchases += 1;
        s.spend += p.amount;
        let m = &mut self.out.merchants[p.merchant.0 as usize];
        m.purchases_by_channel[p.channel as usize] += 1;
        m.spend_by_channel[p.channel as usize] += p.amount;
        let ms = &mut m.by_surface[ctx.surface.index()];
        ms.purchases += 1;
        ms.spend += p.amount;
        self.count_in_buckets(now, |b| {
            b.purchases += 1;
            b.spend += p.amount;
        });
        let world = self.world;
        if self.logging() {
            let card = self.linked_token(u, p.slot);
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
                    local_at: merchant_local_time(world, p.merchant, now),
                    touch: p.touch,
                    top_up: match p.effect {
                        Effect::TopUp(_, added) => Some(added),
                        _ => None,
                    },
                },
            );
        }
        let facts =
            PurchaseFacts { id: p.id, at: now, amount: p.amount, scheme: p.scheme, channel: p.channel, mid: p.mid };
        let mut rng = Stream::new(world.seed, Purpose::Network, p.key, u as u64);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.network.report(&facts, &mut rng, &mut scratch, &mut self.out.faults);
        let horizon = world.horizon_end();
        for (at, m) in scratch.drain(..) {
            debug_assert!(at >= m.network_time && m.network_time >= now);
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
            if at >= horizon {
                feed.after_horizon += 1;
                continue;
            }
            if !heard {
                // What the delivery would do: no card is linked, so it stops at the platform's
                // door (`network_message`); the first copy feeds the clean-feed bookkeeping.
                feed.not_linked += 1;
                self.out.events_processed += 1;
                if m.copy == 0 {
                    self.truth_message(m, ctx);
                }
                continue;
            }
            // At equal delivery times, the network's own order: a backlog burst keeps it.
            queue.schedule_keyed(at, m.network_time, InFlight::Delivery(m, ctx));
        }
        self.scratch = scratch;
    }

    /// A message of the clean feed: the world's own bookkeeping (money refunded, incremental
    /// spend) and the oracle.
    fn truth_message(&mut self, m: NetworkMessage, ctx: TxnContext) {
        let merchant = self.world.mids[ctx.mid.0 as usize].merchant;
        // Incremental spend is what the merchant keeps: reversed or refunded extra visits and
        // top-ups come off, whether or not the platform hears of them.
        // A refund of a topped-up purchase takes the added dollars back first.
        if let (Some((o, added)), MessageKind::Reversal | MessageKind::Refund) = (ctx.incremental, m.kind) {
            self.out.offers[o.0 as usize].incremental_spend -= m.amount.min(added);
        }
        // A holdout experiment measures the same: spend at the merchant in the offer's window,
        // net of what was reversed or refunded (else its estimate would count refunded extra
        // visits that the truth does not).
        if self.any_experiment && matches!(m.kind, MessageKind::Reversal | MessageKind::Refund) {
            let world = self.world;
            for (a, spent) in self.experiments[m.purchase.user].iter_mut() {
                let o = &world.offers[a.offer.0 as usize];
                if o.merchant == merchant && o.start <= ctx.bought_at && ctx.bought_at < world.effect_end(a.offer) {
                    *spent -= m.amount;
                }
            }
        }
        match m.kind {
            MessageKind::Clearing => self.oracle.clearing(&truth::Cleared {
                purchase: m.purchase,
                stamp: m.network_time,
                slot: ctx.slot,
                merchant,
                registered: m.mid_known,
                bought_at: ctx.bought_at,
                amount: m.amount,
                channel: ctx.channel,
                scheme: ctx.scheme,
                mid: ctx.mid,
            }),
            MessageKind::Refund => {
                self.out.money.refunded += m.amount;
                self.oracle.refund(m.purchase, m.amount);
            }
            MessageKind::Auth | MessageKind::Reversal => {}
        }
    }

    fn network_message(&mut self, now: SimTime, m: NetworkMessage, ctx: TxnContext) {
        let user = m.purchase.user;
        // The network reports on cards linked when it emits a message (and, for refunds, on
        // transactions it reported before).
        let link = self.link_at(user, ctx.slot, m.network_time);
        let credited = m.kind == MessageKind::Refund && self.has_credit_on(user, ctx.slot);
        if link.is_none() && !credited {
            self.out.feed.not_linked += 1;
            return;
        }
        if let Some(tap) = self.tap.as_deref_mut() {
            let facts = MessageFacts {
                slot: ctx.slot,
                mid: ctx.mid,
                channel: ctx.channel,
                scheme: ctx.scheme,
                bought_at: ctx.bought_at,
            };
            tap.input(now, Input::Message { m, facts });
        }
        let seen = &mut self.seen[ctx.index as usize];
        if *seen & m.kind.bit() != 0 && self.idempotency {
            self.out.feed.duplicates_ignored += 1;
            self.record(now, LogEvent::DuplicateIgnored { purchase: m.purchase, kind: m.kind, copy: m.copy });
            return;
        }
        *seen |= m.kind.bit();
        self.out.feed.received += 1;
        let Some(li) = link else {
            return self.refund(now, m, ctx, None);
        };
        let token = self.links[user][li].token;
        let (purchase, amount) = (m.purchase, m.amount);
        match m.kind {
            MessageKind::Auth => self.record(now, LogEvent::Auth { purchase, amount, card: token }),
            MessageKind::Reversal => self.record(now, LogEvent::Reversal { purchase, amount, card: token }),
            MessageKind::Refund => self.refund(now, m, ctx, Some(token)),
            MessageKind::Clearing => {
                self.record(now, LogEvent::Clearing { purchase, amount, card: token });
                if m.network_time < self.latest_clearing {
                    self.out.feed.clearings_out_of_network_order += 1;
                }
                self.latest_clearing = self.latest_clearing.max(m.network_time);
                if !m.mid_known {
                    // Policy `unknown_mid`: a purchase under a terminal id the registry lacks
                    // cannot be tied to a merchant, so it earns nothing.
                    self.out.feed.unknown_mid += 1;
                    return;
                }
                let merchant = self.world.mids[ctx.mid.0 as usize].merchant;
                self.received[user].push(Received {
                    purchase,
                    slot: ctx.slot,
                    merchant,
                    bought_at: ctx.bought_at,
                    amount,
                    refunded: Cents::ZERO,
                });
                let txn =
                    Txn { at: ctx.bought_at, merchant, amount, channel: ctx.channel, scheme: ctx.scheme, mid: ctx.mid };
                self.clearing_surface = ctx.surface;
                self.clearing_stamp = m.network_time;
                self.clear(now, m.network_time, purchase, token, ctx.slot, li, txn);
            }
        }
    }

    /// Whether the platform holds an unreversed credit on the user's card `slot`.
    fn has_credit_on(&self, user: u32, slot: u8) -> bool {
        self.user_credits(user).any(|(_, c)| c.slot == slot && c.reward_left() > Cents::ZERO)
    }

    fn user_credits(&self, user: u32) -> impl Iterator<Item = (&CreditKey, &CreditRecord)> {
        self.credits
            .range((PurchaseId { user, seq: 0 }, OfferId(0))..=(PurchaseId { user, seq: u32::MAX }, OfferId(u32::MAX)))
    }

    /// The rewards of one purchase, one per offer that paid it.
    fn purchase_credits(&self, p: PurchaseId) -> Vec<CreditKey> {
        self.credits.range((p, OfferId(0))..=(p, OfferId(u32::MAX))).map(|(k, _)| *k).collect()
    }

    /// Runs `item` now if it is due now, else schedules it.
    fn after(&mut self, now: SimTime, due: SimTime, item: InFlight) {
        if due <= now {
            match item {
                InFlight::Confirm(k, amount) => self.confirm(now, k, amount),
                InFlight::Pay(k, amount) => self.pay(now, k, amount),
                InFlight::Delivery(..) => unreachable!("only reward timers run inline"),
            }
        } else {
            self.timers.push((due, item));
        }
    }

    /// The return period is over: what is still pending of `amount` is confirmed.
    fn confirm(&mut self, now: SimTime, key: CreditKey, amount: Cents) {
        let purchase = key.0;
        let Some(c) = self.credits.get_mut(&key) else {
            return;
        };
        let moved = shift(&mut c.pending, &mut c.confirmed, amount);
        if moved == Cents::ZERO {
            return;
        }
        let offer = c.offer;
        self.out.ledger.confirm(moved);
        self.record(now, LogEvent::Confirm { purchase, offer: self.offer_id(offer), amount: moved });
        let delay = self.world.offers[offer.0 as usize].payout_delay;
        self.after(now, now.plus_seconds(delay), InFlight::Pay(key, moved));
    }

    /// The statement credit: what is still confirmed of `amount` is paid to the card account.
    fn pay(&mut self, now: SimTime, key: CreditKey, amount: Cents) {
        let purchase = key.0;
        let Some(c) = self.credits.get_mut(&key) else {
            return;
        };
        let moved = shift(&mut c.confirmed, &mut c.paid, amount);
        if moved == Cents::ZERO {
            return;
        }
        let (offer, card, merchant) = (c.offer, c.token, c.merchant);
        self.out.ledger.pay(moved);
        self.out.money.rewards_paid += moved;
        let desc = self.world.merchants[merchant.0 as usize].descriptor.as_str();
        self.record(
            now,
            LogEvent::Credit { purchase, offer: self.offer_id(offer), card, amount: moved, descriptor: desc },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn clear(
        &mut self,
        now: SimTime,
        stamp: SimTime,
        purchase: PurchaseId,
        token: Token,
        slot: u8,
        li: usize,
        txn: Txn,
    ) {
        let world = self.world;
        let u = purchase.user;
        let mut decision = std::mem::take(&mut self.decision);
        let view = View {
            offers: &world.offers,
            stats: &self.out.offers,
            period_spent: &self.period_spent,
            redeemed: &self.redeemed[u],
            slot,
            received: &self.received[u],
            purchase,
            stamp,
            rule: self.budget_rule.as_deref(),
        };
        match_txn(&txn, &world.calendar, &world.offers, &self.links[u][li].enrolled, &view, &mut decision);
        if let Some(rule) = self.budget_rule.as_deref_mut() {
            rule.decided(purchase, stamp, &decision);
        }
        if !decision.awards.is_empty() || !decision.declines.is_empty() {
            self.out.funnel.qualifying_transactions += 1;
        }
        for &(offer, why) in &decision.declines {
            self.decline(now, purchase, offer, why);
        }
        for &(offer, reward) in &decision.awards {
            self.award(now, stamp, purchase, token, slot, li, &txn, offer, reward);
        }
        self.decision = decision;
    }

    fn decline(&mut self, now: SimTime, purchase: PurchaseId, offer: OfferId, why: Decline) {
        if let Some(tap) = self.tap.as_deref_mut() {
            let o = &self.world.offers[offer.0 as usize];
            match why {
                Decline::Budget => tap.budget_declined(purchase, offer, BudgetScope::Total),
                Decline::PeriodBudget => {
                    tap.budget_declined(purchase, offer, BudgetScope::Period(o.period_of(self.clearing_stamp)))
                }
                _ => {}
            }
        }
        let stats = &mut self.out.offers[offer.0 as usize];
        let f = &mut self.out.funnel;
        stats.qualifying_transactions += 1;
        match why {
            Decline::PerCardCap => (stats.declined_per_card_cap += 1, f.declined_per_card_cap += 1),
            Decline::PerUserCap => (stats.declined_per_user_cap += 1, f.declined_per_user_cap += 1),
            Decline::EnrollmentLimit => (stats.declined_enrollment_limit += 1, f.declined_enrollment_limit += 1),
            Decline::Budget => {
                stats.budget_ran_out_at.get_or_insert(now);
                (stats.declined_budget += 1, f.declined_budget += 1)
            }
            Decline::PeriodBudget => (stats.declined_period_budget += 1, f.declined_period_budget += 1),
        };
        self.record(now, LogEvent::Declined { purchase, offer: self.offer_id(offer), reason: why.name() });
    }

    #[allow(clippy::too_many_arguments)]
    fn award(
        &mut self,
        now: SimTime,
        stamp: SimTime,
        purchase: PurchaseId,
        token: Token,
        slot: u8,
        li: usize,
        txn: &Txn,
        offer: OfferId,
        reward: Cents,
    ) {
        let world = self.world;
        let u = purchase.user;
        let o = &world.offers[offer.0 as usize];
        let fee = percent_of(reward, o.fee_percent);
        // A budget rule may pay past the budget (to replay a target that did).
        let ruled = self.budget_rule.is_some();
        for e in self.links[u][li].enrolled.iter_mut().filter(|e| e.offer == offer) {
            e.credited += 1;
        }
        match self.redeemed[u].iter_mut().find(|(s, o, _)| *s == slot && *o == offer) {
            Some((_, _, n)) => *n += 1,
            None => self.redeemed[u].push((slot, offer, 1)),
        }
        self.out.ledger.grant(o.merchant, reward, fee);
        let stats = &mut self.out.offers[offer.0 as usize];
        if let Some(left) = stats.budget_left.as_mut() {
            assert!(ruled || o.fits(*left, reward), "budget overspent beyond the offer's policy");
            stats.budget_overspend += (reward - *left).max(Cents::ZERO);
            *left -= reward;
            if *left <= Cents::ZERO {
                stats.budget_ran_out_at.get_or_insert(now);
            }
        }
        if let Some(pb) = o.period_budget {
            let spent = self.period_spent[offer.0 as usize].entry(o.period_of(stamp)).or_default();
            let left = pb.amount - *spent;
            assert!(ruled || o.fits(left, reward), "period budget overspent beyond the offer's policy");
            stats.period_overspend += (reward - left).max(Cents::ZERO);
            *spent += reward;
        }
        if let Some(tap) = self.tap.as_deref_mut() {
            if o.budget.is_some() || o.period_budget.is_some() {
                tap.awarded(purchase, offer, o.period_budget.map(|_| o.period_of(stamp)));
            }
        }
        let surface = self.clearing_surface;
        for s in [
            &mut self.out.surfaces[surface.index()],
            &mut self.out.merchants[o.merchant.0 as usize].by_surface[surface.index()],
        ] {
            s.rewards += reward;
            s.fees += fee;
        }
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.qualifying_transactions += 1;
        stats.redemptions += 1;
        stats.rewards_credited += reward;
        stats.fees_charged += fee;
        stats.attributed_spend += txn.amount;
        if let Some(d) = stats.rewards_by_day.get_mut(now.day_index()) {
            *d += reward;
        }
        self.out.funnel.credits += 1;
        self.out.money.rewards_credited += reward;
        self.out.money.fees_charged += fee;
        self.out.time_to_credit.push(now.0 - txn.at.0);
        self.count_in_buckets(now, |b| {
            b.credits += 1;
            b.rewards += reward;
        });
        let record = self.credits.entry((purchase, offer)).or_insert(CreditRecord {
            offer,
            token,
            slot,
            merchant: o.merchant,
            reward,
            pending: Cents::ZERO,
            confirmed: Cents::ZERO,
            paid: Cents::ZERO,
            fee,
            fee_left: Cents::ZERO,
            times: 0,
            surface,
        });
        record.times += 1;
        record.pending += reward;
        record.fee_left += fee;
        self.record(now, LogEvent::Match { purchase, offer: self.offer_id(offer), reward, fee });
        // Pending until the return period after the clearing is over.
        let due = stamp.plus_seconds(o.return_period).max(now);
        self.after(now, due, InFlight::Confirm((purchase, offer), reward));
    }

    /// The purchase a refund takes back: its reference, or without one the clearing on the
    /// same card at the same merchant that the refund fits, preferring the exact remaining
    /// amount, then the latest purchase. Marks the refunded amount on that clearing and returns
    /// the purchase, the amount refunded now and what is left of the purchase.
    fn original_of(&mut self, m: &NetworkMessage, ctx: &TxnContext) -> Option<(PurchaseId, Cents, Cents)> {
        let cleared = &mut self.received[m.purchase.user];
        let found = if m.referenced {
            cleared.iter_mut().find(|c| c.purchase == m.purchase)
        } else if !m.mid_known {
            None
        } else {
            let merchant = self.world.mids[ctx.mid.0 as usize].merchant;
            cleared
                .iter_mut()
                .filter(|c| {
                    c.slot == ctx.slot
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

    fn refund(&mut self, now: SimTime, m: NetworkMessage, ctx: TxnContext, token: Option<Token>) {
        self.record(
            now,
            LogEvent::Refund { purchase: m.purchase, amount: m.amount, card: token, referenced: m.referenced },
        );
        let original = self.original_of(&m, &ctx);
        if !m.referenced && original.map(|(p, _, _)| p) != Some(m.purchase) {
            // Policy: a refund without reference goes to the credit it fits best; when that is
            // not its original (or none fits), both purchases are explained by this policy.
            self.policies.insert(m.purchase, Policy::UnreferencedRefund);
            if let Some((p, _, _)) = original {
                self.policies.insert(p, Policy::UnreferencedRefund);
            }
        }
        let Some((p, refunded, left)) = original else {
            return;
        };
        for key in self.purchase_credits(p) {
            self.reverse(now, key, refunded, left);
        }
    }

    /// A refund of `refunded` leaves `left` of the purchase: takes back what the reward of
    /// `key` no longer earns, from the state it is in.
    fn reverse(&mut self, now: SimTime, key: CreditKey, refunded: Cents, left: Cents) {
        let world = self.world;
        let p = key.0;
        let Some(c) = self.credits.get_mut(&key) else {
            return;
        };
        let o = &world.offers[c.offer.0 as usize];
        let keep = reward_after_refund(o, c.reward, left).min(c.reward_left());
        let mut take = c.reward_left() - keep;
        let fee = c.fee_left - percent_of(keep, o.fee_percent).min(c.fee_left);
        c.fee_left -= fee;
        // Taken from the reward not yet paid first, then from the statement credit.
        let mut parts = [
            (Account::RewardsPending, Cents::ZERO),
            (Account::RewardsConfirmed, Cents::ZERO),
            (Account::CardholderCredits, Cents::ZERO),
        ];
        for (held, part) in [&mut c.pending, &mut c.confirmed, &mut c.paid].into_iter().zip(parts.iter_mut()) {
            let t = take.min(*held);
            *held -= t;
            take -= t;
            part.1 = t;
        }
        let (offer, card, merchant, surface) = (c.offer, c.token, c.merchant, c.surface);
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.attributed_spend -= refunded;
        let reward: Cents = parts.iter().map(|(_, t)| *t).sum();
        if reward == Cents::ZERO && fee == Cents::ZERO {
            return;
        }
        // One journal entry per state the reward is taken from; the fee goes with the first.
        let mut fee_to_post = fee;
        for (account, t) in parts.into_iter().filter(|(_, t)| *t > Cents::ZERO) {
            self.out.ledger.reverse(account, merchant, t, std::mem::take(&mut fee_to_post));
        }
        if fee_to_post > Cents::ZERO {
            self.out.ledger.reverse(Account::RewardsPending, merchant, Cents::ZERO, fee_to_post);
        }
        for s in [
            &mut self.out.surfaces[surface.index()],
            &mut self.out.merchants[merchant.0 as usize].by_surface[surface.index()],
        ] {
            s.rewards_clawed_back += reward;
            s.fees_refunded += fee;
        }
        let stats = &mut self.out.offers[offer.0 as usize];
        stats.clawbacks += 1;
        stats.rewards_clawed_back += reward;
        stats.fees_refunded += fee;
        self.out.funnel.clawbacks += 1;
        let states = &mut self.out.reversals;
        states.pending += parts[0].1;
        states.confirmed += parts[1].1;
        states.paid += parts[2].1;
        if parts[2].1 > Cents::ZERO {
            states.clawbacks_from_cardholders += 1;
        }
        self.out.money.rewards_clawed_back += reward;
        self.out.money.fees_refunded += fee;
        self.count_in_buckets(now, |b| b.clawbacks += 1);
        let desc = world.merchants[merchant.0 as usize].descriptor.as_str();
        let from = if parts[2].1 > Cents::ZERO {
            "paid"
        } else if parts[1].1 > Cents::ZERO {
            "confirmed"
        } else {
            "pending"
        };
        self.record(
            now,
            LogEvent::Clawback {
                purchase: p,
                offer: self.offer_id(offer),
                card,
                amount: reward,
                fee,
                from,
                descriptor: desc,
            },
        );
    }
}

/// The platform's counters as matching sees them, for one clearing of one user.
struct View<'a> {
    offers: &'a [crate::world::Offer],
    stats: &'a [OfferStats],
    period_spent: &'a [BTreeMap<u32, Cents>],
    redeemed: &'a [(u8, OfferId, u32)],
    /// The physical card that cleared.
    slot: u8,
    received: &'a [Received],
    purchase: PurchaseId,
    /// The clearing's network timestamp (its budget period).
    stamp: SimTime,
    /// Decides the budget checks instead, when given.
    rule: Option<&'a dyn live::BudgetRule>,
}

impl Counters for View<'_> {
    fn card_redemptions(&self, offer: OfferId) -> u32 {
        self.redeemed.iter().find(|(s, o, _)| *s == self.slot && *o == offer).map_or(0, |(_, _, n)| *n)
    }

    fn user_redemptions(&self, offer: OfferId) -> u32 {
        self.redeemed.iter().filter(|(_, o, _)| *o == offer).map(|(_, _, n)| n).sum()
    }

    fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline> {
        let o = &self.offers[offer.0 as usize];
        if let Some(rule) = self.rule {
            let budgeted = o.budget.is_some() || o.period_budget.is_some();
            return if budgeted { rule.blocks(self.purchase, offer, reward) } else { None };
        }
        if self.stats[offer.0 as usize].budget_left.is_some_and(|left| !o.fits(left, reward)) {
            return Some(Decline::Budget);
        }
        let pb = o.period_budget?;
        let spent = self.period_spent[offer.0 as usize].get(&o.period_of(self.stamp)).copied().unwrap_or_default();
        (!o.fits(pb.amount - spent, reward)).then_some(Decline::PeriodBudget)
    }

    fn seen_customer(&self, merchant: MerchantId, since: SimTime, before: SimTime) -> bool {
        self.received.iter().any(|c| {
            c.purchase != self.purchase && c.merchant == merchant && since <= c.bought_at && c.bought_at < before
        })
    }
}

/// The merchant's local date-time of `t`, when the merchant keeps another time than the
/// scenario.
fn merchant_local_time(world: &World, merchant: MerchantId, t: SimTime) -> Option<String> {
    let offset = world.merchants[merchant.0 as usize].local_offset;
    (offset != 0).then(|| {
        let local = world.calendar.datetime(SimTime(0)) + chrono::Duration::seconds(t.0 as i64 + offset);
        local.format("%Y-%m-%dT%H:%M:%S").to_string()
    })
}
