//! A regression's plan (`offersim regress --plan DIR`): each scenario copied into
//! `DIR/scenarios/`, `DIR/jobs.txt` (one shell command per scenario, a one-part run, runnable
//! from DIR wherever the binary is) and `DIR/plan.json`; `regress --collect DIR` then judges
//! each run's part against the baselines as `regress` judges its own runs.

use crate::cli::exit::Exit;
use anyhow::{anyhow, Result};
use offersim::output::Staged;
use offersim::parts::{self, sha256_hex};
use offersim::Scenario;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FORMAT: &str = "offersim-regress-plan";
const VERSION: u32 = 1;
const FILE: &str = "plan.json";
const MAX_PLAN_BYTES: u64 = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub version: u32,
    pub offersim: String,
    pub runs: Vec<PlannedRun>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PlannedRun {
    /// The scenario's name (its baseline is `<name>.json`) and its file as given.
    pub scenario: String,
    pub file: String,
    /// Its copy in the plan, and the copy's SHA-256.
    pub copy: String,
    pub sha256: String,
    pub seed: u64,
    /// Where the run writes its part, relative to the plan.
    pub dir: String,
    pub command: String,
}

pub fn write(dir: &Path, planned: &[(PathBuf, Scenario)]) -> Result<Exit> {
    std::fs::create_dir_all(dir.join("scenarios")).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut staged = Staged::new();
    let mut runs: Vec<PlannedRun> = Vec::new();
    for (file, s) in planned {
        let name = &s.world.name;
        if let Some(other) = runs.iter().find(|r| &r.scenario == name) {
            tell!(
                "error: {} and {} are both scenario `{name}` (one baseline each); nothing was written",
                other.file,
                file.display()
            );
            return Ok(Exit::Invalid);
        }
        let copy = format!("scenarios/{name}.toml");
        staged.write(&dir.join(&copy), &s.text)?;
        let run_dir = format!("runs/{name}");
        let command = format!("\"${{OFFERSIM:-offersim}}\" run {copy} --part 1/1 --out {run_dir} --quiet");
        runs.push(PlannedRun {
            scenario: name.clone(),
            file: file.display().to_string(),
            copy,
            sha256: sha256_hex(&s.text),
            seed: s.world.seed,
            dir: run_dir,
            command,
        });
    }
    let lines: String = runs.iter().map(|r| format!("{}\n", r.command)).collect();
    staged.write(&dir.join("jobs.txt"), &lines)?;
    let plan = Plan { format: FORMAT.into(), version: VERSION, offersim: env!("CARGO_PKG_VERSION").into(), runs };
    staged.write(&dir.join(FILE), &serde_json::to_string_pretty(&plan)?)?;
    staged.commit()?;
    say!(
        "plan: {} runs, one per line of {} (each runs from {}); then `offersim regress --collect {}`",
        plan.runs.len(),
        dir.join("jobs.txt").display(),
        dir.display(),
        dir.display()
    );
    Ok(Exit::Ok)
}

pub fn read(dir: &Path) -> std::result::Result<Plan, String> {
    offersim::output::read_versioned(&dir.join(FILE), FORMAT, VERSION, MAX_PLAN_BYTES)
}

/// The report of a planned run, from its part; an error naming the run's command when it is
/// missing, failed, or not the planned scenario and seed.
pub fn report(dir: &Path, run: &PlannedRun) -> Result<offersim_reports::Report> {
    let failed = |why: String| {
        anyhow!("the planned run is missing or failed ({why}); run it from {}: {}", dir.display(), run.command)
    };
    let run_dir = dir.join(&run.dir);
    let part = parts::read(&run_dir).map_err(|e| failed(e.to_string()))?;
    if part.scenario_sha256 != run.sha256 || part.seed != run.seed || part.parts != 1 {
        return Err(failed(format!("{} is not a whole run of {} at seed {}", run_dir.display(), run.copy, run.seed)));
    }
    let merged = parts::merge(&[run_dir], vec![part]).map_err(|e| failed(e.to_string()))?;
    Ok(offersim_reports::build(&merged.world, &merged.outcome))
}
