//! Cards, enrollments, purchases and the network's messages: every message of a purchase on a
//! linked card accounted for (delivered, repeated, or undelivered with its reason), each on a
//! card linked at its network time, and each purchase ending in one clearing or one reversal.

use crate::books::Books;
use crate::line::{self, cents, need, physical_card, purchase_id, purchase_name, token, Line};
use crate::{LineError, Sink, Terms};
use std::collections::{HashMap, HashSet};

/// The network's message kinds, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Auth = 1,
    Clearing = 2,
    Reversal = 4,
    Refund = 8,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind, LineError> {
        Ok(match s {
            "auth" => Kind::Auth,
            "clearing" => Kind::Clearing,
            "reversal" => Kind::Reversal,
            "refund" => Kind::Refund,
            _ => return Err(LineError::Malformed(format!("`{s}` is not a message kind"))),
        })
    }
    fn bit(self) -> u8 {
        self as u8
    }
}

pub(crate) type PhysicalCard = (u32, u8);

/// A delivered message, for the decisions logged with it (same `seq`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Msg {
    pub kind: Kind,
    pub purchase: u64,
    pub token: Option<u64>,
    pub network_t: u64,
    pub mid_known: bool,
    pub referenced: bool,
    pub physical: PhysicalCard,
}

pub(crate) struct Card {
    pub physical: PhysicalCard,
    pub added: u64,
    pub deleted: Option<u64>,
}

impl Card {
    /// Linked at `t`: added at or before it, not deleted by then.
    pub fn linked_at(&self, t: u64) -> bool {
        self.added <= t && self.deleted.is_none_or(|d| d > t)
    }
}

pub(crate) struct Purchase {
    pub t: u64,
    pub merchant: u32,
    /// Made on a linked card (its `purchase` line names one): every message must be accounted for.
    on_card: bool,
    /// Message kinds delivered (first delivery), and seen as `undelivered`.
    delivered: u8,
    undelivered: u8,
    cleared: i64,
    refunded: i64,
}

pub(crate) struct Feed<'t> {
    merchants: HashMap<&'t str, u32>,
    horizon_t: u64,
    max: usize,
    cards: HashMap<u64, Card>,
    tokens_of: HashMap<PhysicalCard, Vec<u64>>,
    /// People who have linked a card: only their purchases can ever earn.
    linkers: HashSet<u32>,
    /// (token, offer index) → first enrollment time.
    enrolled: HashMap<(u64, u32), u64>,
    offers: HashMap<&'t str, u32>,
    table: HashMap<u64, Purchase>,
    pub purchases: u64,
    pub messages: u64,
}

/// Line types with nothing to check here (the people's side of the funnel).
const PEOPLE: &[&str] = &[
    "exposure",
    "click",
    "card_entry_abandoned",
    "share_seen",
    "shared",
    "hashtag_post",
    "shop_seen",
    "shop_tap",
    "site_visit",
    "shop_card_abandoned",
    "order_refused",
];

impl<'t> Feed<'t> {
    pub fn new(terms: &'t Terms, max: usize) -> Self {
        Feed {
            merchants: terms.merchants.iter().enumerate().map(|(i, m)| (m.as_str(), i as u32)).collect(),
            offers: terms.offers.iter().enumerate().map(|(i, o)| (o.id.as_str(), i as u32)).collect(),
            horizon_t: terms.horizon_t,
            max,
            cards: HashMap::new(),
            tokens_of: HashMap::new(),
            linkers: HashSet::new(),
            enrolled: HashMap::new(),
            table: HashMap::new(),
            purchases: 0,
            messages: 0,
        }
    }

    pub fn card(&self, token: u64) -> Option<&Card> {
        self.cards.get(&token)
    }

    pub fn purchase(&self, id: u64) -> Option<&Purchase> {
        self.table.get(&id)
    }

    pub fn merchant_index(&self, id: &str) -> Option<u32> {
        self.merchants.get(id).copied()
    }

    /// When `token` was first enrolled in offer `offer`.
    pub fn enrolled_since(&self, token: u64, offer: u32) -> Option<u64> {
        self.enrolled.get(&(token, offer)).copied()
    }

    /// Whether any token of the physical card is linked at `t`.
    fn any_linked(&self, card: PhysicalCard, t: u64) -> Option<u64> {
        let tokens = self.tokens_of.get(&card)?;
        tokens.iter().copied().find(|tok| self.cards.get(tok).is_some_and(|c| c.linked_at(t)))
    }

    fn room<K, V>(map: &HashMap<K, V>, max: usize, what: &'static str) -> Result<(), LineError> {
        if map.len() >= max {
            return Err(LineError::TooMany(what));
        }
        Ok(())
    }

    /// Takes one line of the people's or the network's side; returns the message when the line
    /// is a delivered one (the decisions in its `seq` refer to it).
    pub fn line(&mut self, l: &Line, books: &Books, sink: &mut Sink) -> Result<Option<Msg>, LineError> {
        let kind = l.kind.as_ref();
        match kind {
            "card_added" => {
                let user = need(l.user, "user", kind)?;
                let tok = token(need(l.card.as_deref(), "card", kind)?)?;
                let physical = physical_card(need(l.physical_card.as_deref(), "physical_card", kind)?)?;
                if physical.0 != user {
                    sink.flag("card", || format!("card {} of user {user} is another person's card", line_card(l)));
                }
                Self::room(&self.cards, self.max, "cards")?;
                if self.cards.insert(tok, Card { physical, added: l.t, deleted: None }).is_some() {
                    sink.flag("card", || format!("token {} added twice", line_card(l)));
                }
                self.tokens_of.entry(physical).or_default().push(tok);
                self.linkers.insert(user);
            }
            "card_deleted" => {
                let tok = token(need(l.card.as_deref(), "card", kind)?)?;
                match self.cards.get_mut(&tok) {
                    Some(c) if c.deleted.is_none() => c.deleted = Some(l.t),
                    Some(_) => sink.flag("card", || format!("token {} deleted twice", line_card(l))),
                    None => sink.flag("card", || format!("token {} deleted but never added", line_card(l))),
                }
            }
            "enrollment" => {
                let tok = token(need(l.card.as_deref(), "card", kind)?)?;
                let offer = need(l.offer.as_deref(), "offer", kind)?;
                if !self.cards.get(&tok).is_some_and(|c| c.linked_at(l.t)) {
                    sink.flag("card", || format!("enrollment in {offer} on {}, not linked", line_card(l)));
                }
                let Some(&o) = self.offers.get(offer) else {
                    sink.flag("reward_terms", || format!("enrollment in {offer}, which the scenario does not have"));
                    return Ok(None);
                };
                Self::room(&self.enrolled, self.max, "enrollments")?;
                self.enrolled.entry((tok, o)).or_insert(l.t);
            }
            "purchase" => self.purchase_line(l, sink)?,
            "auth" | "clearing" | "reversal" | "refund" => return self.delivered(l, books, sink).map(Some),
            "duplicate_ignored" => {
                let p = purchase_id(need(l.purchase.as_deref(), "purchase", kind)?)?;
                let k = Kind::parse(need(l.message.as_deref(), "kind", kind)?)?;
                if let Some(pp) = self.table.get(&p) {
                    if pp.delivered & k.bit() == 0 {
                        sink.flag("message", || {
                            format!("{} {} ignored as a repeat, never delivered before", kind_name(k), purchase_name(p))
                        });
                    }
                }
            }
            "undelivered" => self.undelivered(l, books, sink)?,
            other if PEOPLE.contains(&other) => {}
            other => return Err(LineError::Malformed(format!("unknown line type `{other}`"))),
        }
        Ok(None)
    }

    fn purchase_line(&mut self, l: &Line, sink: &mut Sink) -> Result<(), LineError> {
        let kind = "purchase";
        self.purchases += 1;
        let id = purchase_id(need(l.purchase.as_deref(), "purchase", kind)?)?;
        let user = need(l.user, "user", kind)?;
        let merchant_id = need(l.merchant.as_deref(), "merchant", kind)?;
        let physical = physical_card(need(l.physical_card.as_deref(), "physical_card", kind)?)?;
        cents(need(l.amount.as_deref(), "amount", kind)?)?;
        if line::purchase_user(id) != user || physical.0 != user {
            sink.flag("card", || format!("purchase {} by user {user} on card {}", purchase_name(id), line_card(l)));
        }
        let Some(merchant) = self.merchants.get(merchant_id).copied() else {
            sink.flag("reward_terms", || format!("purchase at {merchant_id}, which the scenario does not have"));
            return Ok(());
        };
        let on_card = match l.card.as_deref() {
            Some(c) => {
                let tok = token(c)?;
                match self.cards.get(&tok) {
                    Some(card) if card.physical == physical && card.linked_at(l.t) => {}
                    _ => sink.flag("card", || {
                        format!("purchase {} on {c}, which is not linked to {}", purchase_name(id), line_card(l))
                    }),
                }
                true
            }
            None => false,
        };
        if on_card || self.linkers.contains(&user) {
            Self::room(&self.table, self.max, "purchases")?;
            let p = Purchase { t: l.t, merchant, on_card, delivered: 0, undelivered: 0, cleared: 0, refunded: 0 };
            if self.table.insert(id, p).is_some() {
                sink.flag("message", || format!("purchase {} logged twice", purchase_name(id)));
            }
        }
        Ok(())
    }

    /// An `auth`, `clearing`, `reversal` or `refund` line: a message the platform took in.
    fn delivered(&mut self, l: &Line, books: &Books, sink: &mut Sink) -> Result<Msg, LineError> {
        let kind = l.kind.as_ref();
        self.messages += 1;
        let k = Kind::parse(kind)?;
        let p = purchase_id(need(l.purchase.as_deref(), "purchase", kind)?)?;
        let amount = cents(need(l.amount.as_deref(), "amount", kind)?)?;
        let network_t = need(l.network_t, "network_t", kind)?;
        let mid_known = need(l.mid_known, "mid_known", kind)?;
        let physical = physical_card(need(l.physical_card.as_deref(), "physical_card", kind)?)?;
        let token = match (k, l.card.as_deref()) {
            (_, Some(c)) => Some(token(c)?),
            (Kind::Refund, None) => None,
            (_, None) => return Err(LineError::Malformed(format!("a `{kind}` line needs `card`"))),
        };
        let referenced = if k == Kind::Refund { need(l.referenced, "referenced", kind)? } else { true };
        if network_t > l.t {
            sink.flag("message", || {
                format!("{kind} {} delivered at t = {} before the network sent it ({network_t})", purchase_name(p), l.t)
            });
        }
        if physical.0 != line::purchase_user(p) {
            sink.flag("card", || format!("{kind} {} on another person's card {}", purchase_name(p), line_card(l)));
        }
        match token {
            Some(tok) => match self.cards.get(&tok) {
                None => {
                    sink.flag("card", || format!("{kind} {} on token {}, never added", purchase_name(p), line_card(l)))
                }
                Some(c) if c.physical != physical => sink.flag("card", || {
                    format!("{kind} {} on token {}, which is another card", purchase_name(p), line_card(l))
                }),
                Some(c) if !c.linked_at(network_t) => sink.flag("card", || {
                    format!(
                        "{kind} {} on token {}, not linked at its network time {network_t}",
                        purchase_name(p),
                        line_card(l)
                    )
                }),
                Some(_) => {}
            },
            None => {
                if let Some(linked) = self.any_linked(physical, network_t) {
                    sink.flag("card", || {
                        format!("refund {} with no card, but {} is linked as {linked}", purchase_name(p), line_card(l))
                    });
                }
                if !books.credited(physical) {
                    sink.flag("message", || {
                        format!(
                            "refund {} reached the platform on a card no longer linked that never earned",
                            purchase_name(p)
                        )
                    });
                }
            }
        }
        if let Some(pp) = self.table.get_mut(&p) {
            if pp.delivered & k.bit() != 0 {
                sink.flag("message", || {
                    format!("{kind} {} delivered twice (a repeat must be `duplicate_ignored`)", purchase_name(p))
                });
            }
            first_of(pp, k, amount);
            pp.delivered |= k.bit();
        }
        Ok(Msg { kind: k, purchase: p, token, network_t, mid_known, referenced, physical })
    }

    fn undelivered(&mut self, l: &Line, books: &Books, sink: &mut Sink) -> Result<(), LineError> {
        let kind = "undelivered";
        let p = purchase_id(need(l.purchase.as_deref(), "purchase", kind)?)?;
        let k = Kind::parse(need(l.message.as_deref(), "kind", kind)?)?;
        let amount = cents(need(l.amount.as_deref(), "amount", kind)?)?;
        let network_t = need(l.network_t, "network_t", kind)?;
        let due = need(l.due_t, "due_t", kind)?;
        let physical = physical_card(need(l.physical_card.as_deref(), "physical_card", kind)?)?;
        let what = || format!("{} {}", kind_name(k), purchase_name(p));
        match need(l.reason.as_deref(), "reason", kind)? {
            "not_linked" => {
                if due != l.t || network_t > due {
                    sink.flag("message", || {
                        format!("{} undelivered at t = {}, due at {due}, sent at {network_t}", what(), l.t)
                    });
                }
                if let Some(linked) = self.any_linked(physical, network_t) {
                    sink.flag("message", || {
                        format!("{} not delivered, yet its card was linked as {linked} at {network_t}", what())
                    });
                }
                if k == Kind::Refund && books.credited(physical) {
                    sink.flag("message", || format!("{} not delivered, yet its card earned a reward", what()));
                }
            }
            "after_horizon" => {
                if due < self.horizon_t || network_t > due {
                    sink.flag("message", || {
                        format!("{} after the horizon, yet due at {due} (the run ends at {})", what(), self.horizon_t)
                    });
                }
            }
            other => return Err(LineError::Malformed(format!("`{other}` is not an undelivered reason"))),
        }
        match self.table.get_mut(&p) {
            Some(pp) if pp.on_card => {
                first_of(pp, k, amount);
                pp.undelivered |= k.bit();
            }
            _ => sink
                .flag("message", || format!("{} undelivered, but the purchase was not made on a linked card", what())),
        }
        Ok(())
    }

    /// At the end of the log: every purchase on a linked card ended in one clearing or one
    /// reversal; refunds only of cleared purchases, never more than cleared.
    pub fn finish(&self, sink: &mut Sink) {
        let mut late: Vec<(u64, &'static str, String)> = Vec::new();
        for (&id, p) in &self.table {
            let seen = p.delivered | p.undelivered;
            let (c, r) = (seen & Kind::Clearing.bit() != 0, seen & Kind::Reversal.bit() != 0);
            if p.on_card && !c && !r {
                late.push((
                    id,
                    "accounting",
                    format!("purchase {} on a linked card: no clearing or reversal in the log", purchase_name(id)),
                ));
            }
            if c && r {
                late.push((id, "message", format!("purchase {} both cleared and reversed", purchase_name(id))));
            }
            // A refund of a purchase made on a card not linked then may reach the platform
            // without its clearing (a reward earned on the card since); one on a linked card
            // may not.
            let refunded = seen & Kind::Refund.bit() != 0;
            if refunded && ((c && p.refunded > p.cleared) || (!c && p.on_card)) {
                late.push((
                    id,
                    "message",
                    format!(
                        "purchase {} refunded {} of {} cleared",
                        purchase_name(id),
                        line::dollars(p.refunded),
                        line::dollars(p.cleared)
                    ),
                ));
            }
        }
        late.sort();
        for (_, check, m) in late {
            sink.flag(check, || m);
        }
    }
}

/// The first line of a message kind for a purchase: the amounts cleared and refunded.
fn first_of(p: &mut Purchase, k: Kind, amount: i64) {
    if (p.delivered | p.undelivered) & k.bit() != 0 {
        return;
    }
    match k {
        Kind::Clearing => p.cleared = amount,
        Kind::Refund => p.refunded += amount,
        Kind::Auth | Kind::Reversal => {}
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Auth => "auth",
        Kind::Clearing => "clearing",
        Kind::Reversal => "reversal",
        Kind::Refund => "refund",
    }
}

/// The card a line names, for a message (token, else physical card).
fn line_card(l: &Line) -> String {
    l.card.as_deref().or(l.physical_card.as_deref()).unwrap_or("?").to_string()
}
