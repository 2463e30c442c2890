//! The plan's requests replayed in-process through the reference platform
//! (`platform::service::Live`, what `offersim serve` runs), in whatever order they are given: what a
//! correct service holds after receiving them in that order. The oracle replays the target's
//! budget decisions with it (`oracle`, a `BudgetRule`); tests replay other arrival orders.

use super::plan::Call;
use super::plan::Step;
use crate::contract::{transaction_id, CreditBody};
use offersim_sim::platform::service::{Live, LiveTxn};
use offersim_sim::platform::BudgetRule;
use offersim_sim::world::network::{MessageKind, NetworkMessage, PurchaseId};
use offersim_sim::World;
use std::collections::BTreeMap;

/// The replay's own user numbers (dense, in order of first appearance), as `offersim serve`
/// numbers the users it meets; the platform's memory grows with them, not with the world.
#[derive(Debug, Clone, Default)]
pub struct Users {
    dense: BTreeMap<u32, u32>,
    world: Vec<u32>,
}

impl Users {
    /// The users of `steps`, numbered in order of first appearance.
    pub fn of<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Users {
        let mut u = Users::default();
        for s in steps {
            if !u.dense.contains_key(&s.user) {
                u.dense.insert(s.user, u.world.len() as u32);
                u.world.push(s.user);
            }
        }
        u
    }
    pub fn dense(&self, user: u32) -> Option<u32> {
        self.dense.get(&user).copied()
    }
    pub fn world(&self, dense: u32) -> u32 {
        self.world.get(dense as usize).copied().unwrap_or(u32::MAX)
    }
    pub fn len(&self) -> usize {
        self.world.len()
    }
    pub fn is_empty(&self) -> bool {
        self.world.is_empty()
    }
    /// A purchase in the replay's numbering, from the world's.
    pub fn to_dense(&self, p: PurchaseId) -> Option<PurchaseId> {
        self.dense(p.user).map(|user| PurchaseId { user, seq: p.seq })
    }
    /// A purchase in the world's numbering, from the replay's.
    pub fn to_world(&self, p: PurchaseId) -> PurchaseId {
        PurchaseId { user: self.world(p.user), seq: p.seq }
    }
}

pub struct Replay<'w> {
    live: Live<'w>,
    users: Users,
    /// Each network transaction (a purchase's messages, or its refund's) → its idempotency
    /// index, in order of first appearance (as `offersim serve` numbers them).
    txns: BTreeMap<(PurchaseId, bool), u32>,
}

impl<'w> Replay<'w> {
    /// A fresh platform for `users` (every step's user must be among them), its budget checks
    /// decided by `rule` when one is given (in the replay's user numbering).
    pub fn new(world: &'w World, users: Users, rule: Option<&'w mut dyn BudgetRule>) -> Replay<'w> {
        let n = users.len().max(1) as u32;
        let live = match rule {
            Some(rule) => Live::with_budget_rule(world, n, rule),
            None => Live::new(world, n),
        };
        Replay { live, users, txns: BTreeMap::new() }
    }

    /// One request, as a correct service applies it (a request it would refuse changes nothing).
    pub fn step(&mut self, s: &Step) {
        let Some(u) = self.users.dense(s.user) else { return };
        // Refusals (a deletion of a card not linked, an enrollment twice) change nothing: the
        // driver only counts them.
        let _ = match s.call {
            Call::Card { slot, token } => self.live.card_added(s.at, u, slot, token),
            Call::Delete { token } => self.live.card_deleted(s.at, u, token),
            Call::Enroll { token, offer } => self.live.enrolled(s.at, u, token, offer),
            Call::Message { m, facts } => {
                let next = self.txns.len() as u32;
                let index = *self.txns.entry((m.purchase, m.kind == MessageKind::Refund)).or_insert(next);
                let m = NetworkMessage { purchase: PurchaseId { user: u, seq: m.purchase.seq }, ..m };
                let txn = LiveTxn { index, facts };
                self.live.message(s.at, m, txn).map(|_| ())
            }
        };
    }

    /// Every credit, as `GET /v1/credits` lists them (transactions named as on the wire).
    pub fn credits(&self) -> Vec<CreditBody> {
        let page = self.live.credits_after(None, usize::MAX);
        crate::serve::credit_bodies(self.live.world(), &page, |p| {
            let p = self.users.to_world(p);
            transaction_id(p.user, p.seq)
        })
    }
}
