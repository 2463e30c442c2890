//! Random streams. Every entity and purpose draws from its own ChaCha8 stream, derived from the
//! scenario seed, the purpose and (optionally) a sub-key such as an offer index; the entity id
//! selects the ChaCha stream. Adding a merchant or an offer therefore never reshuffles what an
//! existing user does: their streams are keyed by things that did not change.

use crate::core::chacha::ChaCha8;

/// What a stream is used for. The discriminant is part of the key: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// A user's segment, hashtags and cards.
    UserProfile = 1,
    /// A user's impressions of one offer (sub-key: offer index).
    Exposure = 2,
    /// A user's clicks, card entries and deletions.
    Funnel = 3,
    /// A user's baseline purchases.
    Spending = 4,
    /// A user's extra purchases while enrolled in one offer (sub-key: offer index).
    Uplift = 5,
    /// The card network's handling of one purchase (entity: purchase id).
    Network = 6,
    // 7 was card tokens; tokens are now a bijection of (user, link) (`population::token_for`).
    /// The details of one baseline purchase (sub-key: its candidate index in the user's
    /// spending process): merchant, channel, MID, card, amount.
    PurchaseDetail = 8,
    /// The details of one uplift purchase (sub-key: offer index × 2^32 + candidate index).
    UpliftDetail = 9,
    /// A user's impressions of one shop surface (sub-key: its index in `World::shops`).
    ShopExposure = 10,
    /// A user's taps, visits and orders on one shop surface (sub-key: its index).
    ShopFunnel = 11,
    /// The details of one shop purchase (sub-key: shop index × 2^32 + impression index).
    ShopDetail = 12,
    // 13 was hashtag posts; a post is now a keyed hash of (person, offer) (`hashtag_poster`).
    /// A sharer's followers and their delays (sub-key: offer index; entity: the sharer).
    Share = 14,
}

/// A deterministic stream of random numbers.
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
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in (0, 1]: safe to take the logarithm of.
    pub fn unit_open_low(&mut self) -> f64 {
        1.0 - self.unit()
    }
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in [0, n). `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// A uniform in [0, 1) that is a pure function of (key, index): for choices that must not
/// depend on how many draws came before.
pub fn hash_unit(key: u64, index: u64) -> f64 {
    let z = splitmix64(key ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A 64-bit key from three words (seed, entity, sub-key).
pub fn mix3(a: u64, b: u64, c: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(a) ^ b) ^ c)
}

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
    fn same_key_gives_same_stream() {
        let a: Vec<u64> =
            (0..4).map(|_| 0).scan(Stream::new(7, Purpose::Spending, 0, 3), |s, _| Some(s.next_u64())).collect();
        let b: Vec<u64> =
            (0..4).map(|_| 0).scan(Stream::new(7, Purpose::Spending, 0, 3), |s, _| Some(s.next_u64())).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn streams_differ_by_seed_purpose_subkey_and_entity() {
        let first = |s: u64, p: Purpose, k: u64, e: u64| Stream::new(s, p, k, e).next_u64();
        let base = first(7, Purpose::Spending, 0, 3);
        assert_ne!(base, first(8, Purpose::Spending, 0, 3));
        assert_ne!(base, first(7, Purpose::Funnel, 0, 3));
        assert_ne!(base, first(7, Purpose::Spending, 1, 3));
        assert_ne!(base, first(7, Purpose::Spending, 0, 4));
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
