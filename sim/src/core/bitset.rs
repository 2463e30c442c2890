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
    /// Calls `f` with each member in increasing order, and leaves the set empty.
    pub fn drain(&mut self, mut f: impl FnMut(u32)) {
        for (i, w) in self.words.iter_mut().enumerate() {
            let mut bits = std::mem::take(w);
            while bits != 0 {
                f(i as u32 * 64 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
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

    #[test]
    fn draining_gives_the_members_in_order_and_empties_the_set() {
        let mut s = BitSet::new(200);
        for i in [129, 3, 64, 199, 63, 3] {
            s.insert(i);
        }
        let mut got = Vec::new();
        s.drain(|i| got.push(i));
        assert_eq!(got, [3, 63, 64, 129, 199]);
        assert!((0..200).all(|i| !s.contains(i)));
    }
}
