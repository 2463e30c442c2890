//! Shop surfaces: the **shop carousel** on a merchant's profile (impressions → taps → visits
//! to the merchant's site → purchases online) and the **buy button** in a post (impressions →
//! "Buy" → the first time a card entry, which some abandon, afterwards one click → an order,
//! paid in the app through the payment processor and then reported by the card network like any
//! purchase, so it can also earn an offer). A product with an inventory sells out: orders are
//! served first come, first served in the replay's order, and an order bigger than what is left
//! is refused (`ShopStats::refused_sold_out`).
//!
//! Each person's visits come from their own keyed draws (per person and shop), so a shop never
//! shifts anything else they do. Default rates follow the usual benchmarks: a site converts
//! about 1% of its visits, a shop about 20% of its visitors, and the buy button's one click
//! sits in between (5% of impressions).

use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::world::attribution::Surface;
use crate::world::check::{check_range, hint, hours_window, money};
use crate::world::config::{with_index, with_key};
use crate::world::config::{PathSeg, Problems, ScenarioConfig, TargetingConfig};
use crate::world::{Channel, Merchant, MerchantId, Segment, SegmentId};

/// Most units in one order.
pub const MAX_QUANTITY: u32 = 100;

#[derive(Debug, Clone)]
pub struct Shop {
    pub id: String,
    /// `Carousel` or `BuyButton`.
    pub surface: Surface,
    pub merchant: MerchantId,
    /// Where its purchases are paid: online for a carousel (the merchant's site), the app (or
    /// online) for a buy button.
    pub channel: Channel,
    pub product: String,
    pub start: SimTime,
    pub end: SimTime,
    pub segments: Vec<SegmentId>,
    pub hashtags: Vec<u32>,
    pub hours: (u8, u8),
    pub impressions_per_day: f64,
    /// Carousel: taps per impression, visits per tap, purchases per visit. Buy button: taps = 1,
    /// visits = 1, orders per impression.
    pub tap_rate: f64,
    pub visit_rate: f64,
    pub conversion: f64,
    /// Buy button: the unit price (a carousel's purchases follow the merchant's basket).
    pub price: Option<Cents>,
    pub max_quantity: u32,
    pub inventory: Option<u32>,
}

impl Shop {
    /// Whether it is shown to a person of `segment` who posts `hashtags`.
    pub fn targets(&self, segment: SegmentId, hashtags: &[u32]) -> bool {
        (self.segments.is_empty() || self.segments.contains(&segment))
            && (self.hashtags.is_empty() || self.hashtags.iter().any(|h| hashtags.contains(h)))
    }
}

pub struct ShopCtx<'a> {
    pub cal: &'a crate::core::time::Calendar,
    pub period_end: SimTime,
    pub merchants: &'a [Merchant],
    pub segments: &'a [Segment],
    pub tag_index: &'a dyn Fn(&str) -> Option<u32>,
}

#[allow(clippy::too_many_arguments)]
fn shop(
    pr: &mut Problems,
    base: Vec<PathSeg>,
    id: &str,
    surface: Surface,
    merchant_id: &str,
    window: (Option<crate::world::config::DateTimeInput>, Option<crate::world::config::DateTimeInput>),
    t: &TargetingConfig,
    ctx: &ShopCtx<'_>,
) -> Option<(Shop, usize)> {
    let p = |k: &str| with_key(base.clone(), k);
    crate::world::check::check_id(pr, base.clone(), "shop id", id);
    let Some(m) = ctx.merchants.iter().position(|m| m.id == merchant_id) else {
        pr.push(
            p("merchant"),
            format!("unknown merchant `{merchant_id}`{}", hint(merchant_id, ctx.merchants.iter().map(|m| &m.id))),
        );
        return None;
    };
    let merchant = &ctx.merchants[m];
    let sells = |c: Channel| merchant.channels.contains(&c);
    let channel = match surface {
        Surface::Carousel if sells(Channel::Online) => Channel::Online,
        Surface::Carousel => {
            pr.push(p("merchant"), format!("a carousel sends people to the merchant's site, but `{merchant_id}` does not sell online; add `online` to its channels"));
            Channel::Online
        }
        _ if sells(Channel::App) => Channel::App,
        _ if sells(Channel::Online) => Channel::Online,
        _ => {
            pr.push(p("merchant"), format!("a buy button is paid in the app or online, but `{merchant_id}` sells neither; add `app` or `online` to its channels"));
            Channel::App
        }
    };
    let local = merchant.local_offset_secs;
    let at = |k: &str, v: Option<crate::world::config::DateTimeInput>, default: SimTime, pr: &mut Problems| match v {
        None => default,
        Some(dt) => ctx.cal.instant_in(dt.0, local).unwrap_or_else(|| {
            pr.push(p(k), format!("{} is before the scenario starts ({})", dt.0, ctx.cal.start_date()));
            default
        }),
    };
    let start = at("start", window.0, SimTime::ZERO, pr);
    let end = at("end", window.1, ctx.period_end, pr).min(ctx.period_end);
    if end <= start {
        pr.push(p("end"), "must be after the start (and the start inside the activity period)");
    }
    let tp = |k: &str| with_key(p("targeting"), k);
    let mut segments = Vec::new();
    for (i, s) in t.segments.iter().flatten().enumerate() {
        match ctx.segments.iter().position(|x| &x.id == s) {
            Some(k) => segments.push(SegmentId(k as u32)),
            None => pr.push(
                with_index(tp("segments"), i),
                format!("unknown segment `{s}`{}", hint(s, ctx.segments.iter().map(|x| &x.id))),
            ),
        }
    }
    let hashtags: Vec<u32> = t.hashtags.iter().flatten().filter_map(|h| (ctx.tag_index)(h)).collect();
    let hours = hours_window(pr, tp("hours"), &t.hours);
    check_range(pr, tp("impressions_per_day"), t.impressions_per_day, 0.0, crate::world::MAX_IMPRESSIONS_PER_DAY);
    if t.holdout != 0.0 {
        pr.push(tp("holdout"), "holdout experiments are for offers; a shop surface cannot hold people out");
    }
    if !t.bursts.is_empty() {
        pr.push(tp("bursts"), "bursts (moments) are for offers; give the shop a higher impressions_per_day instead");
    }
    let shop = Shop {
        id: id.to_string(),
        surface,
        merchant: MerchantId(m as u32),
        channel,
        product: String::new(),
        start,
        end,
        segments,
        hashtags,
        hours,
        impressions_per_day: t.impressions_per_day,
        tap_rate: 1.0,
        visit_rate: 1.0,
        conversion: 0.0,
        price: None,
        max_quantity: 1,
        inventory: None,
    };
    Some((shop, m))
}

/// The carousels, then the buy buttons, in file order.
pub fn build_shops<N>(pr: &mut Problems, cfg: &ScenarioConfig<N>, ctx: &ShopCtx<'_>) -> Vec<Shop> {
    let mut shops = Vec::new();
    for (id, c) in &cfg.carousels.0 {
        let base = crate::world::config::path(&["carousels", id]);
        let p = |k: &str| with_key(base.clone(), k);
        let window = (c.start, c.end);
        if let Some((mut s, _)) = shop(pr, base.clone(), id, Surface::Carousel, &c.merchant, window, &c.targeting, ctx)
        {
            check_range(pr, p("tap_rate"), c.tap_rate, 0.0, 1.0);
            check_range(pr, p("visit_rate"), c.visit_rate, 0.0, 1.0);
            check_range(pr, p("conversion"), c.conversion, 0.0, 1.0);
            (s.tap_rate, s.visit_rate, s.conversion) = (c.tap_rate, c.visit_rate, c.conversion);
            shops.push(s);
        }
    }
    for (id, b) in &cfg.buy_buttons.0 {
        let base = crate::world::config::path(&["buy_buttons", id]);
        let p = |k: &str| with_key(base.clone(), k);
        let window = (b.start, b.end);
        if let Some((mut s, _)) = shop(pr, base.clone(), id, Surface::BuyButton, &b.merchant, window, &b.targeting, ctx)
        {
            check_range(pr, p("conversion"), b.conversion, 0.0, 1.0);
            if b.product.trim().is_empty() {
                pr.push(p("product"), "name the product (e.g. \"Tour tickets\")");
            }
            if !(1..=MAX_QUANTITY).contains(&b.max_quantity) {
                pr.push(p("max_quantity"), format!("must be between 1 and {MAX_QUANTITY}, found {}", b.max_quantity));
            }
            if b.inventory == Some(0) {
                pr.push(p("inventory"), "must be at least 1 unit (leave it out for an unlimited product)");
            }
            s.conversion = b.conversion;
            s.product = b.product.clone();
            s.price = Some(money(pr, p("price"), b.price, false));
            s.max_quantity = b.max_quantity.clamp(1, MAX_QUANTITY);
            s.inventory = b.inventory;
            shops.push(s);
        }
    }
    shops
}
