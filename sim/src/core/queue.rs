//! The discrete-event queue: events ordered by virtual time, ties broken by a key (by default
//! the time itself; the engine passes a network message's own timestamp, so that a backlog
//! delivered in one burst keeps the network's order), then by a sequence number given at
//! scheduling time, so that two events at the same instant run in the order they were
//! scheduled, on every machine.
//!
//! It is a calendar queue: future events wait unsorted in one bucket per `bucket` seconds of
//! virtual time; when a bucket comes due it is sorted once, and events scheduled into it after
//! that wait in a small heap beside it. Scheduling is O(1) for future buckets, and the order is
//! exactly that of a single heap ordered by (time, sequence).

use crate::core::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    at: SimTime,
    key: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn order(&self) -> (SimTime, SimTime, u64) {
        (self.at, self.key, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.order() == o.order()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest (time, key, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.order().cmp(&self.order())
    }
}

pub struct EventQueue<E> {
    bucket_secs: u64,
    /// Bucket i holds events in [i × bucket, (i + 1) × bucket); the last one everything later.
    buckets: Vec<Vec<Entry<E>>>,
    /// The current bucket, sorted latest first (the next event is at the end).
    current: Vec<Entry<E>>,
    /// Events scheduled into the current bucket after it was sorted.
    late: BinaryHeap<Entry<E>>,
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
            current: Vec::new(),
            late: BinaryHeap::new(),
            cur: 0,
            len: 0,
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// Schedules `event` at `at`. Scheduling into the past is a bug.
    pub fn schedule(&mut self, at: SimTime, event: E) {
        self.schedule_keyed(at, at, event)
    }

    /// Schedules `event` at `at`; among events at the same time, smaller keys go first (an
    /// event scheduled with `schedule` has its time as key).
    pub fn schedule_keyed(&mut self, at: SimTime, key: SimTime, event: E) {
        assert!(at >= self.now, "event scheduled in the past: {:?} < {:?}", at, self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let b = ((at.0 / self.bucket_secs) as usize).min(self.buckets.len() - 1);
        let entry = Entry { at, key, seq, event };
        if b <= self.cur {
            self.late.push(entry);
        } else {
            self.buckets[b].push(entry);
        }
    }

    fn bucket_of(&self, t: SimTime) -> usize {
        ((t.0 / self.bucket_secs) as usize).min(self.buckets.len() - 1)
    }

    /// Moves to the next non-empty bucket, but never past bucket `limit`: the cursor follows
    /// virtual time, so that events scheduled later for the near future still go to their
    /// buckets rather than to the heap of late arrivals.
    fn load(&mut self, limit: usize) {
        while self.current.is_empty() && self.late.is_empty() && self.cur < limit {
            self.cur += 1;
            self.current = std::mem::take(&mut self.buckets[self.cur]);
            // (time, key, seq) orders are unique, so an unstable sort is deterministic.
            self.current.sort_unstable_by_key(|e| std::cmp::Reverse(e.order()));
        }
    }

    /// The next event if it is due strictly before `t`, advancing the clock to its time.
    pub fn pop_before(&mut self, t: SimTime) -> Option<(SimTime, E)> {
        let limit = self.bucket_of(t);
        self.load(limit);
        let sorted_first = match (self.current.last(), self.late.peek()) {
            (Some(c), Some(l)) => c.order() < l.order(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let next_at = if sorted_first { self.current.last()?.at } else { self.late.peek()?.at };
        if next_at >= t {
            return None;
        }
        let e = if sorted_first { self.current.pop() } else { self.late.pop() }?;
        debug_assert!(e.at >= self.now);
        self.len -= 1;
        self.now = e.at;
        Some((e.at, e.event))
    }

    /// The next event, advancing the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.len == 0 {
            return None;
        }
        self.pop_before(SimTime(u64::MAX))
    }

    /// The event `k` places after the next one among those of the current bucket sorted so
    /// far, if there is one (later arrivals aside): what the engine will most likely handle soon,
    /// for a prefetch hint. Changes nothing.
    pub fn peek_ahead(&self, k: usize) -> Option<&E> {
        self.current.len().checked_sub(k + 1).map(|i| &self.current[i].event)
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

    #[test]
    fn at_equal_times_a_smaller_key_goes_first() {
        let mut q = EventQueue::new(SimTime(100), 4);
        q.schedule(SimTime(10), "live");
        q.schedule_keyed(SimTime(10), SimTime(7), "backlog 7");
        q.schedule_keyed(SimTime(10), SimTime(3), "backlog 3");
        q.schedule(SimTime(9), "earlier");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["earlier", "backlog 3", "backlog 7", "live"]);
    }

    #[test]
    fn peeking_ahead_sees_the_events_that_pop_next() {
        // One bucket, not the first (events due in the current bucket wait in its heap).
        let mut q = EventQueue::new(SimTime(100), 10);
        for (t, e) in [(17, "c"), (13, "a"), (15, "b"), (19, "d")] {
            q.schedule(SimTime(t), e);
        }
        assert_eq!(q.pop().map(|(_, e)| e), Some("a"));
        assert_eq!(
            (q.peek_ahead(0), q.peek_ahead(1), q.peek_ahead(2), q.peek_ahead(3)),
            (Some(&"b"), Some(&"c"), Some(&"d"), None)
        );
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(rest, ["b", "c", "d"], "peeking moved nothing");
    }

    proptest! {
        /// Interleaved scheduling and popping gives exactly the order of a sorted (time, key,
        /// seq) list, whatever the bucket width.
        #[test]
        fn matches_a_sorted_reference(
            ops in proptest::collection::vec((0u64..50, 0u8..4, 0u64..20), 1..300),
            width in 1u64..20,
        ) {
            let mut q = EventQueue::new(SimTime(200), width);
            let mut reference: Vec<(u64, u64, u64)> = Vec::new();
            let mut seq = 0;
            let mut now = 0;
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            for (delta, op, back) in ops {
                if op == 3 {
                    // Pop only what is due before a limit, as the engine does.
                    let limit = now + delta * 7;
                    reference.sort();
                    let due = reference.first().is_some_and(|(t, _, _)| *t < limit);
                    let got = q.pop_before(SimTime(limit));
                    prop_assert_eq!(got.is_some(), due);
                    if let Some((t, s)) = got {
                        let (rt, _, rs) = reference.remove(0);
                        expected.push((rt, rs));
                        now = t.0;
                        popped.push((t.0, s));
                    }
                } else if op == 0 && !reference.is_empty() {
                    reference.sort();
                    let (rt, _, rs) = reference.remove(0);
                    expected.push((rt, rs));
                    let (t, s) = q.pop().unwrap();
                    now = t.0;
                    popped.push((t.0, s));
                } else {
                    let at = now + delta * 7;
                    let key = at.saturating_sub(back * 3);
                    q.schedule_keyed(SimTime(at), SimTime(key), seq);
                    reference.push((at, key, seq));
                    seq += 1;
                }
            }
            prop_assert_eq!(popped, expected);
        }
    }
}
