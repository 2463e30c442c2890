//! The discrete-event queue: events ordered by virtual time, ties broken by a sequence number
//! given at scheduling time, so that two events at the same instant run in the order they were
//! scheduled, on every machine.
//!
//! It is a calendar queue: future events wait unsorted in one bucket per `bucket` seconds of
//! virtual time; the current bucket is a binary heap. Scheduling is O(1) for future buckets,
//! and popping costs O(log k) in the size of one bucket rather than of the whole queue. The
//! order is exactly that of a single heap ordered by (time, sequence).

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

pub struct EventQueue<E> {
    bucket_secs: u64,
    /// Bucket i holds events in [i × bucket, (i + 1) × bucket); the last one everything later.
    buckets: Vec<Vec<Entry<E>>>,
    /// Events of buckets up to `cur`, ordered.
    current: BinaryHeap<Entry<E>>,
    cur: usize,
    len: usize,
    next_seq: u64,
    now: SimTime,
}

impl<E> EventQueue<E> {
    /// A queue for events up to about `horizon`, in buckets of `bucket_secs` (later events are
    /// still accepted, in one overflow bucket).
    pub fn new(horizon: SimTime, bucket_secs: u64) -> Self {
        let bucket_secs = bucket_secs.max(1);
        let n = (horizon.0 / bucket_secs + 2) as usize;
        EventQueue {
            bucket_secs,
            buckets: (0..n).map(|_| Vec::new()).collect(),
            current: BinaryHeap::new(),
            cur: 0,
            len: 0,
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// Schedules `event` at `at`. Scheduling into the past is a bug.
    pub fn schedule(&mut self, at: SimTime, event: E) {
        assert!(at >= self.now, "event scheduled in the past: {:?} < {:?}", at, self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let b = ((at.0 / self.bucket_secs) as usize).min(self.buckets.len() - 1);
        let entry = Entry { at, seq, event };
        if b <= self.cur {
            self.current.push(entry);
        } else {
            self.buckets[b].push(entry);
        }
    }

    /// Loads buckets until the current one holds the earliest event; false when empty.
    fn load(&mut self) -> bool {
        while self.current.is_empty() {
            if self.cur + 1 >= self.buckets.len() {
                return false;
            }
            self.cur += 1;
            let bucket = std::mem::take(&mut self.buckets[self.cur]);
            self.current = BinaryHeap::from(bucket);
        }
        true
    }

    /// Time of the next event, without removing it.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.load() {
            return None;
        }
        self.current.peek().map(|e| e.at)
    }

    /// The next event, advancing the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.load() {
            return None;
        }
        let e = self.current.pop()?;
        debug_assert!(e.at >= self.now);
        self.len -= 1;
        self.now = e.at;
        Some((e.at, e.event))
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pops_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::new(SimTime(100), 2);
        q.schedule(SimTime(5), "b");
        q.schedule(SimTime(1), "a");
        q.schedule(SimTime(5), "c");
        q.schedule(SimTime(3), "x");
        q.schedule(SimTime(500), "late");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "x", "b", "c", "late"]);
        assert!(q.is_empty());
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn scheduling_into_the_past_is_a_bug() {
        let mut q = EventQueue::new(SimTime(10), 1);
        q.schedule(SimTime(5), ());
        q.pop();
        q.schedule(SimTime(4), ());
    }

    proptest! {
        /// Interleaved scheduling and popping gives exactly the order of a sorted (time, seq)
        /// list, whatever the bucket width.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u64..50, 0u8..3), 1..300), width in 1u64..20) {
            let mut q = EventQueue::new(SimTime(200), width);
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0;
            let mut now = 0;
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            for (delta, op) in ops {
                if op == 0 && !reference.is_empty() {
                    reference.sort();
                    let first = reference.remove(0);
                    expected.push(first);
                    let (t, s) = q.pop().unwrap();
                    now = t.0;
                    popped.push((t.0, s));
                } else {
                    q.schedule(SimTime(now + delta * 7), seq);
                    reference.push((now + delta * 7, seq));
                    seq += 1;
                }
            }
            prop_assert_eq!(popped, expected);
        }
    }
}
