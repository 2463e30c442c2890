//! Generation alone: the synthetic world's people simulated and merged into the time-ordered
//! stream a run replays (`harness::generate_shard`: profiles, exposure, funnel, spending,
//! shop visits, attribution, then the hourly buckets sorted), on one thread, for one shard. No
//! network, no platform, no oracle. Throughput in purchases (the stream's other user events
//! come with them: about 5 per purchase).
//!
//! - `generation/purchases/black_friday`: the whole (only) shard of
//!   `scenarios/black_friday.toml`, 100,000 people.
//! - `generation/purchases/black_friday_xl_shard0_first25000`: the first 25,000 of shard 0's
//!   250,000 people of `scenarios/black_friday_xl.toml` (a whole shard takes ~6 s per
//!   iteration, too long for criterion's ten samples). The run's sharing cascades (a pass over
//!   the 10 M people) are computed once, before timing.
//!
//! Expectation stated before measuring: benches/README.md's profile of a whole run puts about
//! 60% of 4.6 µs of CPU per purchase in generation, so about 2.5–3 µs per purchase.
//!
//! `OFFERSIM_BENCH_SCENARIO=scenarios/cafe.toml` benches that scenario's shard 0 instead, and
//! `OFFERSIM_BENCH_PEOPLE=N` its first N people only.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use offersim::{load_file, Overrides};
use offersim_sim::harness::generate_shard;
use offersim_sim::people::sharing::cascades;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// (scenario file, first people of shard 0 or the whole shard).
fn cases() -> Vec<(String, Option<u32>)> {
    let people = std::env::var("OFFERSIM_BENCH_PEOPLE").ok().and_then(|v| v.parse().ok());
    match std::env::var("OFFERSIM_BENCH_SCENARIO") {
        Ok(path) => vec![(path, people)],
        Err(_) => {
            vec![("scenarios/black_friday.toml".into(), None), ("scenarios/black_friday_xl.toml".into(), Some(25_000))]
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("generation");
    // Iterations of seconds: ten samples (criterion's least), flat.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    for (path, people) in cases() {
        let s = load_file(Path::new(&path), &Overrides::default()).expect("scenario loads");
        let w = &s.world;
        let t1 = Instant::now();
        let shares = cascades(w);
        let cascades_took = t1.elapsed();
        let t0 = Instant::now();
        let first = generate_shard(w, 0, people, &shares);
        // Half of ten iterations' time (at least a second): criterion then runs ten samples of
        // one iteration each (its warning "Unable to complete 10 samples" says so; the bench
        // stays under two minutes).
        g.measurement_time((t0.elapsed() * 5).max(Duration::from_secs(1)));
        let name = Path::new(&path).file_stem().and_then(|n| n.to_str()).unwrap_or("scenario").to_string();
        let label = match people {
            Some(n) if u64::from(n) < w.shard_users(0).len() as u64 => format!("{name}_shard0_first{n}"),
            _ => name,
        };
        println!(
            "generation/{label}: {} people of shard 0 (of {} shards), {} user events, {} purchases \
             ({:.2} per person); the run's cascades took {:.2} s (not timed)",
            first.people,
            w.shards,
            first.events,
            first.purchases,
            first.purchases as f64 / first.people.max(1) as f64,
            cascades_took.as_secs_f64()
        );
        g.throughput(Throughput::Elements(first.purchases));
        g.bench_function(BenchmarkId::new("purchases", &label), |b| {
            b.iter(|| {
                let got = generate_shard(w, 0, people, &shares);
                assert_eq!(got, first, "generation is deterministic");
                black_box(got)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
