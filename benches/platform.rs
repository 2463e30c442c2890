//! The platform alone: the inputs the harness feeds the `Platform` for a shard (cards linked and
//! deleted, enrollments, every delivery of the feed on a linked card, duplicates included),
//! recorded once through the harness's tap (`harness::run_tapped`, the live driver's plan),
//! then fed to a fresh `Platform` with its reward timers (confirmation, payout) in a calendar
//! queue, as the harness runs them: matching, idempotency, caps, budgets, crediting, ledger. No
//! people, no network, no oracle, no tally. Throughput in inputs (timers not counted).
//!
//! - `platform/inputs/black_friday`: `scenarios/black_friday.toml` (one shard, 100,000 people).
//!
//! Before timing, the replay's decisions are checked against the run's report (credits,
//! qualifying transactions, messages received and duplicates ignored, rewards paid) and its
//! credits against the recorded run's, credit by credit: the recorded stream is the one the run
//! feeds its platform. Deliveries on cards not linked (stopped at the platform's door, not
//! tapped) are not in the stream.
//!
//! Expectation stated before measuring: benches/README.md's profile of a whole run puts about
//! 10% of 4.6 µs of CPU per purchase in the platform; with ~1 input per purchase reaching it,
//! a few hundred nanoseconds per input.
//!
//! `OFFERSIM_BENCH_SCENARIO=scenarios/cafe.toml` benches that scenario instead (run as one
//! shard with whole budgets, as `run_tapped` does: only a one-shard scenario matches its run).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use offersim::{load_file, Overrides};
use offersim_sim::core::queue::EventQueue;
use offersim_sim::harness::events::{NoProgress, Tap};
use offersim_sim::harness::run_tapped;
use offersim_sim::platform::{Decided, Input, Platform, Timer};
use offersim_sim::truth::Granted;
use offersim_sim::world::network::PurchaseId;
use offersim_sim::{Cents, RunOptions, SimTime, World};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// The platform's inputs in processing order, each message with its purchase's dense
/// transaction number (the idempotency index; the harness numbers purchases the same way, in
/// another order).
#[derive(Default)]
struct Record {
    inputs: Vec<(SimTime, Input, u32)>,
    txns: BTreeMap<PurchaseId, u32>,
}

impl Tap for Record {
    fn input(&mut self, at: SimTime, input: Input) {
        let index = match input {
            Input::Message { m, .. } => {
                let next = self.txns.len() as u32;
                *self.txns.entry(m.purchase).or_insert(next)
            }
            _ => 0,
        };
        self.inputs.push((at, input, index));
    }
}

/// What the platform decided, counted as the report counts it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    received: u64,
    duplicates: u64,
    qualifying: u64,
    credits: u64,
    paid: Cents,
    decisions: u64,
}

impl Counts {
    fn add(&mut self, out: &[Decided]) {
        self.decisions += out.len() as u64;
        for d in out {
            match d {
                Decided::Received { .. } => self.received += 1,
                Decided::Duplicate { .. } => self.duplicates += 1,
                Decided::Qualified => self.qualifying += 1,
                Decided::Awarded(_) => self.credits += 1,
                Decided::Paid { amount, .. } => self.paid += *amount,
                _ => {}
            }
        }
    }
}

/// Feeds the recorded inputs to a fresh platform for `users`, running its reward timers as the
/// harness does (those due before an input first), then those due before the horizon.
fn feed<'w>(world: &'w World, users: u32, inputs: &[(SimTime, Input, u32)]) -> (Platform<'w>, Counts) {
    let mut p = Platform::new(world, 0..users);
    let horizon = world.horizon_end();
    let mut timers: EventQueue<Timer> = EventQueue::new(horizon, 60);
    let mut out: Vec<Decided> = Vec::new();
    let mut n = Counts::default();
    let run_timers =
        |p: &mut Platform<'w>, timers: &mut EventQueue<Timer>, out: &mut Vec<Decided>, n: &mut Counts, before| {
            while let Some((t, timer)) = timers.pop_before(before) {
                out.clear();
                p.timer(t, timer, out);
                n.add(out);
                for (due, timer) in p.take_timers() {
                    timers.schedule(due, timer);
                }
            }
        };
    for &(at, input, index) in inputs {
        run_timers(&mut p, &mut timers, &mut out, &mut n, at);
        out.clear();
        match input {
            Input::CardAdded { user, slot, token } => p.card_added(at, user, slot, token),
            Input::Enrolled { user, token, offer } => {
                p.enroll(at, user, token, offer).expect("enrolled on a linked card")
            }
            Input::CardDeleted { user, token } => p.delete_card(at, user, token, &mut out),
            Input::Message { m, facts } => {
                p.message(at, m, &facts, index, &mut out);
            }
        }
        n.add(&out);
        for (due, timer) in p.take_timers() {
            timers.schedule(due, timer);
        }
    }
    run_timers(&mut p, &mut timers, &mut out, &mut n, horizon);
    (p, n)
}

fn scenario() -> String {
    std::env::var("OFFERSIM_BENCH_SCENARIO").unwrap_or_else(|_| "scenarios/black_friday.toml".into())
}

fn bench(c: &mut Criterion) {
    let path = scenario();
    let s = load_file(Path::new(&path), &Overrides::default()).expect("scenario loads");
    let w = &s.world;
    let users = u32::try_from(w.users).expect("users fit u32");
    // Recorded once: the run as one shard, every platform input tapped.
    let mut rec = Record::default();
    let (tapped, granted) = run_tapped(w, &s.network, RunOptions::threads(2), &NoProgress, &mut rec).expect("runs");
    let inputs = rec.inputs;
    let (p, n) = feed(w, users, &inputs);
    // The replay decides what the recorded run decided, credit by credit.
    let replayed: BTreeMap<_, Granted> = p
        .credits_after(None)
        .map(|(k, c)| (k, Granted { reward: c.reward, fee: c.fee, net_reward: c.reward_left(), times: c.times }))
        .collect();
    assert!(replayed == granted, "the replayed platform's credits differ from the recorded run's");
    let report = (
        tapped.feed.received,
        tapped.feed.duplicates_ignored,
        tapped.funnel.qualifying_transactions,
        tapped.funnel.credits,
        tapped.money.rewards_paid,
    );
    assert_eq!(
        (n.received, n.duplicates, n.qualifying, n.credits, n.paid),
        report,
        "the replay against the tapped run"
    );
    if w.shards == 1 {
        // And the tapped run is the run (a one-shard scenario).
        let run = offersim_sim::run(w, &s.network, RunOptions::threads(2), &NoProgress, None).expect("runs");
        assert_eq!(run.funnel.credits, n.credits, "credits against the run's report");
        assert_eq!(run.feed.received, n.received, "messages received against the run's report");
    }
    let messages = inputs.iter().filter(|(_, i, _)| matches!(i, Input::Message { .. })).count();
    let name = Path::new(&path).file_stem().and_then(|n| n.to_str()).unwrap_or("scenario").to_string();
    println!(
        "platform/{name}: {} inputs ({} deliveries, {} cards, enrollments, deletions), {} purchases in the run; \
         replayed: {} decisions, {} credits (= the report's), {} received, {} duplicates",
        inputs.len(),
        messages,
        inputs.len() - messages,
        tapped.funnel.purchases,
        n.decisions,
        n.credits,
        n.received,
        n.duplicates
    );
    let mut g = c.benchmark_group("platform");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function(BenchmarkId::new("inputs", &name), |b| {
        b.iter(|| {
            let (p, counts) = feed(w, users, black_box(&inputs));
            assert_eq!(counts, n, "the platform is deterministic");
            black_box(p.credit_count())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
