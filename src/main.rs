//! `offersim`: run, check, sweep, diff and regress scenarios; serve and drive an offers service.
//! This and `cli/` are the only places that read argv and talk to the terminal; every command
//! returns an `Exit` (`cli/exit.rs`: 0 success, 1 drift or a failed run or I/O, 2 invalid input
//! with nothing written, 3 a failed threshold with the reports written).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use offersim::junit::Case;
use offersim::output::{JsonlLog, Staged};
use offersim::progress::Bar;
use offersim::{load_file, Diagnostic, Overrides, Scenario};
use offersim_reports::numbers::{count, usd};
use offersim_sim::harness::events::EventLog;
use offersim_sim::RunOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// A line on stdout. Unlike `println!`, a closed pipe (`offersim run ... | head -1`) is not a
/// panic: the output is simply dropped.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// A line on stderr, likewise; a long quoted value in it (an echoed argument) is cut
/// (`scenario::shorten`).
macro_rules! tell {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{}", offersim::scenario::shorten(&format!($($t)*)));
    }};
}

mod cli;
use cli::audit::{audit, AuditOptions};
use cli::exit::{finish, Exit};
use cli::gates::{collect as regress_collect, diff, regress, RegressOptions};
use cli::live::{drive, serve, DriveOptions, ServeOptions};
use cli::parts::{merge, run_part};
use cli::sweep::{collect as sweep_collect, sweep, Metric, SweepOptions};
use cli::{OutDir, Quiet, Threads};

#[derive(Parser)]
#[command(name = "offersim", version, about = "Deterministic simulator and test harness for card-linked offers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write report.json, report.md and report.html.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Replace the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        out: OutDir,
        #[command(flatten)]
        threads: Threads,
        /// Also write every event, one JSON object per line, to this file.
        #[arg(long)]
        events: Option<PathBuf>,
        #[command(flatten)]
        quiet: Quiet,
        /// Run even if the estimated memory exceeds what this machine has available.
        #[arg(long)]
        force: bool,
        /// Run only part K of N of the scenario's shards and write `part.json` (no reports):
        /// `offersim merge` adds the N parts up into the one-process run's reports.
        #[arg(long, value_name = "K/N", conflicts_with = "events")]
        part: Option<offersim::parts::PartSpec>,
        /// Also write the scenario's thresholds (and the ledger's balance) as JUnit XML here.
        #[arg(long, value_name = "FILE", conflicts_with = "part")]
        junit: Option<PathBuf>,
    },
    /// Add up the parts of a run (`run --part K/N`, each in its own directory) into its
    /// report.json, report.md and report.html, byte-identical to a run in one process. Every
    /// part must be there once, of the same scenario, seed and version; else nothing is written.
    Merge {
        /// The parts' output directories (each holds a part.json).
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        #[command(flatten)]
        out: OutDir,
    },
    /// Validate scenario files without running them.
    Check {
        /// One or more scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        #[command(flatten)]
        threads: Threads,
        /// Accept a scenario whose estimated memory exceeds what this machine has available.
        #[arg(long)]
        force: bool,
        /// How problems are written: `text` (file:line:column: message, on stderr), `json` (one
        /// object per line on stdout: file, line, column, path, message, hint), or `github`
        /// (GitHub Actions `::error` commands on stdout, annotating the pull request's lines).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compare two report.json files field by field; exit 1 if they differ beyond tolerances.
    Diff {
        /// The reference report (a baseline).
        before: PathBuf,
        /// The report to check against it.
        after: PathBuf,
        /// Let a field move: FIELD=PERCENT% (relative) or FIELD=AMOUNT (absolute); `*` matches
        /// one segment of the path, `**` any number (e.g. `offers[*].roi=2%`). Repeatable.
        #[arg(long = "tolerance", value_name = "FIELD=LIMIT")]
        tolerances: Vec<String>,
    },
    /// What-if: run a grid of variants of a scenario at the same seeds (common random numbers)
    /// and compare them with 95% intervals; names the best by `--metric`.
    Sweep {
        /// The scenario file (TOML).
        #[arg(required_unless_present = "collect")]
        scenario: Option<PathBuf>,
        /// A setting of the file and the values to try, e.g.
        /// `offers.cafe_2_over_5.min_spend=5.00,10.00`, or a range with a step,
        /// `offers.cafe_2_over_5.reward=0.5..5/0.5`. Repeatable: the grid is every combination.
        #[arg(long = "set", value_name = "PATH=V1,V2,...", required_unless_present = "collect")]
        sets: Vec<String>,
        /// Run nothing: write the variants, DIR/jobs.txt (one shell command per run, each
        /// runnable from DIR, e.g. as a cluster's array task) and DIR/plan.json.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["collect", "dir"])]
        plan: Option<PathBuf>,
        /// Read the finished runs of the plan in DIR and write the sweep's files (into --out,
        /// else DIR), byte-identical to the same sweep run here with that --out.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["scenario", "sets"])]
        collect: Option<PathBuf>,
        /// Seeds per variant: the file's seed and the next ones.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        seeds: u32,
        /// The most variants (combinations of `--set` values) a sweep may have.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        max_variants: u64,
        /// The metric that names the best variant (net_margin: incremental margin net of rewards
        /// and fees, what the merchant gains).
        #[arg(long, value_enum, default_value_t = Metric::NetMargin)]
        metric: Metric,
        // sweep.md, sweep.csv, sweep.json, sweep.html and the variants' files.
        #[command(flatten)]
        out: OutDir,
        #[command(flatten)]
        threads: Threads,
        #[command(flatten)]
        quiet: Quiet,
    },
    /// Replay every scenario at its pinned seed and compare its report with the committed
    /// baseline (exactly); exit 1 on drift. `--update` rewrites the baselines.
    Regress {
        /// Scenario files [default: every scenarios/*.toml].
        files: Vec<PathBuf>,
        /// Rewrite the baselines from this run instead of comparing.
        #[arg(long)]
        update: bool,
        /// Where the baselines live.
        #[arg(long, default_value = "reports/baselines")]
        baselines: PathBuf,
        /// Where each run's reports are written (one directory per scenario).
        #[arg(long, default_value = "reports/out/regress")]
        out: PathBuf,
        /// Skip scenarios with more users than this (the national-scale one takes minutes).
        #[arg(long)]
        max_users: Option<u64>,
        #[command(flatten)]
        threads: Threads,
        /// Run nothing: copy the scenarios into DIR and write DIR/jobs.txt, one shell command
        /// per scenario (runnable from DIR, e.g. as a cluster's array task), and DIR/plan.json.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["collect", "update"])]
        plan: Option<PathBuf>,
        /// Judge the finished runs of the plan in DIR against the baselines, as a regression
        /// run here would (with --update, rewrite them).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["files", "max_users"])]
        collect: Option<PathBuf>,
        /// Also write one JUnit test case per scenario here (a drift is a failure, with the
        /// fields and the replay command).
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        junit: Option<PathBuf>,
    },
    /// Check a run's event log from the outside, with code that shares nothing with the engine:
    /// every network message of every purchase on a linked card accounted for, every reward on
    /// a clearing of an enrolled, linked card, confirmed and paid at its time, every clawback
    /// caused by a refund or reversal; prints the books. Exit 1 naming the first violations.
    Audit {
        #[command(flatten)]
        options: AuditOptions,
    },
    /// Print a shell completion script: `offersim completions bash > ~/.local/share/bash-completion/completions/offersim`
    /// (zsh: into a directory of `$fpath` as `_offersim`; fish: `~/.config/fish/completions/offersim.fish`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema of a scenario file, report.json, drive.json or sweep.json (the files under
    /// schemas/): for editors (a scenario's `#:schema` directive), validators and code generators.
    Schema {
        #[arg(value_enum)]
        which: offersim::schema::Which,
    },
    /// Print the manual page (roff): `offersim man > offersim.1 && man ./offersim.1`.
    Man,
    /// Serve the project's own offers platform over the HTTP contract (live/README.md; its OpenAPI
    /// document at GET /openapi.json) on a loopback port: the baseline `drive` is demonstrated and
    /// measured against.
    Serve {
        #[command(flatten)]
        options: ServeOptions,
    },
    /// Load-test an offers service: the scenario's users and card network send it real HTTP
    /// requests; its credits are compared with the reference pipeline's, and its latency is
    /// measured from each request's scheduled time. Exit 3 on a discrepancy or a failed threshold.
    Drive {
        /// The scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        options: DriveOptions,
    },
}

/// mimalloc instead of the system allocator: the simulation allocates and frees per person,
/// per shard and per queue bucket, and glibc's returns large blocks to the system (a page fault
/// per page on their next use). Where memory comes from never changes a result.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v2 and v3: the 16th option; the crate's
/// bindings skip it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of handing it back to the system after 10 ms: a run
/// frees a shard's memory just before the next shard asks for as much, and each page handed
/// back costs a page fault when it is touched again (sys time tripled on the national file's
/// first million people). Memory freed is reused, not added to: the run's resident memory stays
/// at its peak (1.22 GB on the national file, glibc's 1.11 GB; `MIMALLOC_SHOW_STATS=1` shows
/// no purges).
fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's options by its documented number; any value is valid for
    // this option (-1: never purge), and options may be set at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    finish(match cli.command {
        Command::Check { scenarios, threads, force, format } => Ok(check(&scenarios, threads.get(), force, format)),
        Command::Diff { before, after, tolerances } => diff(&before, &after, &tolerances),
        Command::Sweep { collect: Some(dir), out, .. } => sweep_collect(&dir, out.dir),
        Command::Sweep { scenario, sets, seeds, max_variants, metric, out, threads, quiet, plan, collect: None } => {
            let o = SweepOptions {
                seeds,
                max_variants,
                metric,
                out: out.dir,
                threads: threads.get(),
                quiet: quiet.on,
                plan,
            };
            match scenario {
                Some(scenario) => sweep(&scenario, &sets, &o),
                None => Err(anyhow::anyhow!("a scenario file is required")),
            }
        }
        Command::Regress { files, update, baselines, out, max_users, threads, plan, collect, junit } => {
            let opts = RegressOptions { update, plan, junit, baselines, out, max_users, threads: threads.get() };
            match collect {
                Some(dir) => regress_collect(&dir, &opts),
                None => regress(files, &opts),
            }
        }
        Command::Audit { options } => audit(&options),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "offersim", &mut out);
            print_bytes(&out, "the completion script")
        }
        Command::Schema { which } => print_bytes(offersim::schema::text(which).as_bytes(), "the schema"),
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .context("cannot render the manual page")
                .and_then(|_| print_bytes(&out, "the manual page"))
        }
        Command::Serve { options } => serve(&options),
        Command::Drive { scenario, options } => drive(&scenario, &options),
        Command::Run { scenario, seed, out, threads, quiet, part: Some(spec), .. } => {
            run_part(&scenario, seed, spec, out.dir, threads.get(), quiet.on)
        }
        Command::Run { scenario, seed, out, threads, events, quiet, force, part: None, junit } => {
            let files = Outputs { events: events.as_deref(), junit: junit.as_deref() };
            run_command(&scenario, seed, out.dir, threads.get(), files, quiet.on, force)
        }
        Command::Merge { parts, out } => merge(&parts, out.dir),
    })
}

/// `offersim run`: load, check the machine and the paths, run, write.
/// The files a run writes besides its reports, if asked.
#[derive(Clone, Copy)]
struct Outputs<'a> {
    events: Option<&'a Path>,
    junit: Option<&'a Path>,
}

fn run_command(
    scenario: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    threads: usize,
    files: Outputs,
    quiet: bool,
    force: bool,
) -> Result<Exit> {
    let events = files.events;
    let loaded = match load_file(scenario, &Overrides { seed }) {
        Ok(s) => s,
        Err(diags) => return Ok(invalid(&diags)),
    };
    let (work, too_big) = workload(&loaded.world, threads, events.is_some());
    if !quiet {
        tell!("{work}");
    }
    if let (Some(why), false) = (too_big, force) {
        tell!("error: {why}; nothing was run or written");
        return Ok(Exit::Invalid);
    }
    let dir = out.unwrap_or_else(|| Path::new("reports").join("out").join(&loaded.world.name));
    if let Some(e) = events {
        if let Err(why) = events_path_is_free(e, &dir, scenario) {
            tell!("error: --events {}: {why}; nothing was run or written", e.display());
            return Ok(Exit::Invalid);
        }
    }
    if run(&loaded, &dir, threads, files, quiet)? {
        Ok(Exit::Ok)
    } else {
        tell!("replay: offersim run {} --seed {}", scenario.display(), loaded.world.seed);
        Ok(Exit::Threshold)
    }
}

/// Writes `bytes` to stdout (a generated file: a completion script, the manual page).
fn print_bytes(bytes: &[u8], what: &str) -> Result<Exit> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|_| out.flush()).with_context(|| format!("cannot write {what}"))?;
    Ok(Exit::Ok)
}

fn invalid(diags: &[Diagnostic]) -> Exit {
    for d in diags {
        tell!("{d}");
    }
    let n = diags.len();
    tell!(
        "error: the scenario is not valid ({n} problem{}); nothing was run or written",
        if n == 1 { "" } else { "s" }
    );
    Exit::Invalid
}

/// The work a run asks for, in one line, and why this machine cannot hold it (if it cannot).
fn workload(w: &offersim_sim::World, threads: usize, logged: bool) -> (String, Option<String>) {
    use offersim::machine::{available_memory, bytes, cores};
    let work = offersim_sim::world::workload::Workload::of(w, threads, cores(), logged);
    let line = format!(
        "estimate: about {} purchases, {} events; peak memory about {} ({} shard{} of about {} purchases at once)",
        count(work.purchases.round() as u64),
        count(work.events.round() as u64),
        bytes(work.peak_bytes),
        work.shards_at_once,
        if work.shards_at_once == 1 { "" } else { "s" },
        count(work.purchases_per_shard.round() as u64),
    );
    let Some(available) = available_memory() else {
        return (line, None);
    };
    if work.peak_bytes <= available as f64 {
        return (line, None);
    }
    let hint = match work.shards_to_fit(available as f64, logged) {
        Some(n) if n <= w.users => format!("set `[population] shards = {n}` (or more) to hold fewer people at once, "),
        _ => String::new(),
    };
    let why = format!(
        "the run needs about {} of memory and this machine has {} available: {hint}use fewer threads, \
         fewer people or a shorter period, or --force to try anyway",
        bytes(work.peak_bytes),
        bytes(available as f64)
    );
    (line, Some(why))
}

/// `check --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Github,
}

fn check(paths: &[PathBuf], threads: usize, force: bool, format: Format) -> Exit {
    let mut failed = false;
    let report = |d: &Diagnostic| match format {
        Format::Text => tell!("{d}"),
        Format::Json => say!("{}", offersim::annotate::json(d)),
        Format::Github => say!("{}", offersim::annotate::github(d)),
    };
    for p in paths {
        match load_file(p, &Overrides::default()) {
            Ok(s) => {
                let w = &s.world;
                let (work, too_big) = workload(w, threads, false);
                // What is fine goes to stderr when stdout is for another program.
                let ok = |line: String| if format == Format::Text { say!("{line}") } else { tell!("{line}") };
                ok(format!(
                    "{}: ok: scenario `{}`, seed {}, {} days from {}, {} users, {} segments, {} merchants, {} offers, {} schemes; {work}",
                    p.display(),
                    w.name,
                    w.seed,
                    w.days,
                    w.calendar.start_date(),
                    w.users,
                    w.segments.len(),
                    w.merchants.len(),
                    w.offers.len(),
                    w.schemes.len(),
                ));
                if let (Some(why), false) = (too_big, force) {
                    report(&Diagnostic {
                        file: p.display().to_string(),
                        position: None,
                        message: format!("error: {why}"),
                    });
                    failed = true;
                }
            }
            Err(diags) => {
                diags.iter().for_each(&report);
                failed = true;
            }
        }
    }
    if failed {
        Exit::Invalid
    } else {
        Exit::Ok
    }
}

/// The files a run writes in its output directory.
const REPORT_FILES: [&str; 3] = ["report.json", "report.md", "report.html"];

/// Refuses an event log path that a run's other files would overwrite (or that would overwrite
/// the scenario), before anything runs.
fn events_path_is_free(events: &Path, dir: &Path, scenario: &Path) -> std::result::Result<(), String> {
    use offersim::output::resolved;
    let log = resolved(events);
    if log == resolved(dir) {
        return Err("is the output directory itself; name a file".into());
    }
    for name in REPORT_FILES {
        if log == resolved(&dir.join(name)) {
            return Err(format!("is the run's own {name}, which the report would overwrite"));
        }
    }
    if log == resolved(scenario) {
        return Err("is the scenario file being run".into());
    }
    Ok(())
}

/// Runs a scenario and writes its reports; `Ok(false)` when a threshold of the scenario failed.
/// The reports and the event log are put in place together, or none of them (`Staged`); a
/// failed run removes the output directory if it made it.
fn run(s: &Scenario, dir: &Path, threads: usize, files: Outputs, quiet: bool) -> Result<bool> {
    let existed = dir.exists();
    let result = run_in(s, dir, threads, files, quiet);
    if result.is_err() && !existed {
        let _ = std::fs::remove_dir(dir);
    }
    result
}

fn run_in(s: &Scenario, dir: &Path, threads: usize, files: Outputs, quiet: bool) -> Result<bool> {
    let (w, events) = (&s.world, files.events);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let mut log = events.map(JsonlLog::create).transpose()?;
    let bar = Bar::new(w.calendar, !quiet && std::io::stderr().is_terminal());
    let started = Instant::now();
    let result = offersim_sim::run(
        w,
        &s.network,
        RunOptions::threads(threads),
        &bar,
        log.as_mut().map(|l| l as &mut dyn EventLog),
    );
    bar.finish();
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            if let Some(l) = log {
                l.abandon();
            }
            return Err(e.into());
        }
    };
    let elapsed = started.elapsed();
    let mut staged = Staged::new();
    let lines = log.map(|l| l.finish(&mut staged)).transpose()?;
    let report = publish(w, &outcome, dir, staged)?;
    if let Some(path) = files.junit {
        let mut cases: Vec<Case> = report
            .thresholds
            .iter()
            .map(|t| match t.passed {
                true => Case::passed(format!("{} {}", t.metric, t.condition), &w.name),
                false => Case::failed(
                    format!("{} {}", t.metric, t.condition),
                    &w.name,
                    format!("actual {}", t.actual),
                    format!("replay: offersim run {} --seed {}", s.file, w.seed),
                ),
            })
            .collect();
        cases.push(match report.ledger.balanced {
            true => Case::passed("ledger balanced", &w.name),
            false => {
                Case::failed("ledger balanced", &w.name, "the ledger does not balance", "see report.json's ledger")
            }
        });
        offersim::output::write_atomic(path, &offersim::junit::render(&format!("run {}", w.name), &cases))?;
    }
    if let (Some(n), Some(p)) = (lines, events) {
        say!("events: {} ({n} lines)", p.display());
    }
    let secs = elapsed.as_secs_f64();
    tell!(
        "ran in {secs:.2} s: {} events, {} events/s",
        count(outcome.events_processed),
        count((outcome.events_processed as f64 / secs.max(1e-9)) as u64)
    );
    Ok(thresholds_hold(&report))
}

/// Writes a run's reports into `dir` together with what is already `staged` (all or none), and
/// says what the run did and where the reports are.
fn publish(
    w: &offersim_sim::World,
    outcome: &offersim_sim::outcome::Outcome,
    dir: &Path,
    mut staged: Staged,
) -> Result<offersim_reports::Report> {
    let report = offersim_reports::build(w, outcome);
    let json = offersim_reports::json_text(&report).context("cannot write the report as JSON")?;
    staged.write(&dir.join("report.json"), &json)?;
    staged.write(&dir.join("report.md"), &offersim_reports::markdown(&report))?;
    staged.write(&dir.join("report.html"), &offersim_reports::html(&report, outcome))?;
    staged.commit()?;
    let f = &report.funnel;
    let m = &report.money;
    say!(
        "{} (seed {}): {} purchases, {} spend; {} enrollments; {} credits ({} net rewards, {} clawed back); merchant cost {}; ledger {}",
        w.name,
        w.seed,
        count(f.purchases),
        usd(m.spend),
        count(f.enrollments),
        count(f.credits),
        usd(m.net_rewards),
        count(f.clawbacks),
        usd(m.merchant_cost),
        if report.ledger.balanced { "balanced" } else { "NOT BALANCED" }
    );
    say!(
        "reports: {}, {}, {}",
        dir.join("report.json").display(),
        dir.join("report.md").display(),
        dir.join("report.html").display()
    );
    Ok(report)
}

/// Says which of the scenario's thresholds failed; whether all hold.
fn thresholds_hold(report: &offersim_reports::Report) -> bool {
    let failed: Vec<_> = report.thresholds.iter().filter(|t| !t.passed).collect();
    for t in &failed {
        tell!("threshold failed: {} {} (actual {})", t.metric, t.condition, t.actual);
    }
    if !report.thresholds.is_empty() && failed.is_empty() {
        say!("thresholds: all {} hold", report.thresholds.len());
    }
    failed.is_empty()
}
