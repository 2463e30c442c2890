//! The mock card network. For each purchase it decides, from the purchase's own random stream,
//! what the scheme reports and when: an authorization at purchase time (after a short delay),
//! then either a clearing one to three days later or a reversal of the authorization, and, for
//! some cleared purchases, a full refund days or weeks after clearing.
//!
//! It owns its scenario section, `[network]`, with one table per scheme. Deeper faults
//! (duplicates, outages, out-of-order delivery) belong here too, as more settings.
//!
//! Architecture invariant: the network sees purchases, never card numbers or the platform's
//! enrollments; it never reads the wall clock.

use offersim_sim::config::{path, with_key, Ordered, PathSeg, Problem, Problems};
use offersim_sim::network::{CardNetwork, MessageKind, NetworkMessage, PurchaseFacts};
use offersim_sim::rng::Stream;
use offersim_sim::sample::triangular;
use offersim_sim::time::{SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use serde::Deserialize;

pub const MAX_SCHEMES: usize = 16;
pub const MAX_CLEARING_DELAY_HOURS: f64 = 24.0 * 30.0;
pub const MAX_REFUND_DELAY_DAYS: f64 = 365.0;

/// `[network]`: the schemes, in file order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub schemes: Ordered<SchemeConfig>,
}

/// `[network.schemes.<name>]`: one scheme's timing profile and rates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// Authorization delay after the purchase, uniform in [min, max] seconds.
    #[serde(default = "default_auth_delay")]
    pub auth_delay_seconds: [u32; 2],
    pub clearing_delay_hours: Triangle,
    /// Share of authorizations reversed instead of cleared.
    #[serde(default)]
    pub reversal_rate: f64,
    /// Hours after the authorization that a reversal arrives, uniform in [min, max].
    #[serde(default = "default_reversal_hours")]
    pub reversal_delay_hours: [u32; 2],
    /// Share of cleared purchases refunded in full.
    #[serde(default)]
    pub refund_rate: f64,
    #[serde(default = "default_refund_delay")]
    pub refund_delay_days: Triangle,
}

fn default_auth_delay() -> [u32; 2] {
    [1, 5]
}
fn default_reversal_hours() -> [u32; 2] {
    [1, 24]
}
fn default_refund_delay() -> Triangle {
    Triangle { min: 2.0, mode: 7.0, max: 30.0 }
}

/// A triangular distribution.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triangle {
    pub min: f64,
    pub mode: f64,
    pub max: f64,
}

impl NetworkConfig {
    pub fn scheme_names(&self) -> Vec<String> {
        self.schemes.0.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Every problem with the section, each at its path.
    pub fn validate(&self) -> Vec<Problem> {
        let mut pr = Problems::default();
        if self.schemes.0.is_empty() {
            pr.push(path(&["network", "schemes"]), "define at least one scheme, e.g. [network.schemes.visa]");
        }
        if self.schemes.0.len() > MAX_SCHEMES {
            pr.push(path(&["network", "schemes"]), format!("at most {MAX_SCHEMES} schemes"));
        }
        for (name, s) in &self.schemes.0 {
            let p = |k: &str| path(&["network", "schemes", name, k]);
            pair(&mut pr, p("auth_delay_seconds"), s.auth_delay_seconds, 3_600);
            pair(&mut pr, p("reversal_delay_hours"), s.reversal_delay_hours, 24 * 30);
            triangle(&mut pr, p("clearing_delay_hours"), s.clearing_delay_hours, MAX_CLEARING_DELAY_HOURS);
            triangle(&mut pr, p("refund_delay_days"), s.refund_delay_days, MAX_REFUND_DELAY_DAYS);
            for (k, v) in [("reversal_rate", s.reversal_rate), ("refund_rate", s.refund_rate)] {
                if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                    pr.push(p(k), format!("must be a probability between 0 and 1, found {v}"));
                }
            }
        }
        pr.list
    }
}

fn pair(pr: &mut Problems, p: Vec<PathSeg>, v: [u32; 2], max: u32) {
    if v[0] > v[1] || v[1] > max {
        pr.push(p, format!("[min, max] must have min <= max <= {max}, found [{}, {}]", v[0], v[1]));
    }
}

fn triangle(pr: &mut Problems, p: Vec<PathSeg>, t: Triangle, max: f64) {
    let finite = t.min.is_finite() && t.mode.is_finite() && t.max.is_finite();
    if !finite || t.min < 0.0 || t.max > max {
        pr.push(p, format!("min and max must lie between 0 and {max}, found min {} max {}", t.min, t.max));
    } else if !(t.min <= t.mode && t.mode <= t.max) {
        pr.push(with_key(p, "mode"), format!("needs min <= mode <= max, found {} <= {} <= {}", t.min, t.mode, t.max));
    }
}

/// The network, ready to report purchases.
#[derive(Debug, Clone)]
pub struct MockNetwork {
    schemes: Vec<(String, SchemeConfig)>,
}

impl MockNetwork {
    /// `cfg` must have passed `validate`.
    pub fn new(cfg: &NetworkConfig) -> MockNetwork {
        MockNetwork { schemes: cfg.schemes.0.clone() }
    }
}

fn uniform(rng: &mut Stream, [lo, hi]: [u32; 2]) -> u64 {
    lo as u64 + rng.below((hi - lo) as u64 + 1)
}

impl CardNetwork for MockNetwork {
    fn schemes(&self) -> Vec<String> {
        self.schemes.iter().map(|(k, _)| k.clone()).collect()
    }

    fn report(&self, p: &PurchaseFacts, rng: &mut Stream, out: &mut Vec<(SimTime, NetworkMessage)>) {
        let Some((_, s)) = self.schemes.get(p.scheme as usize) else {
            return;
        };
        let msg = |kind| NetworkMessage { kind, purchase: p.id, amount: p.amount };
        let auth_at = p.at.plus_seconds(uniform(rng, s.auth_delay_seconds));
        out.push((auth_at, msg(MessageKind::Auth)));
        if rng.bernoulli(s.reversal_rate) {
            let after = uniform(rng, s.reversal_delay_hours) * SECONDS_PER_HOUR;
            out.push((auth_at.plus_seconds(after), msg(MessageKind::Reversal)));
            return;
        }
        let c = s.clearing_delay_hours;
        let hours = triangular(rng, c.min, c.mode, c.max);
        let cleared_at = p.at.plus_seconds((hours * SECONDS_PER_HOUR as f64) as u64).max(auth_at);
        out.push((cleared_at, msg(MessageKind::Clearing)));
        if rng.bernoulli(s.refund_rate) {
            let r = s.refund_delay_days;
            let days = triangular(rng, r.min, r.mode, r.max);
            let refund_at = cleared_at.plus_seconds((days * SECONDS_PER_DAY as f64) as u64);
            out.push((refund_at, msg(MessageKind::Refund)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offersim_sim::network::PurchaseId;
    use offersim_sim::rng::Purpose;
    use offersim_sim::world::Channel;
    use offersim_sim::Cents;

    fn scheme(reversal: f64, refund: f64) -> SchemeConfig {
        SchemeConfig {
            auth_delay_seconds: [1, 5],
            clearing_delay_hours: Triangle { min: 24.0, mode: 48.0, max: 72.0 },
            reversal_rate: reversal,
            reversal_delay_hours: [1, 24],
            refund_rate: refund,
            refund_delay_days: Triangle { min: 2.0, mode: 7.0, max: 30.0 },
        }
    }

    fn report(net: &MockNetwork, seq: u32) -> Vec<(SimTime, NetworkMessage)> {
        let p = PurchaseFacts {
            id: PurchaseId { user: 1, seq },
            at: SimTime(1_000),
            amount: Cents(1234),
            scheme: 0,
            channel: Channel::InStore,
        };
        let mut out = Vec::new();
        net.report(&p, &mut Stream::new(1, Purpose::Network, seq as u64, 1), &mut out);
        out
    }

    #[test]
    fn clearing_arrives_one_to_three_days_after_the_auth() {
        let net = MockNetwork { schemes: vec![("visa".into(), scheme(0.0, 0.0))] };
        for seq in 0..500 {
            let out = report(&net, seq);
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].1.kind, MessageKind::Auth);
            assert!((1_001..=1_005).contains(&out[0].0 .0));
            assert_eq!(out[1].1.kind, MessageKind::Clearing);
            let delay = out[1].0 .0 - 1_000;
            assert!((24 * 3_600..=72 * 3_600).contains(&delay), "delay {delay}");
        }
    }

    #[test]
    fn a_reversed_auth_never_clears_and_a_refund_follows_its_clearing() {
        let net = MockNetwork { schemes: vec![("visa".into(), scheme(1.0, 0.0))] };
        let kinds: Vec<_> = report(&net, 3).iter().map(|(_, m)| m.kind).collect();
        assert_eq!(kinds, [MessageKind::Auth, MessageKind::Reversal]);
        let net = MockNetwork { schemes: vec![("visa".into(), scheme(0.0, 1.0))] };
        let out = report(&net, 3);
        assert_eq!(out[2].1.kind, MessageKind::Refund);
        assert!(out[2].0 >= out[1].0.plus_seconds(2 * 86_400));
    }

    #[test]
    fn validation_names_every_bad_value() {
        let mut s = scheme(1.5, 0.0);
        s.clearing_delay_hours = Triangle { min: 48.0, mode: 24.0, max: 72.0 };
        let cfg = NetworkConfig { schemes: Ordered(vec![("visa".into(), s)]) };
        let problems: Vec<String> = cfg.validate().iter().map(|p| p.dotted_path()).collect();
        assert_eq!(problems, ["network.schemes.visa.clearing_delay_hours.mode", "network.schemes.visa.reversal_rate"]);
    }
}
