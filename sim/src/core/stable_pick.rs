//! A weighted choice that stays put when categories are appended, in O(log categories) per draw.
//!
//! The rule: category k is kept with probability keep_k = w_k / (w_0 + … + w_k); the choice
//! for a key is the **largest** k whose test passes, the test being `U_k < keep_k` for a
//! uniform `U_k` that is a pure function of (key, k). The result has probability w_k / Σw (a
//! telescoping product). Appending a category adds one test at the top and changes nothing
//! else, so it moves exactly the keys the new category wins (`tests` below).
//!
//! Testing every category from the top is O(categories): 5,000 merchants cost ~10 µs per
//! purchase. To skip, the indices are grouped in fixed blocks — indices `0..DIRECT` one by one,
//! then block j = `[DIRECT·2^j, DIRECT·2^(j+1))` — and each block has a fixed threshold
//! p_j = `DENSITY / DIRECT·2^j` that depends on the block alone, never on the weights. Within a
//! block, which indices have `U_k < p_j` (the block's *candidates*) is drawn at once from the
//! key and the block: a binomial count, then that many distinct positions, each with
//! `U_k = p_j · v` for a uniform v. Every other index of the block has
//! `U_k = p_j + (1 − p_j) · hash(key, k)`. So each `U_k` is uniform, independent of the others,
//! and a function of (key, k) only. Since Zipf-like weights have keep_k well under p_j, a test
//! can only pass on a candidate (~`DENSITY` per block) or on the few *exceptions* (indices
//! whose keep exceeds their block's threshold, listed when the pick is built), which are tested
//! one by one. A draw costs ~`DENSITY` candidates per block, O(log categories) in all.

use crate::core::rng::{hash_u64, hash_unit};

/// Indices below this are tested one by one.
const DIRECT: usize = 4;
/// Expected candidates per block.
const DENSITY: f64 = 1.0;
/// Most candidates a block can draw (the binomial table ends well before).
const MAX_CANDIDATES: usize = 48;
/// Most blocks: up to `DIRECT << MAX_BLOCKS` categories.
const MAX_BLOCKS: usize = 40;

// A block's threshold is `DENSITY / lo` with `lo` a power of two: with `DENSITY` one, it is a
// power of two itself, so `u = p · v` and `keep · lo` are exact and the byte test in `pick`
// decides exactly what `u < keep` does.
const _: () = assert!(DENSITY == 1.0);

#[derive(Debug, Clone, Default)]
pub struct StablePick {
    keep: Vec<f64>,
    /// Per block: the indices whose keep exceeds the block's threshold, largest first, each with
    /// its test as a bound on the top 53 bits of its hash (`pass_bound`).
    exceptions: Vec<Vec<(u32, u64)>>,
    /// Per index: its keep in 256ths of its block's threshold, rounded down (255 for an
    /// exception). A candidate's test compares its uniform with this byte first and reads
    /// `keep` only when both fall in the same 256th: the bytes of every hour's pick fit in the
    /// L2 cache where the `f64`s did not (a miss per candidate at 5,000 merchants).
    keep_bytes: Vec<u8>,
}

/// The cumulative distribution of the candidate count of block j (the same for every pick:
/// it depends on the block alone), shared by all picks so that it stays in the L1 cache.
fn counts(j: usize) -> &'static [f64] {
    static COUNTS: std::sync::OnceLock<Vec<Vec<f64>>> = std::sync::OnceLock::new();
    &COUNTS.get_or_init(|| (0..MAX_BLOCKS).map(|j| binomial_cdf(DIRECT << j, threshold(DIRECT << j))).collect())[j]
}

/// The block of index `k >= DIRECT`, and the block's first index.
fn block_of(k: usize) -> (usize, usize) {
    let j = (usize::BITS - 1 - (k / DIRECT).leading_zeros()) as usize;
    (j, DIRECT << j)
}

fn threshold(lo: usize) -> f64 {
    DENSITY / lo as f64
}

/// How many of the 2⁵³ uniforms `m · 2⁻⁵³` (`hash_unit`'s) pass an exception's test
/// `p + (1 − p) · u < keep` in floating point: that expression never decreases in `u`, so the
/// passing ones are those below this bound, and `hash >> 11 < bound` decides exactly what the
/// test does, without a float.
fn pass_bound(p: f64, keep: f64) -> u64 {
    let passes = |m: u64| p + (1.0 - p) * (m as f64 * (1.0 / (1u64 << 53) as f64)) < keep;
    let (mut lo, mut hi) = (0u64, 1u64 << 53);
    // `passes` holds below `lo` and fails from `hi` (or `hi` is 2⁵³).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if passes(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Cumulative Binomial(n, p) probabilities, up to where they reach 1 in double precision.
fn binomial_cdf(n: usize, p: f64) -> Vec<f64> {
    let mut pmf = libm::pow(1.0 - p, n as f64);
    let mut cdf = vec![pmf];
    let ratio = p / (1.0 - p);
    let mut i = 0;
    while i < n && cdf[i] < 1.0 && cdf.len() < MAX_CANDIDATES {
        pmf *= (n - i) as f64 / (i + 1) as f64 * ratio;
        cdf.push(cdf[i] + pmf);
        i += 1;
    }
    cdf
}

/// The block's candidate count at the uniform `u`: the first index whose cumulative probability
/// exceeds `u`, at most the table's last index. Counts are small (about `DENSITY`): the first
/// eight entries are compared all at once (no branch to mispredict, one per block and draw
/// otherwise), the rare larger count scanned on from there.
#[inline]
fn candidate_count(cdf: &[f64], u: f64) -> usize {
    let last = cdf.len() - 1;
    let head = last.min(8);
    // `cdf` never decreases, so the entries at or under `u` are a prefix: counting them is
    // finding the first that exceeds it.
    let mut count = cdf[..head].iter().map(|&c| (c <= u) as usize).sum::<usize>();
    if count == head {
        while count < last && cdf[count] <= u {
            count += 1;
        }
    }
    count
}

impl StablePick {
    /// `None` when no weight is positive.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Option<StablePick> {
        let mut prefix = 0.0;
        let keep: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                let w = w.max(0.0);
                prefix += w;
                if prefix > 0.0 {
                    w / prefix
                } else {
                    0.0
                }
            })
            .collect();
        if prefix <= 0.0 {
            return None;
        }
        let blocks = if keep.len() > DIRECT { block_of(keep.len() - 1).0 + 1 } else { 0 };
        assert!(blocks <= MAX_BLOCKS, "{} categories in one pick", keep.len());
        let mut exceptions = vec![Vec::new(); blocks];
        let mut keep_bytes = vec![0u8; keep.len()];
        for (k, &p) in keep.iter().enumerate().skip(DIRECT).rev() {
            let (j, lo) = block_of(k);
            if p > threshold(lo) {
                exceptions[j].push((k as u32, pass_bound(threshold(lo), p)));
                keep_bytes[k] = u8::MAX;
            } else {
                // `p · lo` is at most 1 here, and exact (`lo` a power of two).
                keep_bytes[k] = (p * lo as f64 * 256.0).min(255.0) as u8;
            }
        }
        Some(StablePick { keep, exceptions, keep_bytes })
    }

    /// Whether candidate `pos` of a block with threshold `p` passes its test `U_k = p · v <
    /// keep_k`, that is `256 · v < 256 · keep_k / p`, whose integer part is `keep_bytes[pos]`
    /// (all exact: `p` is a power of two). The `f64` is read only when `256 · v` has that same
    /// integer part. An exception (byte 255) passes whenever the byte says so: its `U_k < p <
    /// keep_k` holds anyway.
    #[inline]
    fn passes(&self, pos: usize, p: f64, v: f64) -> bool {
        let (byte, scaled) = (self.keep_bytes[pos] as f64, v * 256.0);
        if scaled < byte {
            true
        } else if scaled >= byte + 1.0 {
            false
        } else {
            p * v < self.keep[pos]
        }
    }

    pub fn pick(&self, key: u64) -> usize {
        let n = self.keep.len();
        let mut cand = [0u32; MAX_CANDIDATES];
        for j in (0..self.exceptions.len()).rev() {
            let lo = DIRECT << j;
            let p = threshold(lo);
            let bkey = key ^ (j as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f);
            let count = candidate_count(counts(j), hash_unit(bkey, 0));
            let mut best: Option<usize> = None;
            let mut draw = 1u64;
            for c in 0..count {
                // Distinct positions: a repeat is drawn again.
                let pos = loop {
                    // `lo + ⌊hash_unit · lo⌋`: `lo` is a power of two, so that floor is
                    // exactly the uniform's top bits, taken without a float.
                    let pos = lo + (hash_u64(bkey, draw) >> (64 - lo.trailing_zeros())) as usize;
                    draw += 1;
                    if !cand[..c].contains(&(pos as u32)) {
                        break pos;
                    }
                };
                cand[c] = pos as u32;
                // The candidate's uniform, drawn only when its test can matter (most of the
                // top block's positions lie past the last category).
                let at = draw;
                draw += 1;
                if pos < n && best.is_none_or(|b| pos > b) && self.passes(pos, p, hash_unit(bkey, at)) {
                    best = Some(pos);
                }
            }
            // The exceptions above the best so far, largest first (one that was a candidate
            // has passed above already).
            for &(k, bound) in &self.exceptions[j] {
                let k = k as usize;
                if best.is_some_and(|b| b >= k) {
                    break;
                }
                // An exception that was a candidate has passed above (its U_k < p < keep_k), so it
                // is at most `best`: this one is not, and its U_k = p + (1 − p) · hash_unit(key,
                // k), whose test `U_k < keep_k` is the bound on the hash's top bits.
                debug_assert!(!cand[..count].contains(&(k as u32)));
                if hash_u64(key, k as u64) >> 11 < bound {
                    best = Some(k);
                    break;
                }
            }
            if let Some(b) = best {
                return b;
            }
        }
        (0..n.min(DIRECT)).rev().find(|&k| hash_unit(key, k as u64) < self.keep[k]).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zipf(n: usize) -> Vec<f64> {
        (0..n).map(|k| 1.0 / libm::pow((k + 1) as f64, 0.9)).collect()
    }

    #[test]
    fn stable_pick_follows_the_weights() {
        let p = StablePick::new([1.0, 0.0, 2.0, 1.0]).unwrap();
        let mut counts = [0usize; 4];
        for key in 0..40_000u64 {
            counts[p.pick(key)] += 1;
        }
        assert_eq!(counts[1], 0);
        for (i, w) in [(0, 0.25), (2, 0.5), (3, 0.25)] {
            let share = counts[i] as f64 / 40_000.0;
            assert!((share - w).abs() < 0.01, "category {i}: {share}");
        }
    }

    #[test]
    fn many_categories_follow_the_weights_including_exceptions() {
        // Zipf weights with a few heavy categories late in the list (exceptions to the block
        // thresholds) and some zero weights.
        let mut w = zipf(600);
        w[37] = 3.0;
        w[300] = 2.0;
        w[599] = 1.5;
        w[5] = 0.0;
        let total: f64 = w.iter().sum();
        let p = StablePick::new(w.iter().copied()).unwrap();
        assert!(p.exceptions.iter().map(Vec::len).sum::<usize>() >= 3);
        let draws = 400_000u64;
        let mut counts = vec![0u64; 600];
        for key in 0..draws {
            counts[p.pick(key.wrapping_mul(0x9e37_79b9_7f4a_7c15))] += 1;
        }
        assert_eq!(counts[5], 0);
        for k in [0, 1, 2, 3, 4, 6, 10, 37, 64, 300, 599] {
            let expected = w[k] / total * draws as f64;
            let sd = expected.sqrt();
            assert!((counts[k] as f64 - expected).abs() < 5.0 * sd + 2.0, "category {k}: {} vs {expected}", counts[k]);
        }
        // The tail as a whole.
        let tail: u64 = counts[100..].iter().sum();
        let expected: f64 = w[100..].iter().sum::<f64>() / total * draws as f64;
        assert!((tail as f64 - expected).abs() < 5.0 * expected.sqrt(), "tail {tail} vs {expected}");
    }

    #[test]
    fn the_byte_test_decides_as_the_keep_test() {
        // Zipf weights, a heavy exception, a zero, and one keep exactly at its threshold.
        let mut w = zipf(700);
        w[300] = 2.0;
        w[9] = 0.0;
        let mut p = StablePick::new(w.iter().copied()).unwrap();
        p.keep[40] = threshold(32);
        p.keep_bytes[40] = 255;
        for k in DIRECT..700 {
            let threshold = threshold(block_of(k).1);
            let byte = p.keep_bytes[k] as f64;
            let edges = [byte / 256.0, (byte + 1.0) / 256.0, p.keep[k] / threshold];
            let near = edges
                .iter()
                .flat_map(|&e| [e, f64::from_bits(e.to_bits().saturating_sub(1)), f64::from_bits(e.to_bits() + 1)]);
            for v in (0..2_000u64).map(|i| hash_unit(k as u64, i)).chain(near.filter(|v| (0.0..1.0).contains(v))) {
                assert_eq!(p.passes(k, threshold, v), threshold * v < p.keep[k], "k = {k}, v = {v}");
            }
        }
    }

    #[test]
    fn an_exceptions_bound_decides_as_its_float_test() {
        let unit = |m: u64| m as f64 * (1.0 / (1u64 << 53) as f64);
        let float_test = |p: f64, keep: f64, m: u64| p + (1.0 - p) * unit(m) < keep;
        let mut w = zipf(3_000);
        for k in (50..3_000).step_by(97) {
            w[k] = 1.5;
        }
        let pick = StablePick::new(w.iter().copied()).unwrap();
        let mut cases: Vec<(f64, f64)> = Vec::new();
        for (j, list) in pick.exceptions.iter().enumerate() {
            cases.extend(list.iter().map(|&(k, _)| (threshold(DIRECT << j), pick.keep[k as usize])));
        }
        assert!(cases.len() > 20, "the weights make exceptions");
        cases.extend([(0.5, 0.5 + 1e-16), (threshold(4), 1.0), (threshold(1 << 20), 0.75), (0.25, 0.9999999999)]);
        for (p, keep) in cases {
            let bound = pass_bound(p, keep);
            for m in [0, 1, bound.saturating_sub(2), bound.saturating_sub(1), bound, bound + 1, (1 << 53) - 1] {
                if m < 1 << 53 {
                    assert_eq!(m < bound, float_test(p, keep, m), "p {p}, keep {keep}, m {m}, bound {bound}");
                }
            }
            for i in 0..200u64 {
                let m = hash_u64(i, 5) >> 11;
                assert_eq!(m < bound, float_test(p, keep, m));
            }
        }
    }

    #[test]
    fn appending_a_category_moves_only_the_draws_it_wins() {
        let before = StablePick::new([5.0, 3.0, 2.0]).unwrap();
        let after = StablePick::new([5.0, 3.0, 2.0, 1.0]).unwrap();
        let mut moved = 0;
        for key in 0..20_000u64 {
            let (a, b) = (before.pick(key), after.pick(key));
            if a != b {
                assert_eq!(b, 3, "a draw that moves goes to the new category");
                moved += 1;
            }
        }
        let share = moved as f64 / 20_000.0;
        assert!((share - 1.0 / 11.0).abs() < 0.01, "the new category takes its share: {share}");
    }

    #[test]
    fn appending_to_a_long_list_moves_only_the_draws_the_new_category_wins() {
        // Across block boundaries (255 → 256 starts a new block) and inside a block, with the
        // appended category heavy enough to be an exception.
        for (n, extra) in [(255usize, 0.01), (300, 0.002), (300, 1.0)] {
            let mut w = zipf(n);
            let before = StablePick::new(w.iter().copied()).unwrap();
            w.push(extra);
            let after = StablePick::new(w.iter().copied()).unwrap();
            let total: f64 = w.iter().sum();
            let draws = 100_000u64;
            let mut moved = 0u64;
            for key in 0..draws {
                let key = key.wrapping_mul(0xd1b5_4a32_d192_ed03);
                let (a, b) = (before.pick(key), after.pick(key));
                if a != b {
                    assert_eq!(b, n, "a draw that moves goes to the new category");
                    moved += 1;
                }
            }
            let expected = extra / total * draws as f64;
            assert!((moved as f64 - expected).abs() < 5.0 * expected.sqrt() + 3.0, "n={n}: {moved} vs {expected}");
        }
    }

    #[test]
    fn the_candidate_count_is_the_first_entry_over_the_draw() {
        // The scan it replaced: the first index whose entry exceeds `u`, at most the last index.
        let scan = |cdf: &[f64], u: f64| {
            let mut count = 0;
            while count + 1 < cdf.len() && cdf[count] <= u {
                count += 1;
            }
            count
        };
        let tables = [binomial_cdf(4, 0.25), binomial_cdf(1024, threshold(1024)), binomial_cdf(64, 0.3), vec![1.0]];
        for cdf in &tables {
            for i in 0..100_000u64 {
                let u = hash_unit(7, i);
                assert_eq!(candidate_count(cdf, u), scan(cdf, u), "u = {u}");
            }
            for &c in cdf.iter() {
                for u in [c, c - 1e-17, c + 1e-17, 0.0, 1.0 - 1e-16] {
                    assert_eq!(candidate_count(cdf, u), scan(cdf, u), "u = {u}");
                }
            }
        }
        // Counts past the first eight are scanned on.
        assert!(binomial_cdf(64, 0.3).len() > 12);
        assert_eq!(candidate_count(&binomial_cdf(64, 0.3), 0.999), scan(&binomial_cdf(64, 0.3), 0.999));
        assert!(candidate_count(&binomial_cdf(64, 0.3), 0.999) > 8);
    }

    #[test]
    fn a_position_from_the_top_bits_is_the_floor_of_the_uniform_times_the_block() {
        for j in 0..20 {
            let lo = DIRECT << j;
            for i in 0..10_000u64 {
                let from_float = (hash_unit(j as u64, i) * lo as f64) as usize;
                assert_eq!((hash_u64(j as u64, i) >> (64 - lo.trailing_zeros())) as usize, from_float);
            }
        }
    }

    #[test]
    fn candidate_counts_are_binomial() {
        let cdf = binomial_cdf(1024, threshold(1024));
        assert!((cdf[0] - libm::exp(-DENSITY)).abs() < 1e-3);
        assert!(*cdf.last().unwrap() >= 1.0 - 1e-15);
        assert!(cdf.len() < MAX_CANDIDATES);
    }
}

#[cfg(test)]
mod timing {
    #[test]
    #[ignore]
    fn time_picks() {
        let w: Vec<f64> = (0..5000).map(|k| 1.0 / libm::pow((k + 1) as f64, 0.6)).collect();
        let p = super::StablePick::new(w.clone()).unwrap();
        let t = std::time::Instant::now();
        let mut s = 0usize;
        for key in 0..2_000_000u64 {
            s = s.wrapping_add(p.pick(key.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        eprintln!("{:.1} ns per pick ({s})", t.elapsed().as_nanos() as f64 / 2e6);
        // As in a run: one pick per hour of the day (each its own weights), used in turn.
        let hours: Vec<super::StablePick> = (0..24)
            .map(|h| {
                super::StablePick::new(w.iter().enumerate().map(|(k, x)| x * (1 + (k * 7 + h) % 5) as f64)).unwrap()
            })
            .collect();
        let t = std::time::Instant::now();
        let mut s = 0usize;
        for key in 0..2_000_000u64 {
            s = s.wrapping_add(hours[(key % 24) as usize].pick(key.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        eprintln!("{:.1} ns per pick among 24 hours' picks ({s})", t.elapsed().as_nanos() as f64 / 2e6);
    }
}
