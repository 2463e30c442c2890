//! The matching core at hardware speed: the platform's decision for every clearing (`run` and
//! `serve` alike), the same decisions as the reference `matching::match_txn` (held to it by a
//! property test, `tests/fast_matching.rs`), on a layout built for millions of cards.
//!
//! - **One decision function**, `OfferTable::decide`: a transaction against one card's row of
//!   16-byte enrollment records (merchant, offer, since, credits so far; the merchant is copied
//!   from the offer so that the usual case, "not this merchant", costs no other lookup). The
//!   platform keeps such a row per linked card, growing with its enrollments
//!   (`OfferTable::enroll`); the batch index below calls the same function on its rows.
//! - **Offers** as flat integer terms, built once from the world's offers: `Hot`, one 64-byte
//!   line per offer with all a candidate needs (window, local weekday/hour masks, spend
//!   bounds, channel and scheme masks, the reward in basis points, precedence), and `Terms`
//!   (caps, limits, budgets, the new-customer window), read only for an offer that has one. No
//!   `Decimal` on the hot path unless a percent has more than two decimals.
//! - **Dense ids** in the batch index (`MatchIndex`, for load tests and `benches/matching.rs`):
//!   cards are `0..cards` (interned tokens), card `c`'s line at position `c`: one 64-byte line
//!   holding the card's first three enrollment records, and where the rest of a longer row lies
//!   in a flat array beside, with a 32-bit filter of that rest's merchants. A transaction costs
//!   one cache miss (its card's line) besides its offers' terms; the rest of a row is read only
//!   when its filter has the transaction's merchant. The index is built once: it takes no
//!   enrollment afterwards, and it lies on huge pages where the system allows
//!   (`core::huge_pages`): a line costs a cache miss, not a TLB miss and a page walk besides.
//! - **No allocation per transaction**; `match_batch` is a software pipeline over the batch in
//!   three stages, each a fixed distance behind the one before: prefetch a card's line; look
//!   at it, now in cache, for enrollments at the transaction's merchant and prefetch those
//!   offers' lines (and the rest of the row if its filter has the merchant); decide, if
//!   anything was found. The cache misses of many transactions overlap instead of queueing one
//!   behind the other, and the decision finds lines and offers in cache. The look is without
//!   branches on what the line holds (half would be mispredicted).

use crate::core::huge_pages;
use crate::core::money::Cents;
use crate::core::time::{Calendar, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use crate::platform::matching::{Counters, Decision, Decline, Enrolled};
use crate::world::{Channel, MerchantId, MidId, Offer, OfferId, Reward, World};

/// A cleared transaction as the decision reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastTxn {
    pub mid: MidId,
    /// Purchase time, seconds since the scenario start.
    pub at: u64,
    pub amount: Cents,
    pub channel: Channel,
    pub scheme: u8,
}

/// A transaction of a batch: a dense card id instead of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardTxn {
    pub card: u32,
    pub txn: FastTxn,
}

/// One reward of a batch: the transaction's index in the batch, the offer, the reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Award {
    pub txn: u32,
    pub offer: OfferId,
    pub reward: Cents,
}

/// How an offer's reward is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// `Hot::reward` cents.
    Fixed,
    /// `Hot::reward` basis points of the amount (1% = 100), at most `Hot::cap` cents.
    BasisPoints,
    /// A percent with more than two decimals: computed with `Decimal` (the offer's own reward).
    Exact,
}

/// What the decision reads of an offer on every candidate, in one cache line: the terms, the
/// reward and the precedence (10,000 offers in 640 KB). Caps, limits, budgets and the
/// new-customer window are in `Terms`, read only for an offer that has one (`checks`).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Hot {
    /// Window in seconds since the start (a run is at most 731 days: it fits).
    start: u32,
    end: u32,
    local_offset: i32,
    scheme_mask: u32,
    min_spend: i64,
    max_spend: i64,
    reward: i64,
    cap: i64,
    priority: i32,
    days_mask: u8,
    hour_lo: u8,
    hour_hi: u8,
    channel_mask: u8,
    rule: Rule,
    has_mids: bool,
    stackable: bool,
    /// A new-customer window, or any cap, limit or budget: read `Terms`.
    checks: bool,
}

const _: () = assert!(std::mem::size_of::<Hot>() == 64, "an offer's hot terms fill one cache line");

/// The rest of an offer's terms in flat integer form, read only when `Hot::checks` says so.
#[derive(Debug, Clone, Copy)]
struct Terms {
    new_customer: Option<u64>,
    /// Any cap, limit or budget: ask the counters.
    limited: bool,
    per_card_cap: u32,
    per_user_cap: u32,
    per_enrollment_limit: u32,
}

/// Half-to-even division of a non-negative `n` by 10,000 (basis points to cents).
fn bp_half_even(n: i64) -> i64 {
    // Unsigned division by a constant compiles to a multiplication.
    let (q, r) = ((n as u64 / 10_000) as i64, (n as u64 % 10_000) as i64);
    if r > 5_000 || (r == 5_000 && q % 2 == 1) {
        q + 1
    } else {
        q
    }
}

impl Hot {
    fn of(o: &Offer) -> Hot {
        let secs = |t: u64| u32::try_from(t).unwrap_or(u32::MAX);
        let (rule, reward, cap) = match o.reward {
            Reward::Fixed(c) => (Rule::Fixed, c.0, 0),
            Reward::Percent { percent, cap } => {
                let bp = percent * rust_decimal::Decimal::ONE_HUNDRED;
                match (bp.fract().is_zero(), i64::try_from(bp)) {
                    (true, Ok(bp)) => (Rule::BasisPoints, bp, cap.map_or(i64::MAX, |c| c.0)),
                    _ => (Rule::Exact, 0, 0),
                }
            }
        };
        let terms = Terms::of(o);
        Hot {
            start: secs(o.start.0),
            end: secs(o.end.0),
            local_offset: o.local_offset_secs as i32,
            scheme_mask: o.scheme_mask,
            min_spend: o.min_spend.0,
            max_spend: o.max_spend.map_or(i64::MAX, |m| m.0),
            reward,
            cap,
            priority: o.priority,
            days_mask: o.days_mask,
            hour_lo: o.hours.0,
            hour_hi: o.hours.1,
            channel_mask: o.channel_mask,
            rule,
            has_mids: !o.mids.is_empty(),
            stackable: o.stackable,
            checks: terms.limited || terms.new_customer.is_some(),
        }
    }
}

impl Terms {
    fn of(o: &Offer) -> Terms {
        Terms {
            new_customer: o.new_customer_window,
            limited: o.per_card_cap.is_some()
                || o.per_user_cap.is_some()
                || o.per_enrollment_limit.is_some()
                || o.budget.is_some()
                || o.period_budget.is_some(),
            per_card_cap: o.per_card_cap.unwrap_or(u32::MAX),
            per_user_cap: o.per_user_cap.unwrap_or(u32::MAX),
            per_enrollment_limit: o.per_enrollment_limit.unwrap_or(u32::MAX),
        }
    }
}

/// The offers in flat integer form, and each MID's merchant: what `decide` reads besides the
/// card's row. Built once from the world (the offers never change during a run, nor once `serve`
/// has built its world from the registry).
pub struct OfferTable<'w> {
    offers: &'w [Offer],
    hot: Vec<Hot>,
    terms: Vec<Terms>,
    mid_merchant: Vec<u32>,
    start_weekday: u8,
}

/// One enrollment of a card, 16 bytes: the offer's merchant, the offer, since when (seconds
/// since the start) and how many credits it has had.
///
/// `since` is kept in 32 bits, saturated: an offer's window ends within the run's 731 days at
/// most, so a purchase at or past `u32::MAX` seconds is outside every window whatever `since`
/// says, and one before it compares with a saturated `since` as with the exact one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrollment {
    merchant: u32,
    offer: u32,
    since: u32,
    credited: u32,
}

/// The merchant of an enrollment that never matches: a second enrollment of a card in the same
/// offer (`match_txn` counts the first one only).
const NO_MERCHANT: u32 = u32::MAX;

impl Enrollment {
    pub fn offer(&self) -> OfferId {
        OfferId(self.offer)
    }

    /// Credits this enrollment has had.
    pub fn credited(&self) -> u32 {
        self.credited
    }

    /// Counts a credit (for the limit of transactions per enrollment).
    pub fn credit(&mut self) {
        self.credited += 1;
    }
}

impl<'w> OfferTable<'w> {
    /// The table of `offers`; `mids` gives each MID's merchant.
    pub fn new(cal: &Calendar, offers: &'w [Offer], mids: impl Iterator<Item = MerchantId>) -> OfferTable<'w> {
        OfferTable {
            offers,
            hot: offers.iter().map(Hot::of).collect(),
            terms: offers.iter().map(Terms::of).collect(),
            mid_merchant: mids.map(|m| m.0).collect(),
            start_weekday: cal.weekday_of_day(0),
        }
    }

    /// The table of the world's offers and MIDs.
    pub fn of(world: &'w World) -> OfferTable<'w> {
        OfferTable::new(&world.calendar, &world.offers, world.mids.iter().map(|m| m.merchant))
    }

    /// The record of a card's enrollment in `offer` since `since` with `credited` credits, after
    /// the card's `row`. A second enrollment in an offer the row holds is kept (it was made) but
    /// never matches: the first one counts, as in `match_txn`.
    fn record(&self, row: &[Enrollment], offer: OfferId, since: SimTime, credited: u32) -> Enrollment {
        let repeat = row.iter().any(|e| e.offer == offer.0);
        Enrollment {
            merchant: if repeat { NO_MERCHANT } else { self.offers[offer.0 as usize].merchant.0 },
            offer: offer.0,
            since: u32::try_from(since.0).unwrap_or(u32::MAX),
            credited,
        }
    }

    /// Appends to a card's row its enrollment in `offer` from `since` (with `credited` credits
    /// already; a repeat of an offer the row holds never matches, `record`).
    pub fn enroll<R>(&self, row: &mut R, offer: OfferId, since: SimTime, credited: u32)
    where
        R: std::ops::Deref<Target = [Enrollment]> + Extend<Enrollment>,
    {
        let record = self.record(row, offer, since, credited);
        row.extend([record]);
    }

    #[inline(always)]
    fn reward(&self, offer: u32, h: &Hot, amount: i64) -> i64 {
        match h.rule {
            Rule::Fixed => h.reward,
            Rule::BasisPoints => bp_half_even(amount * h.reward).min(h.cap),
            Rule::Exact => self.offers[offer as usize].reward.on(Cents(amount)).0,
        }
    }

    /// Whether the terms (not the limits) admit the transaction.
    #[inline]
    fn admits(&self, offer: u32, t: &Hot, x: &FastTxn) -> bool {
        let local = x.at as i64 + t.local_offset as i64;
        let hour = (local.rem_euclid(SECONDS_PER_DAY as i64) / SECONDS_PER_HOUR as i64) as u8;
        let weekday = (self.start_weekday as i64 + local.div_euclid(SECONDS_PER_DAY as i64)).rem_euclid(7);
        x.amount.0 >= t.min_spend
            && x.amount.0 <= t.max_spend
            && t.channel_mask & x.channel.bit() != 0
            && t.scheme_mask & (1u32 << x.scheme) != 0
            && x.at >= t.start as u64
            && x.at < t.end as u64
            && t.days_mask & (1 << weekday) != 0
            && hour >= t.hour_lo
            && hour < t.hour_hi
            && (!t.has_mids || self.offers[offer as usize].mids.binary_search(&x.mid).is_ok())
    }

    /// The merchant of the transaction's MID.
    #[inline]
    fn merchant_of(&self, x: &FastTxn) -> u32 {
        self.mid_merchant[x.mid.0 as usize]
    }

    /// Matches `x` against a card's `row` into `out`: the platform's decision, the same as
    /// `matching::match_txn` on the card's enrollments.
    pub fn decide<C: Counters + ?Sized>(&self, x: &FastTxn, row: &[Enrollment], counters: &C, out: &mut Decision) {
        self.decide_over(x, row.iter(), counters, out);
    }

    /// `decide` on a row given as its records in order (the batch index keeps a row in two
    /// parts: the card's line, then the rest).
    #[inline]
    fn decide_over<'e, C: Counters + ?Sized>(
        &self,
        x: &FastTxn,
        row: impl Iterator<Item = &'e Enrollment>,
        counters: &C,
        out: &mut Decision,
    ) {
        out.clear();
        let merchant = self.merchant_of(x);
        type Ranked = (i32, i64, std::cmp::Reverse<u32>);
        let mut best: Option<(Ranked, u32, i64)> = None;
        let mut blocked: Option<(Ranked, u32, Decline)> = None;
        for e in row {
            if e.merchant != merchant {
                continue;
            }
            let offer = e.offer;
            let h = &self.hot[offer as usize];
            if e.since as u64 > x.at || !self.admits(offer, h, x) {
                continue;
            }
            let reward = self.reward(offer, h, x.amount.0);
            if reward <= 0 {
                continue;
            }
            let id = OfferId(offer);
            let block = if !h.checks {
                None
            } else {
                let t = &self.terms[offer as usize];
                if let Some(w) = t.new_customer {
                    if counters.seen_customer(MerchantId(merchant), SimTime(x.at.saturating_sub(w)), SimTime(x.at)) {
                        continue;
                    }
                }
                if !t.limited {
                    None
                } else if t.per_card_cap != u32::MAX && counters.card_redemptions(id) >= t.per_card_cap {
                    Some(Decline::PerCardCap)
                } else if t.per_user_cap != u32::MAX && counters.user_redemptions(id) >= t.per_user_cap {
                    Some(Decline::PerUserCap)
                } else if e.credited >= t.per_enrollment_limit {
                    Some(Decline::EnrollmentLimit)
                } else {
                    counters.budget_blocks(id, Cents(reward))
                }
            };
            let r = (h.priority, reward, std::cmp::Reverse(offer));
            match (h.stackable, block) {
                (true, None) => out.awards.push((id, Cents(reward))),
                (true, Some(d)) => out.declines.push((id, d)),
                (false, None) if best.is_none_or(|(b, _, _)| r > b) => best = Some((r, offer, reward)),
                (false, Some(d)) if blocked.is_none_or(|(b, _, _)| r > b) => blocked = Some((r, offer, d)),
                _ => {}
            }
        }
        if out.awards.len() > 1 {
            out.awards.sort_unstable_by_key(|(o, _)| *o);
        }
        if out.declines.len() > 1 {
            out.declines.sort_unstable_by_key(|(o, _)| *o);
        }
        match (best, blocked) {
            (Some((_, offer, reward)), _) => out.awards.insert(0, (OfferId(offer), Cents(reward))),
            (None, Some((_, offer, d))) => out.declines.insert(0, (OfferId(offer), d)),
            (None, None) => {}
        }
    }
}

/// The batch index: one 64-byte line per card holding its first enrollment records, the rest of
/// a longer row in a flat array beside, over an `OfferTable`.
pub struct MatchIndex<'w> {
    table: OfferTable<'w>,
    /// Card `c`'s line at position `c`.
    lines: Vec<CardLine>,
    /// The records of rows longer than a line, each row's rest contiguous (`CardLine::more`).
    more: Vec<Enrollment>,
    enrollments: usize,
}

/// How many enrollment records a card's line holds.
const INLINE: usize = 3;

/// A card's first `INLINE` enrollment records and where the rest of its row lies, in one cache
/// line: most transactions cost one miss (their card's line) besides their offers' terms.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct CardLine {
    /// The rest of the row: `more[start..start + len]`.
    more_start: u32,
    more_len: u32,
    /// Bit `merchant_slot(m)` set for every merchant `m` of the rest of the row: a transaction
    /// at a merchant whose bit is clear never reads it.
    more_filter: u32,
    _pad: u32,
    /// The row's first records; a slot without one holds `EMPTY`, which never matches.
    inline: [Enrollment; INLINE],
}

const _: () = assert!(std::mem::size_of::<CardLine>() == 64, "a card's line is one cache line");

/// An unused slot of a card's line: no merchant, no offer.
const EMPTY: Enrollment = Enrollment { merchant: NO_MERCHANT, offer: u32::MAX, since: 0, credited: 0 };

impl CardLine {
    /// The rest of the row's bounds in `more`.
    fn more(&self) -> std::ops::Range<usize> {
        self.more_start as usize..(self.more_start + self.more_len) as usize
    }

    /// Whether the rest of the row may hold an enrollment at `merchant`.
    #[inline(always)]
    fn more_may_hold(&self, merchant: u32) -> bool {
        (self.more_filter >> merchant_slot(merchant)) & 1 == 1
    }
}

/// A merchant's bit number in a card's filter (a multiplicative hash: ids in any pattern
/// spread over the 32 bits).
#[inline]
fn merchant_slot(merchant: u32) -> u32 {
    merchant.wrapping_mul(0x9e37_79b9) >> 27
}

/// Asks the CPU to bring the line at `p` into cache (a hint: no effect on results, and it never
/// faults, whatever the address).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and reads nothing the program sees.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `match_batch`'s working space, reused across batches (no allocation once warm).
#[derive(Debug, Default)]
pub struct BatchScratch {
    decision: Decision,
}

/// How many transactions ahead `match_batch` prefetches a card's line, and then its offers.
const AHEAD: usize = 8;
/// What `match_batch` must decide of each transaction, kept from the look at its line to its
/// decision, `AHEAD` steps later (a power of two above that).
const RING: usize = 2 * AHEAD;

/// Of a transaction in flight: nothing of its row is at its merchant, its line holds some, or
/// the rest of its row may too.
const SKIP: u8 = 0;
const LINE: u8 = 1;
const ALL: u8 = 2;

impl<'w> MatchIndex<'w> {
    /// Builds the index of `cards` (card `i`'s enrollments at position `i`). `mids` gives each
    /// MID's merchant.
    pub fn build<'a>(
        cal: &Calendar,
        offers: &'w [Offer],
        mids: impl Iterator<Item = MerchantId>,
        cards: impl Iterator<Item = &'a [Enrolled]>,
    ) -> MatchIndex<'w> {
        let table = OfferTable::new(cal, offers, mids);
        let (mut lines, mut more, mut enrollments) = (Vec::new(), Vec::new(), 0);
        let mut row: Vec<Enrollment> = Vec::new();
        for enrolled in cards {
            row.clear();
            for e in enrolled {
                // The card's row so far: a repeat of an offer in it never matches (`record`).
                let record = table.record(&row, e.offer, e.since, e.credited);
                row.push(record);
            }
            enrollments += row.len();
            let (first, rest) = row.split_at(row.len().min(INLINE));
            // Checked once: the end of the rest bounds its start and its length.
            let end = u32::try_from(more.len() + rest.len()).expect("at most 2^32 enrollments in one index");
            let start = end - rest.len() as u32;
            let mut line = CardLine {
                more_start: start,
                more_len: end - start,
                more_filter: rest.iter().fold(0, |f, e| f | 1 << merchant_slot(e.merchant)),
                _pad: 0,
                inline: [EMPTY; INLINE],
            };
            line.inline[..first.len()].copy_from_slice(first);
            more.extend_from_slice(rest);
            lines.push(line);
        }
        // Read at random by every batch: on huge pages, a line costs a cache miss, not a TLB
        // miss and a page walk besides. Each copy holds its vector twice until the old one is
        // dropped, one vector at a time: the build peaks higher by the larger one (the lines).
        MatchIndex { table, lines: huge_pages::copy_of(&lines), more: huge_pages::copy_of(&more), enrollments }
    }

    /// The offer table the index decides with.
    pub fn table(&self) -> &OfferTable<'w> {
        &self.table
    }

    pub fn cards(&self) -> usize {
        self.lines.len()
    }

    pub fn enrollments(&self) -> usize {
        self.enrollments
    }

    /// Bytes held by the cards' lines and the rest of the rows.
    pub fn bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<CardLine>() + self.more.len() * std::mem::size_of::<Enrollment>()
    }

    /// Card `card`'s row, in order: its line's records, then the rest.
    fn row(&self, card: u32) -> impl Iterator<Item = &Enrollment> {
        let line = &self.lines[card as usize];
        line.inline.iter().chain(&self.more[line.more()])
    }

    /// Records a credit on the enrollment of `card` in `offer` (its transaction count).
    pub fn record_credit(&mut self, card: u32, offer: OfferId) {
        let line = &mut self.lines[card as usize];
        let rest = line.more();
        if let Some(e) = line.inline.iter_mut().chain(&mut self.more[rest]).find(|e| e.offer == offer.0) {
            e.credit();
        }
    }

    /// Matches one transaction into `out`.
    pub fn match_one<C: Counters + ?Sized>(&self, x: &CardTxn, counters: &C, out: &mut Decision) {
        self.table.decide_over(&x.txn, self.row(x.card), counters, out);
    }

    /// Matches a batch: appends every award to `out` (declines are not reported here), in
    /// transaction order.
    ///
    /// A software pipeline, so that each transaction's cache misses (its card's line, then its
    /// offers' terms) are in flight while earlier transactions are decided: at step `i`,
    /// transaction `i`'s line is prefetched; `i - AHEAD`'s line, in cache by now, is looked
    /// at for the transaction's merchant, and the terms of its offers there (and the rest of
    /// its row, if its filter has the merchant) are prefetched; `i - 2 × AHEAD` is decided if
    /// anything of its row is at its merchant. About half of a batch's transactions are not:
    /// they cost the one miss of their line.
    pub fn match_batch<C: Counters + ?Sized>(
        &self,
        txns: &[CardTxn],
        counters: &C,
        scratch: &mut BatchScratch,
        out: &mut Vec<Award>,
    ) {
        let decision = &mut scratch.decision;
        let table = &self.table;
        let (lines, more, hot) = (self.lines.as_ptr(), self.more.as_ptr(), table.hot.as_ptr());
        // What each transaction needs, from the look at its line to its decision.
        let mut todo = [SKIP; RING];
        let n = txns.len();
        for i in 0..n + 2 * AHEAD {
            if let Some(x) = txns.get(i) {
                prefetch(lines.wrapping_add(x.card as usize));
            }
            if let Some(x) = i.checked_sub(AHEAD).and_then(|j| txns.get(j)) {
                // The line is in cache: ask for the terms of its offers at the merchant, and for
                // the rest of its row if its filter has the merchant. No branch on what the line
                // says (half would be mispredicted): a slot not at the merchant asks for offer 0.
                let line = &self.lines[x.card as usize];
                let merchant = table.merchant_of(&x.txn);
                let mut hits = 0u8;
                for e in &line.inline {
                    let hit = e.merchant == merchant;
                    prefetch(hot.wrapping_add(e.offer as usize * hit as usize));
                    hits |= hit as u8;
                }
                // An empty rest has an empty filter: its length needs no test.
                let rest = line.more_may_hold(merchant) as usize;
                let r = line.more();
                prefetch(more.wrapping_add(r.start * rest));
                prefetch(more.wrapping_add(r.end.saturating_sub(1) * rest));
                let what = hits.max(ALL * rest as u8);
                todo[(i - AHEAD) % RING] = what;
            }
            let Some(k) = i.checked_sub(2 * AHEAD).filter(|&k| k < n) else {
                continue;
            };
            let x = &txns[k];
            let line = &self.lines[x.card as usize];
            match todo[k % RING] {
                SKIP => continue,
                LINE => table.decide_over(&x.txn, line.inline.iter(), counters, decision),
                _ => table.decide_over(&x.txn, self.row(x.card), counters, decision),
            }
            for &(offer, reward) in &decision.awards {
                out.push(Award { txn: k as u32, offer, reward });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_round_half_to_even_like_decimal() {
        // 5% of $12.50 = 62.5 cents → 62; of $12.70 = 63.5 → 64; 10% of $0.05 = 0.5 → 0.
        assert_eq!(bp_half_even(1_250 * 500), 62);
        assert_eq!(bp_half_even(1_270 * 500), 64);
        assert_eq!(bp_half_even(5 * 1_000), 0);
        assert_eq!(bp_half_even(15 * 1_000), 2);
        assert_eq!(bp_half_even(0), 0);
    }
}
