//! A sweep's plan (`offersim sweep … --plan DIR`): the variants' files, `jobs.txt` (one shell
//! command per (variant, seed) run, each runnable from DIR wherever the binary is: a cluster's
//! array task runs one line), and `plan.json`, what `--collect` needs to put the runs together.
//! Each run is a one-part run (`run --part 1/1`), whose `part.json` holds its outcome exactly.

use crate::cli::exit::Exit;
use anyhow::Result;
use offersim::output::Staged;
use offersim::parts::{self, sha256_hex};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT: &str = "offersim-sweep-plan";
pub const VERSION: u32 = 1;
pub const FILE: &str = "plan.json";
const MAX_PLAN_BYTES: u64 = 256 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub version: u32,
    pub offersim: String,
    /// The scenario's name and its file as given to `sweep` (the reports name it).
    pub scenario: String,
    pub file: String,
    pub seeds: Vec<u64>,
    pub metric: String,
    pub variants: Vec<Variant>,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Variant {
    pub settings: Vec<(Vec<String>, String)>,
    /// Its file, relative to the plan's directory, and the SHA-256 of its text.
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub variant: usize,
    pub seed: u64,
    /// Where the run writes its part, relative to the plan's directory.
    pub dir: String,
    pub command: String,
}

/// Writes the plan into `dir`: the variants, jobs.txt and plan.json, together or not at all.
pub fn write(
    dir: &Path,
    scenario: &str,
    file: &Path,
    variants: &[Vec<(Vec<String>, String)>],
    texts: &[String],
    seeds: &[u64],
    metric: usize,
) -> Result<Exit> {
    let mut staged = Staged::new();
    std::fs::create_dir_all(dir.join("variants"))
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.join("variants").display()))?;
    let mut planned = Vec::new();
    for (k, (settings, text)) in variants.iter().zip(texts).enumerate() {
        let file = format!("variants/v{}.toml", k + 1);
        staged.write(&dir.join(&file), text)?;
        planned.push(Variant { settings: settings.clone(), file, sha256: sha256_hex(text) });
    }
    let mut jobs = Vec::new();
    for (k, v) in planned.iter().enumerate() {
        for &seed in seeds {
            let run_dir = format!("runs/v{}-s{seed}", k + 1);
            let command =
                format!("\"${{OFFERSIM:-offersim}}\" run {} --seed {seed} --part 1/1 --out {run_dir} --quiet", v.file);
            jobs.push(Job { variant: k, seed, dir: run_dir, command });
        }
    }
    let lines: String = jobs.iter().map(|j| format!("{}\n", j.command)).collect();
    staged.write(&dir.join("jobs.txt"), &lines)?;
    let plan = Plan {
        format: FORMAT.into(),
        version: VERSION,
        offersim: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.into(),
        file: file.display().to_string(),
        seeds: seeds.to_vec(),
        metric: offersim::sweep::METRICS[metric].0.into(),
        variants: planned,
        jobs,
    };
    let json = serde_json::to_string_pretty(&plan)?;
    staged.write(&dir.join(FILE), &json)?;
    staged.commit()?;
    say!(
        "plan: {} runs, one per line of {} (each runs from {}: `cd {} && sed -n 1p jobs.txt | sh`); then `offersim sweep --collect {}`",
        plan.jobs.len(),
        dir.join("jobs.txt").display(),
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(Exit::Ok)
}

/// Reads `dir/plan.json`.
pub fn read(dir: &Path) -> std::result::Result<Plan, String> {
    let path = dir.join(FILE);
    let plan: Plan = offersim::output::read_versioned(&path, FORMAT, VERSION, MAX_PLAN_BYTES)?;
    if plan.jobs.iter().any(|j| j.variant >= plan.variants.len()) {
        return Err(format!("{}: a job names a variant the plan does not have", path.display()));
    }
    Ok(plan)
}

/// The metrics of one planned run, from its part; why not, when it is missing or not the run
/// the plan asked for.
pub fn measure(dir: &Path, plan: &Plan, job: &Job) -> std::result::Result<Vec<Option<f64>>, String> {
    let run_dir = dir.join(&job.dir);
    let part = parts::read(&run_dir).map_err(|e| e.to_string())?;
    let variant = &plan.variants[job.variant];
    if part.scenario_sha256 != variant.sha256 {
        return Err(format!("{} ran another scenario than {}", run_dir.display(), variant.file));
    }
    if part.seed != job.seed || part.parts != 1 {
        return Err(format!(
            "{} is seed {} part {}/{}, not seed {} 1/1",
            run_dir.display(),
            part.seed,
            part.part,
            part.parts,
            job.seed
        ));
    }
    let merged = parts::merge(&[run_dir], vec![part]).map_err(|e| e.to_string())?;
    Ok(offersim::sweep::measure(&merged.world, &merged.outcome))
}
