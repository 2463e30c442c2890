//! Users: who they are, what they see, when they enroll, when they delete a card, and what they
//! buy. Each user is simulated on their own from their own random streams, so users can be
//! generated in parallel, in any order, with identical results. What crosses users (budgets,
//! caps, the ledger) is left to the engine, which replays every timeline in time order.

mod attribution;
pub mod sharing;
mod shops;

use crate::core::money::Cents;
use crate::core::rng::{hash_unit, mix3, Purpose, Stream};
use crate::core::sample::{exponential, lognormal};
use crate::core::time::{SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use crate::people::sharing::Cascades;
use crate::world::attribution::Touch;
use crate::world::network::PurchaseId;
use crate::world::{Channel, MerchantId, MidId, OfferId, SegmentId, Token, World, DAY_SECONDS};
use attribution::attribute;
use shops::shop_visits;

/// Upper bound on a single basket, in cents (bad tails of the lognormal are clipped here).
pub const MAX_BASKET: Cents = Cents(100_000_000); // $1,000,000.00
/// Mixed into the seed for the first impression's keyed hash ("exposure" in ASCII).
const EXPOSURE_KEY: u64 = 0x6578_706f_7375_7265;
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
    let a = &world.audiences[p.segment.0 as usize];
    let mut offers = a.untagged.clone();
    for &h in &p.hashtags {
        offers.extend_from_slice(&a.by_hashtag[h as usize]);
    }
    offers.sort_unstable();
    offers.dedup();
    offers
}

/// Whether the user, targeted by the offer, is in its holdout group: never shown it. A keyed
/// hash of (seed, offer, user), so holding people out changes nothing else they do.
pub fn held_out(world: &World, user: u32, offer: OfferId) -> bool {
    let share = world.offers[offer.0 as usize].targeting.holdout;
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
    targeted(world, &t.profile)
        .into_iter()
        .filter(|o| world.offers[o.0 as usize].targeting.holdout > 0.0)
        .map(|offer| Assignment {
            offer,
            held_out: held_out(world, t.user, offer),
            enrolled: t.events.iter().any(|(_, e)| matches!(e, UserEvent::Enrolled { offer: o, .. } if *o == offer)),
        })
        .collect()
}

/// Impression times of one offer for one user: a Poisson process running only inside the
/// offer's exposure hours, within its window and the activity period. The exposure windows of
/// all days are laid end to end and the process runs once over their total length (it has no
/// memory, so this is the same process), which costs one draw per impression plus one, not one
/// per day: most people see a given offer rarely or never.
fn impressions(world: &World, user: u32, offer: OfferId, out: &mut Vec<(SimTime, OfferId, u8)>) {
    let o = &world.offers[offer.0 as usize];
    // Keyed apart from the merchant pick's `mix3(seed, user, candidate)` (another first word).
    let key = mix3(world.seed ^ EXPOSURE_KEY, offer.0 as u64, user as u64);
    let stream = || Stream::new(world.seed, Purpose::Exposure, offer.0 as u64, user as u64);
    let (span, t) = ((o.start, o.end), &o.targeting);
    exposure_times(world, key, stream, span, t.hours, t.impressions_per_day, |at| {
        out.push((at, offer, 0));
        true
    });
    // Moments: a Poisson number of extra impressions in each burst window, from keyed hashes
    // alone (no stream), so a burst changes nothing else.
    for (b, &(start, end, mean)) in t.bursts.iter().enumerate() {
        if end <= start || end > o.end || start < o.start || mean <= 0.0 {
            continue;
        }
        let key = mix3(world.seed ^ BURST_KEY, ((offer.0 as u64) << 16) | b as u64, user as u64);
        // Inverse CDF of Poisson(mean) at one uniform draw.
        let u = hash_unit(key, 0);
        let (mut n, mut p) = (0u64, libm::exp(-mean));
        let mut cdf = p;
        while u > cdf && n < 1_000 {
            n += 1;
            p *= mean / n as f64;
            cdf += p;
        }
        for k in 0..n {
            let at = start.0 + (hash_unit(key, k + 1) * (end.0 - start.0) as f64) as u64;
            out.push((SimTime(at.min(end.0 - 1)), offer, 0));
        }
    }
}

/// The user's first impression of the offer (the first of `impressions`), from the keyed hash
/// alone.
pub(crate) fn exposure_times_first(world: &World, user: u32, offer: OfferId) -> Option<SimTime> {
    let o = &world.offers[offer.0 as usize];
    let key = mix3(world.seed ^ EXPOSURE_KEY, offer.0 as u64, user as u64);
    let stream = || Stream::new(world.seed, Purpose::Exposure, offer.0 as u64, user as u64);
    let (span, t) = ((o.start, o.end), &o.targeting);
    let mut first = None;
    exposure_times(world, key, stream, span, t.hours, t.impressions_per_day, |at| {
        first = Some(at);
        false
    });
    first
}

/// The arrival times of a Poisson process of `per_day` impressions a day running only inside
/// the exposure `hours`, within `start..end` and the activity period. The exposure windows of
/// all days are laid end to end and the process runs once over their total length (it has no
/// memory, so this is the same process), which costs one draw per impression plus one, not one
/// per day. The first arrival comes from the keyed hash `key`, the rest from `stream`, started
/// only when there is a first impression: a stream costs ~100 ns to start, and most people
/// never see most of what targets them.
pub(crate) fn exposure_times(
    world: &World,
    key: u64,
    stream: impl FnOnce() -> Stream,
    (start, end): (SimTime, SimTime),
    (h0, h1): (u8, u8),
    per_day: f64,
    mut emit: impl FnMut(SimTime) -> bool,
) {
    let rate = per_day / ((h1 - h0) as f64 * SECONDS_PER_HOUR as f64);
    let end = end.min(world.period_end());
    let windows = (start.day_index()..end.day_index().max(start.day_index()) + 1).filter_map(|day| {
        let day0 = day as u64 * SECONDS_PER_DAY;
        let lo = (day0 + h0 as u64 * SECONDS_PER_HOUR).max(start.0);
        let hi = (day0 + h1 as u64 * SECONDS_PER_HOUR).min(end.0);
        (lo < hi).then_some((lo, hi))
    });
    // `t`: exposure seconds since the first window opened; `before`: those of earlier windows.
    let mut t = -libm::log(1.0 - hash_unit(key, 0)) / rate;
    let mut stream = Some(stream);
    let mut rng: Option<Stream> = None;
    let mut before = 0.0;
    for (lo, hi) in windows {
        let len = (hi - lo) as f64;
        while t < before + len {
            if !emit(SimTime(lo + (t - before) as u64)) {
                return;
            }
            if rng.is_none() {
                rng = stream.take().map(|f| f());
            }
            match rng.as_mut() {
                Some(r) => t += exponential(r, rate),
                None => return,
            }
        }
        before += len;
    }
}

pub fn token_for(world: &World, user: u32, link: u32) -> Token {
    // splitmix64's finaliser is a bijection: distinct (user, link) give distinct tokens.
    let mut z = (((user as u64) << 20) | link as u64) ^ world.seed.rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Token(z ^ (z >> 31))
}

/// Simulates one user from their own streams, with what the sharing cascades bring them.
pub fn simulate(world: &World, user: u32, cascades: &Cascades) -> Timeline {
    let profile = profile(world, user);
    let mut seen = Vec::new();
    for offer in targeted(world, &profile) {
        if !held_out(world, user, offer) {
            impressions(world, user, offer, &mut seen);
        }
    }
    // Views of shared posts go through the same funnel, marked with their generation.
    seen.extend(cascades.views_of(user).iter().map(|v| (v.at, v.offer, v.generation.max(1))));
    seen.sort_unstable();
    let mut events = Vec::new();
    for s in cascades.shares_of(user) {
        events.push((s.at, UserEvent::Shared { offer: s.offer, generation: s.generation }));
    }
    let enrollments = funnel(world, user, &profile, &seen, &mut events);
    spend(world, user, &profile, &enrollments, &mut events);
    if !world.shops.is_empty() {
        shop_visits(world, user, &profile, &mut events);
    }
    events.sort_by_key(|(t, _)| *t); // stable: same-second events keep their causal order
    attribute(world, &mut events);
    let mut seq = 0;
    for (_, e) in events.iter_mut() {
        if let UserEvent::Purchase(p) = e {
            p.id = PurchaseId { user, seq };
            seq += 1;
        }
    }
    Timeline { user, profile, events }
}

/// Mixed into the seed for the impressions of a burst ("burst!!!" in ASCII).
const BURST_KEY: u64 = 0x6275_7273_7421_2121;

/// Mixed into the seed for whether a person's card is issuer-linked ("issuer!!" in ASCII).
const ISSUER_KEY: u64 = 0x6973_7375_6572_2121;

/// When a card linked at `added` is deleted: after an exponential time at the segment's rate
/// (`keep` is the uniform draw), or never.
fn deleted_at(seg: &crate::world::Segment, added: SimTime, keep: f64) -> SimTime {
    if seg.card_delete_per_day > 0.0 {
        let after = -libm::log(keep) / (seg.card_delete_per_day / DAY_SECONDS);
        added.plus_seconds(after.min(1e15) as u64 + 1)
    } else {
        SimTime(u64::MAX)
    }
}

/// Whether the user's card is issuer-linked (a keyed hash: nothing else they do moves).
pub(crate) fn issuer_linked(world: &World, user: u32, profile: &UserProfile) -> bool {
    let share = world.segments[profile.segment.0 as usize].issuer_linked_share;
    share > 0.0 && hash_unit(mix3(world.seed ^ ISSUER_KEY, user as u64, 0), 0) < share
}

/// Hashtag sync: whether the user posts the offer's hashtag when they first see the offer in
/// their feed (an issuer-linked card, then `post_rate`, a keyed hash of person and offer). A
/// function of (person, offer) alone, so the sharing cascade knows every poster in advance.
pub(crate) fn hashtag_poster(world: &World, user: u32, profile: &UserProfile, offer: OfferId) -> bool {
    let Some(h) = &world.offers[offer.0 as usize].hashtag_sync else {
        return false;
    };
    issuer_linked(world, user, profile)
        && hash_unit(mix3(world.seed ^ POST_KEY, offer.0 as u64, user as u64), 0) < h.post_rate
}

/// Mixed into the seed for whether a person posts an offer's hashtag ("posttag" in ASCII).
const POST_KEY: u64 = 0x706f_7374_7461_6721;

/// Impressions → clicks → card entry or one tap → enrollments; card deletions.
fn funnel(
    world: &World,
    user: u32,
    profile: &UserProfile,
    seen: &[(SimTime, OfferId, u8)],
    out: &mut Vec<(SimTime, UserEvent)>,
) -> Vec<Enrollment> {
    let seg = &world.segments[profile.segment.0 as usize];
    // One stream per (user, offer), and a fixed number of draws per impression, so that another
    // offer's impressions never shift this offer's decisions. Beside it, the chance to tap at the
    // offer's value (`behaviour.rs`) and the impressions of it seen so far.
    let mut streams: Vec<(OfferId, Stream, f64, u32)> = Vec::new();
    // Hashtag sync: offers whose hashtag the user has had the chance to post (at their first
    // view of the offer in their feed).
    let mut first_views: Vec<OfferId> = Vec::new();
    let mut link: Option<Link> = None;
    let mut links = 0u32;
    let mut enrollments: Vec<Enrollment> = Vec::new();
    // Per offer seen: (offer, day, index in `out`) of its latest exposure event (impressions come
    // in time order, so only the latest can still be counting).
    let mut exposure_at: Vec<(OfferId, usize, usize)> = Vec::new();
    for &(t, offer, generation) in seen {
        // A card deleted before a one-tap enrollment could complete counts as gone.
        if let Some(l) = link.as_ref().filter(|l| l.deleted_at <= t.plus_seconds(ONE_TAP_SECONDS)) {
            out.push((l.deleted_at, UserEvent::CardDeleted { token: l.token }));
            link = None;
        }
        if generation > 0 {
            out.push((t, UserEvent::ShareSeen { offer, generation }));
        } else {
            let day = t.day_index();
            match exposure_at.iter_mut().find(|(o, _, _)| *o == offer) {
                Some((_, d, i)) if *d == day => {
                    if let UserEvent::Exposure { impressions, .. } = &mut out[*i].1 {
                        *impressions += 1;
                    }
                }
                found => {
                    let at = (offer, day, out.len());
                    match found {
                        Some(e) => *e = at,
                        None => exposure_at.push(at),
                    }
                    out.push((t, UserEvent::Exposure { offer, impressions: 1 }));
                }
            }
        }
        let k = match streams.iter().position(|(o, ..)| *o == offer) {
            Some(k) => k,
            None => {
                let stream = Stream::new(world.seed, Purpose::Funnel, offer.0 as u64, user as u64);
                let tap = seg.click_rate * world.behaviour.response(world.perceived_value(profile.segment, offer));
                streams.push((offer, stream, tap, 0));
                streams.len() - 1
            }
        };
        let (_, rng, tap, prompts) = &mut streams[k];
        *prompts += 1;
        // The chance to tap at this impression: the offer's value, and how many times it has
        // been seen (each further prompt works a little less).
        let tap = (*tap * world.behaviour.prompt(*prompts)).clamp(0.0, 1.0);
        let (click, typing, complete, keep) = (rng.unit(), 60 + rng.below(180), rng.unit(), rng.unit_open_low());
        let enrolled = enrollments.iter().any(|e| e.offer == offer && e.end > t);
        let first_view = generation == 0 && !first_views.contains(&offer);
        if first_view {
            first_views.push(offer);
        }
        if first_view && hashtag_poster(world, user, profile, offer) {
            let post = out.len();
            out.push((t, UserEvent::HashtagPost { offer, enrolls: false }));
            if !enrolled {
                // The issuer-linked card: linked to the platform at the first post (unless a
                // card entered by hand is linked already), then enrolled in one tap.
                let l = match &link {
                    Some(l) => l.clone(),
                    None => {
                        let token = token_for(world, user, links);
                        links += 1;
                        out.push((t, UserEvent::CardAdded { slot: 0, token }));
                        let l = Link { token, slot: 0, added_at: t, deleted_at: deleted_at(seg, t, keep) };
                        link = Some(l.clone());
                        l
                    }
                };
                let at = t.plus_seconds(ONE_TAP_SECONDS).max(l.added_at);
                // A card linked at the post and deleted within the seconds the tap takes never
                // enrolls (the engine only enrolls linked cards).
                if l.deleted_at > at {
                    out.push((at, UserEvent::Enrolled { offer, token: l.token, one_tap: true, impressions: *prompts }));
                    enrollments.push(Enrollment { offer, slot: l.slot, start: at, end: l.deleted_at });
                    out[post].1 = UserEvent::HashtagPost { offer, enrolls: true };
                }
            }
            continue;
        }
        if enrolled || click >= tap {
            continue;
        }
        out.push((t, UserEvent::Click { offer }));
        if let Some(l) = &link {
            // One tap, once the stored card exists (a card entry may still be under way).
            let at = t.plus_seconds(ONE_TAP_SECONDS).max(l.added_at);
            out.push((at, UserEvent::Enrolled { offer, token: l.token, one_tap: true, impressions: *prompts }));
            if generation > 0 {
                out.push((at, UserEvent::EnrolledFromShare { offer }));
            }
            enrollments.push(Enrollment { offer, slot: l.slot, start: at, end: l.deleted_at });
            continue;
        }
        // First card entry: typing the card takes one to four minutes, and some give up.
        if complete >= seg.card_entry_completion {
            out.push((t.plus_seconds(typing / 2), UserEvent::CardEntryAbandoned { offer }));
            continue;
        }
        let added = t.plus_seconds(typing);
        let token = token_for(world, user, links);
        links += 1;
        let deleted_at = deleted_at(seg, added, keep);
        out.push((added, UserEvent::CardAdded { slot: 0, token }));
        out.push((added, UserEvent::Enrolled { offer, token, one_tap: false, impressions: *prompts }));
        if generation > 0 {
            out.push((added, UserEvent::EnrolledFromShare { offer }));
        }
        enrollments.push(Enrollment { offer, slot: 0, start: added, end: deleted_at });
        link = Some(Link { token, slot: 0, added_at: added, deleted_at });
    }
    if let Some(l) = link.filter(|l| l.deleted_at < world.period_end()) {
        out.push((l.deleted_at, UserEvent::CardDeleted { token: l.token }));
    }
    enrollments
}

/// Baseline purchases (a thinned Poisson process following surges and the hourly mix of
/// merchants), plus the extra purchases enrolled users make at the offer's merchant.
fn spend(
    world: &World,
    user: u32,
    profile: &UserProfile,
    enrollments: &[Enrollment],
    out: &mut Vec<(SimTime, UserEvent)>,
) {
    let seg = &world.segments[profile.segment.0 as usize];
    let per_second = seg.purchases_per_day / DAY_SECONDS;
    if per_second <= 0.0 {
        return;
    }
    let segments = world.surge_segments();
    // Each process draws exactly two numbers per candidate from its timing stream; each
    // purchase's details come from its own stream and its merchant from a stable pick keyed by
    // the candidate index, so a change to one purchase never shifts the draws of the next.
    let mut timing = Stream::new(world.seed, Purpose::Spending, 0, user as u64);
    let mut candidate = 0u64;
    let shape = |at: SimTime| world.hour_weight[at.hour_of_day()];
    let span = (SimTime::ZERO, world.period_end());
    arrivals(&segments, &mut timing, span, per_second, world.max_hour_weight(), shape, &mut candidate, |at, c| {
        let pick = world.merchant_pick_by_hour[at.hour_of_day()].pick(mix3(world.seed, user as u64, c));
        let mut detail = Stream::new(world.seed, Purpose::PurchaseDetail, c, user as u64);
        let origin = Origin::Baseline { candidate: c };
        let p = purchase(world, origin, profile, MerchantId(pick as u32), None, None, &mut detail);
        out.push((at, UserEvent::Purchase(p)));
    });
    let mut enrolled: Vec<OfferId> = enrollments.iter().map(|e| e.offer).collect();
    enrolled.sort_unstable();
    enrolled.dedup();
    let mut extra = Vec::new();
    for k in enrolled.into_iter().map(|o| o.0 as usize) {
        extra.clear();
        extra_visits(world, user, profile, enrollments, k, per_second, &segments, &mut extra);
        let kept = incentive(world, user, enrollments, OfferId(k as u32), &mut extra, out);
        pull_forward(world, user, OfferId(k as u32), kept, out);
    }
}

/// Mixed into the seed for whether an extra visit was borrowed from later ("pullfwd!").
const PULL_KEY: u64 = 0x7075_6c6c_6677_6421;

/// Of the offer's extra visits that happened (`out[kept..]`, in time order), those borrowed from
/// later (a keyed draw per visit under `pull_forward`) each take the place of the person's next
/// visit to the merchant in the days after the offer's end, in order: that visit is marked
/// `Effect::PulledBy` and does not happen (the dip after a promotion).
fn pull_forward(world: &World, user: u32, offer: OfferId, kept: usize, out: &mut [(SimTime, UserEvent)]) {
    let share = world.behaviour.pull_forward;
    let extra = &out[kept..];
    if share <= 0.0 || extra.is_empty() {
        return;
    }
    let key = mix3(world.seed ^ PULL_KEY, offer.0 as u64, user as u64);
    let pulls: Vec<SimTime> = extra
        .iter()
        .filter_map(|(t, e)| match e {
            UserEvent::Purchase(p) if hash_unit(key, p.key) < share => Some(*t),
            _ => None,
        })
        .collect();
    if pulls.is_empty() {
        return;
    }
    let o = &world.offers[offer.0 as usize];
    let (from, to) = (o.end, world.effect_end(offer));
    let mut later: Vec<usize> = (0..out.len())
        .filter(|&i| {
            let (t, e) = &out[i];
            *t >= from
                && *t < to
                && matches!(e, UserEvent::Purchase(p) if p.merchant == o.merchant && p.effect == Effect::None
                    && p.order.is_none())
        })
        .collect();
    later.sort_by_key(|&i| (out[i].0, i));
    for (&i, &at) in later.iter().zip(&pulls) {
        if let UserEvent::Purchase(p) = &mut out[i].1 {
            p.effect = Effect::PulledBy(offer, at);
        }
    }
}

/// The extra visits a person enrolled in offer `k` makes at its merchant (`behaviour.rs`), in
/// time order, before `incentive` drops those that come after the reward was earned.
#[allow(clippy::too_many_arguments)]
fn extra_visits(
    world: &World,
    user: u32,
    profile: &UserProfile,
    enrollments: &[Enrollment],
    k: usize,
    per_second: f64,
    segments: &[(SimTime, SimTime, f64)],
    out: &mut Vec<(SimTime, Purchase)>,
) {
    let offer = &world.offers[k];
    if offer.uplift <= 0.0 {
        return;
    }
    let m = &world.merchants[offer.merchant.0 as usize];
    // Extra visits grow with the offer's value (`behaviour.rs`). Candidates come at the rate
    // the richest offer would have and are kept in proportion to this one's response, so a
    // richer offer keeps every visit a poorer one keeps, and more (common random numbers).
    let response = world.behaviour.response(world.perceived_value(profile.segment, OfferId(k as u32)));
    if response <= 0.0 {
        return;
    }
    let most = world.behaviour.max_response();
    let base = per_second * m.weight * offer.uplift * most;
    let peak = m.profile.iter().copied().fold(0.0, f64::max);
    let mut timing = Stream::new(world.seed, Purpose::Uplift, k as u64, user as u64);
    let mut candidate = 0u64;
    // Candidates over the whole offer window, kept while enrolled: when the person enrolled
    // does not move the candidates, so an earlier enrollment only adds visits.
    let enrolled_at = |at: SimTime| {
        enrollments.iter().find(|e| e.offer.0 as usize == k && e.start <= at && at < e.end.min(offer.end))
    };
    let span = (offer.start, offer.end.min(world.period_end()));
    let shape = |at: SimTime| match enrolled_at(at) {
        Some(_) => m.profile[at.hour_of_day()] * (response / most),
        None => 0.0,
    };
    arrivals(segments, &mut timing, span, base, peak, shape, &mut candidate, |at, c| {
        let Some(e) = enrolled_at(at) else { return };
        let sub_key = ((k as u64) << 32) | (c & 0xffff_ffff);
        let mut detail = Stream::new(world.seed, Purpose::UpliftDetail, sub_key, user as u64);
        let origin = Origin::Extra { offer: k as u32, candidate: c };
        let p = purchase(world, origin, profile, offer.merchant, Some(e.slot), Some(e.offer), &mut detail);
        out.push((at, p));
    });
}

/// Mixed into the seed for the top-up draw ("topup!!!" in ASCII).
const TOP_UP_KEY: u64 = 0x746f_7075_7021_2121;

/// What an enrolled offer does to the person's purchases at its merchant, walking them in time
/// order (those already in `out` and the offer's `extra` visits): a purchase on the enrolled
/// card that falls short of the minimum spend is raised to it with the top-up chance (a keyed
/// draw per purchase, so a richer reward only adds top-ups); each purchase that reaches the
/// minimum uses one of the person's capped rewards, and once they are used the incentive is
/// spent: later extra visits do not happen. The kept extra visits join `out`, from the index
/// returned.
fn incentive(
    world: &World,
    user: u32,
    enrollments: &[Enrollment],
    offer: OfferId,
    extra: &mut [(SimTime, Purchase)],
    out: &mut Vec<(SimTime, UserEvent)>,
) -> usize {
    let o = &world.offers[offer.0 as usize];
    let first_kept = out.len();
    let cap = match (o.per_card_cap, o.per_user_cap) {
        (Some(a), Some(b)) => a.min(b) as u64,
        (Some(a), None) | (None, Some(a)) => a as u64,
        (None, None) => u64::MAX,
    };
    let min = o.min_spend;
    let reward = crate::world::behaviour::earned(&o.reward, min.0 as f64 / 100.0);
    let draw_key = mix3(world.seed ^ TOP_UP_KEY, offer.0 as u64, user as u64);
    let enrolled = |at: SimTime, slot: u8| {
        o.start <= at
            && at < o.end
            && enrollments.iter().any(|e| e.offer == offer && e.slot == slot && e.start <= at && at < e.end)
    };
    // Raises `p` to the minimum with the top-up chance; whether it now reaches the minimum.
    let top_up = |p: &mut Purchase| -> bool {
        if p.amount >= min {
            return true;
        }
        if matches!(p.effect, Effect::TopUp(..) | Effect::PulledBy(..)) {
            return false;
        }
        let gap = min.0 - p.amount.0;
        let chance = world.behaviour.top_up_chance(reward, gap as f64 / 100.0);
        if hash_unit(draw_key, p.key) >= chance {
            return false;
        }
        if p.effect == Effect::None {
            p.effect = Effect::TopUp(offer, Cents(gap));
        }
        p.amount = min;
        true
    };
    // The person's purchases at the merchant so far that will happen, in time order (at equal
    // times, in the order they were made).
    let mut mine: Vec<usize> = (0..out.len())
        .filter(|&i| {
            matches!(&out[i].1, UserEvent::Purchase(p) if p.merchant == o.merchant && !matches!(p.effect, Effect::PulledBy(..)))
        })
        .collect();
    mine.sort_by_key(|&i| (out[i].0, i));
    let mut used = 0u64;
    let mut next_extra = 0;
    for j in 0..=mine.len() {
        let at = mine.get(j).map_or(SimTime(u64::MAX), |&i| out[i].0);
        // The extra visits that come before this purchase (at equal times, the existing first).
        while next_extra < extra.len() && extra[next_extra].0 < at {
            let (t, p) = &mut extra[next_extra];
            next_extra += 1;
            if used >= cap {
                continue;
            }
            if top_up(p) {
                used += 1;
            }
            out.push((*t, UserEvent::Purchase(*p)));
        }
        let Some(&i) = mine.get(j) else { break };
        let (t, e) = &mut out[i];
        if let UserEvent::Purchase(p) = e {
            if used < cap && enrolled(*t, p.slot) && top_up(p) {
                used += 1;
            }
        }
    }
    first_kept
}

/// Arrivals on `span` of a Poisson process with rate `base × surge(t) × shape(t)`, where
/// `shape(t) <= shape_max`: within each constant-surge segment, candidates come at the segment's
/// peak rate and are kept with probability `shape(t) / shape_max` (thinning), so the work
/// follows the real rate even under a short, steep surge. Draws exactly two numbers per
/// candidate from `timing`; `candidate` numbers the candidates across calls.
#[allow(clippy::too_many_arguments)]
fn arrivals(
    segments: &[(SimTime, SimTime, f64)],
    timing: &mut Stream,
    (from, to): (SimTime, SimTime),
    base: f64,
    shape_max: f64,
    shape: impl Fn(SimTime) -> f64,
    candidate: &mut u64,
    mut emit: impl FnMut(SimTime, u64),
) {
    for &(lo, hi, factor) in segments {
        let (lo, hi) = (lo.max(from), hi.min(to));
        let lambda_max = base * factor * shape_max;
        if lo >= hi || lambda_max <= 0.0 {
            continue;
        }
        let mut t = lo.0 as f64;
        loop {
            t += exponential(timing, lambda_max);
            if t >= hi.0 as f64 {
                break;
            }
            let at = SimTime(t as u64);
            let c = *candidate;
            *candidate += 1;
            if timing.unit() * shape_max < shape(at) {
                emit(at, c);
            }
        }
    }
}

/// Where a purchase came from, for its `key`: a baseline candidate, an offer's extra visit, a
/// shop order.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    Baseline { candidate: u64 },
    Extra { offer: u32, candidate: u64 },
    Shop { shop: u32, order: u64 },
}

/// A purchase's `key` from its origin (distinct origins give distinct keys).
pub fn purchase_key(o: Origin) -> u64 {
    const LOW: u64 = 0xffff_ffff;
    match o {
        Origin::Baseline { candidate } => candidate & ((1 << 62) - 1),
        Origin::Extra { offer, candidate } => (1 << 62) | ((offer as u64 & 0x3fff_ffff) << 32) | (candidate & LOW),
        Origin::Shop { shop, order } => (2 << 62) | ((shop as u64 & 0x3fff_ffff) << 32) | (order & LOW),
    }
}

fn purchase(
    world: &World,
    origin: Origin,
    profile: &UserProfile,
    merchant: MerchantId,
    slot: Option<u8>,
    extra_of: Option<OfferId>,
    rng: &mut Stream,
) -> Purchase {
    let seg = &world.segments[profile.segment.0 as usize];
    let m = &world.merchants[merchant.0 as usize];
    let channel = m.channels[m.channel_pick.draw(rng)];
    let mid = m.mid_for(channel, rng.next_u64());
    let cards = profile.card_schemes.len() as u64;
    let slot = slot.unwrap_or_else(|| {
        if cards == 1 || rng.bernoulli(seg.primary_card_share) {
            0
        } else {
            1 + rng.below(cards - 1) as u8
        }
    });
    let dollars = lognormal(rng, m.basket_median * seg.basket_multiplier, m.basket_sigma);
    let amount = Cents(((dollars * 100.0).round() as i64).clamp(1, MAX_BASKET.0));
    Purchase {
        id: PurchaseId { user: 0, seq: 0 },
        key: purchase_key(origin),
        merchant,
        mid,
        channel,
        amount,
        slot,
        scheme: profile.card_schemes[slot as usize],
        effect: extra_of.map_or(Effect::None, Effect::Extra),
        touch: Touch::ORGANIC,
        order: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
