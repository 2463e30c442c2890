//! Spending: baseline purchases (arrivals thinned by the merchants' hours and surges), the
//! extra visits and top-ups an offer causes, visits pulled forward, and each purchase's key and
//! details.

use super::*;
use crate::core::money::Cents;
use crate::core::prefetch::prefetch_whole;
use crate::core::rng::{hash_unit, mix3, Draw, Hashed, Purpose, Stream};
use crate::core::sample::{exponential, lognormal};
use crate::core::time::SimTime;
use crate::world::attribution::Touch;
use crate::world::network::PurchaseId;
use crate::world::{MerchantId, OfferId, World, DAY_SECONDS};

/// Baseline purchases (a thinned Poisson process following surges and the hourly mix of
/// merchants), plus the extra purchases enrolled users make at the offer's merchant.
pub(super) fn spend(
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
    let segments = world.surge_pieces();
    // The enrolled offers and their merchants are read after the baseline purchases: they load
    // meanwhile (a hint; it changes nothing).
    for e in enrollments {
        prefetch_whole(&world.offers[e.offer.0 as usize]);
        prefetch_whole(&world.merchants[world.offer_merchant(e.offer).0 as usize]);
    }
    // Each process draws exactly two numbers per candidate from its timing stream; each
    // purchase's details come from its own keyed draws and its merchant from a stable pick keyed by
    // the candidate index, so a change to one purchase never shifts the draws of the next.
    let mut timing = Stream::new(world.seed, Purpose::Spending, 0, user as u64);
    let mut candidate = 0u64;
    let shape = |at: SimTime| world.hour_weight[at.hour_of_day()];
    let span = (SimTime::ZERO, world.period_end());
    let baseline = |(at, c, merchant): (SimTime, u64, MerchantId), out: &mut Vec<(SimTime, UserEvent)>| {
        let mut detail = Hashed::new(world.seed, Purpose::PurchaseDetail, c, user as u64);
        let origin = Origin::Baseline { candidate: c };
        let p = purchase(world, origin, profile, merchant, None, None, &mut detail);
        out.push((at, UserEvent::Purchase(p)));
    };
    // Each purchase is made one arrival after its merchant is picked, so that the merchant's
    // terms (a cache miss among thousands) load meanwhile; the purchases come out in the same
    // order, from the same draws.
    let mut picked: Option<(SimTime, u64, MerchantId)> = None;
    arrivals(segments, &mut timing, span, per_second, world.max_hour_weight(), shape, &mut candidate, |at, c| {
        let merchant =
            MerchantId(world.merchant_pick_by_hour[at.hour_of_day()].pick(mix3(world.seed, user as u64, c)) as u32);
        world.prefetch_purchase_terms(merchant);
        if let Some(before) = picked.replace((at, c, merchant)) {
            baseline(before, out);
        }
    });
    if let Some(last) = picked {
        baseline(last, out);
    }
    let mut enrolled: Vec<OfferId> = enrollments.iter().map(|e| e.offer).collect();
    enrolled.sort_unstable();
    enrolled.dedup();
    let mut extra = Vec::new();
    for k in enrolled.into_iter().map(|o| o.0 as usize) {
        extra.clear();
        extra_visits(world, user, profile, enrollments, k, per_second, segments, &mut extra);
        let kept = incentive(world, user, enrollments, OfferId(k as u32), &mut extra, out);
        pull_forward(world, user, OfferId(k as u32), kept, out);
    }
}

/// Mixed into the seed for whether an extra visit was borrowed from later ("pullfwd!").
pub(super) const PULL_KEY: u64 = 0x7075_6c6c_6677_6421;

/// Of the offer's extra visits that happened (`out[kept..]`, in time order), those borrowed from
/// later (a keyed draw per visit under `pull_forward`) each take the place of the person's next
/// visit to the merchant in the days after the offer's end, in order: that visit is marked
/// `Effect::PulledBy` and does not happen (the dip after a promotion).
pub(super) fn pull_forward(world: &World, user: u32, offer: OfferId, kept: usize, out: &mut [(SimTime, UserEvent)]) {
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
pub(super) fn extra_visits(
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
    let response = world.response(profile.segment, OfferId(k as u32));
    if response <= 0.0 {
        return;
    }
    let most = world.max_response();
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
        let mut detail = Hashed::new(world.seed, Purpose::UpliftDetail, sub_key, user as u64);
        let origin = Origin::Extra { offer: k as u32, candidate: c };
        let p = purchase(world, origin, profile, offer.merchant, Some(e.slot), Some(e.offer), &mut detail);
        out.push((at, p));
    });
}

/// Mixed into the seed for the top-up draw ("topup!!!" in ASCII).
pub(super) const TOP_UP_KEY: u64 = 0x746f_7075_7021_2121;

/// What an enrolled offer does to the person's purchases at its merchant, walking them in time
/// order (those already in `out` and the offer's `extra` visits): a purchase on the enrolled
/// card that falls short of the minimum spend is raised to it with the top-up chance (a keyed
/// draw per purchase, so a richer reward only adds top-ups); each purchase that reaches the
/// minimum uses one of the person's capped rewards, and once they are used the incentive is
/// spent: later extra visits do not happen. The kept extra visits join `out`, from the index
/// returned.
pub(super) fn incentive(
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
pub(super) fn arrivals(
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

pub(super) fn purchase(
    world: &World,
    origin: Origin,
    profile: &UserProfile,
    merchant: MerchantId,
    slot: Option<u8>,
    extra_of: Option<OfferId>,
    rng: &mut impl Draw,
) -> Purchase {
    let seg = &world.segments[profile.segment.0 as usize];
    // The same draws as the merchant's own `channel_pick` and `mid_for`, from one cache line.
    let (channel, mid, (median, sigma)) = match world.purchase_terms(merchant) {
        Some(t) => {
            let channel = t.channel(rng.unit());
            (channel, t.mid_for(channel, rng.next_u64()), t.basket())
        }
        None => {
            let m = &world.merchants[merchant.0 as usize];
            let channel = m.channels[m.channel_pick.draw(rng)];
            (channel, m.mid_for(channel, rng.next_u64()), (m.basket_median, m.basket_sigma))
        }
    };
    let cards = profile.card_schemes.len() as u64;
    let slot = slot.unwrap_or_else(|| {
        if cards == 1 || rng.bernoulli(seg.primary_card_share) {
            0
        } else {
            1 + rng.below(cards - 1) as u8
        }
    });
    let dollars = lognormal(rng, median * seg.basket_multiplier, sigma);
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
