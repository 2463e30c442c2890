//! `offersim run <scenario> --part K/N` and `offersim merge DIR... --out DIR`: a run cut into
//! parts that run anywhere (a cluster's array job), then added up into the one-process run's
//! reports, byte for byte (`offersim::parts`).

use crate::cli::exit::Exit;
use anyhow::{Context, Result};
use offersim::output::Staged;
use offersim::parts::{self, PartFile, PartSpec};
use offersim::progress::Bar;
use offersim::{load_file, Overrides};
use offersim_reports::numbers::count;
use offersim_sim::RunOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs the shards of part `spec` and writes `out/part.json`.
pub fn run_part(
    scenario: &Path,
    seed: Option<u64>,
    spec: PartSpec,
    out: Option<PathBuf>,
    threads: usize,
    quiet: bool,
) -> Result<Exit> {
    let loaded = match load_file(scenario, &Overrides { seed }) {
        Ok(s) => s,
        Err(diags) => return Ok(crate::invalid(&diags)),
    };
    let w = &loaded.world;
    let Some(shards) = spec.shards(w.shards) else {
        tell!(
            "error: --part {spec}: the scenario has {} shard{}, so at most {} parts (`[population] shards`); nothing was run or written",
            w.shards,
            if w.shards == 1 { "" } else { "s" },
            w.shards
        );
        return Ok(Exit::Invalid);
    };
    let dir = out.unwrap_or_else(|| {
        Path::new("reports").join("out").join(&w.name).join(format!("part-{}-of-{}", spec.k, spec.n))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let bar = Bar::new(w.calendar, !quiet && std::io::stderr().is_terminal());
    let started = Instant::now();
    let part = offersim_sim::harness::run_part(w, &loaded.network, RunOptions::threads(threads), &bar, shards.clone());
    bar.finish();
    let part = part?;
    let events: u64 = part.outcomes.iter().map(|o| o.events_processed).sum();
    let file = PartFile::new(w, scenario, &loaded.text, spec, shards.start, part);
    let json = serde_json::to_string(&file).context("cannot write the part as JSON")?;
    let mut staged = Staged::new();
    staged.write(&dir.join(parts::FILE), &json)?;
    staged.commit()?;
    say!(
        "{} (seed {}): part {spec}, shards {}..{} of {}: {}",
        w.name,
        w.seed,
        shards.start,
        shards.end,
        w.shards,
        dir.join(parts::FILE).display()
    );
    tell!("ran in {:.2} s: {} events", started.elapsed().as_secs_f64(), count(events));
    Ok(Exit::Ok)
}

/// Merges the parts in `dirs` into the run's reports in `out`.
pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<Exit> {
    let mut read = Vec::with_capacity(dirs.len());
    for d in dirs {
        match parts::read(d) {
            Ok(p) => read.push(p),
            Err(e) => {
                tell!("error: {e}; nothing was written");
                return Ok(Exit::Invalid);
            }
        }
    }
    let merged = match parts::merge(dirs, read) {
        Ok(m) => m,
        Err(e) => {
            tell!("error: {e}; nothing was written");
            return Ok(Exit::Invalid);
        }
    };
    let w = &merged.world;
    let dir = out.unwrap_or_else(|| Path::new("reports").join("out").join(&w.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let report = crate::publish(w, &merged.outcome, &dir, Staged::new())?;
    say!("merged {} parts of {} ({} shards)", dirs.len(), merged.scenario_file, w.shards);
    if crate::thresholds_hold(&report) {
        Ok(Exit::Ok)
    } else {
        tell!("replay: offersim run {} --seed {}", merged.scenario_file, w.seed);
        Ok(Exit::Threshold)
    }
}
