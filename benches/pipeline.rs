//! Criterion benchmarks of the matching core and the whole pipeline.
//!
//! Expectations, stated before measuring (see benches/README.md for what was measured):
//! - `matching/one_card_5_enrollments`: a cleared transaction against a card with five
//!   enrollments, tens of nanoseconds (no allocation, a handful of comparisons), by the
//!   reference matcher (`match_txn`); `matching/one_card_5_enrollments_platform`: the same
//!   transactions by the platform's decision (`fastmatch::OfferTable::decide` on the card's
//!   row), expected a few times faster (integer terms, one line per offer).
//! - `pipeline/<scenario>`: about a million events per second on one core of a small VM.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use offersim::{load_file, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::platform::fastmatch::{FastTxn, OfferTable};
use offersim_sim::platform::matching::{match_txn, Counters, Decision, Decline, Enrolled, Txn};
use offersim_sim::world::{Channel, MerchantId, OfferId};
use offersim_sim::{Cents, RunOptions, SimTime};
use std::hint::black_box;
use std::path::Path;

fn matching(c: &mut Criterion) {
    let s = load_file(Path::new("scenarios/black_friday.toml"), &Overrides::default()).expect("black_friday loads");
    let w = &s.world;
    // A card enrolled in five offers, one of them at the merchant of the transaction.
    let target = w.offers[4].merchant;
    let enrolled: Vec<Enrolled> = [0u32, 2, 4, 7, 11]
        .iter()
        .map(|&o| Enrolled { offer: OfferId(o), since: SimTime::ZERO, credited: 0 })
        .collect();
    let txns: Vec<Txn> = (0..1024u64)
        .map(|i| Txn {
            at: SimTime(i * 613 % (8 * 86_400)),
            merchant: target,
            amount: Cents(300 + (i as i64 * 37) % 5_000),
            channel: Channel::InStore,
            scheme: 0,
            mid: offersim_sim::world::MidId(w.merchants[target.0 as usize].first_mid),
        })
        .collect();
    let budgets = Budgets(w.offers.iter().map(|o| o.budget).collect());
    let mut decision = Decision::default();
    let mut g = c.benchmark_group("matching");
    g.throughput(Throughput::Elements(txns.len() as u64));
    g.bench_function("one_card_5_enrollments", |b| {
        b.iter(|| {
            let mut matched = 0u32;
            for t in &txns {
                match_txn(t, &w.calendar, &w.offers, &enrolled, &budgets, &mut decision);
                matched += decision.awards.len() as u32;
            }
            black_box(matched)
        })
    });
    let table = OfferTable::of(w);
    let mut row = Vec::new();
    for e in &enrolled {
        table.enroll(&mut row, e.offer, e.since, e.credited);
    }
    let fast: Vec<FastTxn> = txns
        .iter()
        .map(|t| FastTxn { mid: t.mid, at: t.at.0, amount: t.amount, channel: t.channel, scheme: t.scheme })
        .collect();
    g.bench_function("one_card_5_enrollments_platform", |b| {
        b.iter(|| {
            let mut matched = 0u32;
            for x in &fast {
                table.decide(x, &row, &budgets, &mut decision);
                matched += decision.awards.len() as u32;
            }
            black_box(matched)
        })
    });
    g.finish();
}

/// Budgets only: no per-user caps, no new-customer offers in the bench world.
struct Budgets(Vec<Option<Cents>>);

impl Counters for Budgets {
    fn card_redemptions(&self, _: OfferId) -> u32 {
        0
    }
    fn user_redemptions(&self, _: OfferId) -> u32 {
        0
    }
    fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline> {
        self.0[offer.0 as usize].is_some_and(|left| left < reward).then_some(Decline::Budget)
    }
    fn seen_customer(&self, _: MerchantId, _: SimTime, _: SimTime) -> bool {
        false
    }
}

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    for name in ["cafe", "card_deletion", "budget_exhaustion"] {
        let path = format!("scenarios/{name}.toml");
        let s = load_file(Path::new(&path), &Overrides::default()).expect("scenario loads");
        let events = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, None)
            .expect("runs")
            .events_processed;
        g.throughput(Throughput::Elements(events));
        g.bench_with_input(BenchmarkId::new("events", name), &s, |b, s| {
            b.iter(|| offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, None).expect("runs"))
        });
    }
    g.finish();
}

criterion_group!(benches, matching, pipeline);
criterion_main!(benches);
