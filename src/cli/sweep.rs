//! `offersim sweep`: running a grid of scenario variants at common random numbers.

use super::exit::Exit;
use crate::invalid;
use anyhow::{anyhow, Context, Result};
use offersim::output::{write_atomic, Staged};
use offersim::progress::Bar;
use offersim::{load_file, Diagnostic, Overrides, Scenario};
use offersim_reports::numbers::count;
use offersim_sim::harness::events::Progress as _;
use offersim_sim::RunOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `--metric`: what names the best variant, one of `offersim::sweep::METRICS` (in its order).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum Metric {
    Enrollments,
    Redemptions,
    RewardCost,
    MerchantCost,
    AttributedSpend,
    IncrementalSpend,
    IncrementalMargin,
    NetMargin,
    Roi,
}

impl Metric {
    /// Its index in `METRICS`.
    fn index(self) -> usize {
        self as usize
    }
}

pub struct SweepOptions {
    pub seeds: u32,
    /// The most variants a grid may have.
    pub max_variants: u64,
    pub metric: Metric,
    pub out: Option<PathBuf>,
    pub threads: usize,
    pub quiet: bool,
}

pub fn sweep(path: &Path, sets: &[String], o: &SweepOptions) -> Result<Exit> {
    use offersim::sweep as sw;
    // Invalid input: told, and nothing is run or written.
    let fail = |msg: String| {
        tell!("error: {msg}");
        Ok(Exit::Invalid)
    };
    let base = match load_file(path, &Overrides::default()) {
        Ok(s) => s,
        Err(diags) => return Ok(invalid(&diags)),
    };
    let metric = o.metric.index();
    let settings: Vec<sw::Setting> = match sets.iter().map(|s| s.parse()).collect::<std::result::Result<_, String>>() {
        Ok(v) => v,
        Err(e) => return fail(format!("--set {e}")),
    };
    for (i, a) in settings.iter().enumerate() {
        if settings[..i].iter().any(|b| b.path == a.path) {
            let path = a.path.join(".");
            return fail(format!("--set {path} is given twice; put every value in one --set ({path}=V1,V2,...)"));
        }
    }
    // The grid's size is known before it is built: refuse one too large to run.
    let size = settings.iter().try_fold(1u64, |n, s| n.checked_mul(s.values.len() as u64));
    let runs = size.and_then(|n| n.checked_mul(o.seeds as u64));
    match (size, runs) {
        (Some(n), Some(r)) if n <= o.max_variants => {
            if !o.quiet {
                tell!("grid: {} variant(s) × {} seed(s) = {} runs", count(n), o.seeds, count(r));
            }
        }
        (n, _) => {
            let n = n.map_or("more than 18 quintillion".to_string(), count);
            return fail(format!(
                "the grid has {n} variants, more than --max-variants {}; sweep fewer values or raise the limit",
                count(o.max_variants)
            ));
        }
    }
    // load_file read it already, bounded; read again the same way for the variants.
    let text = match offersim::output::read_bounded(path, offersim::scenario::MAX_SCENARIO_BYTES)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
    {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let variants = sw::grid(&settings);
    let mut texts = Vec::new();
    for v in &variants {
        let label = sw::label(v);
        let t = match sw::apply(&text, v) {
            Ok(t) => t,
            Err(e) => return fail(format!("variant {label}: {e}")),
        };
        if let Err(diags) = load_variant(path, &label, &t, None) {
            for d in &diags {
                tell!("{d}");
            }
            return fail(format!("variant {label} is not a valid scenario; nothing was run"));
        }
        texts.push(t);
    }
    let w = &base.world;
    let dir = o.out.clone().unwrap_or_else(|| Path::new("reports").join("out").join("sweep").join(&w.name));
    let seeds: Vec<u64> = (0..o.seeds as u64).map(|i| w.seed.wrapping_add(i)).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(o.threads).build().context("cannot start worker threads")?;
    let bar = Bar::new(w.calendar, !o.quiet && std::io::stderr().is_terminal());
    bar.phase("runs", (variants.len() * seeds.len()) as u64);
    let started = Instant::now();
    // The variants' files first: a failed run names the file that replays it.
    let written = std::fs::create_dir_all(dir.join("variants"))
        .with_context(|| format!("cannot create {}", dir.display()))
        .and_then(|_| texts.iter().enumerate().try_for_each(|(k, t)| write_atomic(&variant_file(&dir, k), t)));
    written?;
    let jobs: Vec<(usize, u64)> = (0..variants.len()).flat_map(|v| seeds.iter().map(move |&s| (v, s))).collect();
    let results: Vec<std::result::Result<Vec<Option<f64>>, String>> = pool.install(|| {
        use rayon::prelude::*;
        jobs.par_iter()
            .map(|&(v, seed)| {
                let s = load_variant(path, &sw::label(&variants[v]), &texts[v], Some(seed))
                    .map_err(|d| format!("{d:?}"))?;
                let out = offersim_sim::run(
                    &s.world,
                    &s.network,
                    RunOptions::threads(1),
                    &offersim_sim::harness::events::NoProgress,
                    None,
                )
                .map_err(|e| e.to_string())?;
                bar.advance(1);
                Ok(sw::measure(&s.world, &out))
            })
            .collect()
    });
    bar.finish();
    let mut runs: Vec<Vec<Vec<Option<f64>>>> = vec![Vec::new(); variants.len()];
    for ((v, seed), r) in jobs.iter().zip(results) {
        match r {
            Ok(m) => runs[*v].push(m),
            Err(e) => {
                let replay = format!("offersim run {} --seed {seed}", variant_file(&dir, *v).display());
                return Err(anyhow!("variant #{} at seed {seed} failed: {e}\nreplay: {replay}", v + 1));
            }
        }
    }
    let sweep = sw::Sweep::new(&w.name, path, &variants, &seeds, metric, &runs);
    let mut staged = Staged::new();
    let written = staged
        .write(&dir.join("sweep.md"), &sweep.markdown(&dir))
        .and_then(|_| staged.write(&dir.join("sweep.csv"), &sweep.csv()))
        .and_then(|_| staged.write(&dir.join("sweep.html"), &sweep.html()))
        .and_then(|_| staged.write(&dir.join("sweep.json"), &sweep.json()))
        .and_then(|_| staged.commit());
    written?;
    say!("{}", sweep.markdown(&dir));
    say!("sweep: {}", dir.join("sweep.md").display());
    tell!("ran {} runs in {:.1} s", jobs.len(), started.elapsed().as_secs_f64());
    Ok(Exit::Ok)
}

/// Where variant `k` (from 0) of a sweep is written: `variants/v<k+1>.toml`.
fn variant_file(dir: &Path, k: usize) -> PathBuf {
    dir.join("variants").join(format!("v{}.toml", k + 1))
}

/// Loads a variant's text, named after the file and the variant in diagnostics.
fn load_variant(
    path: &Path,
    label: &str,
    text: &str,
    seed: Option<u64>,
) -> std::result::Result<Scenario, Vec<Diagnostic>> {
    offersim::load_str(&format!("{} [{label}]", path.display()), text, &Overrides { seed })
}

#[cfg(test)]
mod tests {
    use super::Metric;
    use clap::ValueEnum;

    #[test]
    fn the_metric_argument_names_every_sweep_metric_in_order() {
        let names: Vec<String> =
            Metric::value_variants().iter().map(|m| m.to_possible_value().unwrap().get_name().to_string()).collect();
        let metrics: Vec<&str> = offersim::sweep::METRICS.iter().map(|(m, _, _)| *m).collect();
        assert_eq!(names, metrics);
        assert!(Metric::value_variants().iter().enumerate().all(|(i, m)| m.index() == i));
    }
}
