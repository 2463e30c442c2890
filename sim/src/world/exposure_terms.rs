//! What each (person, offer) pair asks of the offer, packed per offer: at national scale a
//! person is targeted by some sixty offers and sees few of them, so the questions every pair
//! asks are read from ~100 bytes per offer instead of the lines of an `Offer` they sit on.

use super::{MerchantId, Offer};
use crate::core::rng::mix2;
use crate::core::sample::exponential_exceeds_below;
use crate::core::time::{daily_window_seconds, window_rate, SimTime};
use crate::core::windows::Windows;

/// Mixed into the seed for the first impression's keyed hash ("exposure" in ASCII).
pub const EXPOSURE_KEY: u64 = 0x6578_706f_7375_7265;

/// An offer's terms for a person's exposure to it (the first question in the first 8 bytes).
#[derive(Debug, Clone, Copy)]
pub struct ExposureTerms {
    /// The first impression's uniform below which the person never sees the offer (bursts
    /// aside): `sample::exponential_exceeds_below` of its rate and exposure seconds.
    pub no_impression_below: f64,
    /// `targeting.holdout`.
    pub holdout: f64,
    /// The offer has bursts (moments) to draw.
    pub bursts: bool,
    /// Its merchant (an impression touches it: `people::attribution`).
    pub merchant: MerchantId,
    /// Hashtag sync's chance that a person with an issuer-linked card posts the hashtag at their
    /// first view (`people::funnel::hashtag_poster`); none without hashtag sync.
    pub post_rate: Option<f64>,
    /// Its exposure windows, for the process of a person's impressions.
    pub windows: Windows,
    /// The first two words of each person's exposure key, `mix2(seed ^ EXPOSURE_KEY, offer)`:
    /// a person's is `mix3_last` of it and their id (`core::rng`).
    pub key: u64,
}

impl ExposureTerms {
    /// The terms of offer `o`, the `index`-th of a world with this activity period's end and seed.
    pub(crate) fn of(o: &Offer, index: usize, period_end: SimTime, seed: u64) -> ExposureTerms {
        let t = &o.targeting;
        ExposureTerms {
            no_impression_below: no_impression_below(o, period_end),
            holdout: t.holdout,
            bursts: !t.bursts.is_empty(),
            merchant: o.merchant,
            post_rate: o.hashtag_sync.as_ref().map(|h| h.post_rate),
            windows: Windows::new(period_end, (o.start, o.end), t.hours, t.impressions_per_day),
            key: mix2(seed ^ EXPOSURE_KEY, index as u64),
        }
    }
}

/// The uniform of an offer's first impression below which the person never sees it: the
/// first arrival of `people::exposure_times`' process lies past all its windows.
fn no_impression_below(o: &Offer, period_end: SimTime) -> f64 {
    let hours = o.targeting.hours;
    let rate = window_rate(o.targeting.impressions_per_day, hours);
    let seconds = daily_window_seconds((o.start, o.end.min(period_end)), hours);
    exponential_exceeds_below(rate, seconds as f64)
}
