//! The harness: the event loop around the platform. The users are cut into shards of
//! consecutive ids (`World::shard_users`), each with its share of every budget
//! (`World::shard_world`); shards run in parallel on the worker threads (one after another with
//! an event log; `run`), and their outcomes are added up in shard order. Within a shard, users
//! are simulated first (`stream.rs`: their timelines depend only on their own draws; in
//! parallel when there is one shard), then one thread replays every timeline and every network
//! delivery through a single virtual-time queue, in (time, key, sequence) order (`replay.rs`):
//! each input goes to the platform (`platform/`) and to the ground-truth oracle (`truth.rs`,
//! which gets a clean copy of the feed; on a thread of its own when a run of one shard has more
//! than one thread, and the network's reports are then computed ahead on another: `ahead.rs`), the
//! world's effects are applied, and the tally
//! (`outcome/tally.rs`) counts what happened. The thread count therefore changes how fast a run
//! is, never what it reports; the shard count is part of the scenario.

pub mod events;

mod ahead;
mod fold;
mod hours;
mod links;
mod replay;
mod stream;

use crate::core::time::SimTime;
use crate::harness::events::{EventLog, Progress, ShardLog, Tap};
use crate::outcome::Outcome;
use crate::people::sharing::{cascades, Cascades, ShareStats};
use crate::people::UserEvent;
use crate::truth::Granted;
use crate::world::network::{CardNetwork, CreditKey};
use crate::world::World;
use replay::Harness;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use stream::{generate, UserStream};

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
    log: Option<&'a mut dyn EventLog>,
) -> Result<Outcome, RunError> {
    let part = run_shards(world, network, opts, progress, 0..world.shards, log)?;
    Ok(merge(world, part.outcomes, part.sharing))
}

/// What some of a run's shards produced: each shard's outcome, in shard order, and the sharing
/// cascades' reach (the whole run's: cascades span shards).
pub struct Part {
    pub outcomes: Vec<Outcome>,
    pub sharing: Vec<ShareStats>,
}

/// Runs the shards `shards` of a scenario (`offersim run --part`): what `run` would compute for
/// them, not yet added up. `merge` of every shard's outcome, in shard order, is `run`'s result.
pub fn run_part(
    world: &World,
    network: &dyn CardNetwork,
    opts: RunOptions,
    progress: &dyn Progress,
    shards: Range<u32>,
) -> Result<Part, RunError> {
    assert!(shards.end <= world.shards, "shards {shards:?} of a scenario with {}", world.shards);
    run_shards(world, network, opts, progress, shards, None)
}

/// The run's outcome from every shard's outcome (in shard order) and the cascades' reach.
pub fn merge(world: &World, outcomes: Vec<Outcome>, sharing: Vec<ShareStats>) -> Outcome {
    let mut out = if world.shards == 1 && outcomes.len() == 1 {
        outcomes.into_iter().next().unwrap_or_else(|| Outcome::empty(world))
    } else {
        Outcome::sum_of_shards(world, outcomes)
    };
    out.sharing = sharing;
    out
}

fn run_shards<'a>(
    world: &'a World,
    network: &'a dyn CardNetwork,
    opts: RunOptions,
    progress: &dyn Progress,
    shards: Range<u32>,
    mut log: Option<&'a mut dyn EventLog>,
) -> Result<Part, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|source| RunError::Threads { threads: opts.threads, source })?;
    // Sharing cascades span shards: computed once, before anyone is simulated.
    let shares = cascades(world);
    if world.shards == 1 {
        let users = world.shard_users(0);
        progress.phase("users", users.len() as u64);
        let stream = generate(Some(&pool), world, Some(network), users.clone(), log.is_none(), progress, &shares);
        // One shard: the other cores would idle during its replay, so helpers take them.
        let helpers = pool.current_num_threads() > 1;
        let (out, _) =
            Harness::new(world, network, users, opts, ShardLog::first(log), None).replay(stream, progress, helpers);
        return Ok(Part { outcomes: vec![out], sharing: shares.stats });
    }
    // Each person counts twice on the run's bar: once generated, once replayed
    // (`ShardProgress`).
    progress.phase("shards", shards.clone().map(|s| 2 * world.shard_users(s).len() as u64).sum());
    let one_shard = |s: u32, log: Option<&mut dyn EventLog>, seq: u64, gen_pool: Option<&rayon::ThreadPool>| {
        let bar = ShardProgress::new(progress, world.shard_users(s).len() as u64);
        let out = run_shard(world, network, opts, s, log, seq, gen_pool, &bar, &shares);
        bar.finish();
        out
    };
    let outcomes: Vec<Outcome> = if log.is_some() {
        let mut outs: Vec<Outcome> = Vec::new();
        for s in shards {
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
        let next = std::sync::atomic::AtomicU32::new(shards.start);
        let done: std::sync::Mutex<Vec<(u32, Outcome)>> = std::sync::Mutex::new(Vec::new());
        pool.broadcast(|_| loop {
            let s = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if s >= shards.end {
                break;
            }
            let out = one_shard(s, None, 0, None);
            done.lock().unwrap_or_else(|e| e.into_inner()).push((s, out));
        });
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_by_key(|(s, _)| *s);
        done.into_iter().map(|(_, o)| o).collect()
    };
    Ok(Part { outcomes, sharing: shares.stats })
}

/// One shard, generated (on `gen_pool` or this thread) and replayed.
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
    shares: &Cascades,
) -> Outcome {
    let shard = world.shard_world(s);
    let users = world.shard_users(s);
    let stream = generate(gen_pool, &shard, Some(network), users.clone(), log.is_none(), progress, shares);
    let log = log.map(|log| ShardLog { log, shard: s, seq_base });
    Harness::new(&shard, network, users, opts, log, None).replay(stream, progress, false).0
}

/// What generating (some of) a shard's people produced (`generate_shard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Generated {
    /// People simulated.
    pub people: u64,
    /// Their user events: those in the stream a run replays, and the views, clicks and
    /// abandoned card entries added up instead of replayed.
    pub events: u64,
    /// Purchases among them. A run reports as purchases those that happen: the rest are extra
    /// visits withdrawn with their offer, visits pulled forward and buy-button orders refused.
    pub purchases: u64,
}

/// Generation alone: simulates the people of shard `s` (the first `people` of them when given)
/// on this thread and merges their events into the time-ordered stream a run replays, exactly
/// as `run` does before its replay, then drops it; no network, no platform, no oracle.
/// `shares`: the run's sharing cascades (`people::sharing::cascades(world)`, computed once per
/// run). For benches (benches/generation.rs) and what a run counts.
pub fn generate_shard(world: &World, s: u32, people: Option<u32>, shares: &Cascades) -> Generated {
    let shard_world;
    let w = if world.shards == 1 {
        world
    } else {
        shard_world = world.shard_world(s);
        &shard_world
    };
    let mut users = world.shard_users(s);
    if let Some(n) = people {
        users.end = users.end.min(users.start.saturating_add(n));
    }
    let stream = generate(None, w, None, users.clone(), true, &events::NoProgress, shares);
    let queued = stream.buckets.iter().map(|b| b.len() as u64).sum::<u64>();
    let purchases =
        stream.buckets.iter().flatten().filter(|(_, _, e)| matches!(e, UserEvent::Purchase(_))).count() as u64;
    Generated { people: users.len() as u64, events: queued + stream.folded_events, purchases }
}

/// A shard's progress as the whole run's bar shows it, where each of the shard's `users` counts
/// twice: once as generation passes them (`advance` by people), once in proportion to the
/// replay's events (the replay opens its phase, `REPLAY_PHASE`, with their number, then `advance`s by
/// events). The shards under way are thus credited as they go, not in two steps each: with two
/// shards of forty in flight, steps would leave up to 5% of the run uncounted and the ETA high.
/// The shard's phases stay off the run's bar; its events and simulated time go through.
struct ShardProgress<'a> {
    bar: &'a dyn Progress,
    users: u64,
    /// People generated so far.
    generated: AtomicU64,
    /// The replay's events, once it has begun (0 before).
    events: AtomicU64,
    /// Events replayed so far.
    replayed: AtomicU64,
    /// What this shard has put on the run's bar.
    credited: AtomicU64,
}

impl<'a> ShardProgress<'a> {
    fn new(bar: &'a dyn Progress, users: u64) -> Self {
        let zero = || AtomicU64::new(0);
        ShardProgress { bar, users, generated: zero(), events: zero(), replayed: zero(), credited: zero() }
    }

    /// What the shard's work so far is worth on the run's bar, at most `2 × users`.
    fn worth(&self) -> u64 {
        let generated = self.generated.load(Relaxed).min(self.users);
        let events = self.events.load(Relaxed);
        let replayed = if events == 0 {
            0
        } else {
            (u128::from(self.users) * u128::from(self.replayed.load(Relaxed).min(events)) / u128::from(events)) as u64
        };
        generated + replayed
    }

    fn credit(&self, worth: u64) {
        let before = self.credited.fetch_max(worth, Relaxed);
        if worth > before {
            self.bar.advance(worth - before);
        }
    }

    /// The shard is done: whatever is left of its `2 × users` goes on the bar.
    fn finish(&self) {
        self.credit(2 * self.users);
    }
}

impl Progress for ShardProgress<'_> {
    fn phase(&self, name: &str, total: u64) {
        if name == replay::REPLAY_PHASE {
            self.generated.store(self.users, Relaxed);
            self.events.store(total.max(1), Relaxed);
            self.credit(self.worth());
        }
    }
    fn advance(&self, n: u64) {
        if self.events.load(Relaxed) == 0 {
            self.generated.fetch_add(n, Relaxed);
        } else {
            self.replayed.fetch_add(n, Relaxed);
        }
        self.credit(self.worth());
    }
    fn events(&self, n: u64) {
        self.bar.events(n);
    }
    fn at(&self, now: SimTime) {
        self.bar.at(now);
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
    let mut stream = UserStream::new(world, &(0..users), log.is_none(), None);
    for (user, events) in timelines {
        assert!(user < users, "scripted user {user} outside the scenario's {users} users");
        for (at, e) in events {
            stream.push(0, at, user, e);
        }
    }
    for b in &mut stream.buckets {
        b.sort_by_key(|(at, u, _)| (*at, *u));
    }
    Harness::new(world, network, 0..users, opts, ShardLog::first(log), None)
        .replay(stream, &crate::harness::events::NoProgress, false)
        .0
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
    let stream = generate(Some(&pool), world, Some(network), users.clone(), true, progress, &shares);
    let helpers = pool.current_num_threads() > 1;
    let (mut out, granted) =
        Harness::new(world, network, users, opts, None, Some(tap)).replay(stream, progress, helpers);
    out.sharing = shares.stats;
    Ok((out, granted))
}

#[cfg(test)]
mod tests {
    use super::ShardProgress;
    use crate::harness::events::Progress;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    /// The run's bar: what it has been advanced by.
    #[derive(Default)]
    struct Bar(AtomicU64);
    impl Progress for Bar {
        fn advance(&self, n: u64) {
            self.0.fetch_add(n, Relaxed);
        }
    }

    #[test]
    fn a_shard_is_credited_as_it_generates_and_replays_not_in_two_steps() {
        let bar = Bar::default();
        let shard = ShardProgress::new(&bar, 1_000);
        shard.advance(250); // a quarter of the people generated
        assert_eq!(bar.0.load(Relaxed), 250);
        shard.advance(750);
        assert_eq!(bar.0.load(Relaxed), 1_000);
        shard.phase(super::replay::REPLAY_PHASE, 8_000); // the replay begins: 8,000 events for the 1,000 people
        assert_eq!(bar.0.load(Relaxed), 1_000);
        shard.advance(2_000); // a quarter of the events
        assert_eq!(bar.0.load(Relaxed), 1_250);
        shard.advance(4_096);
        assert_eq!(bar.0.load(Relaxed), 1_000 + 1_000 * 6_096 / 8_000);
        shard.finish(); // the last events come in under one report's worth
        assert_eq!(bar.0.load(Relaxed), 2_000);
        shard.advance(10_000); // nothing past the shard's worth
        shard.finish();
        assert_eq!(bar.0.load(Relaxed), 2_000);
    }

    #[test]
    fn a_replay_credits_the_whole_generation_when_it_begins() {
        let bar = Bar::default();
        let shard = ShardProgress::new(&bar, 10);
        shard.advance(4); // generation reports by chunks: the last may not come before the replay
        shard.phase(super::replay::REPLAY_PHASE, 0);
        assert_eq!(bar.0.load(Relaxed), 10, "the replay's start means every person is generated");
        shard.finish();
        assert_eq!(bar.0.load(Relaxed), 20);
    }
}
