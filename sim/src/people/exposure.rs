//! Exposure: when a person sees each offer that targets them — a Poisson process within the
//! offer's window and hours, bursts (moments) on top, the first impression from a keyed hash.

use super::*;
use crate::core::rng::{hash_unit, mix3, mix3_last, Hashed};
use crate::core::time::SimTime;
use crate::core::windows::Windows;
use crate::world::EXPOSURE_KEY;
use crate::world::{OfferId, World};

/// Impression times of one offer for one user: a Poisson process running only inside the
/// offer's exposure hours, within its window and the activity period. The exposure windows of
/// all days are laid end to end and the process runs once over their total length (it has no
/// memory, so this is the same process), which costs one draw per impression plus one, not one
/// per day: most people see a given offer rarely or never.
pub(super) fn impressions(world: &World, user: u32, offer: OfferId, out: &mut Vec<(SimTime, OfferId, u8)>) {
    // Keyed apart from the merchant pick's `mix3(seed, user, candidate)` (another first word).
    let terms = world.exposure_terms(offer);
    let key = mix3_last(terms.key, user as u64);
    debug_assert_eq!(key, mix3(world.seed ^ EXPOSURE_KEY, offer.0 as u64, user as u64));
    // Most people never see most of what targets them: when the first gap's uniform alone puts
    // the first arrival past every window (a table per offer), neither the process runs nor the
    // offer itself is read.
    let seen = Hashed::from_key(key).unit_open_low() >= terms.no_impression_below;
    if !seen && !terms.bursts {
        return;
    }
    if seen {
        terms.windows.arrivals(key, |at| {
            out.push((at, offer, 0));
            true
        });
    }
    if !terms.bursts {
        return;
    }
    let o = &world.offers[offer.0 as usize];
    let t = &o.targeting;
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

/// The user's first impression of the offer (the first of `impressions`).
pub(crate) fn exposure_times_first(world: &World, user: u32, offer: OfferId) -> Option<SimTime> {
    let o = &world.offers[offer.0 as usize];
    let key = mix3(world.seed ^ EXPOSURE_KEY, offer.0 as u64, user as u64);
    let (span, t) = ((o.start, o.end), &o.targeting);
    let mut first = None;
    exposure_times(world.period_end(), key, span, t.hours, t.impressions_per_day, |at| {
        first = Some(at);
        false
    });
    first
}

/// The arrival times of a Poisson process of `per_day` impressions a day running only inside
/// the exposure `hours`, within `start..end` and the activity period (to `period_end`): the
/// windows laid end to end (`core::windows`), the k-th gap from the keyed hash of (`key`, k).
pub(crate) fn exposure_times(
    period_end: SimTime,
    key: u64,
    span: (SimTime, SimTime),
    hours: (u8, u8),
    per_day: f64,
    emit: impl FnMut(SimTime) -> bool,
) {
    Windows::new(period_end, span, hours, per_day).arrivals(key, emit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sample::{exponential, exponential_exceeds_below};
    use crate::core::time::{daily_window_seconds, window_rate, SECONDS_PER_DAY, SECONDS_PER_HOUR};
    use proptest::prelude::*;

    /// The windows one day at a time, as before whole days were passed at once.
    fn day_by_day(key: u64, (start, end): (SimTime, SimTime), (h0, h1): (u8, u8), per_day: f64) -> Vec<u64> {
        let rate = per_day / ((h1 - h0) as f64 * SECONDS_PER_HOUR as f64);
        let windows = (start.day_index()..end.day_index().max(start.day_index()) + 1).filter_map(|day| {
            let day0 = day as u64 * SECONDS_PER_DAY;
            let lo = (day0 + h0 as u64 * SECONDS_PER_HOUR).max(start.0);
            let hi = (day0 + h1 as u64 * SECONDS_PER_HOUR).min(end.0);
            (lo < hi).then_some((lo, hi))
        });
        let mut rng = Hashed::from_key(key);
        let (mut t, mut before, mut out) = (exponential(&mut rng, rate), 0.0, Vec::new());
        for (lo, hi) in windows {
            let len = (hi - lo) as f64;
            while t < before + len {
                out.push(lo + (t - before) as u64);
                t += exponential(&mut rng, rate);
            }
            before += len;
        }
        out
    }

    /// `exposure_times`' arguments: a key, a span starting within `days` and lasting up to
    /// `span_days`, exposure hours, and impressions a day (few, or up to `most_per_day`).
    fn case(
        days: u64,
        span_days: u64,
        most_per_day: f64,
    ) -> impl Strategy<Value = (u64, (SimTime, SimTime), (u8, u8), f64)> {
        let per_day = prop_oneof![0.0001f64..0.1, 0.1f64..most_per_day];
        (any::<u64>(), 0..days * SECONDS_PER_DAY, 0..span_days * SECONDS_PER_DAY, 0u8..23, 1u8..24, per_day).prop_map(
            |(key, start, length, h0, hours, per_day)| {
                (key, (SimTime(start), SimTime(start + length)), (h0, (h0 + hours).min(24)), per_day)
            },
        )
    }

    proptest! {
        #[test]
        fn passing_whole_days_at_once_gives_the_day_by_day_times((key, span, hours, per_day) in case(40, 400, 20.0)) {
            let period_end = SimTime(u64::MAX / 2);
            let mut got = Vec::new();
            exposure_times(period_end, key, span, hours, per_day, |at| {
                got.push(at.0);
                true
            });
            prop_assert_eq!(got, day_by_day(key, span, hours, per_day));
        }

        #[test]
        fn a_person_skipped_by_the_first_uniform_would_have_seen_nothing((key, span, hours, per_day) in case(10, 30, 3.0)) {
            let below = exponential_exceeds_below(window_rate(per_day, hours), daily_window_seconds(span, hours) as f64);
            // Keys near the one drawn, so that both sides of the threshold are tried.
            for key in key..key.saturating_add(64) {
                let mut seen = 0;
                exposure_times(SimTime(u64::MAX / 2), key, span, hours, per_day, |_| {
                    seen += 1;
                    true
                });
                if Hashed::from_key(key).unit_open_low() < below {
                    prop_assert_eq!(seen, 0, "key {}", key);
                }
            }
        }
    }
}
