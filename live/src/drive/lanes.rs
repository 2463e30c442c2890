//! The traffic phase: the dispatcher releases each request when the pace says it is due into
//! the lane of its user; each lane sends one request at a time. What they measure (latency per
//! endpoint, the timeline) is shared under one lock; a watcher closes the timeline's seconds as
//! they pass and, with `--abort-on-fail`, stops the drive at a threshold that can no longer pass.

use super::abort::{Aborted, Watch};
use super::latency::{Endpoint, ENDPOINTS};
use super::timeline::{self, Outcome, Recorder};
use super::*;

/// What the lanes measure: one set per endpoint and the timeline. A lane holds it only to
/// record one request, so memory does not grow with `--connections` (a full-range histogram
/// set is about 750 KB; one per lane made 4,096 connections take 3 GB).
pub(super) struct Shared {
    pub per: Vec<Endpoint>,
    pub timeline: Recorder,
}

type Stats = Arc<std::sync::Mutex<Shared>>;

fn stats_of(s: &Stats) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The endpoint a call is sent to (index in `ENDPOINTS`).
fn endpoint_of(call: &Call) -> usize {
    match call {
        Call::Card { .. } => 0,
        Call::Delete { .. } => 1,
        Call::Enroll { .. } => 2,
        Call::Message { .. } => 3,
    }
}

/// A request that depends on one that failed: skipped, or dropped if the drive has stopped
/// sending (then what it depended on was dropped: it is not the service's doing).
fn unplayable(stats: &Stats, client: &Client, endpoint: usize) {
    let e = &mut stats_of(stats).per[endpoint];
    match client.halted() {
        true => e.dropped += 1,
        false => e.skipped += 1,
    }
}

/// One lane: its users' requests, in order, one at a time.
async fn lane(
    mut rx: mpsc::Receiver<(Instant, usize)>,
    plan: Arc<Plan>,
    wire: Arc<Wire>,
    client: Arc<Client>,
    progress: Arc<Progress>,
    stats: Stats,
) {
    // The reference's card tokens → the target's.
    let mut tokens: BTreeMap<u64, String> = BTreeMap::new();
    while let Some((due, i)) = rx.recv().await {
        let step = plan.steps[i];
        let time = wire.time(step.at);
        let token_of = |t: Token, tokens: &BTreeMap<u64, String>| tokens.get(&t.0).cloned();
        let endpoint = endpoint_of(&step.call);
        let (method, path, body, idempotent) = match step.call {
            Call::Card { slot, .. } => {
                let body = serde_json::to_vec(&CardBody { card: wire.card(step.user, slot) });
                (reqwest::Method::POST, format!("/v1/users/{}/cards", user_id(step.user)), body.ok(), false)
            }
            Call::Delete { token } => match token_of(token, &tokens) {
                Some(t) => (reqwest::Method::DELETE, format!("/v1/cards/{t}"), None, false),
                None => {
                    unplayable(&stats, &client, endpoint);
                    continue;
                }
            },
            Call::Enroll { token, offer } => match token_of(token, &tokens) {
                Some(t) => {
                    let offer = wire.world.offers[offer.0 as usize].id.clone();
                    let body = serde_json::to_vec(&EnrollmentBody { token: t, offer });
                    (reqwest::Method::POST, "/v1/enrollments".to_string(), body.ok(), false)
                }
                None => {
                    unplayable(&stats, &client, endpoint);
                    continue;
                }
            },
            Call::Message { m, facts } => {
                let body = serde_json::to_vec(&wire.message(&m, &facts));
                (reqwest::Method::POST, "/v1/network/messages".to_string(), body.ok(), true)
            }
        };
        progress.sim_time.fetch_max(step.at.0, Relaxed);
        progress.sent.fetch_add(1, Relaxed);
        let sent_at = Instant::now();
        stats_of(&stats).timeline.sent(sent_at);
        let (answer, retries) = client.send(method, &path, Some(&time), body, idempotent, MAX_ANSWER_BYTES).await;
        let latency = due.elapsed().as_micros() as u64;
        let mut all = stats_of(&stats);
        if let Answer::Expired = answer {
            all.per[endpoint].dropped += 1;
            all.timeline.dropped(Instant::now());
            continue;
        }
        progress.answered.fetch_add(1, Relaxed);
        let outcome = match &answer {
            Answer::Status(s, b) if (200..300).contains(s) => match step.call {
                Call::Card { token, .. } => match serde_json::from_slice::<TokenAnswer>(b) {
                    Ok(t) => {
                        tokens.insert(token.0, t.token);
                        Outcome::Ok
                    }
                    Err(_) => Outcome::Other,
                },
                _ => Outcome::Ok,
            },
            Answer::Status(s, _) if (400..500).contains(s) => Outcome::Http4xx,
            Answer::Status(..) => Outcome::Http5xx,
            Answer::Timeout => Outcome::Timeout,
            Answer::TooLarge(_) | Answer::Unreachable(_) | Answer::Failed(_) | Answer::Expired => Outcome::Other,
        };
        all.timeline.answered(Instant::now(), sent_at, endpoint, latency, outcome, retries as u64);
        let e = &mut all.per[endpoint];
        e.retries += retries as u64;
        e.record(latency);
        let failed = match answer {
            _ if outcome == Outcome::Ok => None,
            Answer::Timeout => Some(&mut e.timeouts),
            Answer::Unreachable(_) | Answer::Failed(_) => Some(&mut e.failed),
            _ => Some(&mut e.errors),
        };
        if let Some(count) = failed {
            *count += 1;
            progress.errors.fetch_add(1, Relaxed);
        }
    }
}

/// How often the watcher closes the timeline's seconds and checks the thresholds.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// Setup, then the plan's requests (this driver's part of them) at their pace.
pub async fn traffic(
    wire: Arc<Wire>,
    plan: Arc<Plan>,
    opts: &Options,
    progress: Arc<Progress>,
) -> Result<Traffic, DriveError> {
    let setup_client = patient_client(opts)?;
    let setup = setup(&setup_client, &wire).await?;
    // The traffic phase is bounded by `max_duration` from its start.
    let start = Instant::now();
    let deadline = start.checked_add(opts.max_duration).unwrap_or(start + Duration::from_secs(365 * 86_400));
    // The same connection pool as setup's (a clone shares it), as before traffic was split out.
    let client = Arc::new(Client {
        http: setup_client.http.clone(),
        base: setup_client.base.clone(),
        timeout: opts.timeout,
        retries: opts.retries,
        deadline,
        stopped: Default::default(),
    });
    let n = plan.steps.len();
    let first = plan.steps.first().map_or(offersim_sim::SimTime::ZERO, |s| s.at);
    let mine: Vec<usize> = (0..n).filter(|&i| opts.plays(plan.steps[i].user)).collect();
    progress.total.store(mine.len() as u64, Relaxed);
    let mut planned = vec![0u64; ENDPOINTS.len()];
    for &i in &mine {
        planned[endpoint_of(&plan.steps[i].call)] += 1;
    }
    let due = mine.iter().map(|&i| opts.pace.offset(i, n, plan.steps[i].at, first));
    let recorder = Recorder::new(start, timeline::step_for(opts.max_duration), due, opts.part.is_some());
    let stats: Stats = Arc::new(std::sync::Mutex::new(Shared {
        per: ENDPOINTS.iter().map(|_| Endpoint::new()).collect(),
        timeline: recorder,
    }));
    let lanes = opts.connections.max(1);
    let mut senders = Vec::with_capacity(lanes);
    let mut tasks = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (tx, rx) = mpsc::channel(4_096);
        senders.push(tx);
        let stats = stats.clone();
        tasks.push(tokio::spawn(lane(rx, plan.clone(), wire.clone(), client.clone(), progress.clone(), stats)));
    }
    // The watcher: the timeline's seconds close as they pass; thresholds that can no longer
    // pass stop the drive (`abort`).
    let stop = Arc::new(tokio::sync::Notify::new());
    let watcher = {
        let watch = opts.abort.clone().map(|conditions| Watch { conditions, planned: planned.clone() });
        let (stats, client, stop) = (stats.clone(), client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_EVERY);
            loop {
                tick.tick().await;
                let mut s = stats_of(&stats);
                s.timeline.advance(Instant::now());
                let found = watch.as_ref().and_then(|w| w.check(&s.per, start.elapsed().as_secs_f64()));
                if let Some(a) = found {
                    client.stopped.store(true, Relaxed);
                    stop.notify_one();
                    return Some(a);
                }
            }
        })
    };
    let mut dispatched = 0u64;
    let mut complete = true;
    for &i in &mine {
        let step = &plan.steps[i];
        // Due when the whole plan's pace says: a part sends its share at the whole's times.
        let due = start.checked_add(opts.pace.offset(i, n, step.at, first)).unwrap_or(deadline);
        if due >= deadline || Instant::now() >= deadline || client.stopped.load(Relaxed) {
            complete = false;
            break;
        }
        if due > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = stop.notified() => {
                    complete = false;
                    break;
                }
            }
        }
        let lane = step.user as usize % lanes;
        if senders[lane].send((due, i)).await.is_err() {
            complete = false;
            break;
        }
        dispatched += 1;
    }
    drop(senders);
    for t in tasks {
        let _ = t.await;
    }
    let end = Instant::now();
    // Only the watcher stops the drive, and it returns right after: wait for its finding (asking
    // whether the task has finished could miss it, as it may not have returned yet). Still
    // watching: the drive ran to its end, and the thresholds are judged there.
    let aborted: Option<Aborted> = if client.stopped.load(Relaxed) {
        watcher.await.ok().flatten()
    } else {
        watcher.abort();
        None
    };
    let shared = std::mem::replace(
        &mut *stats_of(&stats),
        Shared { per: Vec::new(), timeline: Recorder::new(start, 1, std::iter::empty(), false) },
    );
    let wall_seconds = start.elapsed().as_secs_f64();
    let dropped: u64 = shared.per.iter().map(|e| e.dropped).sum();
    // Requests queued when the time limit passed (or the drive stopped) were never sent.
    Ok(Traffic {
        setup,
        per: shared.per,
        sent: dispatched - dropped,
        planned: mine.len() as u64,
        wall_seconds,
        complete: complete && dropped == 0 && aborted.is_none(),
        timeline: shared.timeline.finish(end),
        aborted,
    })
}
