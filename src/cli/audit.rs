//! `offersim audit <scenario> <events.jsonl>`: a run's event log checked from the outside by
//! `offersim-audit` (a crate that shares no code with the engine), against the scenario's terms
//! and, with `--report`, against the run's report.json ledger.

use crate::cli::exit::Exit;
use anyhow::{Context, Result};
use offersim::{load_file, Overrides};
use offersim_audit::{Findings, Ledger, Limits};
use offersim_reports::numbers::count;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct AuditOptions {
    /// The scenario the log was written from (TOML).
    pub scenario: PathBuf,
    /// The event log (`offersim run --events`); `-` reads standard input.
    pub events: PathBuf,
    /// Also check the books the log adds up to against this report.json's `ledger`.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Violations described in full (the rest are counted by check).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub show: u32,
    #[command(flatten)]
    pub quiet: super::Quiet,
}

/// The largest report.json read for `--report`.
const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Cents as `$12.34`, `-$5.00`.
fn dollars(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}${}", offersim_audit::dollars(c.abs()))
}

pub fn audit(o: &AuditOptions) -> Result<Exit> {
    let loaded = match load_file(&o.scenario, &Overrides::default()) {
        Ok(s) => s,
        Err(diags) => return Ok(crate::invalid(&diags)),
    };
    let terms = offersim::audit_terms(&loaded.world);
    let limits = Limits { keep_violations: o.show as usize, ..Limits::default() };
    let name = o.events.display().to_string();
    let input: Box<dyn BufRead> = if o.events.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = match std::fs::File::open(&o.events) {
            Ok(f) => f,
            Err(e) => {
                tell!("error: cannot read {name}: {e}");
                return Ok(Exit::Invalid);
            }
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let shown = !o.quiet.on && std::io::stderr().is_terminal();
        let target =
            if shown { indicatif::ProgressDrawTarget::stderr() } else { indicatif::ProgressDrawTarget::hidden() };
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), target);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("audit [{bar:24}] {binary_bytes}/{binary_total_bytes} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Box::new(BufReader::with_capacity(1 << 20, bar.wrap_read(file)))
    };
    let mut findings = match offersim_audit::audit(input, &terms, limits) {
        Ok(f) => f,
        Err(e) => {
            tell!("error: {name}: {e}; nothing was audited");
            return Ok(Exit::Invalid);
        }
    };
    if let Some(report) = &o.report {
        match report_ledger(report) {
            Ok(books) => compare(&findings.ledger.clone(), &books, &mut findings),
            Err(e) => {
                tell!("error: {e:#}");
                return Ok(Exit::Invalid);
            }
        }
    }
    summary(&name, &findings, o.report.as_deref());
    Ok(if findings.passed() { Exit::Ok } else { Exit::Failed })
}

/// The balances of report.json's `ledger`, in cents, named as the auditor names them.
fn report_ledger(path: &Path) -> Result<Vec<(&'static str, i64)>> {
    let bytes = offersim::output::read_bounded(path, MAX_REPORT_BYTES)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?;
    let field = |ptr: &str| -> Result<i64> {
        let f = v.pointer(ptr).with_context(|| format!("{} has no {ptr}: not a report.json", path.display()))?;
        match f {
            serde_json::Value::Number(n) => n.as_i64().context("not a count"),
            serde_json::Value::String(s) => {
                let d: rust_decimal::Decimal = s.parse().with_context(|| format!("{ptr} = {s:?} is not an amount"))?;
                (d * rust_decimal::Decimal::ONE_HUNDRED).try_into().with_context(|| format!("{ptr} = {s}"))
            }
            _ => anyhow::bail!("{} {ptr} is neither an amount nor a count", path.display()),
        }
    };
    NAMES.iter().map(|(name, ptr)| Ok((*name, field(ptr)?))).collect()
}

const NAMES: [(&str, &str); 9] = [
    ("merchant_funding", "/ledger/merchant_funding"),
    ("rewards_pending", "/ledger/rewards_pending"),
    ("rewards_confirmed", "/ledger/rewards_confirmed"),
    ("cardholder_credits", "/ledger/cardholder_credits"),
    ("platform_fees", "/ledger/platform_fees"),
    ("reversed.pending", "/ledger/reversed/pending"),
    ("reversed.confirmed", "/ledger/reversed/confirmed"),
    ("reversed.paid", "/ledger/reversed/paid"),
    ("reversed.clawbacks_from_cardholders", "/ledger/reversed/clawbacks_from_cardholders"),
];

fn balances(l: &Ledger) -> [i64; 9] {
    [
        l.merchant_funding,
        l.rewards_pending,
        l.rewards_confirmed,
        l.cardholder_credits,
        l.platform_fees,
        l.reversed_pending,
        l.reversed_confirmed,
        l.reversed_paid,
        l.clawbacks_from_cardholders as i64,
    ]
}

/// Each balance of the report that the log's books do not reproduce is a violation.
fn compare(books: &Ledger, report: &[(&'static str, i64)], findings: &mut Findings) {
    for ((name, reported), ours) in report.iter().zip(balances(books)) {
        if *reported != ours {
            let show = |c: i64| if name.ends_with("cardholders") { c.to_string() } else { dollars(c) };
            *findings.by_check.entry("ledger").or_default() += 1;
            findings.violations.push(offersim_audit::Violation {
                line: 0,
                check: "ledger",
                message: format!("the log's books give {name} = {}, the report says {}", show(ours), show(*reported)),
            });
        }
    }
}

fn summary(name: &str, f: &Findings, report: Option<&Path>) {
    let l = &f.ledger;
    say!(
        "audited {name}: {} lines, {} purchases, {} messages to the platform, {} rewards",
        count(f.lines),
        count(f.purchases),
        count(f.messages),
        count(f.rewards)
    );
    say!(
        "books: granted {} (fees {}); now pending {}, confirmed {}, paid to cards {}; taken back {} pending, {} confirmed, {} paid ({} debits on card accounts); platform fees {}; merchant funding {}",
        dollars(l.rewards_granted),
        dollars(l.fees_charged),
        dollars(l.rewards_pending),
        dollars(l.rewards_confirmed),
        dollars(l.cardholder_credits),
        dollars(l.reversed_pending),
        dollars(l.reversed_confirmed),
        dollars(l.reversed_paid),
        count(l.clawbacks_from_cardholders),
        dollars(l.platform_fees),
        dollars(l.merchant_funding),
    );
    if let (Some(r), false) = (report, f.by_check.contains_key("ledger")) {
        say!("the books match {}'s ledger ({} balances)", r.display(), NAMES.len());
    }
    if f.passed() {
        say!("passed: every check holds");
        return;
    }
    let by: Vec<String> = f.by_check.iter().map(|(c, n)| format!("{c} {}", count(*n))).collect();
    say!("FAILED: {} violations ({})", count(f.violation_count()), by.join(", "));
    for v in &f.violations {
        say!("  {v}");
    }
    if (f.violations.len() as u64) < f.violation_count() {
        say!("  … and {} more", count(f.violation_count() - f.violations.len() as u64));
    }
}
