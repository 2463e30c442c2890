//! Surfaces and attribution: which surface of the platform led to each purchase.
//!
//! A **touch** is a person meeting a merchant on a surface: seeing one of its offer cards, its
//! shop carousel or a buy button of its products (`shops.rs`), or tapping one. Each purchase looks back over its buyer's
//! touches **with the same merchant** within the attribution window (`[attribution]
//! window_days`, default 7) and records the first and the last of them; a purchase with none is
//! **organic** (baseline demand nobody prompted). The report credits each purchase — its spend,
//! and the rewards and fees it earned — to one surface by the scenario's rule: the last touch
//! (default) or the first. Attribution is computed per person from their own timeline, so it is
//! exact in any number of shards and threads.

use crate::money::Cents;
use crate::time::SimTime;
use crate::world::MerchantId;
use serde::Serialize;

/// Where a purchase came from. `Organic`: no touch with the merchant within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    #[default]
    Organic = 0,
    /// An offer card in a post (exposure → "Get offer" → card-linked enrollment).
    OfferCard = 1,
    /// A product sold inside a post, paid in one click (`shops.rs`).
    BuyButton = 2,
    /// Product photos on a merchant's profile, a tap away from its site (`shops.rs`).
    Carousel = 3,
    /// The person posted an offer's hashtag, which enrolled their issuer-linked card.
    Hashtag = 4,
    /// Someone the person follows shared the offer's post (`sharing.rs`).
    Share = 5,
}

impl Surface {
    pub const ALL: [Surface; 6] =
        [Surface::Organic, Surface::OfferCard, Surface::Share, Surface::Hashtag, Surface::BuyButton, Surface::Carousel];
    pub const COUNT: usize = Surface::ALL.len();

    pub fn name(self) -> &'static str {
        match self {
            Surface::Organic => "organic",
            Surface::OfferCard => "offer_card",
            Surface::BuyButton => "buy_button",
            Surface::Carousel => "carousel",
            Surface::Hashtag => "hashtag",
            Surface::Share => "share",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which touch a purchase is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    #[default]
    LastTouch,
    FirstTouch,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::LastTouch => "last_touch",
            Rule::FirstTouch => "first_touch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    pub rule: Rule,
    /// Seconds a touch counts for after it happened.
    pub window: u64,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution { rule: Rule::LastTouch, window: 7 * 86_400 }
    }
}

/// The surfaces that led to a purchase: the first and last touch within the window, and the
/// chain of every surface touched, in the order first touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Touch {
    pub first: Surface,
    pub last: Surface,
    pub chain: Chain,
}

/// Distinct surfaces in the order first touched, three bits each (at most five: every surface
/// but organic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain(u16);

impl Chain {
    fn push(&mut self, s: Surface) {
        if self.iter().any(|x| x == s) {
            return;
        }
        let n = self.iter().count();
        self.0 |= (s as u16) << (3 * n);
    }
    pub fn iter(self) -> impl Iterator<Item = Surface> {
        (0..5)
            .map(move |k| (self.0 >> (3 * k)) & 7)
            .take_while(|v| *v != 0)
            .filter_map(|v| Surface::ALL.iter().copied().find(|s| s.index() == v as usize))
    }
}

impl Serialize for Chain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Surface::name))
    }
}

impl Touch {
    pub const ORGANIC: Touch = Touch { first: Surface::Organic, last: Surface::Organic, chain: Chain(0) };
    /// Every touch on one surface (a purchase made on the surface itself).
    pub fn on(s: Surface) -> Touch {
        let mut chain = Chain::default();
        chain.push(s);
        Touch { first: s, last: s, chain }
    }
    pub fn credited(self, rule: Rule) -> Surface {
        match rule {
            Rule::LastTouch => self.last,
            Rule::FirstTouch => self.first,
        }
    }
}

/// A person's touches so far, in time order, and the touch of a purchase made now.
#[derive(Debug, Default)]
pub struct Touches {
    list: Vec<(MerchantId, Surface, SimTime)>,
}

impl Touches {
    pub fn add(&mut self, merchant: MerchantId, surface: Surface, at: SimTime) {
        self.list.push((merchant, surface, at));
    }
    /// The first and last touch with `merchant` within `window` before `at` (organic if none).
    pub fn of(&self, merchant: MerchantId, at: SimTime, window: u64) -> Touch {
        let mut t = Touch::ORGANIC;
        for (i, (_, s, _)) in self
            .list
            .iter()
            .filter(|(m, _, t)| *m == merchant && *t <= at && t.0.saturating_add(window) >= at.0)
            .enumerate()
        {
            if i == 0 {
                t.first = *s;
            }
            t.last = *s;
            t.chain.push(*s);
        }
        t
    }
}

/// What the purchases credited to one surface brought and cost.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SurfaceStats {
    pub purchases: u64,
    pub spend: Cents,
    /// Rewards and fees credited on those purchases, and what refunds took back.
    pub rewards: Cents,
    pub rewards_clawed_back: Cents,
    pub fees: Cents,
    pub fees_refunded: Cents,
}

impl SurfaceStats {
    pub fn absorb(&mut self, o: &SurfaceStats) {
        let SurfaceStats { purchases, spend, rewards, rewards_clawed_back, fees, fees_refunded } = o;
        self.purchases += purchases;
        self.spend += *spend;
        self.rewards += *rewards;
        self.rewards_clawed_back += *rewards_clawed_back;
        self.fees += *fees;
        self.fees_refunded += *fees_refunded;
    }
    /// What the merchant paid for these purchases: rewards and fees, net of refunds.
    pub fn cost(&self) -> Cents {
        self.rewards - self.rewards_clawed_back + self.fees - self.fees_refunded
    }
}

/// One merchant across touchpoints: spend by channel (in store, online, app) and by surface,
/// and what its offers cost.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct MerchantStats {
    /// By `Channel` index.
    pub purchases_by_channel: [u64; 3],
    pub spend_by_channel: [Cents; 3],
    /// By `Surface` index, under the scenario's rule.
    pub by_surface: [SurfaceStats; Surface::COUNT],
}

impl MerchantStats {
    pub fn absorb(&mut self, o: &MerchantStats) {
        let MerchantStats { purchases_by_channel, spend_by_channel, by_surface } = o;
        for (a, b) in self.purchases_by_channel.iter_mut().zip(purchases_by_channel) {
            *a += b;
        }
        for (a, b) in self.spend_by_channel.iter_mut().zip(spend_by_channel) {
            *a += *b;
        }
        for (a, b) in self.by_surface.iter_mut().zip(by_surface) {
            a.absorb(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn the_first_and_last_touch_with_the_merchant_within_the_window_count() {
        let mut t = Touches::default();
        let (cafe, deli) = (MerchantId(0), MerchantId(1));
        t.add(cafe, Surface::OfferCard, SimTime(DAY));
        t.add(deli, Surface::OfferCard, SimTime(2 * DAY));
        assert_eq!(t.of(cafe, SimTime(3 * DAY), 7 * DAY), Touch::on(Surface::OfferCard));
        // Another merchant's touch does not count; nor one older than the window.
        assert_eq!(t.of(MerchantId(2), SimTime(3 * DAY), 7 * DAY), Touch::ORGANIC);
        assert_eq!(t.of(cafe, SimTime(9 * DAY), 7 * DAY), Touch::ORGANIC);
        // The window is inclusive: exactly 7 days later still counts.
        assert_eq!(t.of(cafe, SimTime(8 * DAY), 7 * DAY), Touch::on(Surface::OfferCard));
        // A touch after the purchase does not count.
        assert_eq!(t.of(cafe, SimTime(DAY - 1), 7 * DAY), Touch::ORGANIC);
    }

    #[test]
    fn the_chain_lists_each_surface_once_in_the_order_first_touched() {
        let mut t = Touches::default();
        let cafe = MerchantId(0);
        for (s, day) in [(Surface::Share, 1), (Surface::OfferCard, 2), (Surface::Share, 3), (Surface::Carousel, 4)] {
            t.add(cafe, s, SimTime(day * DAY));
        }
        let touch = t.of(cafe, SimTime(5 * DAY), 7 * DAY);
        assert_eq!((touch.first, touch.last), (Surface::Share, Surface::Carousel));
        assert_eq!(touch.chain.iter().collect::<Vec<_>>(), [Surface::Share, Surface::OfferCard, Surface::Carousel]);
        assert_eq!(serde_json::to_value(touch.chain).unwrap(), serde_json::json!(["share", "offer_card", "carousel"]));
        assert_eq!(Touch::ORGANIC.chain.iter().count(), 0);
    }
}
