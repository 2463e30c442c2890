//! The fast matching core (`sim/src/platform/fastmatch.rs`) decides exactly as the reference
//! matcher (`matching::match_txn`), on random worlds: random offers with every rule, merchants in
//! other time zones, random cards and enrollments (the same offer twice on a card included),
//! random platform counters. Both of its entry points: the single transaction against a card's
//! row as the platform keeps it (`OfferTable::decide`, rows grown by `OfferTable::enroll`,
//! credits counted as they are granted), and the batch index (`MatchIndex`).

use offersim::{load_str, Overrides};
use offersim_sim::platform::fastmatch::{Award, BatchScratch, CardTxn, Enrollment, FastTxn, MatchIndex, OfferTable};
use offersim_sim::platform::matching::{match_txn, Counters, Decision, Decline, Enrolled, Txn};
use offersim_sim::world::{Channel, MerchantId, MidId, OfferId};
use offersim_sim::{Cents, SimTime};
use proptest::prelude::*;

fn offer_toml(i: usize, merchants: usize, r: &[u32]) -> String {
    let m = r[0] as usize % merchants;
    let mut s = format!("[offers.o{i}]\nmerchant = \"m{m}\"\n");
    s += &match r[1] % 3 {
        0 => format!("reward = {{ fixed = {}.{:02} }}\n", r[2] % 5, 1 + r[3] % 99),
        1 => format!("reward = {{ percent = {}.{:02} }}\n", 1 + r[2] % 20, r[3] % 100),
        _ => format!("reward = {{ percent = \"{}.{:03}\", cap = {} }}\n", 1 + r[2] % 20, r[3] % 1000, 1 + r[4] % 9),
    };
    s += &format!("min_spend = {}\n", r[5] % 20);
    if r[6] % 3 == 0 {
        s += &format!("max_spend = {}\n", 20 + r[7] % 60);
    }
    if r[8] % 3 == 0 {
        s += &format!("days = [\"{}\", \"sat\"]\n", ["mon", "tue", "wed", "thu", "fri"][r[9] as usize % 5]);
    }
    if r[10] % 3 == 0 {
        let lo = r[11] % 20;
        s += &format!("hours = [{lo}, {}]\n", lo + 1 + r[12] % 4);
    }
    if r[13] % 4 == 0 {
        s += "channels = [\"in_store\"]\n";
    }
    if r[14] % 4 == 0 {
        s += "schemes = [\"b\"]\n";
    }
    if r[15] % 4 == 0 {
        s += &format!("mids = [\"m{m}#{}\"]\n", 1 + r[16] % 2);
    }
    if r[17] % 4 == 0 {
        s += "new_customer_days = 30\n";
    }
    if r[18] % 3 == 0 {
        s += &format!("per_card_cap = {}\n", 1 + r[19] % 3);
    }
    if r[20] % 4 == 0 {
        s += &format!("per_user_cap = {}\n", 1 + r[21] % 3);
    }
    if r[22] % 4 == 0 {
        s += &format!("transactions_per_enrollment = {}\n", 1 + r[23] % 3);
    }
    if r[24] % 4 == 0 {
        s += "budget = 50\n";
    }
    s += &format!("priority = {}\nstackable = {}\n", r[25] % 3, r[26] % 4 == 0);
    s += &format!("start = \"2026-06-0{}\"\nend = \"2026-06-0{}\"\n\n", 1 + r[27] % 3, 5 + r[28] % 3);
    s
}

fn world_toml(merchants: usize, offers: &[Vec<u32>]) -> String {
    let mut s = String::from(
        "[scenario]\nname = \"fm\"\nseed = 1\nstart = \"2026-06-01\"\ndays = 7\nutc_offset = \"-05:00\"\n\n[population]\nusers = 10\n\n\
         [segments.all]\nshare = 1.0\npurchases_per_day = 1\nschemes = { a = 0.5, b = 0.5 }\nclick_rate = 0.1\ncard_entry_completion = 0.5\n\n",
    );
    for m in 0..merchants {
        let zone = ["-05:00", "-08:00", "+09:00"][m % 3];
        s += &format!(
            "[merchants.m{m}]\nname = \"M{m}\"\ncategory = \"c\"\nmids = 3\nchannels = {{ in_store = 0.5, online = 0.3, app = 0.2 }}\nbasket = {{ median = 20.00, sigma = 0.5 }}\nutc_offset = \"{zone}\"\n\n"
        );
    }
    for (i, r) in offers.iter().enumerate() {
        s += &offer_toml(i, merchants, r);
    }
    s + "[network.schemes.a]\nclearing_delay_hours = { min = 24, mode = 48, max = 72 }\n[network.schemes.b]\nclearing_delay_hours = { min = 24, mode = 48, max = 72 }\n"
}

/// The world of a generated scenario text; a text the loader refuses fails the case, with it.
fn load(text: &str) -> Result<offersim::Scenario, TestCaseError> {
    load_str("fm.toml", text, &Overrides::default()).map_err(|d| TestCaseError::fail(format!("{d:?}\n{text}")))
}

/// Each card's enrollments: (offer, since, credits so far), the offer taken modulo the `n` offers.
fn enrolled(cards: &[Vec<(u32, u64, u32)>], n: u32) -> Vec<Vec<Enrolled>> {
    cards
        .iter()
        .map(|c| {
            c.iter()
                .map(|&(o, since, credited)| Enrolled { offer: OfferId(o % n), since: SimTime(since), credited })
                .collect()
        })
        .collect()
}

/// Counters that are pure functions of a seed: the same answers for both matchers. Budgets block
/// only offers that have one (the platform's contract).
struct Fixed(u64, Vec<bool>);

impl Fixed {
    /// The counters of `w`'s offers (those with a budget may be blocked by it) for `state`.
    fn of(w: &offersim_sim::World, state: u64) -> Fixed {
        Fixed(state, w.offers.iter().map(|o| o.budget.is_some() || o.period_budget.is_some()).collect())
    }

    fn h(&self, a: u64, b: u64) -> u64 {
        let mut x = self.0 ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 31;
        x.wrapping_mul(0x94d0_49bb_1331_11eb) >> 33
    }
}

impl Counters for Fixed {
    fn card_redemptions(&self, offer: OfferId) -> u32 {
        (self.h(1, offer.0 as u64) % 3) as u32
    }
    fn user_redemptions(&self, offer: OfferId) -> u32 {
        (self.h(2, offer.0 as u64) % 4) as u32
    }
    fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline> {
        let left = (self.h(3, offer.0 as u64) % 800) as i64;
        (self.1[offer.0 as usize] && left < reward.0).then_some(Decline::Budget)
    }
    fn seen_customer(&self, merchant: MerchantId, _: SimTime, _: SimTime) -> bool {
        self.h(4, merchant.0 as u64) % 2 == 0
    }
}

/// The reference matcher's view of a transaction.
fn reference_txn(w: &offersim_sim::World, x: &FastTxn) -> Txn {
    Txn {
        at: SimTime(x.at),
        merchant: w.mids[x.mid.0 as usize].merchant,
        amount: x.amount,
        channel: x.channel,
        scheme: x.scheme,
        mid: x.mid,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_core_decides_exactly_as_the_reference_matcher(
        merchants in 1usize..4,
        offers in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 29), 1..8),
        cards in proptest::collection::vec(proptest::collection::vec((any::<u32>(), 0u64..4 * 86_400, 0u32..3), 0..8), 1..20),
        txns in proptest::collection::vec((any::<u32>(), 0u32..9, 0u64..8 * 86_400, 0i64..10_000, 0u8..3, 0u8..2), 1..60),
        state in any::<u64>(),
    ) {
        let text = world_toml(merchants, &offers);
        let s = load(&text)?;
        let w = &s.world;
        let n = w.offers.len() as u32;
        let cards = enrolled(&cards, n);
        let ix = MatchIndex::build(&w.calendar, &w.offers, w.mids.iter().map(|m| m.merchant), cards.iter().map(|c| c.as_slice()));
        let counters = Fixed::of(w, state);
        let channels = [Channel::InStore, Channel::Online, Channel::App];
        let txns: Vec<CardTxn> = txns
            .iter()
            .map(|&(card, mid, at, amount, ch, scheme)| CardTxn {
                card: card % cards.len() as u32,
                txn: FastTxn { mid: MidId(mid % w.mids.len() as u32), at, amount: Cents(amount), channel: channels[ch as usize], scheme },
            })
            .collect();
        let (mut fast, mut slow) = (Decision::default(), Decision::default());
        let mut expected: Vec<Award> = Vec::new();
        for (k, x) in txns.iter().enumerate() {
            let t = reference_txn(w, &x.txn);
            match_txn(&t, &w.calendar, &w.offers, &cards[x.card as usize], &counters, &mut slow);
            ix.match_one(x, &counters, &mut fast);
            prop_assert_eq!(&fast, &slow, "transaction {:?}\n{}", x, text);
            expected.extend(slow.awards.iter().map(|&(offer, reward)| Award { txn: k as u32, offer, reward }));
        }
        let (mut scratch, mut got) = (BatchScratch::default(), Vec::new());
        ix.match_batch(&txns, &counters, &mut scratch, &mut got);
        prop_assert_eq!(got, expected);
    }

    /// The platform's path: each card's row grown one enrollment at a time (`OfferTable::enroll`,
    /// as `Platform::enroll` does), one transaction at a time, every award counted as a credit
    /// on the card's enrollments in that offer (as the platform's crediting does) on both sides,
    /// so that limits per enrollment bite as a run goes on.
    #[test]
    fn the_platform_path_decides_exactly_as_the_reference_matcher_as_credits_accumulate(
        merchants in 1usize..4,
        offers in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 29), 1..8),
        cards in proptest::collection::vec(proptest::collection::vec((any::<u32>(), 0u64..4 * 86_400, 0u32..3), 0..6), 1..10),
        txns in proptest::collection::vec((any::<u32>(), 0u32..9, 0u64..8 * 86_400, 0i64..10_000, 0u8..3, 0u8..2), 1..80),
        state in any::<u64>(),
    ) {
        let text = world_toml(merchants, &offers);
        let s = load(&text)?;
        let w = &s.world;
        let n = w.offers.len() as u32;
        let table = OfferTable::of(w);
        let mut slow_cards = enrolled(&cards, n);
        let mut rows: Vec<Vec<Enrollment>> = slow_cards
            .iter()
            .map(|c| {
                let mut row = Vec::new();
                for e in c {
                    table.enroll(&mut row, e.offer, e.since, e.credited);
                }
                row
            })
            .collect();
        let counters = Fixed::of(w, state);
        let channels = [Channel::InStore, Channel::Online, Channel::App];
        let (mut fast, mut slow) = (Decision::default(), Decision::default());
        for &(card, mid, at, amount, ch, scheme) in &txns {
            let c = (card % cards.len() as u32) as usize;
            let x = FastTxn { mid: MidId(mid % w.mids.len() as u32), at, amount: Cents(amount), channel: channels[ch as usize], scheme };
            match_txn(&reference_txn(w, &x), &w.calendar, &w.offers, &slow_cards[c], &counters, &mut slow);
            table.decide(&x, &rows[c], &counters, &mut fast);
            prop_assert_eq!(&fast, &slow, "card {} transaction {:?}\n{}", c, x, text);
            for &(offer, _) in &slow.awards {
                slow_cards[c].iter_mut().filter(|e| e.offer == offer).for_each(|e| e.credited += 1);
                rows[c].iter_mut().filter(|e| e.offer() == offer).for_each(|e| e.credit());
            }
        }
    }

    /// The batch index's rows lie in two parts (a card's line holds three records, the rest
    /// beside): credits recorded on it (`record_credit`) reach the record of the offer in
    /// either part, so that limits per enrollment bite as in the reference. Few offers, long
    /// rows, few cards: most cases credit a record past a card's line.
    #[test]
    fn credits_recorded_on_the_batch_index_make_limits_bite_as_in_the_reference(
        merchants in 1usize..4,
        offers in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 29), 1..4),
        cards in proptest::collection::vec(proptest::collection::vec((any::<u32>(), 0u64..4 * 86_400, 0u32..3), 3..8), 1..3),
        txns in proptest::collection::vec((any::<u32>(), 0u32..9, 0u64..8 * 86_400, 0i64..10_000, 0u8..3, 0u8..2), 1..80),
        state in any::<u64>(),
    ) {
        let text = world_toml(merchants, &offers);
        let s = load(&text)?;
        let w = &s.world;
        let n = w.offers.len() as u32;
        let mut slow_cards = enrolled(&cards, n);
        let mut ix = MatchIndex::build(&w.calendar, &w.offers, w.mids.iter().map(|m| m.merchant), slow_cards.iter().map(|c| c.as_slice()));
        let counters = Fixed::of(w, state);
        let channels = [Channel::InStore, Channel::Online, Channel::App];
        let (mut fast, mut slow) = (Decision::default(), Decision::default());
        for &(card, mid, at, amount, ch, scheme) in &txns {
            let c = card % cards.len() as u32;
            let x = CardTxn {
                card: c,
                txn: FastTxn { mid: MidId(mid % w.mids.len() as u32), at, amount: Cents(amount), channel: channels[ch as usize], scheme },
            };
            match_txn(&reference_txn(w, &x.txn), &w.calendar, &w.offers, &slow_cards[c as usize], &counters, &mut slow);
            ix.match_one(&x, &counters, &mut fast);
            prop_assert_eq!(&fast, &slow, "card {} transaction {:?}\n{}", c, x, text);
            for &(offer, _) in &slow.awards {
                if let Some(e) = slow_cards[c as usize].iter_mut().find(|e| e.offer == offer) {
                    e.credited += 1;
                }
                ix.record_credit(c, offer);
            }
        }
    }
}

/// A card's line holds three records: a credit recorded on its fourth (`record_credit`) uses up
/// that enrollment as the reference's count would, and the next transaction goes to the next
/// best offer.
#[test]
fn a_credit_recorded_past_a_cards_line_uses_up_its_enrollment() {
    let mut text = world_toml(1, &[]);
    for (i, dollars) in [1, 2, 3, 4].iter().enumerate() {
        text += &format!(
            "[offers.o{i}]\nmerchant = \"m0\"\nreward = {{ fixed = {dollars}.00 }}\ntransactions_per_enrollment = 1\nstart = \"2026-06-01\"\nend = \"2026-06-07\"\n\n"
        );
    }
    let s = load_str("fm.toml", &text, &Overrides::default()).expect("the test world is valid");
    let w = &s.world;
    let row: Vec<Enrolled> =
        (0..4).map(|o| Enrolled { offer: OfferId(o), since: SimTime::ZERO, credited: 0 }).collect();
    let mut ix =
        MatchIndex::build(&w.calendar, &w.offers, w.mids.iter().map(|m| m.merchant), [row.as_slice()].into_iter());
    let x = CardTxn {
        card: 0,
        txn: FastTxn {
            mid: MidId(0),
            at: 2 * 86_400 + 18 * 3_600,
            amount: Cents(2_000),
            channel: Channel::InStore,
            scheme: 0,
        },
    };
    let counters = Fixed(0, vec![false; 4]);
    let mut d = Decision::default();
    ix.match_one(&x, &counters, &mut d);
    assert_eq!(d.awards, vec![(OfferId(3), Cents(400))], "the richest offer, fourth on the card, pays first");
    ix.record_credit(0, OfferId(3));
    ix.match_one(&x, &counters, &mut d);
    assert_eq!(d.awards, vec![(OfferId(2), Cents(300))], "its one transaction used, the next best pays");
    assert_eq!(d.declines, vec![]);
}
