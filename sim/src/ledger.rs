//! Double-entry ledger. Every movement of money is a journal entry whose postings sum to zero;
//! an account's balance is the sum of its postings (positive: money owed to the account's
//! holder). A credit moves reward + fee out of the merchant's funding account into the
//! cardholder's credits and the platform's fees; a clawback moves them back.

use crate::money::Cents;
use crate::world::MerchantId;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// What a merchant has paid for its campaigns (negative: money out).
    MerchantFunding(MerchantId),
    /// Statement credits owed to cardholders.
    CardholderCredits,
    /// The platform's fee income.
    PlatformFees,
}

#[derive(Debug, Default, Clone)]
pub struct Ledger {
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
    /// A reward credit: the merchant funds reward and fee.
    pub fn credit(&mut self, merchant: MerchantId, reward: Cents, fee: Cents) {
        self.post(&[
            (Account::MerchantFunding(merchant), -(reward + fee)),
            (Account::CardholderCredits, reward),
            (Account::PlatformFees, fee),
        ]);
    }
    /// Reverses a credit in full.
    pub fn clawback(&mut self, merchant: MerchantId, reward: Cents, fee: Cents) {
        self.post(&[
            (Account::MerchantFunding(merchant), reward + fee),
            (Account::CardholderCredits, -reward),
            (Account::PlatformFees, -fee),
        ]);
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
    fn credit_then_clawback_returns_every_account_to_zero() {
        let mut l = Ledger::default();
        l.credit(MerchantId(3), Cents(200), Cents(20));
        assert_eq!(l.balance(Account::MerchantFunding(MerchantId(3))), Cents(-220));
        assert_eq!(l.balance(Account::CardholderCredits), Cents(200));
        assert_eq!(l.balance(Account::PlatformFees), Cents(20));
        assert_eq!(l.merchant_cost(), Cents(220));
        assert!(l.is_balanced());
        l.clawback(MerchantId(3), Cents(200), Cents(20));
        assert_eq!(l.merchant_cost(), Cents::ZERO);
        assert_eq!(l.balance(Account::CardholderCredits), Cents::ZERO);
        assert_eq!(l.entries(), 2);
    }

    #[test]
    #[should_panic(expected = "unbalanced")]
    fn an_unbalanced_entry_is_refused() {
        Ledger::default().post(&[(Account::PlatformFees, Cents(1))]);
    }
}
