//! `offersim serve` (the reference offers service on a loopback port) and `offersim drive` (the
//! scenario against a service over HTTP, with the differential oracle and a latency table).

use super::exit::Exit;
use crate::invalid;
use anyhow::{anyhow, Context, Result};
use offersim::output::write_atomic;
use offersim::{load_file, Overrides};
use offersim_live::drive::pace::Pace;
use offersim_live::drive::parts::{self, DrivePart, Identity};
use offersim_live::drive::report::{parse_condition, DriveReport};
use offersim_live::drive::{self, plan, target_base, Options, Progress, Wire};
use offersim_live::serve::Limits;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}

#[derive(clap::Args)]
pub struct ServeOptions {
    /// The port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Users the service holds at most (more are refused with 422).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=50_000_000))]
    pub max_users: u32,
    /// Distinct transaction ids the service holds at most (more are refused with 422).
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_TRANSACTIONS,
          value_parser = clap::value_parser!(u32).range(1..=200_000_000))]
    pub max_transactions: u32,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers (and the most a kept-alive connection
    /// stays idle).
    #[arg(long, default_value_t = Limits::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub header_timeout_seconds: u64,
    /// Seconds from a request's headers to its answer, body included.
    #[arg(long, default_value_t = Limits::DEFAULT_REQUEST_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub request_timeout_seconds: u64,
}

pub fn serve(o: &ServeOptions) -> Result<Exit> {
    let limits = Limits {
        max_users: o.max_users,
        max_transactions: o.max_transactions,
        max_connections: o.max_connections as usize,
        header_timeout: Duration::from_secs(o.header_timeout_seconds),
        request_timeout: Duration::from_secs(o.request_timeout_seconds),
    };
    let (port, max_users) = (o.port, o.max_users);
    let rt = runtime().context("cannot start the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        say!("offersim serve: listening on http://{addr} (up to {max_users} users); Ctrl-C stops it");
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        offersim_live::serve::serve(listener, limits, stop).await.map_err(|e| anyhow!("{e}"))?;
        Ok(Exit::Ok)
    })
}

#[derive(clap::Args)]
pub struct DriveOptions {
    /// The service, on a loopback address: http://127.0.0.1:PORT (any http(s) root with
    /// --allow-remote).
    #[arg(long)]
    pub target: String,
    /// Accept a target off this machine (http:// or https://). Without it, traffic goes to
    /// loopback addresses only.
    #[arg(long)]
    pub allow_remote: bool,
    /// Pace by the scenario's timeline, compressed: `3600x` is a simulated hour per second
    /// [default: 3600x].
    #[arg(long)]
    pub speed: Option<String>,
    /// Pace at a fixed arrival rate instead (`500/s`), or a linear ramp (`100..2000/s`).
    #[arg(long)]
    pub rate: Option<String>,
    /// Connections (lanes, one request in flight each; one person's requests share a lane).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub connections: u16,
    /// Timeout of one attempt, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub timeout_ms: u64,
    /// Retries of an idempotent call (offers, network messages, credits) on 5xx, timeout or
    /// refused connection, with exponential backoff.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
    /// Stop sending after this many seconds (the report then says incomplete).
    #[arg(long, default_value_t = 3_600)]
    pub max_seconds: u64,
    /// A condition on the drive, e.g. `p99_latency < 10ms`, `errors == 0`,
    /// `achieved_rate >= 5000`; on one endpoint with k6's tag, `p99_latency{endpoint=enrollments}
    /// < 20ms` (cards, card_deletions, enrollments, network_messages). `discrepancies == 0`
    /// always applies unless given otherwise.
    #[arg(long = "threshold", value_name = "CONDITION")]
    pub thresholds: Vec<String>,
    /// Stop the drive as soon as a threshold can no longer pass (exit 3, the reports written,
    /// the credits not judged).
    #[arg(long, conflicts_with_all = ["part", "collect"])]
    pub abort_on_fail: bool,
    /// Only this user's traffic (repeatable): replays one person's story against a fresh
    /// service.
    #[arg(long = "user", value_name = "N")]
    pub users: Vec<u32>,
    // drive.json and drive.md.
    #[command(flatten)]
    pub out: super::OutDir,
    /// Replace the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub threads: super::Threads,
    #[command(flatten)]
    pub quiet: super::Quiet,
    /// Play only part K of N of the people (a person's requests stay in one driver, in order),
    /// each request when the whole drive's pace sends it, so N parts together make the pace;
    /// writes drive-part.json (no credits read, no verdict) for `--collect`.
    #[arg(long, value_name = "K/N", conflicts_with = "collect")]
    pub part: Option<offersim::parts::PartSpec>,
    /// Add up the parts in these directories (latency histograms merged exactly), then read the
    /// target's credits once and judge them: drive.json and drive.md as one driver writes them.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub collect: Vec<std::path::PathBuf>,
    /// Also write the thresholds (the oracle's verdict among them) as JUnit XML here.
    #[arg(long, value_name = "FILE", conflicts_with = "part")]
    pub junit: Option<std::path::PathBuf>,
}

pub fn drive(path: &Path, o: &DriveOptions) -> Result<Exit> {
    // Invalid input: told, and nothing is run or written.
    let fail = |msg: String| {
        tell!("error: {msg}");
        Ok(Exit::Invalid)
    };
    let s = match load_file(path, &Overrides { seed: o.seed }) {
        Ok(s) => s,
        Err(diags) => return Ok(invalid(&diags)),
    };
    if let Err(e) = target_base(&o.target, o.allow_remote) {
        return fail(e.to_string());
    }
    let pace = match (&o.speed, &o.rate) {
        (Some(_), Some(_)) => return fail("--speed and --rate are two ways to pace: give one".into()),
        (_, Some(r)) => Pace::parse_rate(r),
        (Some(x), None) => Pace::parse_speed(x),
        (None, None) => Pace::parse_speed("3600x"),
    };
    let pace = match pace {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut conditions = Vec::new();
    for t in &o.thresholds {
        match parse_condition(t) {
            Ok(c) => conditions.push(c),
            Err(e) => return fail(format!("--threshold {e}")),
        }
    }
    if !conditions.iter().any(|c| c.metric == "discrepancies") {
        conditions.insert(0, parse_condition("discrepancies == 0").expect("a valid built-in condition"));
    }
    let w = &s.world;
    if let Some(u) = o.users.iter().find(|&&u| u as u64 >= w.users) {
        return fail(format!("--user {u}: the scenario has users 0 to {}", w.users - 1));
    }
    let users = (!o.users.is_empty()).then(|| o.users.iter().copied().collect::<BTreeSet<u32>>());
    tell!("reference run of {} (seed {})...", w.name, w.seed);
    let plan = plan::plan(w, &s.network, o.threads.get(), users).map_err(|e| anyhow!("{e}"))?;
    tell!(
        "{} requests planned, {} credits expected; pace: {}",
        plan.steps.len(),
        plan.reference.len(),
        pace.describe()
    );
    let opts = Options {
        target: o.target.clone(),
        allow_remote: o.allow_remote,
        pace,
        connections: o.connections as usize,
        timeout: Duration::from_millis(o.timeout_ms),
        retries: o.retries,
        max_duration: Duration::from_secs(o.max_seconds),
        part: o.part.map(|p| (p.k, p.n)),
        abort: o.abort_on_fail.then(|| conditions.clone()),
    };
    let identity = Identity {
        offersim: env!("CARGO_PKG_VERSION").into(),
        scenario: w.name.clone(),
        scenario_sha256: offersim::parts::sha256_hex(&s.text),
        seed: w.seed,
        target: o.target.clone(),
        pace: opts.pace.describe(),
        users: (!o.users.is_empty()).then(|| o.users.clone()),
        parts: o.part.map_or_else(|| o.collect.len() as u32, |p| p.n),
    };
    // The parts to add up, read before anything is sent.
    let mut pace_shown = opts.pace.describe();
    let collected = if o.collect.is_empty() {
        None
    } else {
        match read_parts(&o.collect, &identity) {
            Ok((t, pace)) => {
                pace_shown = pace;
                Some(t)
            }
            Err(e) => return fail(format!("{e}; nothing was read from the target or written")),
        }
    };
    let wire = Arc::new(Wire::new(Arc::new(s.world.clone())));
    let plan = Arc::new(plan);
    let progress = Arc::new(Progress::default());
    let rt = runtime().context("cannot start the runtime")?;
    let show = !o.quiet.on && std::io::stderr().is_terminal();
    if let Some(part) = o.part {
        let traffic = rt.block_on(ticking(
            show,
            &progress,
            &wire,
            drive::traffic(wire.clone(), plan.clone(), &opts, progress.clone()),
        ));
        let traffic = traffic.map_err(|e| anyhow!("{e}"))?;
        let dir = o.out.dir.clone().unwrap_or_else(|| {
            Path::new("reports").join("out").join("drive").join(&w.name).join(format!("part-{}-of-{}", part.k, part.n))
        });
        let file = DrivePart::new(identity, part.k, opts.connections, &traffic);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_atomic(&dir.join(parts::FILE), &serde_json::to_string(&file)?)?;
        say!(
            "drive part {part}: {} of {} planned requests sent in {:.1} s; {}",
            traffic.sent,
            traffic.planned,
            traffic.wall_seconds,
            dir.join(parts::FILE).display()
        );
        return Ok(Exit::Ok);
    }
    let measured = rt.block_on(async {
        match collected {
            Some(t) => drive::judge(&wire, &plan, &opts, t).await,
            None => {
                ticking(show, &progress, &wire, drive::drive(wire.clone(), plan.clone(), &opts, progress.clone())).await
            }
        }
    });
    let measured = measured.map_err(|e| anyhow!("{e}"))?;
    let mut replay = format!("offersim drive {} --target {}", path.display(), o.target);
    match (&o.speed, &o.rate) {
        (_, Some(r)) => replay.push_str(&format!(" --rate {r}")),
        (Some(x), None) => replay.push_str(&format!(" --speed {x}")),
        _ => {}
    }
    if o.seed.is_some() {
        replay.push_str(&format!(" --seed {}", w.seed));
    }
    for u in &o.users {
        replay.push_str(&format!(" --user {u}"));
    }
    let report = DriveReport::new(
        measured,
        &w.name,
        &path.display().to_string(),
        w.seed,
        &o.target,
        pace_shown,
        opts.connections,
        replay,
        &conditions,
    );
    let dir = o.out.dir.clone().unwrap_or_else(|| Path::new("reports").join("out").join("drive").join(&w.name));
    let md = report.markdown();
    let written = std::fs::create_dir_all(&dir)
        .map_err(anyhow::Error::from)
        .and_then(|_| {
            let json = serde_json::to_string_pretty(&report)?;
            write_atomic(&dir.join("drive.json"), &(json + "\n"))
        })
        .and_then(|_| write_atomic(&dir.join("drive.md"), &md))
        .and_then(|_| write_atomic(&dir.join("timeline.csv"), &report.timeline_csv()))
        .and_then(|_| write_atomic(&dir.join("drive.html"), &offersim_live::drive::html::render(&report)));
    written.with_context(|| format!("cannot write the drive report in {}", dir.display()))?;
    if let Some(path) = &o.junit {
        use offersim::junit::Case;
        let mut cases: Vec<Case> = report
            .thresholds
            .iter()
            .map(|t| match (t.passed, &t.not_judged) {
                (true, _) => Case::passed(&t.condition, &w.name),
                (false, Some(why)) => Case::failed(
                    &t.condition,
                    &w.name,
                    format!("not judged: {why}"),
                    format!("replay: {}", report.replay),
                ),
                (false, None) => Case::failed(
                    &t.condition,
                    &w.name,
                    format!("actual {}", t.actual),
                    format!("replay: {}", report.replay),
                ),
            })
            .collect();
        cases.push(match (report.traffic.complete, &report.aborted) {
            (true, _) => Case::passed("every planned request sent", &w.name),
            (false, Some(a)) => Case::failed(
                "every planned request sent",
                &w.name,
                format!("the drive was aborted at t={} s: {} can no longer pass", a.at_s, a.condition),
                report.replay.clone(),
            ),
            (false, None) => Case::failed(
                "every planned request sent",
                &w.name,
                "the drive stopped early (--max-seconds)",
                report.replay.clone(),
            ),
        });
        write_atomic(path, &offersim::junit::render(&format!("drive {}", w.name), &cases))?;
    }
    say!("{md}");
    say!(
        "reports: {}, {}, {}, {}",
        dir.join("drive.json").display(),
        dir.join("drive.md").display(),
        dir.join("drive.html").display(),
        dir.join("timeline.csv").display()
    );
    if let Some(a) = &report.aborted {
        tell!("aborted at t={} s: {} can no longer pass ({})", a.at_s, a.condition, a.why);
    }
    for t in report.thresholds.iter().filter(|t| !t.passed) {
        match &t.not_judged {
            Some(why) => tell!("threshold not judged: {} ({why})", t.condition),
            None => tell!("threshold failed: {} (actual {})", t.condition, t.actual),
        }
    }
    if report.passed() {
        Ok(Exit::Ok)
    } else {
        tell!("replay: {}", report.replay);
        Ok(Exit::Threshold)
    }
}

/// Reads the drive parts in `dirs` and adds them up, if they are every part of the drive that
/// `identity` describes.
/// The pace is the parts' own (the collecting command need not repeat it); returns it too.
fn read_parts(
    dirs: &[std::path::PathBuf],
    identity: &Identity,
) -> std::result::Result<(drive::Traffic, String), String> {
    let mut read = Vec::with_capacity(dirs.len());
    let mut names = Vec::with_capacity(dirs.len());
    for d in dirs {
        let path = d.join(parts::FILE);
        let bytes = offersim::output::read_bounded(&path, MAX_DRIVE_PART_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        read.push(DrivePart::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?);
        names.push(d.display().to_string());
    }
    // The number of parts and the pace are the parts' own: a missing part is named as missing.
    let mut identity = identity.clone();
    if let Some(first) = read.first() {
        identity.parts = first.identity.parts;
        identity.pace.clone_from(&first.identity.pace);
    }
    Ok((parts::merge(&identity, &names, &read)?, identity.pace))
}

/// The largest drive-part.json read: four histograms of at most ~30,000 buckets each, and the
/// timeline (a few KB a second with its histograms: a day's drive fits).
const MAX_DRIVE_PART_BYTES: u64 = 512 << 20;

/// Runs `work` with the progress line shown (when `show`), and takes the line down after.
async fn ticking<T>(
    show: bool,
    progress: &Arc<Progress>,
    wire: &Arc<Wire>,
    work: impl std::future::Future<Output = T>,
) -> T {
    let ticker = show.then(|| tokio::spawn(tick(progress.clone(), wire.clone())));
    let out = work.await;
    if let Some(t) = ticker {
        t.abort();
        let _ = t.await;
    }
    out
}

/// The progress line: requests answered, errors, rate, simulated time (stderr, terminals only).
async fn tick(p: Arc<Progress>, wire: Arc<Wire>) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("drive [{bar:24}] {human_pos}/{human_len} eta {eta} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    let started = std::time::Instant::now();
    // Bounded: the drive aborts this task when it ends; at most one tick per 200 ms until then.
    loop {
        bar.set_length(p.total.load(Relaxed));
        let answered = p.answered.load(Relaxed);
        bar.set_position(answered);
        let rate = answered as f64 / started.elapsed().as_secs_f64().max(1e-3);
        let sim = wire.world.calendar.format(offersim_sim::SimTime(p.sim_time.load(Relaxed)));
        bar.set_message(format!("{rate:.0}/s, {} errors, sim {}", p.errors.load(Relaxed), &sim[..16.min(sim.len())]));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
