//! A run cut into parts (`offersim run --part K/N`, `offersim merge`): each part runs the
//! scenario's shards that belong to it and writes `part.json`, a self-describing partial outcome
//! (the scenario's text and SHA-256, the seed, the part and the shards' outcomes); `merge`
//! checks that the parts are of one run and cover every shard once, and adds them up in shard
//! order, as a one-process run does, so the reports are byte-identical.

use crate::scenario::{load_str, Diagnostic, Overrides};
use offersim_sim::harness::{self, Part};
use offersim_sim::outcome::Outcome;
use offersim_sim::people::sharing::ShareStats;
use offersim_sim::world::World;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What `part.json` says it is.
pub const FORMAT: &str = "offersim-part";
/// The version of its layout; parts of different versions are never merged.
pub const VERSION: u32 = 1;
/// The file a part writes in its output directory.
pub const FILE: &str = "part.json";
/// The largest `part.json` read (a shard's outcome holds every credit's delay: a national-scale
/// part is tens of MB).
pub const MAX_PART_BYTES: u64 = 4 << 30;
/// The most parts a run may be cut into (no more than its shards either).
pub const MAX_PARTS: u32 = 10_000;

/// `K/N`: part K (from 1) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpec {
    pub k: u32,
    pub n: u32,
}

impl std::str::FromStr for PartSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a part like 2/4 (part K of N, 1 <= K <= N <= {MAX_PARTS})");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || n == 0 || k > n || n > MAX_PARTS {
            return Err(bad());
        }
        Ok(PartSpec { k, n })
    }
}

impl std::fmt::Display for PartSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl PartSpec {
    /// The shards of part K of N of a run with `shards` shards: consecutive, as even as can be
    /// (`None` when there are more parts than shards).
    pub fn shards(self, shards: u32) -> Option<Range<u32>> {
        if self.n > shards {
            return None;
        }
        let at = |k: u32| (u64::from(k) * u64::from(shards) / u64::from(self.n)) as u32;
        Some(at(self.k - 1)..at(self.k))
    }
}

/// `part.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartFile {
    pub format: String,
    pub version: u32,
    /// The offersim version that wrote it.
    pub offersim: String,
    pub scenario: String,
    /// The scenario file's text, as run, and its SHA-256 (hex).
    pub scenario_sha256: String,
    pub scenario_text: String,
    /// The file it was read from, for messages.
    pub scenario_file: String,
    pub seed: u64,
    /// The scenario's shard count.
    pub shards: u32,
    pub part: u32,
    pub parts: u32,
    /// The shards this part ran, `first_shard..first_shard + outcomes.len()`.
    pub first_shard: u32,
    pub outcomes: Vec<Outcome>,
    /// The sharing cascades' reach, the whole run's (every part computes the same).
    pub sharing: Vec<ShareStats>,
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl PartFile {
    pub fn new(world: &World, file: &Path, text: &str, spec: PartSpec, first_shard: u32, part: Part) -> PartFile {
        PartFile {
            format: FORMAT.into(),
            version: VERSION,
            offersim: env!("CARGO_PKG_VERSION").into(),
            scenario: world.name.clone(),
            scenario_sha256: sha256_hex(text),
            scenario_text: text.into(),
            scenario_file: file.display().to_string(),
            seed: world.seed,
            shards: world.shards,
            part: spec.k,
            parts: spec.n,
            first_shard,
            outcomes: part.outcomes,
            sharing: part.sharing,
        }
    }
}

/// Why parts cannot be merged; each names the directories at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{dir}: cannot read {FILE}: {why}")]
    Unreadable { dir: PathBuf, why: String },
    #[error("{dir}: {FILE} is not an offersim part: {why}")]
    NotAPart { dir: PathBuf, why: String },
    #[error("{dir}: a part of format version {found} (this offersim reads version {VERSION}, written by {by})")]
    Version { dir: PathBuf, found: u32, by: String },
    #[error("{dir} is not of the same run as {first}: {what} differs ({theirs} against {ours})")]
    OtherRun { dir: PathBuf, first: PathBuf, what: &'static str, theirs: String, ours: String },
    #[error("{a} and {b} are both part {k}/{n}")]
    Duplicate { a: PathBuf, b: PathBuf, k: u32, n: u32 },
    #[error("parts missing: {missing} of {n} (have {have})")]
    Missing { missing: String, n: u32, have: String },
    #[error("{dir}: part {k}/{n} holds shards {got:?}, but part {k}/{n} of {shards} shards is {want:?}")]
    Shards { dir: PathBuf, k: u32, n: u32, shards: u32, got: Range<u32>, want: Range<u32> },
    #[error("{dir}: its scenario text no longer loads: {why}")]
    Scenario { dir: PathBuf, why: String },
}

/// Reads `DIR/part.json`.
pub fn read(dir: &Path) -> Result<PartFile, MergeError> {
    let bytes = crate::output::read_bounded(&dir.join(FILE), MAX_PART_BYTES)
        .map_err(|e| MergeError::Unreadable { dir: dir.into(), why: e.to_string() })?;
    // The header first, so that a part of another version says so instead of failing to parse.
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
        offersim: String,
    }
    let not_a_part = |why: String| MergeError::NotAPart { dir: dir.into(), why };
    let h: Header = serde_json::from_slice(&bytes).map_err(|e| not_a_part(e.to_string()))?;
    if h.format != FORMAT {
        return Err(not_a_part(format!("its format is `{}`", h.format)));
    }
    if h.version != VERSION {
        return Err(MergeError::Version { dir: dir.into(), found: h.version, by: h.offersim });
    }
    serde_json::from_slice(&bytes).map_err(|e| not_a_part(e.to_string()))
}

/// A merged run: the scenario (from the parts' text) and its outcome.
pub struct Merged {
    pub world: World,
    pub outcome: Outcome,
    pub scenario_file: String,
}

/// Checks that `parts` (read from `dirs`) are every part of one run, once, and adds them up.
pub fn merge(dirs: &[PathBuf], parts: Vec<PartFile>) -> Result<Merged, MergeError> {
    let (Some(first), Some(first_dir)) = (parts.first(), dirs.first()) else {
        return Err(MergeError::Missing { missing: "every part".into(), n: 0, have: "none".into() });
    };
    for (dir, p) in dirs.iter().zip(&parts).skip(1) {
        let differs = |what: &'static str, theirs: String, ours: String| MergeError::OtherRun {
            dir: dir.clone(),
            first: first_dir.clone(),
            what,
            theirs,
            ours,
        };
        if p.scenario_sha256 != first.scenario_sha256 {
            return Err(differs("the scenario (SHA-256)", short(&p.scenario_sha256), short(&first.scenario_sha256)));
        }
        if p.seed != first.seed {
            return Err(differs("the seed", p.seed.to_string(), first.seed.to_string()));
        }
        if p.parts != first.parts {
            return Err(differs("the number of parts", p.parts.to_string(), first.parts.to_string()));
        }
        if p.offersim != first.offersim {
            return Err(differs("the offersim version", p.offersim.clone(), first.offersim.clone()));
        }
    }
    let n = first.parts;
    let mut by_part: Vec<Option<usize>> = vec![None; n as usize];
    for (i, (dir, p)) in dirs.iter().zip(&parts).enumerate() {
        let spec = PartSpec { k: p.part, n };
        let want = spec.shards(p.shards).filter(|_| p.part >= 1 && p.part <= n);
        let got = p.first_shard..p.first_shard.saturating_add(p.outcomes.len() as u32);
        if want.as_ref() != Some(&got) || p.shards != first.shards {
            let want = want.unwrap_or(0..0);
            return Err(MergeError::Shards { dir: dir.clone(), k: p.part, n, shards: p.shards, got, want });
        }
        let slot = &mut by_part[(p.part - 1) as usize];
        if let Some(j) = *slot {
            return Err(MergeError::Duplicate { a: dirs[j].clone(), b: dir.clone(), k: p.part, n });
        }
        *slot = Some(i);
    }
    let missing: Vec<String> =
        by_part.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(k, _)| format!("{}/{n}", k + 1)).collect();
    if !missing.is_empty() {
        let have: Vec<String> = parts.iter().map(|p| format!("{}/{n}", p.part)).collect();
        return Err(MergeError::Missing { missing: missing.join(", "), n, have: have.join(", ") });
    }
    let loaded = load_str(&first.scenario_file, &first.scenario_text, &Overrides { seed: Some(first.seed) })
        .map_err(|d| MergeError::Scenario { dir: first_dir.clone(), why: diagnostics(&d) })?;
    if loaded.world.shards != first.shards {
        let why = format!("it has {} shards, the parts {}", loaded.world.shards, first.shards);
        return Err(MergeError::Scenario { dir: first_dir.clone(), why });
    }
    let scenario_file = first.scenario_file.clone();
    let mut parts: Vec<Option<PartFile>> = parts.into_iter().map(Some).collect();
    let mut outcomes = Vec::with_capacity(loaded.world.shards as usize);
    let mut sharing = Vec::new();
    for i in by_part.into_iter().flatten() {
        if let Some(p) = parts[i].take() {
            sharing = p.sharing;
            outcomes.extend(p.outcomes);
        }
    }
    let outcome = harness::merge(&loaded.world, outcomes, sharing);
    Ok(Merged { world: loaded.world, outcome, scenario_file })
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

fn diagnostics(d: &[Diagnostic]) -> String {
    d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_shard_once_in_consecutive_runs() {
        for shards in 1..=41u32 {
            for n in 1..=shards.min(9) {
                let ranges: Vec<Range<u32>> = (1..=n).map(|k| PartSpec { k, n }.shards(shards).unwrap()).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[n as usize - 1].end, shards);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                assert!(ranges.iter().all(|r| !r.is_empty()), "{shards} shards in {n} parts: {ranges:?}");
            }
        }
        assert_eq!(PartSpec { k: 1, n: 5 }.shards(4), None);
    }

    #[test]
    fn a_part_spec_is_k_of_n() {
        assert_eq!("2/4".parse(), Ok(PartSpec { k: 2, n: 4 }));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "1/10001", "-1/4"] {
            assert!(bad.parse::<PartSpec>().is_err(), "{bad}");
        }
    }
}
