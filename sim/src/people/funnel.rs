//! The enrollment funnel: impressions → clicks → card entry or one tap → enrollments, card
//! deletions, hashtag sync and issuer-linked cards.

use super::*;
use crate::core::rng::{hash_unit, mix3, Draw, Hashed, Purpose};
use crate::core::time::SimTime;
use crate::world::{OfferId, World, DAY_SECONDS};

/// When a card linked at `added` is deleted: after an exponential time at the segment's rate
/// (`keep` is the uniform draw), or never.
pub(super) fn deleted_at(seg: &crate::world::Segment, added: SimTime, keep: f64) -> SimTime {
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
    let Some(rate) = world.exposure_terms(offer).post_rate else {
        return false;
    };
    issuer_linked(world, user, profile) && hash_unit(mix3(world.seed ^ POST_KEY, offer.0 as u64, user as u64), 0) < rate
}

/// Mixed into the seed for whether a person posts an offer's hashtag ("posttag" in ASCII).
pub(super) const POST_KEY: u64 = 0x706f_7374_7461_6721;

/// The funnel's working vectors, kept from one person to the next (`Scratch`).
#[derive(Default)]
pub(super) struct FunnelScratch {
    /// Per offer the person has seen, in the order first seen (`Seen`).
    seen: Vec<Seen>,
    /// Per offer of the world: 1 + its place in `seen`, or 0 (not seen); every entry set for a
    /// person is cleared before the next (a lookup per impression instead of a search).
    place: Vec<u32>,
    enrollments: Vec<Enrollment>,
}

/// What the funnel keeps per offer a person has seen.
struct Seen {
    offer: OfferId,
    /// Keyed draws per (user, offer), four numbers per impression at fixed indices (the n-th
    /// impression's from 4·n), so that another offer's impressions never shift this offer's
    /// decisions and a draw nobody needs (after no click) is never made.
    draws: Hashed,
    /// The chance to tap at the offer's value (`behaviour.rs`).
    tap: f64,
    /// Impressions of it so far (in the feed or shared).
    prompts: u32,
    /// (day, index in `out`) of its latest exposure event (impressions come in time order, so
    /// only the latest can still be counting).
    exposure: Option<(usize, usize)>,
    /// Seen in the person's own feed (hashtag sync acts at the first such view).
    in_feed: bool,
    /// The latest end of its enrollments (enrolled at `t` while `t` is before it).
    enrolled_until: Option<SimTime>,
}

/// Impressions → clicks → card entry or one tap → enrollments (returned); card deletions.
pub(super) fn funnel<'s>(
    world: &World,
    user: u32,
    profile: &UserProfile,
    seen: &[(SimTime, OfferId, u8)],
    out: &mut Vec<(SimTime, UserEvent)>,
    scratch: &'s mut FunnelScratch,
) -> &'s [Enrollment] {
    let seg = &world.segments[profile.segment.0 as usize];
    let FunnelScratch { seen: state, place, enrollments } = scratch;
    for s in state.drain(..) {
        place[s.offer.0 as usize] = 0;
    }
    if place.len() < world.offers.len() {
        place.resize(world.offers.len(), 0);
    }
    enrollments.clear();
    let mut link: Option<Link> = None;
    let mut links = 0u32;
    for &(t, offer, generation) in seen {
        // A card deleted before a one-tap enrollment could complete counts as gone.
        if let Some(l) = link.as_ref().filter(|l| l.deleted_at <= t.plus_seconds(ONE_TAP_SECONDS)) {
            out.push((l.deleted_at, UserEvent::CardDeleted { token: l.token }));
            link = None;
        }
        let k = match place[offer.0 as usize] {
            0 => {
                let draws = Hashed::new(world.seed, Purpose::Funnel, offer.0 as u64, user as u64);
                let tap = seg.click_rate * world.response(profile.segment, offer);
                let fresh =
                    Seen { offer, draws, tap, prompts: 0, exposure: None, in_feed: false, enrolled_until: None };
                state.push(fresh);
                place[offer.0 as usize] = state.len() as u32;
                state.len() - 1
            }
            p => p as usize - 1,
        };
        let this = &mut state[k];
        if generation > 0 {
            out.push((t, UserEvent::ShareSeen { offer, generation }));
        } else {
            let day = t.day_index();
            match this.exposure {
                Some((d, i)) if d == day => {
                    if let UserEvent::Exposure { impressions, .. } = &mut out[i].1 {
                        *impressions += 1;
                    }
                }
                _ => {
                    this.exposure = Some((day, out.len()));
                    out.push((t, UserEvent::Exposure { offer, impressions: 1 }));
                }
            }
        }
        this.prompts += 1;
        let (draws, tap, prompts) = (this.draws, this.tap, this.prompts);
        // The chance to tap at this impression: the offer's value, and how many times it has
        // been seen (each further prompt works a little less).
        let tap = (tap * world.prompt(prompts)).clamp(0.0, 1.0);
        // This impression's four numbers: the click, then (only when needed) the typing time,
        // whether the card entry completes, and how long a card linked now is kept.
        let at = 4 * prompts as u64;
        let click = draws.at(at).unit();
        let typing = || 60 + draws.at(at + 1).below(180);
        let complete = || draws.at(at + 2).unit();
        let keep = || draws.at(at + 3).unit_open_low();
        let enrolled = this.enrolled_until.is_some_and(|end| end > t);
        let first_view = generation == 0 && !this.in_feed;
        this.in_feed |= generation == 0;
        // Records an enrollment in this offer.
        let mut enroll = |e: Enrollment| {
            this.enrolled_until = Some(this.enrolled_until.map_or(e.end, |u| u.max(e.end)));
            enrollments.push(e);
        };
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
                        let l = Link { token, slot: 0, added_at: t, deleted_at: deleted_at(seg, t, keep()) };
                        link = Some(l.clone());
                        l
                    }
                };
                let at = t.plus_seconds(ONE_TAP_SECONDS).max(l.added_at);
                // A card linked at the post and deleted within the seconds the tap takes never
                // enrolls (the engine only enrolls linked cards).
                if l.deleted_at > at {
                    out.push((at, UserEvent::Enrolled { offer, token: l.token, one_tap: true, impressions: prompts }));
                    enroll(Enrollment { offer, slot: l.slot, start: at, end: l.deleted_at });
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
            out.push((at, UserEvent::Enrolled { offer, token: l.token, one_tap: true, impressions: prompts }));
            if generation > 0 {
                out.push((at, UserEvent::EnrolledFromShare { offer }));
            }
            enroll(Enrollment { offer, slot: l.slot, start: at, end: l.deleted_at });
            continue;
        }
        // First card entry: typing the card takes one to four minutes, and some give up.
        let typing = typing();
        if complete() >= seg.card_entry_completion {
            out.push((t.plus_seconds(typing / 2), UserEvent::CardEntryAbandoned { offer }));
            continue;
        }
        let added = t.plus_seconds(typing);
        let token = token_for(world, user, links);
        links += 1;
        let deleted_at = deleted_at(seg, added, keep());
        out.push((added, UserEvent::CardAdded { slot: 0, token }));
        out.push((added, UserEvent::Enrolled { offer, token, one_tap: false, impressions: prompts }));
        if generation > 0 {
            out.push((added, UserEvent::EnrolledFromShare { offer }));
        }
        enroll(Enrollment { offer, slot: 0, start: added, end: deleted_at });
        link = Some(Link { token, slot: 0, added_at: added, deleted_at });
    }
    if let Some(l) = link.filter(|l| l.deleted_at < world.period_end()) {
        out.push((l.deleted_at, UserEvent::CardDeleted { token: l.token }));
    }
    enrollments
}
