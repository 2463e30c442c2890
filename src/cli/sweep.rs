//! `offersim sweep`: running a grid of scenario variants at common random numbers, here or, as
//! a plan of one command per run, on a cluster (`sweep/plan.rs`), then collected.

mod plan;

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
    /// Write the plan (variants, jobs.txt, plan.json) here instead of running it.
    pub plan: Option<PathBuf>,
}

/// A sweep ready to run: its variants' texts and seeds, checked.
struct Prepared {
    name: String,
    file: PathBuf,
    calendar: offersim_sim::core::time::Calendar,
    variants: Vec<Vec<(Vec<String>, String)>>,
    texts: Vec<String>,
    seeds: Vec<u64>,
}

pub fn sweep(path: &Path, sets: &[String], o: &SweepOptions) -> Result<Exit> {
    let p = match prepare(path, sets, o) {
        Ok(p) => p,
        Err(msg) => {
            if !msg.is_empty() {
                tell!("error: {msg}");
            }
            return Ok(Exit::Invalid);
        }
    };
    match &o.plan {
        Some(dir) => plan::write(dir, &p.name, &p.file, &p.variants, &p.texts, &p.seeds, o.metric.index()),
        None => run_local(&p, o),
    }
}

/// Checks the settings and builds every variant; an invalid input is told (`Err` with the
/// message, empty when the diagnostics were printed already).
fn prepare(path: &Path, sets: &[String], o: &SweepOptions) -> std::result::Result<Prepared, String> {
    use offersim::sweep as sw;
    let base = match load_file(path, &Overrides::default()) {
        Ok(s) => s,
        Err(diags) => {
            invalid(&diags);
            return Err(String::new());
        }
    };
    let settings: Vec<sw::Setting> =
        sets.iter().map(|s| s.parse()).collect::<std::result::Result<_, String>>().map_err(|e| format!("--set {e}"))?;
    for (i, a) in settings.iter().enumerate() {
        if settings[..i].iter().any(|b| b.path == a.path) {
            let path = a.path.join(".");
            return Err(format!("--set {path} is given twice; put every value in one --set ({path}=V1,V2,...)"));
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
            return Err(format!(
                "the grid has {n} variants, more than --max-variants {}; sweep fewer values or raise the limit",
                count(o.max_variants)
            ));
        }
    }
    let variants = sw::grid(&settings);
    let mut texts = Vec::new();
    for v in &variants {
        let label = sw::label(v);
        let t = sw::apply(&base.text, v).map_err(|e| format!("variant {label}: {e}"))?;
        if let Err(diags) = load_variant(path, &label, &t, None) {
            for d in &diags {
                tell!("{d}");
            }
            return Err(format!("variant {label} is not a valid scenario; nothing was run"));
        }
        texts.push(t);
    }
    let w = &base.world;
    let seeds: Vec<u64> = (0..o.seeds as u64).map(|i| w.seed.wrapping_add(i)).collect();
    Ok(Prepared { name: w.name.clone(), file: path.to_path_buf(), calendar: w.calendar, variants, texts, seeds })
}

/// Runs every (variant, seed) here, on the worker threads.
fn run_local(p: &Prepared, o: &SweepOptions) -> Result<Exit> {
    use offersim::sweep as sw;
    let (path, variants, texts, seeds) = (&p.file, &p.variants, &p.texts, &p.seeds);
    let dir = o.out.clone().unwrap_or_else(|| Path::new("reports").join("out").join("sweep").join(&p.name));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(o.threads).build().context("cannot start worker threads")?;
    let bar = Bar::new(p.calendar, !o.quiet && std::io::stderr().is_terminal());
    bar.phase("runs", (variants.len() * seeds.len()) as u64);
    let started = Instant::now();
    // The variants' files first: a failed run names the file that replays it.
    write_variants(&dir, texts)?;
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
    let sweep = sw::Sweep::new(&p.name, path, variants, seeds, o.metric.index(), &runs);
    publish(&sweep, &dir)?;
    tell!("ran {} runs in {:.1} s", jobs.len(), started.elapsed().as_secs_f64());
    Ok(Exit::Ok)
}

/// Writes the variants' files into `dir/variants/`.
fn write_variants(dir: &Path, texts: &[String]) -> Result<()> {
    std::fs::create_dir_all(dir.join("variants"))
        .with_context(|| format!("cannot create {}", dir.display()))
        .and_then(|_| texts.iter().enumerate().try_for_each(|(k, t)| write_atomic(&variant_file(dir, k), t)))
}

/// Writes sweep.md, .csv, .html and .json into `dir` (all or none) and shows the summary.
fn publish(sweep: &offersim::sweep::Sweep, dir: &Path) -> Result<()> {
    let mut staged = Staged::new();
    staged
        .write(&dir.join("sweep.md"), &sweep.markdown(dir))
        .and_then(|_| staged.write(&dir.join("sweep.csv"), &sweep.csv()))
        .and_then(|_| staged.write(&dir.join("sweep.html"), &sweep.html()))
        .and_then(|_| staged.write(&dir.join("sweep.json"), &sweep.json()))
        .and_then(|_| staged.write(&dir.join("runs.csv"), &sweep.runs_csv()))
        .and_then(|_| staged.commit())?;
    say!("{}", sweep.markdown(dir));
    say!("sweep: {}", dir.join("sweep.md").display());
    Ok(())
}

/// `offersim sweep --collect DIR [--out OUT]`: the planned runs' parts, read and measured, into
/// the sweep's files in OUT (DIR by default), as `offersim sweep --out OUT` writes them.
pub fn collect(dir: &Path, out: Option<PathBuf>) -> Result<Exit> {
    let plan = match plan::read(dir) {
        Ok(p) => p,
        Err(e) => {
            tell!("error: {e}; nothing was written");
            return Ok(Exit::Invalid);
        }
    };
    let metric = match offersim::sweep::METRICS.iter().position(|(m, _, _)| *m == plan.metric) {
        Some(m) => m,
        None => {
            tell!("error: {}: unknown metric `{}`; nothing was written", dir.display(), plan.metric);
            return Ok(Exit::Invalid);
        }
    };
    let mut runs: Vec<Vec<Vec<Option<f64>>>> = vec![Vec::new(); plan.variants.len()];
    let mut failed = Vec::new();
    for job in &plan.jobs {
        match plan::measure(dir, &plan, job) {
            Ok(m) => runs[job.variant].push(m),
            Err(why) => failed.push(format!("  {} ({why})", job.command)),
        }
    }
    if !failed.is_empty() {
        tell!(
            "error: {} of {} planned runs are missing or failed; run them from {}:",
            failed.len(),
            plan.jobs.len(),
            dir.display()
        );
        for f in failed.iter().take(20) {
            tell!("{f}");
        }
        if failed.len() > 20 {
            tell!("  … and {} more", failed.len() - 20);
        }
        tell!("nothing was written");
        return Ok(Exit::Failed);
    }
    let out = out.unwrap_or_else(|| dir.to_path_buf());
    if offersim::output::resolved(&out) != offersim::output::resolved(dir) {
        let texts: Vec<String> = plan
            .variants
            .iter()
            .map(|v| {
                std::fs::read_to_string(dir.join(&v.file))
                    .with_context(|| format!("cannot read {}", dir.join(&v.file).display()))
            })
            .collect::<Result<_>>()?;
        write_variants(&out, &texts)?;
    }
    let grid: Vec<Vec<(Vec<String>, String)>> = plan.variants.iter().map(|v| v.settings.clone()).collect();
    let sweep = offersim::sweep::Sweep::new(&plan.scenario, Path::new(&plan.file), &grid, &plan.seeds, metric, &runs);
    publish(&sweep, &out)?;
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
