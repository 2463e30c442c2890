//! The reconciliation: the pipeline's credits against the truth's, purchase by purchase —
//! correct, missed, false, double, wrong amount, wrong reversal — and the discrepancies a
//! documented policy explains.

use super::Expected;
use crate::core::money::Cents;
use crate::world::network::{CreditKey, PurchaseId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the pipeline did about one reward, as `reconcile` needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub reward: Cents,
    pub fee: Cents,
    pub net_reward: Cents,
    /// How many times it was credited (more than once is a double credit).
    pub times: u32,
}

/// Why a difference between pipeline and truth is expected: a documented policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// A refund without reference was matched by card, merchant and amount to another purchase
    /// than its original.
    UnreferencedRefund,
}

/// The comparison of pipeline and truth, purchase by purchase.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Correctness {
    /// Purchases the truth says earn a reward.
    pub expected_credits: u64,
    /// Rewards the truth says are owed at the end (after refunds).
    pub expected_net_rewards: Cents,
    /// Credited by the pipeline exactly as the truth says (offer, amount, refunds).
    pub correct_credits: u64,
    /// Unexplained discrepancies: each must be zero.
    pub missed_credits: u64,
    pub false_credits: u64,
    pub double_credits: u64,
    /// Credited, but another reward or fee than the truth.
    pub wrong_amounts: u64,
    /// Credited as the truth says, but refunds took back a different amount.
    pub wrong_reversals: u64,
    /// Discrepancies a documented policy explains, by policy.
    pub explained: BTreeMap<Policy, u64>,
    /// Purchases that met an offer's terms at a terminal the MID registry lacks, not credited by
    /// the `unknown_mid` policy (in the truth as in the pipeline).
    pub unknown_mid_excluded: u64,
    /// The first few discrepancies (explained or not), for replaying.
    pub examples: Vec<Discrepancy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Discrepancy {
    pub purchase: PurchaseId,
    pub offer: String,
    pub kind: &'static str,
    pub policy: Option<Policy>,
    pub expected: Cents,
    pub credited: Cents,
}

/// The kinds of discrepancy, as `Discrepancy::kind` names them.
const KINDS: [&str; 5] = ["missed", "false", "double", "wrong_amount", "wrong_reversal"];

/// A discrepancy as read back (a partial outcome), its kind checked against `KINDS`.
#[derive(Deserialize)]
struct DiscrepancyRead {
    purchase: PurchaseId,
    offer: String,
    kind: String,
    policy: Option<Policy>,
    expected: Cents,
    credited: Cents,
}

impl<'de> Deserialize<'de> for Discrepancy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let DiscrepancyRead { purchase, offer, kind, policy, expected, credited } = DiscrepancyRead::deserialize(d)?;
        let kind = KINDS
            .iter()
            .find(|k| **k == kind)
            .ok_or_else(|| serde::de::Error::custom(format!("`{kind}` is not a discrepancy kind")))?;
        Ok(Discrepancy { purchase, offer, kind, policy, expected, credited })
    }
}

impl Correctness {
    /// Adds the next shard's comparison (its examples after these, up to `EXAMPLES`).
    pub fn absorb(&mut self, o: Correctness) {
        let Correctness {
            expected_credits,
            expected_net_rewards,
            correct_credits,
            missed_credits,
            false_credits,
            double_credits,
            wrong_amounts,
            wrong_reversals,
            explained,
            unknown_mid_excluded,
            examples,
        } = o;
        self.expected_credits += expected_credits;
        self.expected_net_rewards += expected_net_rewards;
        self.correct_credits += correct_credits;
        self.missed_credits += missed_credits;
        self.false_credits += false_credits;
        self.double_credits += double_credits;
        self.wrong_amounts += wrong_amounts;
        self.wrong_reversals += wrong_reversals;
        for (policy, n) in explained {
            *self.explained.entry(policy).or_default() += n;
        }
        self.unknown_mid_excluded += unknown_mid_excluded;
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(examples.into_iter().take(room));
    }

    pub fn unexplained(&self) -> u64 {
        self.missed_credits + self.false_credits + self.double_credits + self.wrong_amounts + self.wrong_reversals
    }
}

/// How many discrepancies `Correctness::examples` keeps.
pub const EXAMPLES: usize = 20;

/// Compares the pipeline's credits with the truth, purchase by purchase. `policies` lists the
/// purchases a documented policy touched (the pipeline knows when it applied one).
pub fn reconcile(
    expected: &BTreeMap<CreditKey, Expected>,
    unknown_mid_excluded: u64,
    granted: &BTreeMap<CreditKey, Granted>,
    policies: &BTreeMap<PurchaseId, Policy>,
    offer_ids: &[&str],
) -> Correctness {
    let mut c = Correctness {
        unknown_mid_excluded,
        expected_credits: expected.len() as u64,
        expected_net_rewards: expected.values().map(|e| e.net_reward).sum(),
        ..Default::default()
    };
    let note = |c: &mut Correctness, (purchase, offer): CreditKey, kind: &'static str, e: Cents, g: Cents| {
        // A policy only ever explains what it is about: which reward a refund took back.
        let policy = policies.get(&purchase).copied().filter(|_| kind == "wrong_reversal");
        if let Some(p) = policy {
            *c.explained.entry(p).or_default() += 1;
        } else {
            match kind {
                "missed" => c.missed_credits += 1,
                "false" => c.false_credits += 1,
                "double" => c.double_credits += 1,
                "wrong_amount" => c.wrong_amounts += 1,
                _ => c.wrong_reversals += 1,
            }
        }
        if c.examples.len() < EXAMPLES {
            let offer = offer_ids.get(offer.0 as usize).map_or_else(|| offer.0.to_string(), |s| s.to_string());
            c.examples.push(Discrepancy { purchase, offer, kind, policy, expected: e, credited: g });
        }
    };
    let mut e_iter = expected.iter().peekable();
    let mut g_iter = granted.iter().peekable();
    loop {
        let (e, g) = match (e_iter.peek(), g_iter.peek()) {
            (None, None) => break,
            (Some((pe, _)), Some((pg, _))) if pe == pg => (e_iter.next(), g_iter.next()),
            (Some((pe, _)), Some((pg, _))) if pe < pg => (e_iter.next(), None),
            (Some(_), None) => (e_iter.next(), None),
            _ => (None, g_iter.next()),
        };
        match (e, g) {
            (Some((&p, e)), None) => note(&mut c, p, "missed", e.reward, Cents::ZERO),
            (None, Some((&p, g))) => note(&mut c, p, "false", Cents::ZERO, g.reward),
            (Some((&p, e)), Some((_, g))) => {
                if g.times > 1 {
                    note(&mut c, p, "double", e.reward, Cents(g.reward.0 * g.times as i64));
                } else if g.reward != e.reward || g.fee != e.fee {
                    note(&mut c, p, "wrong_amount", e.reward, g.reward);
                } else if g.net_reward != e.net_reward {
                    note(&mut c, p, "wrong_reversal", e.net_reward, g.net_reward);
                } else {
                    c.correct_credits += 1;
                }
            }
            (None, None) => break,
        }
    }
    c
}
