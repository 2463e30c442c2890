//! The replay's user events, hour by hour, each hour handed back to the allocator once the
//! replay has passed it. The generated stream is held whole until the replay starts (hundreds
//! of megabytes on Black Friday), while the replay's own state grows (the network queue's
//! messages in flight, the platform's per-person records): before, it took fresh pages, zeroed
//! on first touch, while the hours already replayed sat unread until the end. Each hour sits
//! behind a lock that readers share (the replay, its prefetch cursor, the thread computing the
//! network's reports ahead): the replay frees an hour only once every other reader has moved
//! past it (each says where it is) and no one holds it, so no reader can see an hour go.

use crate::core::time::SimTime;
use crate::people::UserEvent;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

/// Readers besides the replay's own cursor: its prefetch cursor and the reports' thread.
const READERS: usize = 2;
/// A reader's position when it has read everything (or there is no such reader).
const DONE: usize = usize::MAX;

/// A user event as filed: when, whose, what.
pub(super) type Event = (SimTime, u32, UserEvent);

/// The stream's hours, in order.
pub(super) struct Hours {
    hours: Vec<RwLock<Vec<Event>>>,
    /// Per other reader: the hour it reads next (it is in the one before, or has not begun).
    readers: [AtomicUsize; READERS],
    /// Reader slots handed out.
    taken: AtomicUsize,
}

impl Hours {
    pub(super) fn new(buckets: Vec<Vec<Event>>) -> Hours {
        Hours {
            hours: buckets.into_iter().map(RwLock::new).collect(),
            readers: std::array::from_fn(|_| AtomicUsize::new(DONE)),
            taken: AtomicUsize::new(0),
        }
    }

    /// User events in all, for the progress bar.
    pub(super) fn len(&self) -> u64 {
        self.hours.iter().map(|h| read(h).len() as u64).sum()
    }

    /// The replay's own cursor over every event in order, which hands each hour back once every
    /// other reader has passed it. One per replay.
    pub(super) fn replay_cursor(&self) -> Cursor<'_> {
        Cursor { owner: self, next_hour: 0, current: None, pos: 0, slot: None, pending: Vec::new() }
    }

    /// Another reader, counted from now on (no hour goes before it has passed it), whose cursor
    /// may be made on another thread (`Reader::cursor`). At most `READERS`.
    pub(super) fn reader(&self) -> Reader<'_> {
        let slot = self.taken.fetch_add(1, Ordering::Relaxed);
        assert!(slot < READERS, "more than {READERS} readers of the stream's hours besides the replay");
        self.readers[slot].store(0, Ordering::Release);
        Reader { owner: self, slot }
    }

    /// Whether every other reader has moved past hour `h` for good.
    fn all_past(&self, h: usize) -> bool {
        self.readers.iter().all(|r| r.load(Ordering::Acquire) > h.saturating_add(1))
    }
}

/// A reader registered with the hours (`Hours::reader`), not yet reading.
pub(super) struct Reader<'h> {
    owner: &'h Hours,
    slot: usize,
}

impl<'h> Reader<'h> {
    /// Its cursor over every event in order.
    pub(super) fn cursor(self) -> Cursor<'h> {
        let (owner, slot) = (self.owner, self.slot);
        std::mem::forget(self);
        Cursor { owner, next_hour: 0, current: None, pos: 0, slot: Some(slot), pending: Vec::new() }
    }
}

impl Drop for Reader<'_> {
    /// A reader that never read lets the hours go.
    fn drop(&mut self) {
        self.owner.readers[self.slot].store(DONE, Ordering::Release);
    }
}

/// An hour for reading. A panic of a thread that held it cannot have left it half-written (no
/// one writes an hour but to empty it), so a poisoned lock is read all the same.
fn read(h: &RwLock<Vec<Event>>) -> RwLockReadGuard<'_, Vec<Event>> {
    h.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Walks the hours' events in order, one hour's read lock at a time.
pub(super) struct Cursor<'h> {
    owner: &'h Hours,
    next_hour: usize,
    /// The hour being read, and its index.
    current: Option<(usize, RwLockReadGuard<'h, Vec<Event>>)>,
    pos: usize,
    /// The slot where this cursor says where it is; none for the replay's own, which frees.
    slot: Option<usize>,
    /// Hours the replay left that another reader had not: tried again at each change of hour.
    pending: Vec<usize>,
}

impl Cursor<'_> {
    /// Empties the hours left behind that every other reader has passed; keeps the others.
    fn free_left_behind(&mut self) {
        let owner = self.owner;
        self.pending.retain(|&h| {
            if !owner.all_past(h) {
                return true;
            }
            match owner.hours[h].try_write() {
                Ok(mut events) => {
                    *events = Vec::new();
                    false
                }
                Err(_) => true,
            }
        });
    }

    /// Says where this reader is (the hour it reads next), once it has let go of the last.
    fn publish(&self, next_hour: usize) {
        if let Some(slot) = self.slot {
            self.owner.readers[slot].store(next_hour, Ordering::Release);
        }
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        self.current = None;
        self.publish(DONE);
    }
}

impl Iterator for Cursor<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some((_, events)) = &self.current {
                if let Some(&e) = events.get(self.pos) {
                    self.pos += 1;
                    return Some(e);
                }
            }
            if let Some((h, guard)) = self.current.take() {
                drop(guard);
                if self.slot.is_none() {
                    self.pending.push(h);
                    self.free_left_behind();
                }
            }
            let h = self.next_hour;
            let Some(hour) = self.owner.hours.get(h) else {
                self.publish(DONE);
                return None;
            };
            self.current = Some((h, read(hour)));
            self.next_hour += 1;
            self.publish(self.next_hour);
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::OfferId;

    fn view(at: u64, u: u32) -> Event {
        (SimTime(at), u, UserEvent::Click { offer: OfferId(0) })
    }

    fn hours() -> Hours {
        Hours::new(vec![vec![view(1, 0), view(2, 1)], vec![], vec![view(3600, 2)], vec![view(7200, 3), view(7201, 4)]])
    }

    #[test]
    fn a_cursor_gives_every_event_in_order_across_empty_hours() {
        let h = hours();
        assert_eq!(h.len(), 5);
        let users: Vec<u32> = h.reader().cursor().map(|(_, u, _)| u).collect();
        assert_eq!(users, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_replays_cursor_empties_the_hours_it_left_and_no_other_reader_loses_one() {
        let h = hours();
        // Another reader (the reports' thread) stays in the first hour for a while.
        let mut slow = h.reader().cursor();
        assert_eq!(slow.next().map(|e| e.1), Some(0));
        let mut replay = h.replay_cursor();
        let seen: Vec<u32> = replay.by_ref().take(4).map(|(_, u, _)| u).collect();
        assert_eq!(seen, vec![0, 1, 2, 3]);
        // The replay is in the last hour, the other reader still in the first: nothing it has
        // yet to read is gone.
        assert_eq!(read(&h.hours[0]).len(), 2);
        assert_eq!(read(&h.hours[2]).len(), 1);
        assert_eq!(slow.next().map(|e| e.1), Some(1));
        assert_eq!(slow.next().map(|e| e.1), Some(2));
        // It is in the third hour now: the replay's next change of hour frees the first two.
        assert_eq!(replay.next().map(|e| e.1), Some(4));
        assert!(replay.next().is_none());
        assert_eq!(read(&h.hours[0]).len(), 0);
        assert_eq!(read(&h.hours[2]).len(), 1, "the other reader is still in it");
        assert_eq!(slow.by_ref().map(|(_, u, _)| u).collect::<Vec<u32>>(), vec![3, 4]);
        drop(slow);
        // With every reader done, the replay's cursor frees what is left when asked again.
        replay.free_left_behind();
        assert!(h.hours.iter().all(|x| read(x).is_empty()));
    }
}
