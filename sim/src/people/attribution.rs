//! Attribution, per person: each purchase looks back over its buyer's touches with the same
//! merchant within the attribution window (`world::attribution` has the vocabulary and the
//! rule) and records the first and the last of them.

use super::UserEvent;
use crate::core::time::SimTime;
use crate::world::attribution::{Surface, Touch};
use crate::world::{MerchantId, World};

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

/// Gives each purchase the first and last touch with its merchant within the attribution
/// window (`attribution.rs`), walking the person's timeline in time order.
pub(super) fn attribute(world: &World, events: &mut [(SimTime, UserEvent)], touches: &mut Touches) {
    touches.list.clear();
    for (t, e) in events.iter_mut() {
        match e {
            UserEvent::Exposure { offer, .. } => {
                touches.add(world.offer_merchant(*offer), Surface::OfferCard, *t);
            }
            UserEvent::HashtagPost { offer, .. } => {
                touches.add(world.offer_merchant(*offer), Surface::Hashtag, *t);
            }
            UserEvent::ShareSeen { offer, .. } => {
                touches.add(world.offer_merchant(*offer), Surface::Share, *t);
            }
            UserEvent::ShopSeen { shop, .. } | UserEvent::ShopTap { shop } | UserEvent::SiteVisit { shop } => {
                let s = &world.shops[*shop as usize];
                touches.add(s.merchant, s.surface, *t);
            }
            UserEvent::Purchase(p) => p.touch = touches.of(p.merchant, *t, world.attribution.window_secs),
            _ => {}
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
