//! Shop surfaces, per person: impressions of the carousels and buy buttons that target them,
//! and what follows (`world::shops` has the surfaces' settings and their validation).

use super::{exposure_times, purchase, Origin, UserEvent, UserProfile, MAX_BASKET};
use crate::core::money::Cents;
use crate::core::rng::{mix3, Draw, Hashed, Purpose};
use crate::core::time::SimTime;
use crate::world::attribution::Surface;
use crate::world::World;

/// Mixed into the seed for a shop surface's first impression ("shopseen" in ASCII).
const SHOP_KEY: u64 = 0x7368_6f70_7365_656e;

/// The person's impressions of each shop surface that targets them, and what follows: carousel
/// taps, site visits and purchases; buy-button orders, the first after a card entry
/// (`shops.rs`). Fixed draws per impression from the (person, shop) keyed draws.
pub(super) fn shop_visits(world: &World, user: u32, profile: &UserProfile, out: &mut Vec<(SimTime, UserEvent)>) {
    let seg = &world.segments[profile.segment.0 as usize];
    for (k, shop) in world.shops.iter().enumerate() {
        if shop.impressions_per_day <= 0.0 || !shop.targets(profile.segment, &profile.hashtags) {
            continue;
        }
        let key = mix3(world.seed ^ SHOP_KEY, k as u64, user as u64);
        let mut seen = Vec::new();
        exposure_times(world.period_end(), key, (shop.start, shop.end), shop.hours, shop.impressions_per_day, |t| {
            seen.push(t);
            true
        });
        if seen.is_empty() {
            continue;
        }
        let shop_id = k as u32;
        let draws = Hashed::new(world.seed, Purpose::ShopFunnel, k as u64, user as u64);
        // The payment processor's stored card, once the person has typed one in.
        let mut stored_card = false;
        let mut day_event: Option<(usize, usize)> = None;
        for (i, &t) in seen.iter().enumerate() {
            match day_event {
                Some((d, idx)) if d == t.day_index() => {
                    if let UserEvent::ShopSeen { impressions, .. } = &mut out[idx].1 {
                        *impressions += 1;
                    }
                }
                _ => {
                    day_event = Some((t.day_index(), out.len()));
                    out.push((t, UserEvent::ShopSeen { shop: shop_id, impressions: 1 }));
                }
            }
            // Seven numbers per impression, the i-th impression's from index 8·i.
            let mut rng = draws.at(8 * i as u64);
            let (tap, visit, buy, complete) = (rng.unit(), rng.unit(), rng.unit(), rng.unit());
            let (units, wait) = (1 + rng.below(shop.max_quantity as u64) as u32, 30 + rng.below(600));
            let typing = 60 + rng.below(180);
            let detail = || Hashed::new(world.seed, Purpose::ShopDetail, ((k as u64) << 32) | i as u64, user as u64);
            let at = match shop.surface {
                Surface::Carousel => {
                    if tap >= shop.tap_rate {
                        continue;
                    }
                    out.push((t, UserEvent::ShopTap { shop: shop_id }));
                    if visit >= shop.visit_rate {
                        continue;
                    }
                    out.push((t.plus_seconds(5), UserEvent::SiteVisit { shop: shop_id }));
                    if buy >= shop.conversion {
                        continue;
                    }
                    t.plus_seconds(5 + wait)
                }
                _ => {
                    if buy >= shop.conversion {
                        continue;
                    }
                    out.push((t, UserEvent::ShopTap { shop: shop_id }));
                    if stored_card {
                        t.plus_seconds(5)
                    } else if complete < seg.card_entry_completion {
                        stored_card = true;
                        t.plus_seconds(typing)
                    } else {
                        out.push((t.plus_seconds(typing / 2), UserEvent::ShopCardAbandoned { shop: shop_id }));
                        continue;
                    }
                }
            };
            let mut rng = detail();
            let origin = Origin::Shop { shop: shop_id, order: i as u64 };
            let mut p = purchase(world, origin, profile, shop.merchant, None, None, &mut rng);
            p.channel = shop.channel;
            p.mid = world.merchants[shop.merchant.0 as usize].mid_for(shop.channel, rng.next_u64());
            if let Some(price) = shop.price {
                p.amount = Cents(price.0.saturating_mul(units as i64).min(MAX_BASKET.0));
                p.order = Some((shop_id, units));
            } else {
                p.order = Some((shop_id, 1));
            }
            out.push((at, UserEvent::Purchase(p)));
        }
    }
}
