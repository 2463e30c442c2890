//! The boundary between the simulated world and a card network. The engine hands every purchase
//! to a `CardNetwork`, which says what it will report about it and when: an authorization, then
//! a clearing or a reversal, and perhaps a refund. The mock network (crate `offersim-mocks`)
//! implements it; a live network driver can too.

use crate::money::Cents;
use crate::rng::Stream;
use crate::time::SimTime;
use crate::world::Channel;
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

impl Serialize for PurchaseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the network needs to know about a purchase.
#[derive(Debug, Clone, Copy)]
pub struct PurchaseFacts {
    pub id: PurchaseId,
    pub at: SimTime,
    pub amount: Cents,
    /// Index into the scenario's scheme list.
    pub scheme: u8,
    pub channel: Channel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Auth,
    Clearing,
    Reversal,
    Refund,
}

/// One message of the transaction feed. Amounts are positive; a refund's amount is what is
/// given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkMessage {
    pub kind: MessageKind,
    pub purchase: PurchaseId,
    pub amount: Cents,
}

pub trait CardNetwork: Sync {
    /// The schemes this network carries, in a fixed order (segments refer to them by name).
    fn schemes(&self) -> Vec<String>;
    /// Appends what the network will report about `p`, each with its delivery time (never
    /// before `p.at`). `rng` is this purchase's own stream.
    fn report(&self, p: &PurchaseFacts, rng: &mut Stream, out: &mut Vec<(SimTime, NetworkMessage)>);
}
