//! Sharing: posts are reposted, and each share exposes the sharer's followers. Reach is a
//! seeded branching process per offer, so a post can go viral or fizzle:
//!
//! - **Generation 0**: people the offer targets who share it at their first view of it (each
//!   with probability `share_rate`, a keyed hash of (offer, person)), and with hashtag sync the
//!   people who post its hashtag then (`population::hashtag_poster`): a post reaches the
//!   poster's followers too. Their first view is the one their own timeline has
//!   (`population::exposure_times`), so both agree.
//! - Each sharer has a heavy-tailed number of followers (lognormal: `followers_median`,
//!   `followers_sigma`), each a person of the population (a keyed hash of (offer, sharer, k)),
//!   who sees the shared post after an exponential delay (`delay_hours` on average) and shares
//!   it in turn with probability `share_rate` — once per person and offer, whatever the number of
//!   shares that reached them. Views after the offer ends, and people held out of the offer's
//!   experiment, are left out; the cascade stops at `max_reach` views.
//!
//! The cascade is computed once per run, before the people are simulated, from the seed alone
//! (events in (time, person, generation) order, each draw keyed by the entity it concerns); each
//! person then finds their share views and their own shares in the index. So the result depends
//! on neither the thread count nor the shard count.

use crate::core::bitset::BitSet;
use crate::core::rng::{hash_unit, mix3, Purpose, Stream};
use crate::core::sample::{exponential, lognormal};
use crate::core::time::SimTime;
use crate::people::{exposure_times_first, hashtag_poster, held_out, profile, targeted};
use crate::world::{OfferId, Sharing, World};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// "sharing!" in ASCII: the keyed hashes of who shares.
const SHARE_KEY: u64 = 0x7368_6172_696e_6721;
/// "follower": the keyed hashes of who follows whom.
const FOLLOW_KEY: u64 = 0x666f_6c6c_6f77_6572;
/// Generations followed at most (a cascade that would go deeper is cut, and says so).
pub const MAX_GENERATIONS: usize = 30;
/// Seconds from a view to the share it prompts.
const SHARE_SECONDS: u64 = 60;

/// One view of a shared post, or one share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShareEvent {
    pub user: u32,
    pub at: SimTime,
    pub offer: OfferId,
    /// The view's generation (1 = a follower of a first sharer), or the sharer's (0 = shared at
    /// their own first view).
    pub generation: u8,
}

/// Reach of one offer's cascade, by generation.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ShareStats {
    /// Hashtag posts that reached the posters' followers (generation 0, besides the sharers).
    pub posts: u64,
    /// People who shared, by generation (0: at their own first view).
    pub sharers: Vec<u64>,
    /// Views of shared posts, by generation (index 0: generation 1).
    pub views: Vec<u64>,
    /// Distinct people reached by shares.
    pub people_reached: u64,
    /// The cascade hit `max_reach` or the generation limit.
    pub capped: bool,
}

#[derive(Debug, Default)]
pub struct Cascades {
    /// Views of shared posts, by (user, time).
    pub views: Vec<ShareEvent>,
    /// Shares, by (user, time).
    pub shares: Vec<ShareEvent>,
    /// Per offer (default for offers without sharing).
    pub stats: Vec<ShareStats>,
}

impl Cascades {
    /// No sharing at all (every scenario without `sharing`).
    pub fn none(world: &World) -> Cascades {
        Cascades { views: Vec::new(), shares: Vec::new(), stats: vec![ShareStats::default(); world.offers.len()] }
    }

    fn of(list: &[ShareEvent], user: u32) -> &[ShareEvent] {
        let lo = list.partition_point(|e| e.user < user);
        let hi = list.partition_point(|e| e.user <= user);
        &list[lo..hi]
    }
    /// The user's views of shared posts, in time order.
    pub fn views_of(&self, user: u32) -> &[ShareEvent] {
        Cascades::of(&self.views, user)
    }
    /// The user's own shares, in time order.
    pub fn shares_of(&self, user: u32) -> &[ShareEvent] {
        Cascades::of(&self.shares, user)
    }
}

fn shares(world: &World, offer: OfferId, user: u32, rate: f64) -> bool {
    hash_unit(mix3(world.seed ^ SHARE_KEY, offer.0 as u64, user as u64), 0) < rate
}

/// Every offer's cascade. The first sharers are found by looking at each person once (their
/// profile and first view), so this costs a pass over the population when an offer shares.
pub fn cascades(world: &World) -> Cascades {
    let mut out = Cascades::none(world);
    let users = u32::try_from(world.users).unwrap_or(u32::MAX);
    // Offers whose posts reach followers: shared ones, and hashtag posts (whose followers see
    // the post but, without `sharing`, do not reshare it).
    let quiet = Sharing {
        share_rate: 0.0,
        followers_median: 150.0,
        followers_sigma: 1.0,
        delay: 3.0 * 3_600.0,
        max_reach: (world.users * 5).min(5_000_000),
    };
    let sharing: Vec<(OfferId, Sharing)> = world
        .offers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match (&o.sharing, &o.hashtag_sync) {
            (Some(s), _) => Some((OfferId(i as u32), s.clone())),
            (None, Some(_)) => Some((OfferId(i as u32), quiet.clone())),
            (None, None) => None,
        })
        .collect();
    if sharing.is_empty() {
        return out;
    }
    // Generation 0, for every such offer at once: (time, person, posted rather than shared).
    let mut roots: Vec<Vec<(SimTime, u32, bool)>> = vec![Vec::new(); world.offers.len()];
    for u in 0..users {
        let p = profile(world, u);
        let mine = targeted(world, &p);
        for (o, s) in &sharing {
            let o = *o;
            if mine.binary_search(&o).is_err() || held_out(world, u, o) {
                continue;
            }
            let posts = hashtag_poster(world, u, &p, o);
            if !posts && !shares(world, o, u, s.share_rate) {
                continue;
            }
            if let Some(t) = exposure_times_first(world, u, o) {
                roots[o.0 as usize].push(if posts { (t, u, true) } else { (t.plus_seconds(SHARE_SECONDS), u, false) });
            }
        }
    }
    for (o, s) in &sharing {
        let o = *o;
        let offer = &world.offers[o.0 as usize];
        let end = offer.end.min(world.period_end());
        let stats = &mut out.stats[o.0 as usize];
        let mut shared = BitSet::new(users as usize);
        let mut reached = BitSet::new(users as usize);
        // (time, person, generation, a hashtag post rather than a share)
        let mut queue: BinaryHeap<Reverse<(SimTime, u32, u8, bool)>> = BinaryHeap::new();
        for &(t, u, post) in &roots[o.0 as usize] {
            shared.insert(u);
            queue.push(Reverse((t, u, 0, post)));
        }
        let mut views = 0u64;
        while let Some(Reverse((t, sharer, g, post))) = queue.pop() {
            if post {
                // The poster's own timeline has the post (`HashtagPost`), not a share.
                stats.posts += 1;
            } else {
                if stats.sharers.len() <= g as usize {
                    stats.sharers.resize(g as usize + 1, 0);
                }
                stats.sharers[g as usize] += 1;
                out.shares.push(ShareEvent { user: sharer, at: t, offer: o, generation: g });
            }
            if g as usize + 1 >= MAX_GENERATIONS {
                stats.capped = true;
                continue;
            }
            let mut rng = Stream::new(world.seed, Purpose::Share, o.0 as u64, sharer as u64);
            let followers = lognormal(&mut rng, s.followers_median, s.followers_sigma).round().min(users as f64) as u64;
            for k in 0..followers {
                let delay = exponential(&mut rng, 1.0 / s.delay.max(1.0));
                let f = (mix3(world.seed ^ FOLLOW_KEY, ((o.0 as u64) << 32) | sharer as u64, k) % users as u64) as u32;
                let at = t.plus_seconds(delay.min(1e12) as u64);
                if f == sharer || at >= end || held_out(world, f, o) {
                    continue;
                }
                if views >= s.max_reach {
                    stats.capped = true;
                    break;
                }
                views += 1;
                let gen = g + 1;
                if stats.views.len() < gen as usize {
                    stats.views.resize(gen as usize, 0);
                }
                stats.views[gen as usize - 1] += 1;
                if !reached.contains(f) {
                    reached.insert(f);
                    stats.people_reached += 1;
                }
                out.views.push(ShareEvent { user: f, at, offer: o, generation: gen });
                if !shared.contains(f) && shares(world, o, f, s.share_rate) {
                    shared.insert(f);
                    queue.push(Reverse((at.plus_seconds(SHARE_SECONDS), f, gen, false)));
                }
            }
        }
    }
    out.views.sort_unstable();
    out.shares.sort_unstable();
    out
}
