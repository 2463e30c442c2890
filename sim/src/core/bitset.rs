//! A fixed-size set of small integers (user ids), one bit each: a cheap first test before a
//! lookup that would miss the cache.

#[derive(Debug, Clone, Default)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// A set able to hold `0..n`.
    pub fn new(n: usize) -> BitSet {
        BitSet { words: vec![0; n.div_ceil(64)] }
    }
    /// Makes room for `0..n` (a set only grows).
    pub fn grow(&mut self, n: usize) {
        if n.div_ceil(64) > self.words.len() {
            self.words.resize(n.div_ceil(64), 0);
        }
    }
    pub fn insert(&mut self, i: u32) {
        self.words[i as usize / 64] |= 1 << (i % 64);
    }
    pub fn contains(&self, i: u32) -> bool {
        self.words.get(i as usize / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_exactly_what_was_inserted() {
        let mut s = BitSet::new(130);
        for i in [0, 63, 64, 129] {
            s.insert(i);
        }
        assert!([0, 63, 64, 129].iter().all(|&i| s.contains(i)));
        assert!(![1, 62, 65, 128, 130, 10_000].iter().any(|&i| s.contains(i)));
    }
}
