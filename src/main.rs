//! `offersim`: run and check scenario files. This is the only place that reads argv, talks to
//! the terminal and chooses exit codes: 0 success, 2 invalid input (nothing is written), 1 any
//! other failure.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use offersim::output::{write_atomic, JsonlLog};
use offersim::progress::Bar;
use offersim::{load_file, Diagnostic, Overrides, Scenario};
use offersim_reports::numbers::{count, usd};
use offersim_sim::events::EventLog;
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

/// A line on stderr, likewise.
macro_rules! tell {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

#[derive(Parser)]
#[command(name = "offersim", version, about = "Deterministic simulator and test harness for card-linked offers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write report.json and report.md.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Replace the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Directory for the reports [default: reports/out/<scenario name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (0: one per core). Never changes the report.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
        threads: u16,
        /// Also write every event, one JSON object per line, to this file.
        #[arg(long)]
        events: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate scenario files without running them.
    Check {
        /// One or more scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenarios } => check(&scenarios),
        Command::Run { scenario, seed, out, threads, events, quiet } => {
            let loaded = match load_file(&scenario, &Overrides { seed }) {
                Ok(s) => s,
                Err(diags) => return invalid(&diags),
            };
            match run(&loaded, out, threads as usize, events.as_deref(), quiet) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tell!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn invalid(diags: &[Diagnostic]) -> ExitCode {
    for d in diags {
        tell!("{d}");
    }
    let n = diags.len();
    tell!(
        "error: the scenario is not valid ({n} problem{}); nothing was run or written",
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(2)
}

fn check(paths: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for p in paths {
        match load_file(p, &Overrides::default()) {
            Ok(s) => {
                let w = &s.world;
                say!(
                    "{}: ok: scenario `{}`, seed {}, {} days from {}, {} users, {} segments, {} merchants, {} offers, {} schemes",
                    p.display(),
                    w.name,
                    w.seed,
                    w.days,
                    w.calendar.start_date(),
                    w.users,
                    w.segments.len(),
                    w.merchants.len(),
                    w.offers.len(),
                    w.schemes.len()
                );
            }
            Err(diags) => {
                for d in &diags {
                    tell!("{d}");
                }
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(s: &Scenario, out: Option<PathBuf>, threads: usize, events: Option<&Path>, quiet: bool) -> Result<()> {
    let w = &s.world;
    let dir = out.unwrap_or_else(|| Path::new("reports").join("out").join(&w.name));
    let existed = dir.exists();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    // The event log may live in the output directory; if it cannot be created, the directory
    // this run made is removed again, so a failed run leaves nothing behind.
    let mut log = match events.map(JsonlLog::create).transpose() {
        Ok(log) => log,
        Err(e) => {
            if !existed {
                let _ = std::fs::remove_dir(&dir);
            }
            return Err(e);
        }
    };
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
    let report = offersim_reports::build(w, &outcome);
    let lines = log.map(|l| l.finish()).transpose()?;
    write_atomic(&dir.join("report.json"), &offersim_reports::json_text(&report))?;
    write_atomic(&dir.join("report.md"), &offersim_reports::markdown(&report))?;
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
    say!("reports: {}, {}", dir.join("report.json").display(), dir.join("report.md").display());
    if let (Some(n), Some(p)) = (lines, events) {
        say!("events: {} ({n} lines)", p.display());
    }
    let secs = elapsed.as_secs_f64();
    tell!(
        "ran in {secs:.2} s: {} events, {} events/s",
        count(outcome.events_processed),
        count((outcome.events_processed as f64 / secs.max(1e-9)) as u64)
    );
    Ok(())
}
