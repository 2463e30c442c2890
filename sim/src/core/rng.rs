//! Random numbers. Every entity and purpose draws from its own source, derived from the scenario
//! seed, the purpose and (optionally) a sub-key such as an offer index, and the entity id.
//! Adding a merchant or an offer therefore never reshuffles what an existing user does: their
//! draws are keyed by things that did not change.
//!
//! Two kinds of source, both behind [`Draw`]:
//! - [`Stream`], a ChaCha8 keystream (the entity id is its stream id), for the long sequences one
//!   entity draws in order: a person's purchase arrivals, their shop funnel, a sharer's
//!   followers. Starting one costs a key schedule and a 64-byte block (~100 ns).
//! - [`Hashed`], counter-based: the i-th number is a keyed hash of (key, i) — `splitmix64`'s
//!   finaliser of the key and the index —, nothing to start and a few nanoseconds a number. For
//!   the handful of numbers a short-lived entity draws: a purchase's details, the network's fate
//!   of one purchase, a person's reactions to one offer, the arrival times of its impressions.
//!   Each draw can be addressed by its index (`Hashed::at`), so a draw that a fate does not need
//!   is never computed and never shifts another.

use crate::core::chacha::ChaCha8;

/// What a source is used for. The discriminant is part of the key: never renumber. Which kind
/// of source each purpose draws from is part of the draws too: `Stream` for UserProfile,
/// Spending, Uplift and Share; `Hashed` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// A user's segment, hashtags and cards.
    UserProfile = 1,
    // 2 was a stream of the impressions of one offer after the first; every impression's time
    // is now a keyed hash of (person, offer, impression) (`people::exposure_times`).
    /// A user's reactions to one offer (sub-key: offer index): clicks, card entries, deletions.
    Funnel = 3,
    /// A user's baseline purchases.
    Spending = 4,
    /// A user's extra purchases while enrolled in one offer (sub-key: offer index).
    Uplift = 5,
    /// The card network's handling of one purchase (sub-key: the purchase's key; entity: the
    /// buyer).
    Network = 6,
    // 7 was card tokens; tokens are now a bijection of (user, link) (`population::token_for`).
    /// The details of one baseline purchase (sub-key: its candidate index in the user's
    /// spending process): merchant, channel, MID, card, amount.
    PurchaseDetail = 8,
    /// The details of one uplift purchase (sub-key: offer index × 2^32 + candidate index).
    UpliftDetail = 9,
    // 10 was the impressions of one shop surface; now keyed hashes like an offer's.
    /// A user's taps, visits and orders on one shop surface (sub-key: its index).
    ShopFunnel = 11,
    /// The details of one shop purchase (sub-key: shop index × 2^32 + impression index).
    ShopDetail = 12,
    // 13 was hashtag posts; a post is now a keyed hash of (person, offer) (`hashtag_poster`).
    /// A sharer's followers and their delays (sub-key: offer index; entity: the sharer).
    Share = 14,
}

/// A source of uniform random numbers, and the uniform variates every model draws from it.
pub trait Draw {
    fn next_u64(&mut self) -> u64;
    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in (0, 1]: safe to take the logarithm of.
    #[inline]
    fn unit_open_low(&mut self) -> f64 {
        1.0 - self.unit()
    }
    #[inline]
    fn bernoulli(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in [0, n). `n` must be positive.
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// A deterministic stream of random numbers: ChaCha8.
pub struct Stream {
    rng: ChaCha8,
}

impl Stream {
    pub fn new(seed: u64, purpose: Purpose, sub_key: u64, entity: u64) -> Stream {
        let mut key = [0u8; 32];
        let mut state = seed ^ 0x6f66_6665_7273_696d; // "offersim"
        for (i, word) in [purpose as u64, sub_key, 0x5eed, seed].iter().enumerate() {
            state = splitmix64(state ^ word.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            key[i * 8..i * 8 + 8].copy_from_slice(&state.to_le_bytes());
        }
        // The key is ChaCha's, the entity its stream id (`rand_chacha`'s `set_stream`).
        Stream { rng: ChaCha8::new(&key, entity) }
    }
}

impl Draw for Stream {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// Counter-based draws: number i is `splitmix64(key ^ i·φ')`, a pure function of (key, i).
/// `Copy`: `at(i)` gives the draws from index i on, so a model can name each draw's index.
#[derive(Debug, Clone, Copy)]
pub struct Hashed {
    key: u64,
    next: u64,
}

impl Hashed {
    /// The draws of `entity` for `purpose` (and `sub_key`), from index 0.
    pub fn new(seed: u64, purpose: Purpose, sub_key: u64, entity: u64) -> Hashed {
        // Keyed apart from every `mix3(seed ^ CONSTANT, ..)` key of the models (another first
        // word: the purpose's own multiple of the golden ratio, and a tag).
        let first = seed ^ HASHED_TAG ^ (purpose as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Hashed::from_key(mix3(first, sub_key, entity))
    }
    /// The draws of a key made by the caller, from index 0.
    pub fn from_key(key: u64) -> Hashed {
        Hashed { key, next: 0 }
    }
    /// The same draws from index `i` on.
    #[inline]
    pub fn at(self, i: u64) -> Hashed {
        Hashed { key: self.key, next: i }
    }
    /// `bernoulli(p)` of this draw, without computing it when `p` decides alone (at most 0:
    /// never; at least 1: always, a unit being below 1). For a draw addressed by its index
    /// (`at`), which no other draw's index depends on: a sequence read in turn must use
    /// `bernoulli`, which always takes its number.
    #[inline]
    pub fn chance(mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.bernoulli(p)
        }
    }
}

/// Mixed into the seed of every `Hashed::new` key ("hashdraw" in ASCII).
const HASHED_TAG: u64 = 0x6861_7368_6472_6177;

impl Draw for Hashed {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let z = splitmix64(self.key ^ self.next.wrapping_mul(0xd6e8_feb8_6659_fd93));
        self.next = self.next.wrapping_add(1);
        z
    }
}

/// A uniform in [0, 1) that is a pure function of (key, index): for choices that must not
/// depend on how many draws came before.
#[inline]
pub fn hash_unit(key: u64, index: u64) -> f64 {
    Hashed::from_key(key).at(index).unit()
}

/// The 64 bits behind `hash_unit(key, index)` (its top 53 are the uniform's).
#[inline]
pub fn hash_u64(key: u64, index: u64) -> u64 {
    Hashed::from_key(key).at(index).next_u64()
}

/// A 64-bit key from three words (seed, entity, sub-key).
pub fn mix3(a: u64, b: u64, c: u64) -> u64 {
    mix3_last(mix2(a, b), c)
}

/// The first two words of a `mix3` key: `mix3(a, b, c) == mix3_last(mix2(a, b), c)`, so that a
/// caller with many keys sharing (a, b) mixes them once.
#[inline]
pub fn mix2(a: u64, b: u64) -> u64 {
    splitmix64(splitmix64(a) ^ b)
}

/// The `mix3` key of (a, b, c) from `mix2(a, b)`.
#[inline]
pub fn mix3_last(ab: u64, c: u64) -> u64 {
    splitmix64(ab ^ c)
}

#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chance_is_the_draws_bernoulli() {
        for i in 0..2_000u64 {
            let d = Hashed::from_key(0x5eed).at(i);
            for p in [
                0.0,
                -0.5,
                1e-300,
                0.01,
                0.5,
                0.999_999,
                1.0,
                2.0,
                d.at(i).unit(),
                f64::from_bits(d.at(i).unit().to_bits() + 1),
            ] {
                assert_eq!(d.chance(p), d.at(i).bernoulli(p), "index {i}, p {p}");
            }
        }
    }

    #[test]
    fn a_key_mixed_in_two_steps_is_the_same_key() {
        for (a, b, c) in [(0, 0, 0), (1, 2, 3), (u64::MAX, 7, u64::MAX), (0x6578_706f_7375_7265, 1_999, 9_999_999)] {
            let once = splitmix64(splitmix64(splitmix64(a) ^ b) ^ c);
            assert_eq!(mix3(a, b, c), once);
            assert_eq!(mix3_last(mix2(a, b), c), once);
        }
    }

    #[test]
    fn same_key_gives_same_stream() {
        let a: Vec<u64> =
            (0..4).map(|_| 0).scan(Stream::new(7, Purpose::Spending, 0, 3), |s, _| Some(s.next_u64())).collect();
        let b: Vec<u64> =
            (0..4).map(|_| 0).scan(Stream::new(7, Purpose::Spending, 0, 3), |s, _| Some(s.next_u64())).collect();
        assert_eq!(a, b);
    }

    /// The first number of a source changes with each word of its key: seed, purpose, sub-key,
    /// entity.
    fn differs_by_every_key_word(first: impl Fn(u64, Purpose, u64, u64) -> u64) {
        let base = first(7, Purpose::Spending, 2, 3);
        assert_ne!(base, first(8, Purpose::Spending, 2, 3));
        assert_ne!(base, first(7, Purpose::Funnel, 2, 3));
        assert_ne!(base, first(7, Purpose::Spending, 1, 3));
        assert_ne!(base, first(7, Purpose::Spending, 2, 4));
    }

    #[test]
    fn streams_differ_by_seed_purpose_subkey_and_entity() {
        differs_by_every_key_word(|s, p, k, e| Stream::new(s, p, k, e).next_u64());
    }

    #[test]
    fn hashed_draws_are_a_function_of_key_and_index() {
        let d = Hashed::new(7, Purpose::Network, 2, 3);
        let mut seq = d;
        let first: Vec<u64> = (0..6).map(|_| seq.next_u64()).collect();
        // Addressed draws equal the sequence's, whatever was drawn before.
        for (i, &v) in first.iter().enumerate() {
            assert_eq!(d.at(i as u64).next_u64(), v);
        }
        assert_eq!(hash_unit(0xabc, 5), Hashed::from_key(0xabc).at(5).unit());
        differs_by_every_key_word(|s, p, k, e| Hashed::new(s, p, k, e).next_u64());
    }

    #[test]
    fn hashed_units_are_uniform_and_uncorrelated_across_entities() {
        // 64 bins of 200,000 first draws of consecutive entities: chi-square with 63 degrees of
        // freedom stays under its 0.999 quantile (103.4); and the first draws of neighbouring
        // entities are uncorrelated (|r| under 4.5 / sqrt(n), ~1e-5 by chance).
        let n = 200_000u64;
        let mut bins = [0u64; 64];
        let (mut sxy, mut sx, mut sxx) = (0.0, 0.0, 0.0);
        let mut prev = Hashed::new(1, Purpose::Funnel, 0, 0).unit();
        for e in 1..=n {
            let u = Hashed::new(1, Purpose::Funnel, 0, e).unit();
            bins[(u * 64.0) as usize] += 1;
            sxy += prev * u;
            sx += u;
            sxx += u * u;
            prev = u;
        }
        let expected = n as f64 / 64.0;
        let chi2: f64 = bins.iter().map(|&b| (b as f64 - expected).powi(2) / expected).sum();
        assert!(chi2 < 103.4, "chi-square {chi2}");
        let (nf, mean) = (n as f64, sx / n as f64);
        let r = (sxy / nf - mean * mean) / (sxx / nf - mean * mean);
        assert!(r.abs() < 4.5 / nf.sqrt(), "lag-one correlation {r}");
    }

    #[test]
    fn unit_stays_in_range() {
        let mut s = Stream::new(1, Purpose::Network, 0, 0);
        for _ in 0..10_000 {
            let u = s.unit();
            assert!((0.0..1.0).contains(&u));
            let v = s.unit_open_low();
            assert!(v > 0.0 && v <= 1.0);
        }
    }
}
