//! Users: who they are, what they see, when they enroll, when they delete a card, and what they
//! buy. Each user is simulated on their own from their own random draws, so users can be
//! generated in parallel, in any order, with identical results. What crosses users (budgets,
//! caps, the ledger) is left to the engine, which replays every timeline in time order.

mod attribution;
mod exposure;
mod funnel;
pub mod sharing;
mod shops;
mod spend;

use crate::core::bitset::BitSet;
use crate::core::money::Cents;
use crate::core::rng::{hash_unit, mix3, Draw, Purpose, Stream};
use crate::core::time::SimTime;
use crate::people::sharing::Cascades;
use crate::world::attribution::Touch;
use crate::world::network::PurchaseId;
use crate::world::{Channel, MerchantId, MidId, OfferId, SegmentId, Token, World};
use attribution::{attribute, Touches};
use exposure::*;
use funnel::*;
use shops::shop_visits;
use spend::*;

/// Upper bound on a single basket, in cents (bad tails of the lognormal are clipped here).
pub const MAX_BASKET: Cents = Cents(100_000_000); // $1,000,000.00
/// Mixed into the seed for the holdout draw ("holdout!" in ASCII).
const HOLDOUT_KEY: u64 = 0x686f_6c64_6f75_7421;
/// Seconds a one-tap enrollment takes after the click.
const ONE_TAP_SECONDS: u64 = 5;

#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub id: PurchaseId,
    /// The purchase's identity among its buyer's, independent of their other purchases (which
    /// baseline candidate, which offer's extra visit, which shop order; `purchase_key`): its
    /// network fate is drawn from it, so a purchase that an offer adds or removes never shifts
    /// the fate of another (common random numbers).
    pub key: u64,
    pub merchant: MerchantId,
    pub mid: MidId,
    pub channel: Channel,
    pub amount: Cents,
    /// Which of the user's physical cards paid (0 = primary).
    pub slot: u8,
    pub scheme: u8,
    /// What an enrolled offer did to it (the ground truth of incrementality).
    pub effect: Effect,
    /// The surfaces that led to it (`attribution.rs`).
    pub touch: Touch,
    /// A shop surface's order: (shop index, units).
    pub order: Option<(u32, u32)>,
}

/// What an enrolled offer did to a purchase (`behaviour.rs`): the ground truth of
/// incrementality. One at most: a purchase an offer caused or pulled forward is not topped up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Effect {
    #[default]
    None,
    /// It exists only because the buyer was enrolled in this offer (an extra visit, the
    /// uplift): incremental as a whole.
    Extra(OfferId),
    /// The buyer raised it to this enrolled offer's minimum spend, adding these cents (a
    /// top-up, included in the amount): incremental.
    TopUp(OfferId, Cents),
    /// A visit after this offer's end that an extra visit at the given time took the place of:
    /// it does not happen, unless that extra visit did not either (the offer was withdrawn by
    /// then).
    PulledBy(OfferId, SimTime),
}

#[derive(Debug, Clone, Copy)]
pub enum UserEvent {
    /// `impressions` views of an offer in one day, the first at this event's time.
    Exposure {
        offer: OfferId,
        impressions: u32,
    },
    Click {
        offer: OfferId,
    },
    CardEntryAbandoned {
        offer: OfferId,
    },
    CardAdded {
        slot: u8,
        token: Token,
    },
    Enrolled {
        offer: OfferId,
        token: Token,
        one_tap: bool,
        /// The person's impressions of the offer so far, this one included (0: not known).
        impressions: u32,
    },
    CardDeleted {
        token: Token,
    },
    /// The user posted the offer's hashtag (hashtag sync); an enrollment follows unless they
    /// were enrolled already (`enrolls`), e.g. after a view of a shared post.
    HashtagPost {
        offer: OfferId,
        enrolls: bool,
    },
    /// The user saw the offer's post because someone they follow shared it (`sharing.rs`).
    ShareSeen {
        offer: OfferId,
        generation: u8,
    },
    /// The user shared the offer's post with their followers.
    Shared {
        offer: OfferId,
        generation: u8,
    },
    /// The enrollment just before came from a view of a shared post.
    EnrolledFromShare {
        offer: OfferId,
    },
    Purchase(Purchase),
    /// `impressions` views of a shop surface (`World::shops[shop]`) in one day, the first at
    /// this event's time.
    ShopSeen {
        shop: u32,
        impressions: u32,
    },
    /// A tap on a carousel's product, or on a buy button's "Buy".
    ShopTap {
        shop: u32,
    },
    /// A carousel tap that reached the merchant's site.
    SiteVisit {
        shop: u32,
    },
    /// A first buy-button purchase given up at the card entry.
    ShopCardAbandoned {
        shop: u32,
    },
}

#[derive(Debug, Clone)]
pub struct UserProfile {
    pub segment: SegmentId,
    pub hashtags: Vec<u32>,
    /// Scheme index of each physical card.
    pub card_schemes: Vec<u8>,
}

/// Everything one user does, in time order.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub user: u32,
    pub profile: UserProfile,
    pub events: Vec<(SimTime, UserEvent)>,
}

#[derive(Clone)]
struct Link {
    token: Token,
    slot: u8,
    added_at: SimTime,
    deleted_at: SimTime,
}

struct Enrollment {
    offer: OfferId,
    slot: u8,
    start: SimTime,
    end: SimTime,
}

pub fn profile(world: &World, user: u32) -> UserProfile {
    let mut rng = Stream::new(world.seed, Purpose::UserProfile, 0, user as u64);
    let segment = SegmentId(world.segment_pick.draw(&mut rng) as u32);
    let seg = &world.segments[segment.0 as usize];
    let hashtags = seg.hashtags.iter().filter(|(_, p)| rng.bernoulli(*p)).map(|(t, _)| *t).collect();
    let cards = seg.cards_per_user.draw(&mut rng) + 1;
    let card_schemes = (0..cards).map(|_| seg.schemes.draw(&mut rng) as u8).collect();
    UserProfile { segment, hashtags, card_schemes }
}

/// The offers that target a user: their segment's untagged offers and those of their hashtags,
/// in offer order, each once.
pub(crate) fn targeted(world: &World, p: &UserProfile) -> Vec<OfferId> {
    let mut offers = Vec::new();
    targeted_into(world, p, &mut offers, &mut BitSet::default());
    offers
}

/// `targeted` into `offers` (cleared first). The lists are a union of the segment's and the
/// hashtags' (each in offer order), taken as a bit per offer in `bits` (left empty), then read
/// in order: no sort of some sixty offers per person at national scale.
fn targeted_into(world: &World, p: &UserProfile, offers: &mut Vec<OfferId>, bits: &mut BitSet) {
    let a = &world.audiences[p.segment.0 as usize];
    offers.clear();
    if p.hashtags.is_empty() {
        offers.extend_from_slice(&a.untagged);
        return;
    }
    let lists = std::iter::once(&a.untagged).chain(p.hashtags.iter().map(|&h| &a.by_hashtag[h as usize]));
    union_in_order(world.offers.len(), lists.map(Vec::as_slice), offers, bits);
}

/// The offers of `lists` (each below `count`), each once, in offer order, appended to `out`;
/// `bits` is empty before and after.
fn union_in_order<'a>(
    count: usize,
    lists: impl Iterator<Item = &'a [OfferId]>,
    out: &mut Vec<OfferId>,
    bits: &mut BitSet,
) {
    bits.grow(count);
    for list in lists {
        for &OfferId(o) in list {
            bits.insert(o);
        }
    }
    bits.drain(|o| out.push(OfferId(o)));
}

/// Whether the user, targeted by the offer, is in its holdout group: never shown it. A keyed
/// hash of (seed, offer, user), so holding people out changes nothing else they do.
pub fn held_out(world: &World, user: u32, offer: OfferId) -> bool {
    let share = world.exposure_terms(offer).holdout;
    share > 0.0 && hash_unit(mix3(world.seed ^ HOLDOUT_KEY, offer.0 as u64, user as u64), 0) < share
}

/// A targeted user's place in an offer's holdout experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub offer: OfferId,
    pub held_out: bool,
    /// Enrolled at some point (only the exposed can).
    pub enrolled: bool,
}

/// The user's assignments in the offers that hold out part of their audience.
pub fn assignments(world: &World, t: &Timeline) -> Vec<Assignment> {
    assignments_of(world, t.user, &t.profile, &t.events)
}

/// `assignments` of a timeline given by its parts (`simulate_each`).
pub fn assignments_of(
    world: &World,
    user: u32,
    profile: &UserProfile,
    events: &[(SimTime, UserEvent)],
) -> Vec<Assignment> {
    targeted(world, profile)
        .into_iter()
        .filter(|o| world.offers[o.0 as usize].targeting.holdout > 0.0)
        .map(|offer| Assignment {
            offer,
            held_out: held_out(world, user, offer),
            enrolled: events.iter().any(|(_, e)| matches!(e, UserEvent::Enrolled { offer: o, .. } if *o == offer)),
        })
        .collect()
}

pub fn token_for(world: &World, user: u32, link: u32) -> Token {
    // splitmix64's finaliser is a bijection: distinct (user, link) give distinct tokens.
    let mut z = (((user as u64) << 20) | link as u64) ^ world.seed.rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Token(z ^ (z >> 31))
}

/// Simulates one user from their own draws, with what the sharing cascades bring them.
pub fn simulate(world: &World, user: u32, cascades: &Cascades) -> Timeline {
    simulate_each(world, user, cascades, |profile, events| Timeline { user, profile, events: events.to_vec() })
}

/// `simulate`, handing the timeline's profile and events to `f` where they were made (the
/// thread's working vector) instead of copying them into a `Timeline` of their own: a caller
/// that files the events elsewhere at once saves the copy and the allocation per person.
pub fn simulate_each<R>(
    world: &World,
    user: u32,
    cascades: &Cascades,
    f: impl FnOnce(UserProfile, &[(SimTime, UserEvent)]) -> R,
) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut s) => {
            let profile = simulate_in(world, user, cascades, &mut s);
            f(profile, &s.events)
        }
        Err(_) => {
            let mut s = Scratch::default();
            let profile = simulate_in(world, user, cascades, &mut s);
            f(profile, &s.events)
        }
    })
}

/// A person's working vectors, kept by each thread from one person to the next so that they
/// grow once instead of for every person (allocation was a tenth of generation's time); the
/// timeline leaves with a copy of exactly its length.
#[derive(Default)]
struct Scratch {
    targeted: Vec<OfferId>,
    /// A bit per offer, empty between uses (`targeted_into`).
    offer_bits: BitSet,
    seen: Vec<(SimTime, OfferId, u8)>,
    events: Vec<(SimTime, UserEvent)>,
    funnel: FunnelScratch,
    touches: Touches,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Simulates the user into `scratch.events`; returns their profile.
fn simulate_in(world: &World, user: u32, cascades: &Cascades, scratch: &mut Scratch) -> UserProfile {
    let profile = profile(world, user);
    let Scratch { targeted, offer_bits, seen, events, funnel: funnel_scratch, touches } = scratch;
    seen.clear();
    events.clear();
    targeted_into(world, &profile, targeted, offer_bits);
    for &offer in targeted.iter() {
        if !held_out(world, user, offer) {
            impressions(world, user, offer, seen);
        }
    }
    // Views of shared posts go through the same funnel, marked with their generation.
    seen.extend(cascades.views_of(user).iter().map(|v| (v.at, v.offer, v.generation.max(1))));
    seen.sort_unstable();
    for s in cascades.shares_of(user) {
        events.push((s.at, UserEvent::Shared { offer: s.offer, generation: s.generation }));
    }
    let enrollments = funnel(world, user, &profile, seen, events, funnel_scratch);
    spend(world, user, &profile, enrollments, events);
    if !world.shops.is_empty() {
        shop_visits(world, user, &profile, events);
    }
    events.sort_by_key(|(t, _)| *t); // stable: same-second events keep their causal order
    attribute(world, events, touches);
    let mut seq = 0;
    for (_, e) in events.iter_mut() {
        if let UserEvent::Purchase(p) = e {
            p.id = PurchaseId { user, seq };
            seq += 1;
        }
    }
    profile
}

/// Mixed into the seed for the impressions of a burst ("burst!!!" in ASCII).
const BURST_KEY: u64 = 0x6275_7273_7421_2121;

/// Mixed into the seed for whether a person's card is issuer-linked ("issuer!!" in ASCII).
const ISSUER_KEY: u64 = 0x6973_7375_6572_2121;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_union_of_audiences_is_the_sorted_distinct_offers(
            count in 1usize..300,
            lists in proptest::collection::vec(proptest::collection::vec(0u32..300, 0..40), 0..8),
        ) {
            let lists: Vec<Vec<OfferId>> = lists
                .into_iter()
                .map(|l| {
                    let mut l: Vec<OfferId> = l.into_iter().filter(|&o| (o as usize) < count).map(OfferId).collect();
                    l.sort_unstable();
                    l
                })
                .collect();
            let mut expected: Vec<OfferId> = lists.iter().flatten().copied().collect();
            expected.sort_unstable();
            expected.dedup();
            let (mut got, mut bits) = (Vec::new(), BitSet::default());
            for _ in 0..2 {
                got.clear();
                union_in_order(count, lists.iter().map(Vec::as_slice), &mut got, &mut bits);
                proptest::prop_assert_eq!(&got, &expected);
                proptest::prop_assert!((0..count as u32).all(|o| !bits.contains(o)), "the bits are left clear for the next person");
            }
        }
    }

    #[test]
    fn a_user_event_stays_small() {
        // Every person's timeline is a vector of these: the memory estimate of a run
        // (`workload.rs`) and the national-scale figures count on it.
        assert!(std::mem::size_of::<UserEvent>() <= 72, "{} bytes", std::mem::size_of::<UserEvent>());
    }

    #[test]
    fn tokens_are_letters_only_and_distinct() {
        assert_eq!(Token(0).to_string(), "tok_aaaaaaaaaaaaaa");
        assert_eq!(Token(27).to_string(), "tok_aaaaaaaaaaaabb");
        let max = Token(u64::MAX).to_string();
        assert_eq!(max.len(), 18);
        assert!(max[4..].bytes().all(|b| b.is_ascii_lowercase()));
        assert_ne!(Token(u64::MAX).to_string(), Token(u64::MAX - 1).to_string());
    }
}
