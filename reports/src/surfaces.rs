//! The report's "Surfaces and attribution" section: every purchase credited to the surface
//! that led to it (or organic), under the scenario's rule, with what it earned and cost; and
//! per merchant, spend by touchpoint (in store, online, app) and by surface.
//!
//! ROI here is attribution-based: (attributed spend × the merchant's gross margin − what the
//! merchant paid in rewards and fees on those purchases, net of refunds) ÷ that cost; `null`
//! when nothing was paid. It says which surface brought the purchases that cost money; the
//! holdout section (`lift.rs`) says how many of them would not have happened anyway.

use crate::numbers::{count, usd};
use offersim_sim::outcome::surfaces::SurfaceStats;
use offersim_sim::outcome::Outcome;
use offersim_sim::world::attribution::Surface;
use offersim_sim::world::{Channel, World};
use offersim_sim::Cents;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Attribution {
    pub rule: &'static str,
    pub window_days: u64,
    pub surfaces: Vec<SurfaceRow>,
    /// Each surface's own funnel, side by side.
    pub funnels: Vec<FunnelRow>,
    pub merchants: Vec<MerchantRow>,
    /// Every carousel and buy button: funnel, orders, sell-out.
    pub shops: Vec<ShopRow>,
    /// Every offer whose post can be shared: its cascade's reach by generation.
    pub sharing: Vec<SharingRow>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SharingRow {
    pub offer: String,
    /// Hashtag posts that reached the posters' followers.
    pub hashtag_posts: u64,
    /// People who shared, by generation (0: at their own first view).
    pub sharers_by_generation: Vec<u64>,
    /// Views of shared posts, by generation (the first is generation 1).
    pub views_by_generation: Vec<u64>,
    pub people_reached: u64,
    /// Enrollments that followed a view of a shared post.
    pub enrollments: u64,
    /// The cascade hit `max_reach` or the generation limit.
    pub capped: bool,
}

/// A surface's funnel: impressions → engagements (clicks on "Get offer", taps on a product or
/// "Buy") → conversions (enrollments for the offer card, orders for the shops).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FunnelRow {
    pub surface: &'static str,
    pub impressions: u64,
    pub engagements: u64,
    pub conversions: u64,
    pub engagement: &'static str,
    pub conversion: &'static str,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ShopRow {
    pub id: String,
    pub surface: &'static str,
    pub merchant: String,
    pub product: String,
    pub impressions: u64,
    pub taps: u64,
    pub visits: u64,
    pub card_entries_abandoned: u64,
    pub orders: u64,
    pub units: u64,
    pub spend: Cents,
    /// Orders per impression, in percent (two decimals).
    pub conversion_percent: Decimal,
    pub inventory: Option<u32>,
    pub inventory_left: Option<u64>,
    pub sold_out_at: Option<String>,
    pub refused_sold_out: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SurfaceRow {
    pub surface: &'static str,
    pub purchases: u64,
    pub spend: Cents,
    /// Of all spend, in percent (two decimals).
    pub share_of_spend: Decimal,
    pub net_rewards: Cents,
    pub net_fees: Cents,
    pub roi: Option<Decimal>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ChannelSpend {
    pub in_store: Cents,
    pub online: Cents,
    pub app: Cents,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MerchantRow {
    pub id: String,
    pub name: String,
    pub purchases: u64,
    pub spend: Cents,
    pub spend_by_channel: ChannelSpend,
    pub net_rewards: Cents,
    pub net_fees: Cents,
    pub roi: Option<Decimal>,
    /// Surfaces that brought this merchant any purchase, organic included.
    pub surfaces: Vec<SurfaceRow>,
}

/// A ratio as the report shows it, to the hundredth (half to even).
fn hundredths(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

fn ratio(num: Decimal, den: Decimal) -> Option<Decimal> {
    (den > Decimal::ZERO).then(|| (num / den).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
}

fn row(surface: Surface, s: &SurfaceStats, total: Cents, margin_value: Decimal) -> SurfaceRow {
    SurfaceRow {
        surface: surface.name(),
        purchases: s.purchases,
        spend: s.spend,
        share_of_spend: ratio(s.spend.to_decimal() * Decimal::from(100), total.to_decimal()).unwrap_or_default(),
        net_rewards: s.rewards - s.rewards_clawed_back,
        net_fees: s.fees - s.fees_refunded,
        // Organic purchases were not prompted by any surface: no return to speak of.
        roi: if surface == Surface::Organic { None } else { s.roi(margin_value).map(hundredths) },
    }
}

pub fn build(world: &World, out: &Outcome) -> Attribution {
    let total = out.money.spend;
    // Each surface's attributed gross margin, merchant by merchant.
    let margin_of = |k: usize| -> Decimal {
        world
            .merchants
            .iter()
            .zip(&out.merchants)
            .map(|(m, s)| s.by_surface[k].spend.to_decimal() * m.gross_margin)
            .sum()
    };
    let surfaces =
        Surface::ALL.iter().map(|&s| row(s, &out.surfaces[s.index()], total, margin_of(s.index()))).collect();
    let merchants = world
        .merchants
        .iter()
        .zip(&out.merchants)
        .filter(|(_, s)| s.purchases_by_channel.iter().sum::<u64>() > 0)
        .map(|(m, s)| {
            let spend: Cents = s.spend_by_channel.iter().copied().sum();
            let mut all = SurfaceStats::default();
            for x in &s.by_surface {
                all.absorb(x);
            }
            let ch = |c: Channel| s.spend_by_channel[c as usize];
            MerchantRow {
                id: m.id.clone(),
                name: m.name.clone(),
                purchases: s.purchases_by_channel.iter().sum(),
                spend,
                spend_by_channel: ChannelSpend {
                    in_store: ch(Channel::InStore),
                    online: ch(Channel::Online),
                    app: ch(Channel::App),
                },
                net_rewards: all.rewards - all.rewards_clawed_back,
                net_fees: all.fees - all.fees_refunded,
                roi: all.roi(spend.to_decimal() * m.gross_margin).map(hundredths),
                surfaces: Surface::ALL
                    .iter()
                    .filter(|x| s.by_surface[x.index()].purchases > 0)
                    .map(|&x| {
                        let b = &s.by_surface[x.index()];
                        row(x, b, spend, b.spend.to_decimal() * m.gross_margin)
                    })
                    .collect(),
            }
        })
        .collect();
    let shops: Vec<ShopRow> = world
        .shops
        .iter()
        .zip(&out.shops)
        .map(|(s, st)| ShopRow {
            id: s.id.clone(),
            surface: s.surface.name(),
            merchant: world.merchants[s.merchant.0 as usize].id.clone(),
            product: s.product.clone(),
            impressions: st.impressions,
            taps: st.taps,
            visits: st.visits,
            card_entries_abandoned: st.card_entries_abandoned,
            orders: st.orders,
            units: st.units,
            spend: st.spend,
            conversion_percent: ratio(Decimal::from(st.orders * 100), Decimal::from(st.impressions))
                .unwrap_or_default(),
            inventory: s.inventory,
            inventory_left: st.inventory_left,
            sold_out_at: st.sold_out_at.map(|t| world.calendar.format(t)),
            refused_sold_out: st.refused_sold_out,
        })
        .collect();
    let shop_funnel = |surface: Surface| {
        let mut f = FunnelRow {
            surface: surface.name(),
            impressions: 0,
            engagements: 0,
            conversions: 0,
            engagement: "taps",
            conversion: "orders",
        };
        for (s, st) in world.shops.iter().zip(&out.shops).filter(|(s, _)| s.surface == surface) {
            let _ = s;
            f.impressions += st.impressions;
            f.engagements += st.taps;
            f.conversions += st.orders;
        }
        f
    };
    let f = &out.funnel;
    let posts: u64 = out.offers.iter().map(|s| s.hashtag_posts).sum();
    let by_post: u64 = out.offers.iter().map(|s| s.hashtag_enrollments).sum();
    let shared: u64 = out.offers.iter().map(|s| s.share_enrollments).sum();
    let funnels = vec![
        FunnelRow {
            surface: Surface::OfferCard.name(),
            impressions: f.impressions,
            engagements: f.clicks,
            // Enrollments by "Get offer" in the feed (those by a hashtag post, or after a view
            // of a shared post, are those surfaces').
            conversions: f.enrollments - by_post - shared,
            engagement: "clicks (feed and shares)",
            conversion: "enrollments",
        },
        FunnelRow {
            surface: Surface::Share.name(),
            impressions: out.offers.iter().map(|s| s.share_views).sum(),
            engagements: out.offers.iter().map(|s| s.shares).sum(),
            conversions: shared,
            engagement: "reposts",
            conversion: "enrollments",
        },
        FunnelRow {
            surface: Surface::Hashtag.name(),
            impressions: world
                .offers
                .iter()
                .zip(&out.offers)
                .filter(|(o, _)| o.hashtag_sync.is_some())
                .map(|(_, s)| s.impressions)
                .sum(),
            engagements: posts,
            conversions: by_post,
            engagement: "posts",
            conversion: "enrollments",
        },
        shop_funnel(Surface::BuyButton),
        shop_funnel(Surface::Carousel),
    ];
    let sharing = world
        .offers
        .iter()
        .enumerate()
        .filter(|(_, o)| o.sharing.is_some() || o.hashtag_sync.is_some())
        .map(|(i, o)| {
            let st = out.sharing.get(i).cloned().unwrap_or_default();
            SharingRow {
                offer: o.id.clone(),
                hashtag_posts: st.posts,
                sharers_by_generation: st.sharers,
                views_by_generation: st.views,
                people_reached: st.people_reached,
                enrollments: out.offers[i].share_enrollments,
                capped: st.capped,
            }
        })
        .collect();
    Attribution {
        rule: world.attribution.rule.name(),
        window_days: world.attribution.window_secs / 86_400,
        surfaces,
        funnels,
        merchants,
        shops,
        sharing,
    }
}

fn roi_text(r: &Option<Decimal>) -> String {
    r.map_or("—".to_string(), |d| d.to_string())
}

/// Merchants listed in report.md (the biggest by spend); report.json lists every one.
const MERCHANTS_SHOWN: usize = 15;

pub fn markdown(s: &mut String, a: &Attribution) {
    let _ = writeln!(s, "## Surfaces and attribution\n");
    let _ = writeln!(
        s,
        "Each purchase is credited to the {} with its merchant within {} days (organic: none). \
         ROI = (attributed spend × gross margin − rewards and fees paid on those purchases) ÷ those costs.\n",
        if a.rule == "last_touch" { "last touch" } else { "first touch" },
        a.window_days
    );
    let _ = writeln!(s, "| Surface | Purchases | Spend | Share of spend | Net rewards | Net fees | ROI |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for r in &a.surfaces {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {}% | {} | {} | {} |",
            r.surface,
            count(r.purchases),
            usd(r.spend),
            r.share_of_spend,
            usd(r.net_rewards),
            usd(r.net_fees),
            roi_text(&r.roi)
        );
    }
    let _ = writeln!(s, "\n| Surface funnel | Impressions | Engaged | Converted |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for f in &a.funnels {
        let _ = writeln!(
            s,
            "| {} | {} | {} {} | {} {} |",
            f.surface,
            count(f.impressions),
            count(f.engagements),
            f.engagement,
            count(f.conversions),
            f.conversion
        );
    }
    if !a.shops.is_empty() {
        let _ = writeln!(s, "\n### Shop surfaces\n");
        let _ = writeln!(s, "| Shop | Surface | Merchant | Impressions | Taps | Site visits | Card entries given up | Orders | Units | Spend | Orders per impression | Sold out | Refused (sold out) |");
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        for x in &a.shops {
            let name = if x.product.is_empty() { x.id.clone() } else { format!("{} ({})", x.id, x.product) };
            let sold = match (&x.sold_out_at, x.inventory, x.inventory_left) {
                (Some(t), _, _) => t.clone(),
                (None, Some(inv), Some(left)) => format!("no: {} of {} left", count(left), count(inv as u64)),
                _ => "—".into(),
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}% | {sold} | {} |",
                x.surface,
                x.merchant,
                count(x.impressions),
                count(x.taps),
                count(x.visits),
                count(x.card_entries_abandoned),
                count(x.orders),
                count(x.units),
                usd(x.spend),
                x.conversion_percent,
                count(x.refused_sold_out)
            );
        }
    }
    if !a.sharing.is_empty() {
        let _ = writeln!(s, "\n### Sharing: reach by generation\n");
        let _ = writeln!(s, "| Offer | Hashtag posts | Sharers (generation 0, 1, 2, …) | Views of shared posts (generation 1, 2, …) | People reached | Enrollments | |");
        let _ = writeln!(s, "|---|---:|---|---|---:|---:|---|");
        for x in &a.sharing {
            let list = |v: &[u64]| {
                if v.is_empty() {
                    "—".to_string()
                } else {
                    v.iter().map(|n| count(*n)).collect::<Vec<_>>().join(" → ")
                }
            };
            // Viral: a later generation of shares reaches more people than the first did (the
            // branching process grew); otherwise it fizzled out.
            let v = &x.views_by_generation;
            let verdict = if x.capped {
                "capped (max_reach)"
            } else if v.is_empty() {
                "no reach"
            } else if v.iter().skip(1).any(|n| *n > v[0]) {
                "went viral"
            } else {
                "fizzled"
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {verdict} |",
                x.offer,
                count(x.hashtag_posts),
                list(&x.sharers_by_generation),
                list(&x.views_by_generation),
                count(x.people_reached),
                count(x.enrollments)
            );
        }
    }
    let mut merchants: Vec<&MerchantRow> = a.merchants.iter().collect();
    merchants.sort_by(|x, y| y.spend.cmp(&x.spend).then_with(|| x.id.cmp(&y.id)));
    let _ = writeln!(s, "\n### Merchants across touchpoints\n");
    let _ = writeln!(s, "| Merchant | In store | Online | App | Net rewards | Net fees | ROI | Spend by surface |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|");
    for m in merchants.iter().take(MERCHANTS_SHOWN) {
        let by: Vec<String> = m.surfaces.iter().map(|x| format!("{} {}%", x.surface, x.share_of_spend)).collect();
        let c = &m.spend_by_channel;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            usd(c.in_store),
            usd(c.online),
            usd(c.app),
            usd(m.net_rewards),
            usd(m.net_fees),
            roi_text(&m.roi),
            by.join(", ")
        );
    }
    if merchants.len() > MERCHANTS_SHOWN {
        let _ = writeln!(s, "\n({} more merchants in report.json.)", merchants.len() - MERCHANTS_SHOWN);
    }
    let _ = writeln!(s);
}
