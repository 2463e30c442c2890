//! Double-entry ledger. Every movement of money is a journal entry whose postings sum to zero;
//! an account's balance is the sum of its postings (positive: money owed to the account's
//! holder). A granted reward moves reward + fee out of the merchant's funding account into
//! pending rewards and the platform's fees; the reward then moves to confirmed (the return
//! period is over) and to the cardholder's credits (the statement credit is paid). A reversal
//! moves what is taken back, from whichever state holds it, back to the merchant.

use crate::core::money::Cents;
use crate::world::MerchantId;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Account {
    /// What a merchant has paid for its campaigns (negative: money out).
    MerchantFunding(MerchantId),
    /// Rewards granted, waiting for the return period to end.
    RewardsPending,
    /// Rewards past their return period, waiting for the statement credit.
    RewardsConfirmed,
    /// Statement credits paid to cardholders.
    CardholderCredits,
    /// The platform's fee income.
    PlatformFees,
}

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    /// As (account, balance) pairs when written (a partial outcome): JSON keys are strings.
    #[serde(with = "pairs")]
    balances: BTreeMap<Account, Cents>,
    entries: u64,
    /// Sum of every posting ever made: zero after every entry.
    total: Cents,
}

impl Ledger {
    /// Records one balanced entry. An unbalanced entry is a bug in the engine, never input.
    pub fn post(&mut self, postings: &[(Account, Cents)]) {
        let sum: Cents = postings.iter().map(|(_, c)| *c).sum();
        assert_eq!(sum, Cents::ZERO, "unbalanced journal entry: {postings:?}");
        for (account, amount) in postings {
            *self.balances.entry(*account).or_default() += *amount;
            self.total += *amount;
        }
        self.entries += 1;
        debug_assert_eq!(self.total, Cents::ZERO);
        debug_assert_eq!(self.balances.values().copied().sum::<Cents>(), Cents::ZERO);
    }
    /// A reward granted (pending): the merchant funds reward and fee.
    pub fn grant(&mut self, merchant: MerchantId, reward: Cents, fee: Cents) {
        self.post(&[
            (Account::MerchantFunding(merchant), -(reward + fee)),
            (Account::RewardsPending, reward),
            (Account::PlatformFees, fee),
        ]);
    }
    /// The return period is over: pending → confirmed.
    pub fn confirm(&mut self, reward: Cents) {
        self.post(&[(Account::RewardsPending, -reward), (Account::RewardsConfirmed, reward)]);
    }
    /// The statement credit is paid: confirmed → cardholder credits.
    pub fn pay(&mut self, reward: Cents) {
        self.post(&[(Account::RewardsConfirmed, -reward), (Account::CardholderCredits, reward)]);
    }
    /// Takes back `reward` (held in `from`) and `fee`, returning both to the merchant.
    pub fn reverse(&mut self, from: Account, merchant: MerchantId, reward: Cents, fee: Cents) {
        self.post(&[
            (Account::MerchantFunding(merchant), reward + fee),
            (from, -reward),
            (Account::PlatformFees, -fee),
        ]);
    }
    /// Adds another ledger's books (a shard's) to these.
    pub fn absorb(&mut self, other: &Ledger) {
        for (account, amount) in &other.balances {
            *self.balances.entry(*account).or_default() += *amount;
        }
        self.total += other.total;
        self.entries += other.entries;
    }
    pub fn balance(&self, account: Account) -> Cents {
        self.balances.get(&account).copied().unwrap_or_default()
    }
    pub fn entries(&self) -> u64 {
        self.entries
    }
    /// True when the balances sum to zero.
    pub fn is_balanced(&self) -> bool {
        self.total == Cents::ZERO && self.balances.values().copied().sum::<Cents>() == Cents::ZERO
    }
    /// Total funded by all merchants (a positive amount).
    pub fn merchant_cost(&self) -> Cents {
        -self.balances.iter().filter(|(a, _)| matches!(a, Account::MerchantFunding(_))).map(|(_, c)| *c).sum::<Cents>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reward_moves_pending_confirmed_paid_and_a_clawback_returns_every_account_to_zero() {
        let mut l = Ledger::default();
        l.grant(MerchantId(3), Cents(200), Cents(20));
        assert_eq!(l.balance(Account::MerchantFunding(MerchantId(3))), Cents(-220));
        assert_eq!(l.balance(Account::RewardsPending), Cents(200));
        assert_eq!(l.balance(Account::PlatformFees), Cents(20));
        assert_eq!(l.merchant_cost(), Cents(220));
        l.confirm(Cents(200));
        assert_eq!(
            (l.balance(Account::RewardsPending), l.balance(Account::RewardsConfirmed)),
            (Cents::ZERO, Cents(200))
        );
        l.pay(Cents(200));
        assert_eq!(l.balance(Account::CardholderCredits), Cents(200));
        assert!(l.is_balanced());
        l.reverse(Account::CardholderCredits, MerchantId(3), Cents(200), Cents(20));
        assert_eq!(l.merchant_cost(), Cents::ZERO);
        assert_eq!(l.balance(Account::CardholderCredits), Cents::ZERO);
        assert_eq!(l.entries(), 4);
    }

    #[test]
    fn a_partial_reversal_of_a_pending_reward_leaves_the_rest_pending() {
        let mut l = Ledger::default();
        l.grant(MerchantId(0), Cents(300), Cents(30));
        l.reverse(Account::RewardsPending, MerchantId(0), Cents(100), Cents(10));
        assert_eq!(l.balance(Account::RewardsPending), Cents(200));
        assert_eq!(l.balance(Account::PlatformFees), Cents(20));
        assert_eq!(l.merchant_cost(), Cents(220));
        assert!(l.is_balanced());
    }

    #[test]
    #[should_panic(expected = "unbalanced")]
    fn an_unbalanced_entry_is_refused() {
        Ledger::default().post(&[(Account::PlatformFees, Cents(1))]);
    }
}

/// A map with keys JSON cannot hold, written as a list of pairs.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer, K: Serialize + Ord, V: Serialize>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, K: Deserialize<'de> + Ord, V: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<K, V>, D::Error> {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
