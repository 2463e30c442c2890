//! Criterion benchmarks of the matching core and the whole pipeline.
//!
//! Expectations, stated before measuring (see benches/README.md for what was measured):
//! - `matching/one_card_5_enrollments`: a cleared transaction against a card with five
//!   enrollments, tens of nanoseconds (no allocation, a handful of comparisons).
//! - `pipeline/<scenario>`: about a million events per second on one core of a small VM.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use offersim::{load_file, Overrides};
use offersim_sim::events::NoProgress;
use offersim_sim::matching::{match_txn, Enrolled, Txn};
use offersim_sim::world::OfferId;
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
        .map(|&o| Enrolled { offer: OfferId(o), since: SimTime::ZERO, redemptions: 0 })
        .collect();
    let txns: Vec<Txn> = (0..1024u64)
        .map(|i| Txn {
            at: SimTime(i * 613 % (8 * 86_400)),
            merchant: target.0,
            amount: Cents(300 + (i as i64 * 37) % 5_000),
        })
        .collect();
    let budgets: Vec<Option<Cents>> = w.offers.iter().map(|o| o.budget).collect();
    let mut g = c.benchmark_group("matching");
    g.throughput(Throughput::Elements(txns.len() as u64));
    g.bench_function("one_card_5_enrollments", |b| {
        b.iter(|| {
            let mut matched = 0u32;
            for t in &txns {
                let v = match_txn(t, &w.calendar, &w.offers, &enrolled, &|o: OfferId| budgets[o.0 as usize]);
                matched += matches!(v, offersim_sim::matching::Verdict::Matched { .. }) as u32;
            }
            black_box(matched)
        })
    });
    g.finish();
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
