//! The differential oracle: the target's credits against what a correct service would hold,
//! purchase × offer — missed, false, double, wrong amount (reward or fee), wrong reversal (what
//! refunds took back) — and each offer's budget kept.
//!
//! **Arrival order.** Requests about different people travel concurrently, so the target may
//! receive them in another order than the reference run processed them; one person's requests
//! share a lane and arrive in order. The only state a platform shares between people is each
//! offer's budgets (total, and per period), so arrival order changes exactly one kind of
//! decision — whether a budget could pay a reward when its clearing arrived — and, through it,
//! what else that person earns: a per-card or per-user cap or a per-enrollment limit left
//! unused by a budget refusal pays a later purchase; a budget refusal of one offer lets the
//! merchant's next offer pay. With percent rewards another order can also fit a different
//! *number* of rewards into a budget. So the oracle judges in two steps:
//!
//! 1. **The reference, with the target's budget decisions.** The plan's requests are replayed
//!    through the reference platform (`replay`, in plan order), every budget check answered by
//!    the target: a budget pays a reward iff the target credited that purchase × offer.
//!    Everything else — terms, caps, limits, precedence, amounts, refunds — is the platform's
//!    own, so the replay holds what a correct service would hold had its budgets decided as the
//!    target's did, and each credit of the target is compared with it. A difference is a fault
//!    no arrival order explains: a credit the terms, caps or precedence exclude (false), one
//!    left out where no budget was in the way (missed), a double, a wrong amount or reversal.
//! 2. **Could an arrival order have made those decisions?** The replay yields each person's
//!    budget decisions that mattered, in order: rewards paid, and refusals that changed the
//!    outcome (of a stackable offer, or of one that would have won precedence). An order exists
//!    iff they interleave, each person's in order, so that every refusal finds its budget unable
//!    to pay — less left than the reward under `decline`, nothing left under `finish_last` — in
//!    budgets not overspent. Budgets only shrink, so a refusal justified once stays justified,
//!    and the greedy schedule (place whatever can be placed; a payment always can) finds an
//!    order whenever one exists. Where it gets stuck, the earliest refusal it cannot place is a
//!    miss no order explains ("the budget still had room"): counted, taken as paid, and the
//!    schedule goes on. A budget spent past its limit beyond what its overspend policy allows is
//!    a discrepancy per budget (total, or one period), and its offer's credits there are then
//!    compared with the reference run as it is: an overspending service gets no excuse.
//!
//! Differences from the reference run that the replay reproduces are counted apart as
//! *explained by arrival order*. The rule is sound: a correct service is never called wrong,
//! whatever order its requests arrived in, as long as each person's arrived in order
//! (`tests/drive_oracle.rs` replays random such orders). It is exact for budgets under
//! `decline`; under `finish_last` it checks necessary conditions (a refusal needs the budget
//! spent; the total may exceed it by less than the biggest reward). What no rule can see is a
//! swap some order would also produce: paying one eligible purchase instead of another, in a
//! budget that ran out, looks exactly like receiving them in the other order.

use super::plan::Plan;
use super::replay::{Replay, Users};
use crate::contract::{cents, parse_transaction_id, CreditBody};
use offersim_sim::core::money::{percent_of, Cents};
use offersim_sim::platform::matching::{rank, Decision, Decline};
use offersim_sim::platform::BudgetRule;
use offersim_sim::platform::BudgetScope;
use offersim_sim::truth::{CreditKey, Granted};
use offersim_sim::world::config::Overspend;
use offersim_sim::world::network::PurchaseId;
use offersim_sim::world::{Offer, OfferId, World};
use offersim_sim::SimTime;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Examples listed per kind of discrepancy.
pub const EXAMPLES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Missed,
    False,
    Double,
    WrongAmount,
    WrongReversal,
    /// A credit the target listed that names no transaction or offer it was sent.
    Unknown,
    BudgetOverspent,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Missed => "missed",
            Kind::False => "false",
            Kind::Double => "double",
            Kind::WrongAmount => "wrong amount",
            Kind::WrongReversal => "wrong reversal",
            Kind::Unknown => "unknown transaction or offer",
            Kind::BudgetOverspent => "budget overspent",
        }
    }
}

/// One credit's figures: reward, fee, taken back, how many times listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub reward: Cents,
    pub fee: Cents,
    pub reversed: Cents,
    pub times: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Discrepancy {
    pub kind: Kind,
    pub transaction: String,
    pub offer: String,
    pub user: Option<u32>,
    pub expected: Option<Figures>,
    pub got: Option<Figures>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    /// Credits (purchase × offer) in the reference and in the target.
    pub expected_credits: u64,
    pub target_credits: u64,
    pub correct: u64,
    /// Unexplained discrepancies by kind.
    pub missed: u64,
    pub false_credits: u64,
    pub double: u64,
    pub wrong_amount: u64,
    pub wrong_reversal: u64,
    pub unknown: u64,
    pub budget_overspent: u64,
    /// Differences from the reference run that another arrival order produces (module doc).
    pub explained_by_arrival_order: u64,
    /// The first `EXAMPLES` of each kind.
    pub examples: Vec<Discrepancy>,
}

impl Verdict {
    pub fn discrepancies(&self) -> u64 {
        self.missed
            + self.false_credits
            + self.double
            + self.wrong_amount
            + self.wrong_reversal
            + self.unknown
            + self.budget_overspent
    }
}

fn figures(g: &Granted) -> Figures {
    Figures { reward: g.reward, fee: g.fee, reversed: g.reward - g.net_reward, times: g.times }
}

/// Credits as listed, by purchase × offer (copies counted, reversals added up), and those that
/// name no transaction or offer of the world.
fn tally<'c>(
    offers: &BTreeMap<&str, OfferId>,
    listed: &'c [CreditBody],
) -> (BTreeMap<CreditKey, Figures>, Vec<&'c CreditBody>) {
    let mut known: BTreeMap<CreditKey, Figures> = BTreeMap::new();
    let mut unknown = Vec::new();
    for c in listed {
        let key = parse_transaction_id(&c.transaction)
            .map(|(user, seq)| PurchaseId { user, seq })
            .zip(offers.get(c.offer.as_str()).copied());
        let amounts = (cents(c.reward), cents(c.fee), cents(c.reversed));
        let (Some(key), (Some(reward), Some(fee), Some(reversed))) = (key, amounts) else {
            unknown.push(c);
            continue;
        };
        let f = known.entry(key).or_default();
        f.reward = reward;
        f.fee = fee;
        f.reversed += reversed;
        f.times += 1;
    }
    (known, unknown)
}

/// How `have` differs from `want`, if it does.
fn compare(want: Option<Figures>, have: Option<Figures>) -> Option<Kind> {
    match (want, have) {
        (Some(_), None) => Some(Kind::Missed),
        (None, Some(_)) => Some(Kind::False),
        (Some(w), Some(h)) if h.times > w.times => Some(Kind::Double),
        (Some(w), Some(h)) if (w.reward, w.fee) != (h.reward, h.fee) => Some(Kind::WrongAmount),
        (Some(w), Some(h)) if w.reversed != h.reversed => Some(Kind::WrongReversal),
        _ => None,
    }
}

/// One budget: an offer's total, or one period of its budget per period.
type Budget = (OfferId, BudgetScope);

/// The budgets a reward of `offer` on a clearing stamped `stamp` counts in.
fn budgets(o: &Offer, offer: OfferId, stamp: SimTime) -> impl Iterator<Item = Budget> {
    let total = o.budget.map(|_| (offer, BudgetScope::Total));
    let period = o.period_budget.map(|_| (offer, BudgetScope::Period(o.period_of(stamp))));
    total.into_iter().chain(period)
}

fn limit(o: &Offer, scope: BudgetScope) -> Option<Cents> {
    match scope {
        BudgetScope::Total => o.budget,
        BudgetScope::Period(_) => o.period_budget.map(|b| b.amount),
    }
}

/// A budget refuses a reward when less than this is left: the reward under `decline`, a cent
/// (nothing left) under `finish_last`.
fn refusal_below(o: &Offer, reward: Cents) -> Cents {
    match o.overspend {
        Overspend::Decline => reward,
        Overspend::FinishLast => Cents(1),
    }
}

/// A budget decision of the replay that mattered: a reward paid, or a refusal that changed the
/// outcome.
#[derive(Debug, Clone, Copy)]
struct Decided {
    offer: OfferId,
    reward: Cents,
    paid: bool,
}

/// One clearing's decisions that mattered; `purchase` in the world's numbering, `person` in
/// the replay's.
#[derive(Debug)]
struct Clearing {
    person: u32,
    purchase: PurchaseId,
    stamp: SimTime,
    decided: Vec<Decided>,
}

/// Budget checks answered by the target's credits (step 1 of the module doc), recording the
/// decisions that mattered.
struct TargetBudgets<'a> {
    world: &'a World,
    users: Users,
    /// Purchase × offer the target credited, in the replay's numbering.
    paid: BTreeSet<CreditKey>,
    /// The checks asked while matching the current clearing: (offer, reward, paid).
    asked: RefCell<Vec<(OfferId, Cents, bool)>>,
    clearings: Vec<Clearing>,
}

impl BudgetRule for TargetBudgets<'_> {
    fn blocks(&self, purchase: PurchaseId, offer: OfferId, reward: Cents) -> Option<Decline> {
        let paid = self.paid.contains(&(purchase, offer));
        self.asked.borrow_mut().push((offer, reward, paid));
        let total = self.world.offers[offer.0 as usize].budget.is_some();
        (!paid).then_some(if total { Decline::Budget } else { Decline::PeriodBudget })
    }

    fn decided(&mut self, purchase: PurchaseId, stamp: SimTime, decision: &Decision) {
        let asked = std::mem::take(self.asked.get_mut());
        if asked.is_empty() {
            return;
        }
        let offers = &self.world.offers;
        let budgeted = |o: &Offer| o.budget.is_some() || o.period_budget.is_some();
        let mut decided: Vec<Decided> = decision
            .awards
            .iter()
            .filter(|(o, _)| budgeted(&offers[o.0 as usize]))
            .map(|&(offer, reward)| Decided { offer, reward, paid: true })
            .collect();
        // A refusal matters if the offer would have been paid without it: a stackable one, or
        // one that outranks the offer that won.
        let winner = decision
            .awards
            .iter()
            .find(|(o, _)| !offers[o.0 as usize].stackable)
            .map(|&(o, r)| rank(&offers[o.0 as usize], r, o));
        for (offer, reward, paid) in asked {
            let o = &offers[offer.0 as usize];
            if !paid && (o.stackable || winner.is_none_or(|w| rank(o, reward, offer) > w)) {
                decided.push(Decided { offer, reward, paid: false });
            }
        }
        if !decided.is_empty() {
            let c = Clearing { person: purchase.user, purchase: self.users.to_world(purchase), stamp, decided };
            self.clearings.push(c);
        }
    }
}

/// Step 2 of the module doc: interleaves each person's budget decisions, greedily, so that
/// every refusal finds its budget unable to pay.
struct Schedule<'a> {
    world: &'a World,
    clearings: &'a [Clearing],
    /// Each person's clearings not placed yet, in order.
    chains: BTreeMap<u32, VecDeque<usize>>,
    /// Each person's next clearing: (its index, person), earliest first.
    heads: BTreeSet<(usize, u32)>,
    /// What each budget touched has left.
    left: BTreeMap<Budget, Cents>,
    /// People whose next clearing waits for a budget to have less left than an amount.
    waiting: BTreeMap<Budget, BTreeMap<Cents, Vec<u32>>>,
    /// People whose next clearing may be placeable.
    ready: Vec<u32>,
}

impl<'a> Schedule<'a> {
    fn new(world: &'a World, clearings: &'a [Clearing]) -> Schedule<'a> {
        let mut chains: BTreeMap<u32, VecDeque<usize>> = BTreeMap::new();
        for (i, c) in clearings.iter().enumerate() {
            chains.entry(c.person).or_default().push_back(i);
        }
        let heads = chains.iter().filter_map(|(&p, c)| c.front().map(|&i| (i, p))).collect();
        let ready = chains.keys().rev().copied().collect();
        Schedule { world, clearings, chains, heads, left: BTreeMap::new(), waiting: BTreeMap::new(), ready }
    }

    fn offer(&self, offer: OfferId) -> &'a Offer {
        &self.world.offers[offer.0 as usize]
    }

    fn left(&self, b: Budget) -> Cents {
        self.left.get(&b).copied().or_else(|| limit(self.offer(b.0), b.1)).unwrap_or(Cents::ZERO)
    }

    /// Whether a budget of the refusal `d` of clearing `c` cannot pay it now.
    fn justified(&self, c: &Clearing, d: &Decided) -> bool {
        let o = self.offer(d.offer);
        budgets(o, d.offer, c.stamp).any(|b| self.left(b) < refusal_below(o, d.reward))
    }

    fn spend(&mut self, b: Budget, amount: Cents) {
        let left = self.left(b) - amount;
        self.left.insert(b, left);
        if let Some(w) = self.waiting.get_mut(&b) {
            for people in w.split_off(&(left + Cents(1))).into_values() {
                self.ready.extend(people);
            }
        }
    }

    /// Places clearing `i` of `person`: its rewards are spent.
    fn place(&mut self, person: u32, i: usize) {
        let c = &self.clearings[i];
        for d in c.decided.iter().filter(|d| d.paid) {
            for b in budgets(self.offer(d.offer), d.offer, c.stamp) {
                self.spend(b, d.reward);
            }
        }
        self.heads.remove(&(i, person));
        if let Some(chain) = self.chains.get_mut(&person) {
            chain.pop_front();
            if let Some(&next) = chain.front() {
                self.heads.insert((next, person));
            }
        }
    }

    /// The refusals no arrival order explains: (purchase × offer, reward).
    fn run(mut self) -> Vec<(CreditKey, Cents)> {
        let clearings = self.clearings;
        let mut unexplained = Vec::new();
        loop {
            while let Some(person) = self.ready.pop() {
                while let Some(&i) = self.chains.get(&person).and_then(|c| c.front()) {
                    let c = &clearings[i];
                    match c.decided.iter().find(|d| !d.paid && !self.justified(c, d)) {
                        Some(d) => {
                            // Waits until one of its budgets has less left than it needs.
                            let below = refusal_below(self.offer(d.offer), d.reward);
                            for b in budgets(self.offer(d.offer), d.offer, c.stamp) {
                                self.waiting.entry(b).or_default().entry(below).or_default().push(person);
                            }
                            break;
                        }
                        None => self.place(person, i),
                    }
                }
            }
            // Stuck: the earliest refusal left is explained by no order. Counted, taken as
            // paid (the budget had room for it), and the schedule goes on.
            let Some(&(i, person)) = self.heads.first() else { break };
            let c = &clearings[i];
            for d in c.decided.iter().filter(|d| !d.paid) {
                if !self.justified(c, d) {
                    unexplained.push(((c.purchase, d.offer), d.reward));
                    for b in budgets(self.offer(d.offer), d.offer, c.stamp) {
                        self.spend(b, d.reward);
                    }
                }
            }
            self.place(person, i);
            self.ready.push(person);
        }
        unexplained
    }
}

/// Judges `got` (the target's credits) against the reference (`plan`): module doc.
pub fn judge(world: &World, plan: &Plan, got: &[CreditBody]) -> Verdict {
    let reference = &plan.reference;
    let offers: BTreeMap<&str, OfferId> =
        world.offers.iter().enumerate().map(|(i, o)| (o.id.as_str(), OfferId(i as u32))).collect();
    let mut v = Verdict::default();
    let mut examples: Vec<Discrepancy> = Vec::new();
    let (target, unknown) = tally(&offers, got);
    for c in unknown {
        v.unknown += 1;
        examples.push(Discrepancy {
            kind: Kind::Unknown,
            transaction: c.transaction.clone(),
            offer: c.offer.clone(),
            user: None,
            expected: None,
            got: None,
        });
    }
    v.expected_credits = reference.len() as u64;
    v.target_credits = target.len() as u64;
    // Budgets kept: what the target granted in each budget (every copy counts), total and per
    // period (by the clearing's timestamp, as the reference judges it).
    let stamp = |p: &PurchaseId| plan.stamps.get(p).copied();
    let mut spent: BTreeMap<Budget, (Cents, Cents)> = BTreeMap::new();
    for ((p, o), f) in &target {
        let offer = &world.offers[o.0 as usize];
        let granted = Cents(f.reward.0 * f.times as i64);
        let mut add = |b| {
            let e = spent.entry(b).or_insert((Cents::ZERO, Cents::ZERO));
            e.0 += granted;
            e.1 = e.1.max(f.reward);
        };
        if offer.budget.is_some() {
            add((*o, BudgetScope::Total));
        }
        if let (Some(_), Some(stamp)) = (offer.period_budget, stamp(p)) {
            add((*o, BudgetScope::Period(offer.period_of(stamp))));
        }
    }
    let mut overspent: BTreeSet<Budget> = BTreeSet::new();
    for (&(o, scope), &(total, biggest)) in &spent {
        let offer = &world.offers[o.0 as usize];
        let Some(limit) = limit(offer, scope) else { continue };
        let allowed = match offer.overspend {
            Overspend::Decline => limit,
            Overspend::FinishLast => limit + biggest - Cents(1),
        };
        if total > allowed {
            overspent.insert((o, scope));
            v.budget_overspent += 1;
            let which = match scope {
                BudgetScope::Total => String::new(),
                BudgetScope::Period(p) => format!("period {p}"),
            };
            examples.push(Discrepancy {
                kind: Kind::BudgetOverspent,
                transaction: which,
                offer: offer.id.clone(),
                user: None,
                expected: Some(Figures { reward: limit, ..Default::default() }),
                got: Some(Figures { reward: total, ..Default::default() }),
            });
        }
    }
    // Step 1: the reference with the target's budget decisions.
    let users = Users::of(&plan.steps);
    let paid = target.keys().filter_map(|&(p, o)| users.to_dense(p).map(|p| (p, o))).collect();
    let mut rule =
        TargetBudgets { world, users: users.clone(), paid, asked: RefCell::default(), clearings: Vec::new() };
    let replayed = {
        let mut r = Replay::new(world, users, Some(&mut rule));
        for s in &plan.steps {
            r.step(s);
        }
        r.credits()
    };
    let (would, _) = tally(&offers, &replayed);
    // Step 2: an arrival order for those decisions.
    let unexplained: BTreeMap<CreditKey, Cents> = Schedule::new(world, &rule.clearings).run().into_iter().collect();
    let in_scope = |p: &PurchaseId| plan.users.as_ref().is_none_or(|u| u.contains(&p.user));
    let keys: BTreeSet<CreditKey> = reference
        .keys()
        .chain(would.keys())
        .chain(target.keys())
        .chain(unexplained.keys())
        .copied()
        .filter(|(p, _)| in_scope(p))
        .collect();
    for k in keys {
        let (p, o) = k;
        let offer = &world.offers[o.0 as usize];
        let as_run = reference.get(&k).map(figures);
        let have = target.get(&k).copied();
        let no_excuse = stamp(&p).map_or_else(
            || overspent.contains(&(o, BudgetScope::Total)),
            |t| budgets(offer, o, t).any(|b| overspent.contains(&b)),
        );
        let mut want = if no_excuse { as_run } else { would.get(&k).copied() };
        let mut kind = compare(want, have);
        if let (None, false, Some(&reward)) = (kind, no_excuse, unexplained.get(&k)) {
            kind = Some(Kind::Missed);
            let fee = percent_of(reward, offer.fee_percent);
            want = as_run.or(Some(Figures { reward, fee, reversed: Cents::ZERO, times: 1 }));
        }
        let Some(kind) = kind else {
            match compare(as_run, have) {
                None => v.correct += 1,
                Some(_) => v.explained_by_arrival_order += 1,
            }
            continue;
        };
        match kind {
            Kind::Missed => v.missed += 1,
            Kind::False => v.false_credits += 1,
            Kind::Double => v.double += 1,
            Kind::WrongAmount => v.wrong_amount += 1,
            Kind::WrongReversal => v.wrong_reversal += 1,
            Kind::Unknown | Kind::BudgetOverspent => {}
        }
        examples.push(Discrepancy {
            kind,
            transaction: crate::contract::transaction_id(p.user, p.seq),
            offer: offer.id.clone(),
            user: Some(p.user),
            expected: want,
            got: have,
        });
    }
    // The first few of each kind, in kind order.
    examples.sort_by_key(|d| d.kind);
    let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    v.examples = examples
        .into_iter()
        .filter(|d| {
            let n = per_kind.entry(d.kind).or_default();
            *n += 1;
            *n <= EXAMPLES
        })
        .collect();
    v
}
