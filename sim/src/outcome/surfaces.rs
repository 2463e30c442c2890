//! What each surface, each merchant and each shop surface brought and cost (the report side of
//! attribution and shops).

use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::world::attribution::Surface;
use serde::Serialize;

/// What the purchases credited to one surface brought and cost.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
}

/// One merchant across touchpoints: spend by channel (in store, online, app) and by surface,
/// and what its offers cost.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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

/// One shop's funnel and sales.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ShopStats {
    pub impressions: u64,
    pub taps: u64,
    /// Carousel: visits to the merchant's site.
    pub visits: u64,
    /// Buy button: first-time card entries given up.
    pub card_entries_abandoned: u64,
    pub orders: u64,
    pub units: u64,
    pub spend: Cents,
    /// Orders refused because the product had sold out (or had fewer units left).
    pub refused_sold_out: u64,
    /// Units left (products with an inventory; in a sharded run, the sum of the shards' shares).
    pub inventory_left: Option<u64>,
    /// When the last unit sold (the first shard to sell out, in a sharded run).
    pub sold_out_at: Option<SimTime>,
}

impl ShopStats {
    pub fn absorb(&mut self, o: &ShopStats) {
        let ShopStats {
            impressions,
            taps,
            visits,
            card_entries_abandoned,
            orders,
            units,
            spend,
            refused_sold_out,
            inventory_left,
            sold_out_at,
        } = o;
        self.impressions += impressions;
        self.taps += taps;
        self.visits += visits;
        self.card_entries_abandoned += card_entries_abandoned;
        self.orders += orders;
        self.units += units;
        self.spend += *spend;
        self.refused_sold_out += refused_sold_out;
        if let Some(l) = inventory_left {
            *self.inventory_left.get_or_insert(0) += l;
        }
        self.sold_out_at = match (self.sold_out_at, *sold_out_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}
