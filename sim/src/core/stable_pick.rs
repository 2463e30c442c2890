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

#[derive(Debug, Clone, Default)]
pub struct StablePick {
    keep: Vec<f64>,
    /// Per block: the indices whose keep exceeds the block's threshold, largest first.
    exceptions: Vec<Vec<u32>>,
    /// Per block: the cumulative distribution of its candidate count.
    counts: Vec<Vec<f64>>,
    /// Per block: the largest keep among its indices that are not exceptions (at most the
    /// block's threshold). A candidate whose `U_k` is above it fails without a look at `keep`,
    /// which is what most candidates do.
    ceiling: Vec<f64>,
}

/// The block of index `k >= DIRECT`, and the block's first index.
fn block_of(k: usize) -> (usize, usize) {
    let j = (usize::BITS - 1 - (k / DIRECT).leading_zeros()) as usize;
    (j, DIRECT << j)
}

fn threshold(lo: usize) -> f64 {
    DENSITY / lo as f64
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
        let mut exceptions = vec![Vec::new(); blocks];
        for (k, &p) in keep.iter().enumerate().skip(DIRECT).rev() {
            let (j, lo) = block_of(k);
            if p > threshold(lo) {
                exceptions[j].push(k as u32);
            }
        }
        let counts = (0..blocks).map(|j| binomial_cdf(DIRECT << j, threshold(DIRECT << j))).collect();
        let mut ceiling = vec![0.0f64; blocks];
        for (k, &p) in keep.iter().enumerate().skip(DIRECT) {
            let (j, lo) = block_of(k);
            if p <= threshold(lo) {
                ceiling[j] = ceiling[j].max(p);
            }
        }
        Some(StablePick { keep, exceptions, counts, ceiling })
    }

    pub fn pick(&self, key: u64) -> usize {
        let n = self.keep.len();
        let mut cand = [0u32; MAX_CANDIDATES];
        for j in (0..self.exceptions.len()).rev() {
            let lo = DIRECT << j;
            let p = threshold(lo);
            let bkey = key ^ (j as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f);
            let cdf = &self.counts[j];
            let count = candidate_count(cdf, hash_unit(bkey, 0));
            let mut best: Option<usize> = None;
            let ceiling = self.ceiling[j];
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
                let v = hash_unit(bkey, draw);
                draw += 1;
                let u = p * v;
                if u < ceiling && pos < n && u < self.keep[pos] && best.is_none_or(|b| pos > b) {
                    best = Some(pos);
                }
            }
            // Exceptions were skipped above unless their U_k was under the ceiling.
            for &k in &self.exceptions[j] {
                let k = k as usize;
                if best.is_some_and(|b| b >= k) {
                    break;
                }
                // A candidate passes (its U_k < p < keep_k); any other index has U_k >= p.
                if cand[..count].contains(&(k as u32)) || p + (1.0 - p) * hash_unit(key, k as u64) < self.keep[k] {
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
        let p = super::StablePick::new(w).unwrap();
        let t = std::time::Instant::now();
        let mut s = 0usize;
        for key in 0..2_000_000u64 {
            s = s.wrapping_add(p.pick(key.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        eprintln!("{:.1} ns per pick ({s})", t.elapsed().as_nanos() as f64 / 2e6);
    }
}
