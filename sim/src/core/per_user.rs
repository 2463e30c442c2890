//! Per-user state of one shard: the users `first..first + len` in a dense vector, indexed by
//! their global user id.

use std::ops::{Index, IndexMut, Range};

#[derive(Debug, Clone)]
pub struct PerUser<T> {
    first: u32,
    items: Vec<T>,
}

impl<T: Default> PerUser<T> {
    pub fn new(users: Range<u32>) -> PerUser<T> {
        PerUser { first: users.start, items: users.map(|_| T::default()).collect() }
    }
}

impl<T: Default> PerUser<T> {
    /// Makes room for users up to `first + n` (the state of a live platform grows with the
    /// users it meets).
    pub fn grow(&mut self, n: usize) {
        if n > self.items.len() {
            self.items.resize_with(n, T::default);
        }
    }
}

impl<T> PerUser<T> {
    /// Every user's state, in user order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
    /// The position of user `u` in this shard (a dense index from 0).
    pub fn local(&self, u: u32) -> usize {
        assert!(u >= self.first && ((u - self.first) as usize) < self.items.len(), "user {u} not in this shard");
        (u - self.first) as usize
    }
}

impl<T> PerUser<T> {
    /// Starts loading user `u`'s state (`prefetch`); nothing for a user not in this shard.
    #[inline]
    pub fn prefetch(&self, u: u32) {
        if let Some(item) = u.checked_sub(self.first).and_then(|i| self.items.get(i as usize)) {
            crate::core::prefetch::prefetch(item);
        }
    }
}

impl<T> Index<u32> for PerUser<T> {
    type Output = T;
    fn index(&self, u: u32) -> &T {
        &self.items[self.local(u)]
    }
}

impl<T> IndexMut<u32> for PerUser<T> {
    fn index_mut(&mut self, u: u32) -> &mut T {
        let i = self.local(u);
        &mut self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_by_global_user_id() {
        let mut v: PerUser<Vec<u32>> = PerUser::new(1_000..1_003);
        v[1_002].push(7);
        assert_eq!(v[1_002], [7]);
        assert!(v[1_000].is_empty());
        assert_eq!(v.local(1_001), 1);
    }

    #[test]
    fn a_prefetch_outside_the_shard_is_ignored() {
        let v: PerUser<Vec<u32>> = PerUser::new(1_000..1_003);
        for u in [0, 999, 1_000, 1_002, 1_003, u32::MAX] {
            v.prefetch(u); // a hint: no panic, nothing changes
        }
        assert_eq!(v.iter().count(), 3);
    }
}
