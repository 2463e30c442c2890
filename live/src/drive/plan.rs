//! The driver's plan: the reference pipeline runs the scenario (one shard, whole budgets) with a
//! tap on the platform's inputs; every input becomes one HTTP request, in the order the
//! reference platform processed it, with its simulated time. The reference's credits are what
//! the target's are compared with.

use offersim_sim::harness::events::{NoProgress, Tap};
use offersim_sim::harness::{run_tapped, RunError, RunOptions};
use offersim_sim::platform::{BudgetScope, Input, MessageFacts};
use offersim_sim::truth::{CreditKey, Granted};
use offersim_sim::world::network::{CardNetwork, NetworkMessage, PurchaseId};
use offersim_sim::world::OfferId;
use offersim_sim::world::Token;
use offersim_sim::{SimTime, World};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy)]
pub enum Call {
    /// `POST /v1/users/{user}/cards`: the user's physical card `slot`, linked as `token` in the
    /// reference (the target answers with its own token).
    Card { slot: u8, token: Token },
    /// `DELETE /v1/cards/{token}`.
    Delete { token: Token },
    /// `POST /v1/enrollments`.
    Enroll { token: Token, offer: OfferId },
    /// `POST /v1/network/messages`.
    Message { m: NetworkMessage, facts: MessageFacts },
}

#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub at: SimTime,
    pub user: u32,
    pub call: Call,
}

pub struct Plan {
    pub steps: Vec<Step>,
    /// The reference platform's credits.
    pub reference: BTreeMap<CreditKey, Granted>,
    /// Rewards on offers with a budget, in the reference's order, with their budget period.
    pub awards: Vec<(CreditKey, Option<u32>)>,
    /// (purchase, offer) the reference declined because a budget was spent, in its order.
    pub budget_declined: Vec<(CreditKey, BudgetScope)>,
    /// Each purchase's clearing timestamp (its budget period).
    pub stamps: BTreeMap<PurchaseId, SimTime>,
    /// Only these users' traffic is sent and compared (all when `None`).
    pub users: Option<BTreeSet<u32>>,
}

struct Collect<'a> {
    steps: Vec<Step>,
    awards: Vec<(CreditKey, Option<u32>)>,
    budget_declined: Vec<(CreditKey, BudgetScope)>,
    stamps: BTreeMap<PurchaseId, SimTime>,
    users: Option<&'a BTreeSet<u32>>,
}

impl Tap for Collect<'_> {
    fn input(&mut self, at: SimTime, input: Input) {
        let (user, call) = match input {
            Input::CardAdded { user, slot, token } => (user, Call::Card { slot, token }),
            Input::Enrolled { user, token, offer } => (user, Call::Enroll { token, offer }),
            Input::CardDeleted { user, token } => (user, Call::Delete { token }),
            Input::Message { m, facts } => {
                if m.kind == offersim_sim::world::network::MessageKind::Clearing {
                    self.stamps.entry(m.purchase).or_insert(m.network_time);
                }
                (m.purchase.user, Call::Message { m, facts })
            }
        };
        if self.users.is_none_or(|u| u.contains(&user)) {
            self.steps.push(Step { at, user, call });
        }
    }
    fn awarded(&mut self, purchase: PurchaseId, offer: OfferId, period: Option<u32>) {
        self.awards.push(((purchase, offer), period));
    }
    fn budget_declined(&mut self, purchase: PurchaseId, offer: OfferId, scope: BudgetScope) {
        self.budget_declined.push(((purchase, offer), scope));
    }
}

/// Runs the reference pipeline on `world` and records its inputs (only `users`' when given).
pub fn plan(
    world: &World,
    network: &dyn CardNetwork,
    threads: usize,
    users: Option<BTreeSet<u32>>,
) -> Result<Plan, RunError> {
    let mut tap = Collect {
        steps: Vec::new(),
        awards: Vec::new(),
        budget_declined: Vec::new(),
        stamps: BTreeMap::new(),
        users: users.as_ref(),
    };
    let (_, reference) = run_tapped(world, network, RunOptions::threads(threads), &NoProgress, &mut tap)?;
    let Collect { steps, awards, budget_declined, stamps, .. } = tap;
    let reference = match &users {
        Some(u) => reference.into_iter().filter(|((p, _), _)| u.contains(&p.user)).collect(),
        None => reference,
    };
    Ok(Plan { steps, reference, awards, budget_declined, stamps, users })
}
