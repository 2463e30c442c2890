//! The people of a shard, simulated and merged into one time-ordered stream of their events.

use crate::core::bitset::BitSet;
use crate::core::time::SimTime;
use crate::harness::events::Progress;
use crate::people::sharing::Cascades;
use crate::people::{assignments, simulate, Assignment, Timeline, UserEvent};
use crate::world::World;
use rayon::prelude::*;
use std::ops::Range;

/// Every user event of a shard, in one bucket per hour, each ordered by (time, user, position
/// in the user's timeline); and the users who link a card at some point.
pub(super) struct UserStream {
    pub(super) buckets: Vec<Vec<(SimTime, u32, UserEvent)>>,
    /// By position in the shard: the platform can only ever hear of these users' purchases.
    pub(super) linkers: BitSet,
    /// Without an event log, views, clicks and abandoned card entries only add to counters, in
    /// any order: they are added up here instead of being replayed (a third of all events).
    fold: bool,
    /// Per offer: (impressions, clicks, card entries abandoned) folded; and how many events.
    pub(super) folded: Vec<(u64, u64, u64)>,
    pub(super) folded_events: u64,
    /// Holdout experiments: (user, assignment), for users targeted by an offer with a holdout.
    pub(super) assignments: Vec<(u32, Assignment)>,
}

impl UserStream {
    pub(super) fn new(world: &World, users: &Range<u32>, fold: bool) -> UserStream {
        let hours = world.days as usize * 24;
        UserStream {
            buckets: (0..hours).map(|_| Vec::new()).collect(),
            linkers: BitSet::new(users.len()),
            fold,
            folded: vec![(0, 0, 0); world.offers.len()],
            folded_events: 0,
            assignments: Vec::new(),
        }
    }
    /// Files an event of user `u` (the shard starting at `first`) in its hour.
    pub(super) fn push(&mut self, first: u32, at: SimTime, u: u32, e: UserEvent) {
        match e {
            UserEvent::CardAdded { .. } => self.linkers.insert(u - first),
            UserEvent::Exposure { offer, impressions } if self.fold => {
                self.folded[offer.0 as usize].0 += impressions as u64;
                self.folded_events += 1;
                return;
            }
            UserEvent::Click { offer } if self.fold => {
                self.folded[offer.0 as usize].1 += 1;
                self.folded_events += 1;
                return;
            }
            UserEvent::CardEntryAbandoned { offer } if self.fold => {
                self.folded[offer.0 as usize].2 += 1;
                self.folded_events += 1;
                return;
            }
            _ => {}
        }
        let hour = at.hour_index().min(self.buckets.len() - 1);
        self.buckets[hour].push((at, u, e));
    }
}

/// Users are simulated this many at a time, so that only one chunk of timelines is held
/// beside the merged stream.
const USERS_PER_CHUNK: u32 = 16_384;

/// Simulates the users `users` (in parallel on `pool`, chunk by chunk, or on this thread) and
/// merges their timelines into one stream in (time, user) order: scattered into hourly buckets
/// in user order, then each bucket sorted. The sort is stable, so one user's same-second events
/// keep their causal order; the result is a pure function of the timelines, so the thread count
/// cannot change it.
pub(super) fn generate(
    pool: Option<&rayon::ThreadPool>,
    world: &World,
    users: Range<u32>,
    fold: bool,
    progress: &dyn Progress,
    cascades: &Cascades,
) -> UserStream {
    let mut stream = UserStream::new(world, &users, fold);
    let experiments = world.offers.iter().any(|o| o.targeting.holdout > 0.0);
    for first in users.clone().step_by(USERS_PER_CHUNK as usize) {
        let last = first.saturating_add(USERS_PER_CHUNK).min(users.end);
        let chunk: Vec<Timeline> = match pool {
            Some(pool) => {
                pool.install(|| (first..last).into_par_iter().map(|u| simulate(world, u, cascades)).collect())
            }
            None => (first..last).map(|u| simulate(world, u, cascades)).collect(),
        };
        for t in chunk {
            if experiments {
                stream.assignments.extend(assignments(world, &t).into_iter().map(|a| (t.user, a)));
            }
            for (at, e) in t.events {
                stream.push(users.start, at, t.user, e);
            }
        }
        progress.advance((last - first) as u64);
    }
    let sort = |b: &mut Vec<(SimTime, u32, UserEvent)>| {
        b.sort_by_key(|(at, u, _)| (*at, *u));
        b.shrink_to_fit();
    };
    match pool {
        Some(pool) => pool.install(|| stream.buckets.par_iter_mut().for_each(sort)),
        None => stream.buckets.iter_mut().for_each(sort),
    }
    stream
}
