//! `offersim diff` and `offersim regress`: comparing reports, and replaying every scenario
//! against its committed baseline.

use anyhow::{Context, Result};
use offersim::output::write_atomic;
use offersim::{load_file, Overrides, Scenario};
use offersim_reports::numbers::count;
use offersim_sim::RunOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Reads a report.json, or says why not.
fn read_report(path: &Path) -> std::result::Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: not a JSON report: {e}", path.display(), e.line(), e.column()))
}

/// How many differences are printed before "... and N more".
const SHOWN_DIFFERENCES: usize = 40;

fn print_differences(diffs: &[offersim::diff::Difference]) {
    for d in diffs.iter().take(SHOWN_DIFFERENCES) {
        say!("  {d}");
    }
    if diffs.len() > SHOWN_DIFFERENCES {
        say!("  ... and {} more", diffs.len() - SHOWN_DIFFERENCES);
    }
}

pub fn diff(before: &Path, after: &Path, tolerances: &[String]) -> ExitCode {
    let mut parsed = Vec::new();
    for t in tolerances {
        match t.parse::<offersim::diff::Tolerance>() {
            Ok(t) => parsed.push(t),
            Err(e) => {
                tell!("error: --tolerance {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (a, b) = match (read_report(before), read_report(after)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            tell!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let diffs = offersim::diff::compare(&a, &b, &parsed);
    if diffs.is_empty() {
        say!("same: {} and {}", before.display(), after.display());
        return ExitCode::SUCCESS;
    }
    say!("{} field(s) differ between {} and {}:", diffs.len(), before.display(), after.display());
    print_differences(&diffs);
    ExitCode::from(1)
}

pub struct RegressOptions {
    pub update: bool,
    pub baselines: PathBuf,
    pub out: PathBuf,
    pub max_users: Option<u64>,
    pub threads: usize,
}

/// Runs a scenario to its report, quietly.
fn report_of(s: &Scenario, threads: usize) -> Result<offersim_reports::Report> {
    let outcome =
        offersim_sim::run(&s.world, &s.network, RunOptions::threads(threads), &offersim_sim::events::NoProgress, None)?;
    Ok(offersim_reports::build(&s.world, &outcome))
}

pub fn regress(mut files: Vec<PathBuf>, o: &RegressOptions) -> ExitCode {
    if files.is_empty() {
        files = match std::fs::read_dir("scenarios") {
            Ok(dir) => dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                tell!("error: cannot list scenarios/: {e}");
                return ExitCode::from(2);
            }
        };
        files.sort();
    }
    let (mut drifted, mut failed, mut checked) = (Vec::new(), false, 0usize);
    for file in &files {
        let s = match load_file(file, &Overrides::default()) {
            Ok(s) => s,
            Err(diags) => {
                for d in &diags {
                    tell!("{d}");
                }
                failed = true;
                continue;
            }
        };
        let name = s.world.name.clone();
        if o.max_users.is_some_and(|m| s.world.users > m) {
            say!("skip   {name}: {} users (over --max-users)", count(s.world.users));
            continue;
        }
        checked += 1;
        let baseline = o.baselines.join(format!("{name}.json"));
        let dir = o.out.join(&name);
        let actual = match report_of(&s, o.threads).and_then(|r| {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let text = offersim_reports::json_text(&r);
            write_atomic(&dir.join("report.json"), &text)?;
            write_atomic(&dir.join("report.md"), &offersim_reports::markdown(&r))?;
            Ok(text)
        }) {
            Ok(t) => t,
            Err(e) => {
                tell!("error: {name}: {e:#}");
                failed = true;
                continue;
            }
        };
        let expected = std::fs::read_to_string(&baseline).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            say!("ok     {name}");
            continue;
        }
        if o.update {
            let written = std::fs::create_dir_all(&o.baselines)
                .with_context(|| format!("cannot create {}", o.baselines.display()))
                .and_then(|_| write_atomic(&baseline, &actual));
            match written {
                Ok(()) => say!("update {name}: {}", baseline.display()),
                Err(e) => {
                    tell!("error: {name}: {e:#}");
                    failed = true;
                }
            }
            continue;
        }
        let replay = format!(
            "offersim run {} --seed {} --out {} && offersim diff {} {}",
            file.display(),
            s.world.seed,
            dir.display(),
            baseline.display(),
            dir.join("report.json").display()
        );
        match expected {
            None => {
                say!(
                    "NEW    {name}: no baseline at {} (accept it with `offersim regress --update`)",
                    baseline.display()
                )
            }
            Some(text) => {
                let diffs = match (serde_json::from_str(&text), serde_json::from_str(&actual)) {
                    (Ok(a), Ok(b)) => offersim::diff::compare(&a, &b, &[]),
                    _ => vec![],
                };
                say!("DRIFT  {name}: {} field(s) differ from {}", diffs.len(), baseline.display());
                print_differences(&diffs);
                say!("  replay: {replay}");
            }
        }
        drifted.push(name);
    }
    if failed {
        return ExitCode::from(2);
    }
    if drifted.is_empty() {
        let what = if o.update { "baselines up to date" } else { "no drift" };
        say!("regress: {checked} scenario(s) replayed, {what}");
        ExitCode::SUCCESS
    } else {
        say!(
            "regress: drift in {}; if the change is intended: offersim regress --update (and commit {})",
            drifted.join(", "),
            o.baselines.display()
        );
        ExitCode::from(1)
    }
}
