//! The people of a shard, simulated and merged into one time-ordered stream of their events.

use super::fold::Fold;
use super::links::FirstLinks;
use crate::core::money::Cents;
use crate::core::time::{SimTime, SECONDS_PER_HOUR};
use crate::harness::events::Progress;
use crate::people::sharing::Cascades;
use crate::people::{assignments_of, simulate, simulate_each, Assignment, Timeline, UserEvent, UserProfile};
use crate::world::network::CardNetwork;
use crate::world::World;
use rayon::prelude::*;
use std::ops::Range;

/// Every user event of a shard, in one bucket per hour, each ordered by (time, user, position
/// in the user's timeline); and when the users first link a card, and which cards they link.
pub(super) struct UserStream<'w> {
    pub(super) buckets: Vec<Vec<(SimTime, u32, UserEvent)>>,
    /// By position in the shard: the platform can only ever hear of the purchases of those who
    /// link a card, and on a card they link.
    pub(super) links: FirstLinks,
    /// Without an event log, views, clicks and abandoned card entries only add to counters, in
    /// any order: they are added up here instead of being replayed (a third of all events).
    fold: bool,
    /// Per offer: (impressions, clicks, card entries abandoned) folded; and how many events.
    pub(super) folded: Vec<(u64, u64, u64)>,
    pub(super) folded_events: u64,
    /// Holdout experiments: (user, assignment, what the user's folded purchases spent), for
    /// users targeted by an offer with a holdout.
    pub(super) assignments: Vec<(u32, Assignment, Cents)>,
    /// Without an event log, the purchases of those who never link a card, settled as they are
    /// filed (`fold.rs`) instead of replayed.
    pub(super) unheard: Option<Fold<'w>>,
}

impl<'w> UserStream<'w> {
    /// `network`: the purchases of people who never link a card are settled as they are filed
    /// (when `fold`).
    pub(super) fn new(
        world: &'w World,
        users: &Range<u32>,
        fold: bool,
        network: Option<&'w dyn CardNetwork>,
    ) -> UserStream<'w> {
        let hours = world.days as usize * 24;
        UserStream {
            buckets: (0..hours).map(|_| Vec::new()).collect(),
            links: FirstLinks::new(users.len()),
            fold,
            folded: vec![(0, 0, 0); world.offers.len()],
            folded_events: 0,
            assignments: Vec::new(),
            unheard: network.filter(|_| fold).map(|n| Fold::new(world, n)),
        }
    }
    /// Files the events of user `u` (the shard starting at `first`), and their holdout
    /// assignments when the world has experiments; the purchases of someone who never links a
    /// card are settled here instead (`fold.rs`), when the stream folds them.
    fn file(
        &mut self,
        world: &World,
        first: u32,
        u: u32,
        profile: &UserProfile,
        events: &[(SimTime, UserEvent)],
        experiments: bool,
    ) {
        let first_assignment = self.assignments.len();
        if experiments {
            self.assignments.extend(assignments_of(world, u, profile, events).into_iter().map(|a| (u, a, Cents::ZERO)));
        }
        // Someone who never links a card: the platform never hears of their purchases.
        let never_links = !events.iter().any(|(_, e)| matches!(e, UserEvent::CardAdded { .. }));
        let fold = if never_links { self.unheard.take() } else { None };
        let Some(mut fold) = fold else {
            for &(at, e) in events {
                self.push(first, at, u, e);
            }
            return;
        };
        let mut assignments = std::mem::take(&mut self.assignments);
        for (_, e) in events {
            if let UserEvent::Purchase(p) = e {
                fold.prefetch(p);
            }
        }
        for &(at, e) in events {
            match e {
                UserEvent::Purchase(p) if Fold::foldable(&p) => {
                    fold.purchase(at, u, &p, &mut assignments[first_assignment..])
                }
                _ => self.push(first, at, u, e),
            }
        }
        self.assignments = assignments;
        self.unheard = Some(fold);
    }

    /// Once the first `done` people of `total` are filed, makes room in each hour's bucket for
    /// what all of them will file at the same pace (people are alike in law), and a sixteenth
    /// more: the buckets then grow about once, instead of being copied at each doubling.
    fn reserve_for(&mut self, done: u32, total: u64) {
        if done == 0 || total <= done as u64 {
            return;
        }
        for b in &mut self.buckets {
            let expected = (b.len() as u64).saturating_mul(total) / done as u64;
            let wanted = expected.saturating_add(expected / 16) as usize;
            b.reserve(wanted.saturating_sub(b.len()));
        }
    }

    /// Files an event of user `u` (the shard starting at `first`) in its hour.
    pub(super) fn push(&mut self, first: u32, at: SimTime, u: u32, e: UserEvent) {
        match e {
            UserEvent::CardAdded { slot, .. } => self.links.add(u - first, at, slot),
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

/// The first chunk is smaller: once it is filed, the buckets get their room for everyone
/// (`reserve_for`), and on two threads that runs beside the next chunk's simulation. Making
/// that room zeroes a huge page per hour's bucket (192 of them, 384 MB at Black Friday's size,
/// 0.3 s on this VM), longer than a full chunk's simulation on the other thread, which waited.
/// A quarter chunk is enough to size the buckets (with `reserve_for`'s margin).
const USERS_IN_FIRST_CHUNK: u32 = USERS_PER_CHUNK / 4;

/// The chunks of `users`: a first one of `USERS_IN_FIRST_CHUNK`, then `USERS_PER_CHUNK` each.
fn chunks(users: &Range<u32>) -> impl Iterator<Item = Range<u32>> {
    let (start, end) = (users.start, users.end);
    let second = start.saturating_add(USERS_IN_FIRST_CHUNK).min(end);
    let first = (start < second).then_some(start..second);
    first.into_iter().chain(
        (second..end).step_by(USERS_PER_CHUNK as usize).map(move |s| s..s.saturating_add(USERS_PER_CHUNK).min(end)),
    )
}

/// Simulates the users `users` (in parallel on `pool`, chunk by chunk, or on this thread) and
/// merges their timelines into one stream in (time, user) order: scattered into hourly buckets
/// in user order, then each bucket sorted. The sort is stable, so one user's same-second events
/// keep their causal order; the result is a pure function of the timelines, so the thread count
/// cannot change it. With `fold` (no event log), views, clicks and abandoned card entries are
/// added up instead of filed, and, given the `network`, so are the purchases of people who
/// never link a card (`fold.rs`).
pub(super) fn generate<'w>(
    pool: Option<&rayon::ThreadPool>,
    world: &'w World,
    network: Option<&'w dyn CardNetwork>,
    users: Range<u32>,
    fold: bool,
    progress: &dyn Progress,
    cascades: &Cascades,
) -> UserStream<'w> {
    let mut stream = UserStream::new(world, &users, fold, network);
    let experiments = world.offers.iter().any(|o| o.targeting.holdout > 0.0);
    let chunks = chunks(&users);
    match pool {
        // Chunk k is filed (in user order, by one thread) while chunk k + 1 is simulated by the
        // others, which would otherwise wait for the filing; the thread that files joins them
        // when it is done. The filing order is the same, so the stream is.
        Some(pool) => {
            let mut filed: Option<Vec<Timeline>> = None;
            for chunk in chunks.map(Some).chain([None]) {
                let timelines = filed.take();
                let people = timelines.as_ref().map_or(0, Vec::len) as u32;
                // After the first chunk, room for the rest (a copy of the buckets: made here,
                // beside the next chunk's simulation, rather than while the others wait). The
                // timelines are consumed, so freed, on the filing thread too.
                let first = timelines.as_ref().and_then(|t| t.first()).is_some_and(|t| t.user == users.start);
                let file = |stream: &mut UserStream| {
                    for t in timelines.into_iter().flatten() {
                        stream.file(world, users.start, t.user, &t.profile, &t.events, experiments);
                    }
                    if first {
                        stream.reserve_for(people, users.len() as u64);
                    }
                };
                filed = pool.install(|| {
                    let simulate_chunk = || {
                        chunk
                            .map(|c| c.into_par_iter().map(|u| simulate(world, u, cascades)).collect::<Vec<Timeline>>())
                    };
                    rayon::join(simulate_chunk, || file(&mut stream)).0
                });
                if people > 0 {
                    progress.advance(people as u64);
                }
            }
        }
        // On this thread, each person's events go from where they were made to their
        // buckets: no timeline of their own.
        None => {
            for chunk in chunks {
                let (first, last) = (chunk.start, chunk.end);
                for u in chunk {
                    simulate_each(world, u, cascades, |profile, events| {
                        stream.file(world, users.start, u, &profile, events, experiments)
                    });
                }
                if first == users.start {
                    stream.reserve_for(last - first, users.len() as u64);
                }
                progress.advance((last - first) as u64);
            }
        }
    }
    match pool {
        Some(pool) => pool.install(|| stream.buckets.par_iter_mut().enumerate().for_each(|(h, b)| order(h, b))),
        None => stream.buckets.iter_mut().enumerate().for_each(|(h, b)| order(h, b)),
    }
    stream
}

/// Orders hour `hour`'s bucket by (time, user), stably, and trims it to its length. Events were
/// filed in user order (chunk by chunk, person by person), so a stable counting sort on the
/// second within the hour is that order: two passes over the bucket instead of a comparison
/// sort moving each event log n times. Anything else — the last bucket, which also holds what
/// falls after the period — takes the stable comparison sort, which gives the same order.
fn order(hour: usize, b: &mut Vec<(SimTime, u32, UserEvent)>) {
    let from = hour as u64 * SECONDS_PER_HOUR;
    let in_hour = |at: SimTime| at.0 >= from && at.0 < from + SECONDS_PER_HOUR;
    let user_ordered = b.windows(2).all(|w| w[0].1 <= w[1].1);
    if !user_ordered || !b.iter().all(|(at, _, _)| in_hour(*at)) {
        b.sort_by_key(|(at, u, _)| (*at, *u));
        b.shrink_to_fit();
        return;
    }
    // `start[s]`: where the events of second s of the hour begin in the ordered bucket.
    let mut start = vec![0u32; SECONDS_PER_HOUR as usize + 1];
    for (at, _, _) in b.iter() {
        start[(at.0 - from) as usize + 1] += 1;
    }
    for s in 1..start.len() {
        start[s] += start[s - 1];
    }
    let mut at_rank = vec![0u32; b.len()];
    for (i, (at, _, _)) in b.iter().enumerate() {
        let next = &mut start[(at.0 - from) as usize];
        at_rank[*next as usize] = i as u32;
        *next += 1;
    }
    *b = at_rank.iter().map(|&i| b[i as usize]).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::OfferId;
    use proptest::prelude::*;

    proptest! {
        /// The counting sort gives the stable comparison sort's order, event for event, on
        /// buckets filed in user order (and falls back to it on anything else).
        #[test]
        fn ordering_a_bucket_is_the_stable_sort_by_time_then_user(
            hour in 0usize..3,
            raw in proptest::collection::vec((0u32..40, 0u64..3_700, 0u32..1_000), 0..300),
            filed_in_user_order in any::<bool>(),
        ) {
            let mut raw = raw;
            if filed_in_user_order {
                raw.sort_by_key(|r| r.0);
            }
            let from = hour as u64 * SECONDS_PER_HOUR;
            // `impressions` numbers each event, so that the order of equal keys shows.
            let mut bucket: Vec<(SimTime, u32, UserEvent)> = raw
                .iter()
                .enumerate()
                .map(|(i, &(u, s, o))| (SimTime(from + s), u, UserEvent::Exposure { offer: OfferId(o), impressions: i as u32 }))
                .collect();
            let mut expected = bucket.clone();
            expected.sort_by_key(|(at, u, _)| (*at, *u));
            order(hour, &mut bucket);
            let key = |v: &[(SimTime, u32, UserEvent)]| -> Vec<(u64, u32, u32)> {
                v.iter()
                    .map(|(at, u, e)| match e {
                        UserEvent::Exposure { impressions, .. } => (at.0, *u, *impressions),
                        _ => unreachable!("only exposures are filed here"),
                    })
                    .collect()
            };
            prop_assert_eq!(key(&bucket), key(&expected));
            prop_assert_eq!(bucket.capacity(), bucket.len());
        }

        /// The chunks cover a shard's users once each, in order, a small one first.
        #[test]
        fn chunks_cover_the_users_in_order_a_small_one_first(start in 0u32..u32::MAX, len in 0u32..100_000) {
            let users = start..start.saturating_add(len);
            let chunks: Vec<Range<u32>> = chunks(&users).collect();
            prop_assert_eq!(chunks.iter().flat_map(|c| c.clone()).collect::<Vec<u32>>(), users.clone().collect::<Vec<u32>>());
            prop_assert!(chunks.iter().all(|c| !c.is_empty()));
            if let Some(first) = chunks.first() {
                prop_assert_eq!(first.len() as u32, USERS_IN_FIRST_CHUNK.min(users.len() as u32));
            }
            prop_assert!(chunks.iter().skip(1).all(|c| c.len() as u32 <= USERS_PER_CHUNK));
        }
    }
}
