//! `offersim diff` and `offersim regress`: comparing reports, and replaying every scenario
//! against its committed baseline.

use super::exit::Exit;

mod plan;
use anyhow::{Context, Result};
use offersim::junit::Case;
use offersim::output::{write_atomic, Staged};
use offersim::{load_file, Overrides, Scenario};
use offersim_reports::numbers::count;
use offersim_sim::RunOptions;
use std::path::{Path, PathBuf};

/// The largest report read (a year-long scenario's report.json is a few hundred megabytes).
pub const MAX_REPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A JSON document `diff` can compare: an object (a report, or another offersim JSON output
/// such as sweep.json), or why it is not one.
fn parse_document(text: &[u8]) -> std::result::Result<serde_json::Value, String> {
    let v: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("{}:{}: not JSON: {e}", e.line(), e.column()))?;
    if !v.is_object() {
        return Err(" not an offersim report (the top level is not a JSON object)".into());
    }
    match v.get("schema") {
        None => Ok(v),
        Some(serde_json::Value::String(tag)) if tag.starts_with("offersim.") => Ok(v),
        Some(_) => Err(" not an offersim report (its \"schema\" is not an offersim one)".into()),
    }
}

/// A report.json's text as a report, or why it is not one.
fn parse_report(text: &[u8]) -> std::result::Result<serde_json::Value, String> {
    let v = parse_document(text)?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(tag) if tag.starts_with("offersim.report/") => Ok(v),
        _ => Err(" not an offersim report (no \"schema\": \"offersim.report/…\" at the top)".into()),
    }
}

/// A baseline's text: `None` when there is none yet, an error (`: why`) when it cannot be read
/// or is not a report.
fn read_baseline(path: &Path) -> std::result::Result<Option<String>, String> {
    let bytes = match offersim::output::read_bounded(path, MAX_REPORT_BYTES) {
        Ok(b) => b,
        Err(offersim::output::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!(": {e}")),
    };
    parse_report(&bytes).map_err(|why| format!(":{why}"))?;
    String::from_utf8(bytes).map(Some).map_err(|e| format!(": not UTF-8 text: {e}"))
}

/// Reads a JSON document for `diff`, or says why not.
fn read_report(path: &Path) -> std::result::Result<serde_json::Value, String> {
    let bytes =
        offersim::output::read_bounded(path, MAX_REPORT_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_document(&bytes).map_err(|e| format!("{}:{e}", path.display()))
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

pub fn diff(before: &Path, after: &Path, tolerances: &[String]) -> Result<Exit> {
    let mut parsed = Vec::new();
    for t in tolerances {
        match t.parse::<offersim::diff::Tolerance>() {
            Ok(t) => parsed.push(t),
            Err(e) => {
                tell!("error: --tolerance {e}");
                return Ok(Exit::Invalid);
            }
        }
    }
    let (a, b) = match (read_report(before), read_report(after)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            tell!("error: {e}");
            return Ok(Exit::Invalid);
        }
    };
    let diffs = offersim::diff::compare(&a, &b, &parsed);
    if diffs.is_empty() {
        say!("same: {} and {}", before.display(), after.display());
        return Ok(Exit::Ok);
    }
    say!("{} field(s) differ between {} and {}:", diffs.len(), before.display(), after.display());
    print_differences(&diffs);
    Ok(Exit::Failed)
}

pub struct RegressOptions {
    pub update: bool,
    /// Write the runs as commands into this directory instead of running them.
    pub plan: Option<PathBuf>,
    /// Also write one JUnit test case per scenario here.
    pub junit: Option<PathBuf>,
    pub baselines: PathBuf,
    pub out: PathBuf,
    pub max_users: Option<u64>,
    pub threads: usize,
}

/// Runs a scenario to its report, quietly.
fn report_of(s: &Scenario, threads: usize) -> Result<offersim_reports::Report> {
    let outcome = offersim_sim::run(
        &s.world,
        &s.network,
        RunOptions::threads(threads),
        &offersim_sim::harness::events::NoProgress,
        None,
    )?;
    Ok(offersim_reports::build(&s.world, &outcome))
}

/// The scenario files a regression covers: those given, else every scenarios/*.toml.
fn scenario_files(mut files: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    if files.is_empty() {
        files = std::fs::read_dir("scenarios")
            .context("cannot list scenarios/")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
    }
    Ok(files)
}

/// Replays each scenario and compares (or, with `--update`, rewrites) its baseline. Exit 2 if a
/// scenario or a baseline is invalid, else 1 if a run or a write failed or a report drifted.
/// With `--plan DIR`, runs nothing and writes the runs as commands instead (`gates/plan.rs`).
pub fn regress(files: Vec<PathBuf>, o: &RegressOptions) -> Result<Exit> {
    let files = scenario_files(files)?;
    let mut verdict = Verdict::default();
    let mut planned = Vec::new();
    for file in &files {
        let s = match load_file(file, &Overrides::default()) {
            Ok(s) => s,
            Err(diags) => {
                for d in &diags {
                    tell!("{d}");
                }
                verdict.invalid = true;
                continue;
            }
        };
        if o.max_users.is_some_and(|m| s.world.users > m) {
            say!("skip   {}: {} users (over --max-users)", s.world.name, count(s.world.users));
            continue;
        }
        if o.plan.is_some() {
            planned.push((file.clone(), s));
            continue;
        }
        let report = report_of(&s, o.threads);
        judge(&s.world.name, file, s.world.seed, report, o, &mut verdict);
    }
    match &o.plan {
        Some(dir) if !verdict.invalid => plan::write(dir, &planned),
        Some(_) => Ok(Exit::Invalid),
        None => Ok(verdict.conclude(o)),
    }
}

/// `offersim regress --collect DIR`: the planned runs' parts, judged against the baselines as
/// `regress` judges its own runs.
pub fn collect(dir: &Path, o: &RegressOptions) -> Result<Exit> {
    let plan = match plan::read(dir) {
        Ok(p) => p,
        Err(e) => {
            tell!("error: {e}; nothing was judged");
            return Ok(Exit::Invalid);
        }
    };
    let mut verdict = Verdict::default();
    for run in &plan.runs {
        let report = plan::report(dir, run);
        judge(&run.scenario, Path::new(&run.file), run.seed, report, o, &mut verdict);
    }
    Ok(verdict.conclude(o))
}

/// What a regression found so far.
#[derive(Default)]
struct Verdict {
    drifted: Vec<String>,
    invalid: bool,
    failed: bool,
    checked: usize,
    /// One per scenario judged, for `--junit`.
    cases: Vec<Case>,
}

/// Writes one scenario's report to `--out`, and compares it with (or writes it as) its baseline.
fn judge(
    name: &str,
    file: &Path,
    seed: u64,
    report: Result<offersim_reports::Report>,
    o: &RegressOptions,
    v: &mut Verdict,
) {
    v.checked += 1;
    let baseline = o.baselines.join(format!("{name}.json"));
    let dir = o.out.join(name);
    let actual = match report.and_then(|r| {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = offersim_reports::json_text(&r).context("cannot write the report as JSON")?;
        let mut staged = Staged::new();
        staged.write(&dir.join("report.json"), &text)?;
        staged.write(&dir.join("report.md"), &offersim_reports::markdown(&r))?;
        staged.commit()?;
        Ok(text)
    }) {
        Ok(t) => t,
        Err(e) => {
            tell!("error: {name}: {e:#}");
            v.failed = true;
            v.cases.push(Case::failed(name, name, "the run failed", format!("{e:#}")));
            return;
        }
    };
    // A missing baseline is new; one that cannot be read or is not a report is corrupt,
    // and never offered for overwriting as if it were new.
    let expected = match read_baseline(&baseline) {
        Ok(text) => text,
        Err(_) if o.update => None,
        Err(why) => {
            tell!(
                "CORRUPT {name}: the baseline {}{why}; restore it (git checkout -- {}) or rewrite it with --update",
                baseline.display(),
                baseline.display()
            );
            v.invalid = true;
            v.cases.push(Case::failed(name, name, "corrupt baseline", format!("{}{why}", baseline.display())));
            return;
        }
    };
    if expected.as_deref() == Some(actual.as_str()) {
        say!("ok     {name}");
        v.cases.push(Case::passed(name, name));
        return;
    }
    if o.update {
        let written = std::fs::create_dir_all(&o.baselines)
            .with_context(|| format!("cannot create {}", o.baselines.display()))
            .and_then(|_| write_atomic(&baseline, &actual));
        match written {
            Ok(()) => {
                say!("update {name}: {}", baseline.display());
                v.cases.push(Case::passed(name, name));
            }
            Err(e) => {
                tell!("error: {name}: {e:#}");
                v.failed = true;
                v.cases.push(Case::failed(name, name, "cannot write the baseline", format!("{e:#}")));
            }
        }
        return;
    }
    let replay = format!(
        "offersim run {} --seed {seed} --out {} && offersim diff {} {}",
        file.display(),
        dir.display(),
        baseline.display(),
        dir.join("report.json").display()
    );
    match expected {
        None => {
            say!("NEW    {name}: no baseline at {} (accept it with `offersim regress --update`)", baseline.display());
            let text = format!("accept it with `offersim regress --update`; replay: {replay}");
            v.cases.push(Case::failed(name, name, format!("no baseline at {}", baseline.display()), text));
        }
        Some(text) => {
            let diffs = match (serde_json::from_str(&text), serde_json::from_str(&actual)) {
                (Ok(a), Ok(b)) => offersim::diff::compare(&a, &b, &[]),
                _ => vec![],
            };
            say!("DRIFT  {name}: {} field(s) differ from {}", diffs.len(), baseline.display());
            print_differences(&diffs);
            say!("  replay: {replay}");
            let fields: String = diffs.iter().take(50).map(|d| format!("{d}\n")).collect();
            let message = format!("{} field(s) differ from {}", diffs.len(), baseline.display());
            v.cases.push(Case::failed(name, name, message, format!("{fields}replay: {replay}")));
        }
    }
    v.drifted.push(name.to_string());
}

impl Verdict {
    fn conclude(self, o: &RegressOptions) -> Exit {
        if let Some(path) = &o.junit {
            if let Err(e) = write_atomic(path, &offersim::junit::render("regress", &self.cases)) {
                tell!("error: --junit: {e:#}");
                return Exit::Failed;
            }
        }
        if self.invalid {
            return Exit::Invalid;
        }
        if self.failed {
            return Exit::Failed;
        }
        if self.drifted.is_empty() {
            let what = if o.update { "baselines up to date" } else { "no drift" };
            say!("regress: {} scenario(s) replayed, {what}", self.checked);
            Exit::Ok
        } else {
            say!(
                "regress: drift in {}; if the change is intended: offersim regress --update (and commit {})",
                self.drifted.join(", "),
                o.baselines.display()
            );
            Exit::Failed
        }
    }
}
