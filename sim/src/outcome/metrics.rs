//! The derived figures, defined once for the report, the attribution table and the sweep:
//! what the merchant paid (its cost), the margin an offer or a surface brought, and ROI.
//!
//! - **Merchant cost**: rewards and platform fees, net of what refunds took back — what the
//!   merchant funded (the ledger's merchant funding accounts).
//! - **Incremental margin**: incremental spend (spend that exists only because people were
//!   enrolled, net of reversals, refunds and visits pulled forward) × the merchant's gross
//!   margin. The report's per-offer ROI and the sweep's ROI use it.
//! - **Attributed margin**: the spend of the purchases credited to a surface × gross margin; the
//!   attribution table's ROI uses it (it is not incremental: organic demand is in it).
//! - **ROI** = (margin − merchant cost) ÷ merchant cost; none without cost.

use super::surfaces::SurfaceStats;
use super::{OfferStats, Outcome};
use crate::core::money::Cents;
use crate::world::World;
use rust_decimal::Decimal;

/// (margin − cost) ÷ cost, exact; none when nothing was paid.
pub fn roi(margin: Decimal, cost: Decimal) -> Option<Decimal> {
    (cost > Decimal::ZERO).then(|| (margin - cost) / cost)
}

impl OfferStats {
    /// Rewards and fees net of clawbacks: what the merchant paid for this offer.
    pub fn merchant_cost(&self) -> Cents {
        self.net_rewards() + self.net_fees()
    }
    /// Incremental spend × the merchant's gross margin.
    pub fn incremental_margin(&self, gross_margin: Decimal) -> Decimal {
        self.incremental_spend.to_decimal() * gross_margin
    }
    pub fn roi(&self, gross_margin: Decimal) -> Option<Decimal> {
        roi(self.incremental_margin(gross_margin), self.merchant_cost().to_decimal())
    }
}

impl SurfaceStats {
    /// What the merchant paid for these purchases: rewards and fees, net of refunds.
    pub fn cost(&self) -> Cents {
        self.rewards - self.rewards_clawed_back + self.fees - self.fees_refunded
    }
    /// ROI of the purchases credited here, on their attributed margin.
    pub fn roi(&self, attributed_margin: Decimal) -> Option<Decimal> {
        roi(attributed_margin, self.cost().to_decimal())
    }
}

impl Outcome {
    /// What every merchant funded, net.
    pub fn merchant_cost(&self) -> Cents {
        self.ledger.merchant_cost()
    }
    /// Every offer's incremental margin, each at its merchant's gross margin.
    pub fn incremental_margin(&self, world: &World) -> Decimal {
        world
            .offers
            .iter()
            .zip(&self.offers)
            .map(|(o, s)| s.incremental_margin(world.merchants[o.merchant.0 as usize].gross_margin))
            .sum()
    }
    /// The whole run's ROI: every offer's incremental margin against every merchant's cost.
    pub fn roi(&self, world: &World) -> Option<Decimal> {
        roi(self.incremental_margin(world), self.merchant_cost().to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_is_margin_net_of_cost_over_cost_and_undefined_without_cost() {
        // $100 of incremental spend at 40% margin against $20 paid: (40 − 20) / 20 = 1.
        let s = OfferStats {
            incremental_spend: Cents(10_000),
            rewards_credited: Cents(2_000),
            fees_charged: Cents(200),
            rewards_clawed_back: Cents(100),
            fees_refunded: Cents(100),
            ..Default::default()
        };
        assert_eq!(s.merchant_cost(), Cents(2_000));
        assert_eq!(s.roi(Decimal::new(4, 1)), Some(Decimal::ONE));
        assert_eq!(OfferStats::default().roi(Decimal::ONE), None);
    }
}
