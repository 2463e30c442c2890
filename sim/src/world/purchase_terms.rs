//! What a purchase at a merchant draws from (its channel, MID and basket), packed in one
//! 64-byte line per merchant. A `Merchant` spreads these over three heap blocks and several
//! cache lines (its names, hours and margin sit between them); a purchase at one of 5,000
//! merchants missed the cache on each, and those misses were most of `people::spend::purchase`'s
//! time at national scale. The same numbers, laid out for the draw: a test holds every answer
//! to the `Merchant`'s own.

use crate::world::{Channel, Merchant, MidId};

#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
pub struct PurchaseTerms {
    /// `Merchant::channel_pick`'s cumulative weights (the first `channel_count`).
    cumulative: [f64; 3],
    basket_median: f64,
    basket_sigma: f64,
    first_mid: u32,
    mid_count: u32,
    channels: [Channel; 3],
    channel_count: u8,
    /// Some channel is not in store (`Merchant::mid_for`).
    has_ecom: bool,
}

impl PurchaseTerms {
    /// `None` for a merchant with no channel or more than three (a world that validation
    /// accepted never has one: channels are a map of the three kinds, at least one).
    pub fn of(m: &Merchant) -> Option<PurchaseTerms> {
        let cumulative = m.channel_pick.cumulative();
        if m.channels.is_empty() || m.channels.len() > 3 || cumulative.len() != m.channels.len() {
            return None;
        }
        let mut t = PurchaseTerms {
            cumulative: [0.0; 3],
            basket_median: m.basket_median,
            basket_sigma: m.basket_sigma,
            first_mid: m.first_mid,
            mid_count: m.mid_count,
            channels: [Channel::InStore; 3],
            channel_count: m.channels.len() as u8,
            has_ecom: m.channels.iter().any(|c| *c != Channel::InStore),
        };
        t.cumulative[..cumulative.len()].copy_from_slice(cumulative);
        t.channels[..m.channels.len()].copy_from_slice(&m.channels);
        Some(t)
    }

    /// `m.channels[m.channel_pick.draw(..)]` for the draw's uniform `u`: the first channel whose
    /// cumulative weight exceeds `u` times the total, the last one at most.
    #[inline]
    pub fn channel(&self, u: f64) -> Channel {
        let n = self.channel_count as usize;
        let x = u * self.cumulative[n - 1];
        let i = self.cumulative[..n].iter().map(|&c| (c <= x) as usize).sum::<usize>();
        self.channels[i.min(n - 1)]
    }

    /// `Merchant::mid_for`.
    #[inline]
    pub fn mid_for(&self, channel: Channel, pick: u64) -> MidId {
        let (first, count) = match (channel, self.has_ecom && self.mid_count >= 2) {
            (Channel::InStore, true) => (self.first_mid + 1, self.mid_count - 1),
            (_, true) => (self.first_mid, 1),
            (_, false) => (self.first_mid, self.mid_count),
        };
        MidId(first + (pick % count as u64) as u32)
    }

    /// The basket's median (dollars) and the sd of its log.
    #[inline]
    pub fn basket(&self) -> (f64, f64) {
        (self.basket_median, self.basket_sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::{Draw, Hashed};
    use crate::core::sample::Categorical;

    fn merchant(channels: &[(Channel, f64)], mids: u32) -> Merchant {
        Merchant {
            id: "m".into(),
            name: "M".into(),
            descriptor: "Offers * M".into(),
            category: "cafe".into(),
            first_mid: 17,
            mid_count: mids,
            channels: channels.iter().map(|c| c.0).collect(),
            channel_pick: Categorical::new(channels.iter().map(|c| c.1)).unwrap(),
            profile: [1.0; 24],
            basket_median: 12.5,
            basket_sigma: 0.6,
            weight: 1.0,
            gross_margin: rust_decimal::Decimal::ONE,
            local_offset_secs: 0,
        }
    }

    #[test]
    fn packed_terms_draw_what_the_merchant_draws() {
        use Channel::*;
        let cases: [&[(Channel, f64)]; 6] = [
            &[(InStore, 1.0)],
            &[(Online, 1.0)],
            &[(InStore, 0.8), (Online, 0.2)],
            &[(App, 0.3), (InStore, 0.0), (Online, 0.7)],
            &[(InStore, 0.1), (Online, 0.1), (App, 0.1)],
            &[(Online, 0.0), (InStore, 1.0)],
        ];
        for (i, channels) in cases.iter().enumerate() {
            for mids in [1, 2, 5] {
                let m = merchant(channels, mids);
                let t = PurchaseTerms::of(&m).expect("one to three channels");
                assert_eq!(t.basket(), (12.5, 0.6));
                let mut a = Hashed::new(3, crate::core::rng::Purpose::PurchaseDetail, i as u64, mids as u64);
                let mut b = a;
                for _ in 0..5_000 {
                    let want = m.channels[m.channel_pick.draw(&mut a)];
                    assert_eq!(t.channel(b.unit()), want, "case {i}");
                    let pick = a.next_u64();
                    assert_eq!(b.next_u64(), pick);
                    assert_eq!(t.mid_for(want, pick), m.mid_for(want, pick), "case {i}, {mids} MIDs");
                }
                // The edges of the cumulative weights themselves.
                let total = *m.channel_pick.cumulative().last().unwrap_or(&1.0);
                for &c in m.channel_pick.cumulative() {
                    for u in [c / total, f64::from_bits((c / total).to_bits().saturating_sub(1)), 0.0] {
                        let x = u * total;
                        let want = m.channel_pick.cumulative().partition_point(|&c| c <= x).min(m.channels.len() - 1);
                        assert_eq!(t.channel(u), m.channels[want], "case {i}, u = {u}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_merchant_without_channels_has_no_terms() {
        let mut m = merchant(&[(Channel::InStore, 1.0)], 1);
        m.channels.clear();
        assert!(PurchaseTerms::of(&m).is_none());
    }

    #[test]
    fn the_terms_fill_one_cache_line() {
        assert_eq!(std::mem::size_of::<PurchaseTerms>(), 64);
        assert_eq!(std::mem::size_of::<Option<PurchaseTerms>>(), 64);
    }
}
