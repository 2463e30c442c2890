//! The `offersim` command's library: loading scenario files with precise diagnostics, running
//! them, and writing reports. Only this crate touches the file system and the terminal.

pub mod annotate;
pub mod diff;
pub mod junit;
pub mod machine;
pub mod output;
pub mod parts;
pub mod progress;
pub mod scenario;
pub mod schema;
pub mod sweep;

pub use scenario::{load_file, load_str, Diagnostic, Overrides, Scenario};

/// A scenario's terms as `offersim audit` reads them (offers, merchants, end, shards): the only
/// thing the auditor takes from the engine's side, and only as plain values.
pub fn audit_terms(world: &offersim_sim::world::World) -> offersim_audit::Terms {
    offersim_audit::Terms {
        offers: world
            .offers
            .iter()
            .map(|o| offersim_audit::OfferTerms {
                id: o.id.clone(),
                merchant: world.merchants[o.merchant.0 as usize].id.clone(),
                return_period_secs: o.return_period_secs,
                payout_delay_secs: o.payout_delay_secs,
            })
            .collect(),
        merchants: world.merchants.iter().map(|m| m.id.clone()).collect(),
        horizon_t: world.horizon_end().0,
        shards: world.shards,
    }
}
