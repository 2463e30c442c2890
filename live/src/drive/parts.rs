//! Load from several drivers (`offersim drive --part K/N`, then `--collect`): each part plays
//! its share of the people and writes what it measured — every endpoint's latency histogram as
//! its recorded (value, count) pairs, which rebuild it exactly, and its counts. `merge` checks
//! the parts are every part of one drive, once, and adds them up: histograms merged bucket by
//! bucket (HdrHistogram `add`, never an average of percentiles), counts summed, the longest
//! part's wall time. The credits are then read and judged once, over everything. Their
//! timelines merge second by second (`Timeline::merge`: counts added, each second's histograms
//! added), each part's seconds counted from its own start.

use super::latency::{Endpoint, ENDPOINTS};
use super::timeline::Timeline;
use super::Traffic;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "offersim-drive-part";
pub const VERSION: u32 = 1;
/// The file a part writes in its output directory.
pub const FILE: &str = "drive-part.json";

/// What a part must share with the others to be merged with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub offersim: String,
    pub scenario: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub target: String,
    pub pace: String,
    pub users: Option<Vec<u32>>,
    pub parts: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DrivePart {
    pub format: String,
    pub version: u32,
    #[serde(flatten)]
    pub identity: Identity,
    pub part: u32,
    pub connections: usize,
    pub setup: (usize, usize),
    pub sent: u64,
    pub planned: u64,
    pub wall_seconds: f64,
    pub complete: bool,
    pub endpoints: Vec<Counts>,
    /// Each second's figures, with its histograms (empty in a part from before timelines).
    #[serde(default)]
    pub timeline: Timeline,
}

/// One endpoint of one part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counts {
    pub endpoint: String,
    /// Latency in microseconds: (value, count) for every recorded bucket.
    pub latency_us: Vec<(u64, u64)>,
    pub errors: u64,
    pub timeouts: u64,
    pub failed: u64,
    pub retries: u64,
    pub skipped: u64,
    pub dropped: u64,
}

impl Counts {
    fn of(name: &str, e: &Endpoint) -> Counts {
        Counts {
            endpoint: name.to_string(),
            latency_us: e.hist.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect(),
            errors: e.errors,
            timeouts: e.timeouts,
            failed: e.failed,
            retries: e.retries,
            skipped: e.skipped,
            dropped: e.dropped,
        }
    }

    fn endpoint(&self) -> Result<Endpoint, String> {
        let mut e = Endpoint::new();
        for &(v, n) in &self.latency_us {
            e.hist.record_n(v, n).map_err(|err| format!("{}: latency {v} µs × {n}: {err:?}", self.endpoint))?;
        }
        let Counts { errors, timeouts, failed, retries, skipped, dropped, .. } = *self;
        (e.errors, e.timeouts, e.failed, e.retries, e.skipped, e.dropped) =
            (errors, timeouts, failed, retries, skipped, dropped);
        Ok(e)
    }
}

impl DrivePart {
    pub fn new(identity: Identity, part: u32, connections: usize, t: &Traffic) -> DrivePart {
        DrivePart {
            format: FORMAT.into(),
            version: VERSION,
            identity,
            part,
            connections,
            setup: t.setup,
            sent: t.sent,
            planned: t.planned,
            wall_seconds: t.wall_seconds,
            complete: t.complete,
            endpoints: ENDPOINTS.iter().zip(&t.per).map(|(name, e)| Counts::of(name, e)).collect(),
            timeline: t.timeline.clone(),
        }
    }

    /// Reads a part from its JSON, refusing another format or version.
    pub fn parse(bytes: &[u8]) -> Result<DrivePart, String> {
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let h: Header = serde_json::from_slice(bytes).map_err(|e| format!("not a drive part: {e}"))?;
        if h.format != FORMAT || h.version != VERSION {
            return Err(format!(
                "a `{}` version {} (this offersim reads `{FORMAT}` version {VERSION})",
                h.format, h.version
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("not a drive part: {e}"))
    }
}

/// Adds up the parts (named by `names` in messages) of one drive, which `identity` describes:
/// every part 1..=N once, each of the same drive.
pub fn merge(identity: &Identity, names: &[String], parts: &[DrivePart]) -> Result<Traffic, String> {
    let n = identity.parts;
    let mut seen: Vec<Option<&str>> = vec![None; n as usize];
    for (name, p) in names.iter().zip(parts) {
        if p.identity != *identity {
            return Err(format!("{name} is not a part of this drive: {}", differs(&p.identity, identity)));
        }
        if p.part == 0 || p.part > n {
            return Err(format!("{name} is part {} of {n}", p.part));
        }
        if let Some(other) = seen[(p.part - 1) as usize].replace(name) {
            return Err(format!("{other} and {name} are both part {}/{n}", p.part));
        }
        if p.endpoints.len() != ENDPOINTS.len() {
            return Err(format!("{name} has {} endpoints, not {}", p.endpoints.len(), ENDPOINTS.len()));
        }
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(k, _)| format!("{}/{n}", k + 1)).collect();
    if !missing.is_empty() {
        return Err(format!("parts missing: {}", missing.join(", ")));
    }
    let mut per: Vec<Endpoint> = ENDPOINTS.iter().map(|_| Endpoint::new()).collect();
    let timeline = Timeline::merge(&parts.iter().map(|p| &p.timeline).collect::<Vec<_>>())?;
    let mut t = Traffic {
        setup: (0, 0),
        per: Vec::new(),
        sent: 0,
        planned: 0,
        wall_seconds: 0.0,
        complete: true,
        timeline,
        aborted: None,
    };
    for p in parts {
        for (sum, c) in per.iter_mut().zip(&p.endpoints) {
            sum.add(&c.endpoint()?);
        }
        t.setup = t.setup.max(p.setup);
        t.sent += p.sent;
        t.planned += p.planned;
        t.wall_seconds = t.wall_seconds.max(p.wall_seconds);
        t.complete &= p.complete;
    }
    t.per = per;
    Ok(t)
}

/// What differs between two identities, for a message.
fn differs(a: &Identity, b: &Identity) -> String {
    let mut d = Vec::new();
    if a.scenario_sha256 != b.scenario_sha256 {
        d.push(format!("the scenario ({} against {})", a.scenario, b.scenario));
    }
    if a.seed != b.seed {
        d.push(format!("the seed ({} against {})", a.seed, b.seed));
    }
    if a.target != b.target {
        d.push(format!("the target ({} against {})", a.target, b.target));
    }
    if a.pace != b.pace {
        d.push(format!("the pace ({} against {})", a.pace, b.pace));
    }
    if a.users != b.users {
        d.push("the --user selection".into());
    }
    if a.parts != b.parts {
        d.push(format!("the number of parts ({} against {})", a.parts, b.parts));
    }
    if a.offersim != b.offersim {
        d.push(format!("the offersim version ({} against {})", a.offersim, b.offersim));
    }
    d.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_rebuilt_from_its_pairs_is_the_same_and_parts_merge_exactly() {
        let mut a = Endpoint::new();
        let mut b = Endpoint::new();
        for i in 1..=5_000u64 {
            a.record(i * 37 % 100_003 + 1);
            b.record(i * i % 9_999_991 + 1);
        }
        a.errors = 3;
        let rebuilt = Counts::of("cards", &a).endpoint().unwrap();
        assert_eq!(rebuilt.hist, a.hist);
        assert_eq!(rebuilt.errors, 3);
        // Merging the rebuilt halves is merging the halves: percentiles of the whole, not
        // averages of the parts'.
        let mut whole = Endpoint::new();
        whole.add(&a);
        whole.add(&b);
        let mut merged = Counts::of("cards", &a).endpoint().unwrap();
        merged.add(&Counts::of("cards", &b).endpoint().unwrap());
        assert_eq!(merged.hist, whole.hist);
        for q in [0.5, 0.99, 0.999] {
            assert_eq!(merged.hist.value_at_quantile(q), whole.hist.value_at_quantile(q));
        }
    }
}
