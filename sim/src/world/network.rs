//! The boundary between the simulated world and a card network. The engine hands every purchase
//! to a `CardNetwork`, which says what it will report about it and when: an authorization, then
//! a clearing or a reversal, and perhaps a refund. The mock network (crate `offersim-mocks`)
//! implements it; a live network driver can too.

use crate::core::money::Cents;
use crate::core::rng::Hashed;
use crate::core::time::SimTime;
use crate::world::{Channel, MidId};
use serde::Serialize;

/// A purchase: user `user`'s `seq`-th purchase of the run. Printed as `P<user>.<seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PurchaseId {
    pub user: u32,
    pub seq: u32,
}

impl std::fmt::Display for PurchaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P{}.{}", self.user, self.seq)
    }
}

impl<'de> serde::Deserialize<'de> for PurchaseId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("`{s}` is not a purchase id like P12.3"));
        let (user, seq) = s.strip_prefix('P').and_then(|r| r.split_once('.')).ok_or_else(bad)?;
        Ok(PurchaseId { user: user.parse().map_err(|_| bad())?, seq: seq.parse().map_err(|_| bad())? })
    }
}

impl Serialize for PurchaseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for PurchaseId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PurchaseId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"description": "A purchase: `P<user>.<n>`.", "type": "string", "pattern": "^P[0-9]+\\.[0-9]+$"})
    }
}

/// A reward: the purchase and the offer that pays it (stackable offers pay several on one
/// purchase).
pub type CreditKey = (PurchaseId, crate::world::OfferId);

/// What the network needs to know about a purchase.
#[derive(Debug, Clone, Copy)]
pub struct PurchaseFacts {
    pub id: PurchaseId,
    pub at: SimTime,
    /// The final amount: what clears (an authorization may differ).
    pub amount: Cents,
    /// Index into the scenario's scheme list.
    pub scheme: u8,
    pub channel: Channel,
    /// The location (terminal, website) that took the payment.
    pub mid: MidId,
}

/// The kind of a feed message; on the wire (`offersim-live`'s contract, the event log) by its
/// snake_case name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Auth,
    Clearing,
    Reversal,
    Refund,
}

impl MessageKind {
    pub const ALL: [MessageKind; 4] =
        [MessageKind::Auth, MessageKind::Clearing, MessageKind::Reversal, MessageKind::Refund];
    /// A bit per kind, for sets of kinds.
    pub fn bit(self) -> u8 {
        1 << self as u8
    }
    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Auth => "auth",
            MessageKind::Clearing => "clearing",
            MessageKind::Reversal => "reversal",
            MessageKind::Refund => "refund",
        }
    }
}

/// One message of the transaction feed. Amounts are positive; a refund's amount is what is
/// given back. Its identity (the idempotency key) is (`purchase`, `kind`): every delivery of the
/// same message, duplicates included, carries the same identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkMessage {
    pub kind: MessageKind,
    /// The network's transaction id. For a refund without a reference to its original, the
    /// platform may use it only as the refund's own identity, not to find the original.
    pub purchase: PurchaseId,
    pub amount: Cents,
    /// When the network emitted the message (its timestamp). Delivery may come later: retries,
    /// an outage backlog, a late authorization.
    pub network_time: SimTime,
    /// Refunds: whether the message references the original transaction.
    pub referenced: bool,
    /// False when the network reports the purchase under a terminal id that the platform's MID
    /// registry does not hold.
    pub mid_known: bool,
    /// 0 for the first delivery, 1.. for repeated deliveries of the same message.
    pub copy: u8,
}

/// Faults the network injected, counted once per affected message (repeated deliveries once
/// per extra copy).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FaultCounts {
    /// Extra deliveries of a message already delivered (at-least-once delivery).
    pub duplicate_deliveries: u64,
    /// Clearings with no authorization before them (locations that do not authorize online).
    pub clearings_without_auth: u64,
    /// Authorizations delivered after their clearing.
    pub auths_after_clearing: u64,
    /// Clearings for a different amount than their authorization (tips, partial shipments).
    pub clearing_amount_changed: u64,
    /// Purchases reported under a terminal id the platform does not know.
    pub unknown_mid_purchases: u64,
    /// Clearings the merchant submitted days late.
    pub late_submissions: u64,
    /// Messages held back by a feed outage and delivered in the backlog burst at its end.
    pub held_by_outage: u64,
    /// Refunds for part of the amount.
    pub partial_refunds: u64,
    /// Refunds that do not reference their original transaction.
    pub unreferenced_refunds: u64,
}

impl FaultCounts {
    pub fn absorb(&mut self, o: FaultCounts) {
        let FaultCounts {
            duplicate_deliveries,
            clearings_without_auth,
            auths_after_clearing,
            clearing_amount_changed,
            unknown_mid_purchases,
            late_submissions,
            held_by_outage,
            partial_refunds,
            unreferenced_refunds,
        } = o;
        self.duplicate_deliveries += duplicate_deliveries;
        self.clearings_without_auth += clearings_without_auth;
        self.auths_after_clearing += auths_after_clearing;
        self.clearing_amount_changed += clearing_amount_changed;
        self.unknown_mid_purchases += unknown_mid_purchases;
        self.late_submissions += late_submissions;
        self.held_by_outage += held_by_outage;
        self.partial_refunds += partial_refunds;
        self.unreferenced_refunds += unreferenced_refunds;
    }
}

pub trait CardNetwork: Sync {
    /// The schemes this network carries, in a fixed order (segments refer to them by name).
    fn schemes(&self) -> Vec<String>;
    /// Appends every delivery the network will make about `p`, each with its delivery time
    /// (never before the message's `network_time`, which is never before `p.at`), and counts the
    /// faults it injected. `draws` are this purchase's own keyed draws (each fate its own
    /// index, so that a fate never shifts another's draws).
    fn report(
        &self,
        p: &PurchaseFacts,
        draws: Hashed,
        out: &mut Vec<(SimTime, NetworkMessage)>,
        faults: &mut FaultCounts,
    );
}
