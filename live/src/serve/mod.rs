//! `offersim serve`: the project's own platform (`sim::platform::service::Live`, the same code that
//! runs in every simulation) behind the HTTP contract, on a loopback port. It is the baseline a
//! real service is compared with, and the far end of `drive`'s own tests.
//!
//! State: the registry (merchants and offers) until the first traffic request, then the built
//! program, fixed for the life of the process (a PUT after that is refused with 409). Requests
//! are applied one at a time under a lock, in the order they arrive. A request is validated in
//! full before it changes anything, so a refused one leaves no trace.
//!
//! Limits (`Limits`, and `guard` for ids): every id is bounded, every collection is bounded by
//! users, transactions or the scenario loader's limits, bodies by `MAX_BODY_BYTES`; connections
//! by `listen`. Nothing a client sends is echoed at length or if it could be a card number.

mod document;
mod listen;
pub use document::{openapi, openapi_json};
pub use listen::{serve, Limits};

use crate::contract::*;
use crate::guard::{self, shown};
use crate::program::{OfferTerms, Program, Registry};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use offersim_sim::platform::service::{Live, LiveError, LiveTxn};
use offersim_sim::platform::{CreditView, Delivery, MessageFacts};
use offersim_sim::world::network::{MessageKind, NetworkMessage, PurchaseId};
use offersim_sim::world::Token;
use offersim_sim::world::{MidId, OfferId};
use offersim_sim::SimTime;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Credits per page of `GET /v1/credits` unless `limit` says otherwise (at most `MAX_PAGE`).
pub const PAGE: usize = 1_000;
pub const MAX_PAGE: usize = 10_000;

/// The largest request body (a network message is under 1 KiB, an offer's terms a few).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How many times one user can link a card (each link is a new token the service keeps).
pub const MAX_LINKS_PER_USER: u32 = 64;

pub struct Service {
    registry: Registry,
    limits: Limits,
    running: Option<Running>,
}

struct Running {
    live: Live<'static>,
    max_transactions: u32,
    origin: chrono::NaiveDateTime,
    mids: BTreeMap<String, u32>,
    offers: BTreeMap<String, OfferId>,
    users: BTreeMap<String, u32>,
    /// Per user: the card handles entered, by slot.
    slots: Vec<Vec<String>>,
    /// Per user: cards linked so far (each link is a token kept).
    links: Vec<u32>,
    /// Card handle → (user, slot, its token while linked).
    cards: BTreeMap<String, (u32, u8, Option<Token>)>,
    /// Token text → (user, token, card handle).
    tokens: BTreeMap<String, (u32, Token, String)>,
    next_token: u64,
    /// Transaction id → dense number, and back.
    txns: BTreeMap<String, u32>,
    txn_names: Vec<String>,
}

type Shared = Arc<Mutex<Service>>;

/// A refusal: status and message (`{"error": ...}`).
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        // Whatever went into the message, no card number and no megabyte comes out.
        (self.0, Json(ErrorBody { error: guard::scrub(&self.1) })).into_response()
    }
}

fn bad(msg: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, msg.into())
}
fn unprocessable(msg: impl Into<String>) -> Refusal {
    Refusal(StatusCode::UNPROCESSABLE_ENTITY, msg.into())
}
fn not_found(msg: impl Into<String>) -> Refusal {
    Refusal(StatusCode::NOT_FOUND, msg.into())
}

/// An id from a path or a body, bounded (`guard::id`).
fn checked<'a>(what: &str, s: &'a str) -> Result<&'a str, Refusal> {
    guard::id(what, s).map_err(unprocessable)
}

impl Service {
    pub fn new(limits: Limits) -> Service {
        Service { registry: Registry::default(), limits, running: None }
    }

    /// The program, built at the first traffic request.
    fn running(&mut self) -> Result<&mut Running, Refusal> {
        if self.running.is_none() {
            let max_users = self.limits.max_users;
            let Program { world, origin, mids } =
                self.registry.build(max_users).map_err(|ps| unprocessable(ps.join("; ")))?;
            let offers = world.offers.iter().enumerate().map(|(i, o)| (o.id.clone(), OfferId(i as u32))).collect();
            // The world lives as long as the service process (it is built once).
            let world: &'static offersim_sim::World = Box::leak(Box::new(world));
            self.running = Some(Running {
                live: Live::new(world, max_users),
                max_transactions: self.limits.max_transactions,
                origin,
                mids,
                offers,
                users: BTreeMap::new(),
                slots: Vec::new(),
                links: Vec::new(),
                cards: BTreeMap::new(),
                tokens: BTreeMap::new(),
                next_token: 0,
                txns: BTreeMap::new(),
                txn_names: Vec::new(),
            });
        }
        self.running.as_mut().ok_or_else(|| unprocessable("no program"))
    }

    fn fixed(&self) -> Result<(), Refusal> {
        match self.running {
            Some(_) => Err(Refusal(
                StatusCode::CONFLICT,
                "the program is fixed once traffic has started; restart the service to change it".into(),
            )),
            None => Ok(()),
        }
    }
}

impl Running {
    fn time(&self, headers: &HeaderMap) -> Result<SimTime, Refusal> {
        let text = headers
            .get(TIME_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| bad(format!("missing header {TIME_HEADER} (the simulated instant, RFC 3339)")))?;
        self.instant(text, TIME_HEADER)
    }

    fn instant(&self, text: &str, what: &str) -> Result<SimTime, Refusal> {
        let utc = parse_time(text).ok_or_else(|| bad(format!("{what}: `{}` is not an RFC 3339 time", shown(text))))?;
        let secs = utc.signed_duration_since(self.origin).num_seconds();
        u64::try_from(secs)
            .map(SimTime)
            .map_err(|_| unprocessable(format!("{what}: {} is before the program's first day", shown(text))))
    }

    /// The dense number of a transaction id, registered on first sight (at most
    /// `max_transactions` of them).
    fn txn(&mut self, id: &str) -> Result<u32, Refusal> {
        if let Some(&i) = self.txns.get(id) {
            return Ok(i);
        }
        let i = self.txn_names.len() as u32;
        if i >= self.max_transactions {
            return Err(unprocessable(format!(
                "this service holds at most {} transactions (offersim serve --max-transactions)",
                self.max_transactions
            )));
        }
        self.txns.insert(id.to_string(), i);
        self.txn_names.push(id.to_string());
        Ok(i)
    }
}

fn refusal(e: LiveError) -> Refusal {
    match e {
        // The client asked for more users than the service was started for: its refusal, a 4xx.
        LiveError::TooManyUsers(_, max) => unprocessable(format!(
            "this service holds at most {max} users (offersim serve --max-users); no more can link a card"
        )),
        LiveError::NotLinked => Refusal(StatusCode::CONFLICT, e.to_string()),
        LiveError::AlreadyEnrolled => Refusal(StatusCode::OK, e.to_string()),
    }
}

/// The service, or a refusal if an earlier request panicked while holding it: its state may be
/// half-changed, and a reference that might be wrong must say so rather than answer.
fn lock(s: &Shared) -> Result<std::sync::MutexGuard<'_, Service>, Refusal> {
    s.lock().map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the service failed on an earlier request and its state cannot be trusted; restart it".into(),
        )
    })
}

/// Parses a JSON body, refusing it with 400 and serde's message (and one that could not be read,
/// over `MAX_BODY_BYTES` or cut short, with axum's status and message).
fn body<T: for<'de> Deserialize<'de>>(bytes: Result<Bytes, BytesRejection>) -> Result<T, Refusal> {
    let bytes = bytes.map_err(|e| Refusal(e.status(), format!("body: {}", e.body_text())))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("body: {e}")))
}

/// A path segment, or the refusal of one that could not be read.
fn segment(p: Result<Path<String>, PathRejection>) -> Result<String, Refusal> {
    p.map(|Path(s)| s).map_err(|e| bad(format!("path: {}", e.body_text())))
}

/// Applies a registration to a copy of the registry and keeps it only if `valid` accepts the
/// result (the scenario loader's rules and messages): a refused `PUT` leaves no trace.
fn register(
    s: &Shared,
    change: impl FnOnce(&mut Registry),
    valid: impl FnOnce(&Registry) -> Result<(), Vec<String>>,
) -> Result<StatusCode, Refusal> {
    let mut s = lock(s)?;
    let mut next = s.registry.clone();
    change(&mut next);
    // Once traffic has started the program is fixed; registering it again as it is changes
    // nothing (several drivers, `drive --part`, each register the same program).
    if next == s.registry && s.running.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    s.fixed()?;
    valid(&next).map_err(|ps| unprocessable(ps.join("; ")))?;
    s.registry = next;
    Ok(StatusCode::NO_CONTENT)
}

/// Registers a merchant with its terminal ids, or replaces it (idempotent: retried).
///
/// Before any traffic. Once traffic has started the program is fixed: a `PUT` that registers
/// what is already registered changes nothing (204), any other is refused (409).
#[utoipa::path(put, path = "/v1/merchants/{merchant}", tag = "program",
    params(("merchant" = Id, Path, description = "The merchant's id.")),
    request_body = MerchantBody,
    responses(
        (status = 204, description = "Registered (or already registered as it is)."),
        (status = 400, description = "The body is not a merchant.", body = ErrorBody),
        (status = 409, description = "Traffic has started: the program is fixed.", body = ErrorBody),
        (status = 422, description = "An id, the name or the terminal ids are out of bounds, the UTC \
            offset is not one, or a terminal id belongs to another merchant (the scenario loader's \
            message, `merchants.<id>.<key>: ...`). Nothing is kept.", body = ErrorBody),
    ))]
async fn put_merchant(
    State(s): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<_, Refusal> {
        let id = segment(id)?;
        checked("merchant", &id)?;
        let b: MerchantBody = body(bytes)?;
        if b.name.len() > guard::MAX_NAME_BYTES {
            return Err(unprocessable(format!("merchants.{id}.name: longer than {} bytes", guard::MAX_NAME_BYTES)));
        }
        if b.mids.len() > offersim_sim::world::MAX_MIDS_PER_MERCHANT as usize {
            return Err(unprocessable(format!(
                "merchants.{id}.mids: must be between 1 and {}, found {}",
                offersim_sim::world::MAX_MIDS_PER_MERCHANT,
                b.mids.len()
            )));
        }
        for m in &b.mids {
            checked(&format!("merchants.{id}.mids"), m)?;
        }
        register(&s, |r| r.merchant(&id, b), Registry::check)
    };
    run().into_response()
}

/// Registers an offer, or replaces it (idempotent: retried).
///
/// Before any traffic; registration order is precedence order among equal offers. Once traffic
/// has started the program is fixed: a `PUT` that registers what is already registered changes
/// nothing (204), any other is refused (409).
#[utoipa::path(put, path = "/v1/offers/{offer}", tag = "program",
    params(("offer" = Id, Path, description = "The offer's id.")),
    request_body = OfferTerms,
    responses(
        (status = 204, description = "Registered (or already registered as it is)."),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 409, description = "Traffic has started: the program is fixed.", body = ErrorBody),
        (status = 422, description = "The terms break the scenario loader's rules; the message names \
            each problem as the loader would (`offers.<id>.min_spend: ...`). Nothing is kept.", body = ErrorBody),
    ))]
async fn put_offer(
    State(s): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<_, Refusal> {
        let id = segment(id)?;
        checked("offer", &id)?;
        let terms: serde_json::Value = body(bytes)?;
        register(&s, |r| r.offer(&id, terms), |r| r.build(1).map(|_| ()))
    };
    run().into_response()
}

/// Links a card to a user: the service answers with its own token for it.
///
/// Not retried. The first traffic request fixes the program.
#[utoipa::path(post, path = "/v1/users/{user}/cards", tag = "traffic",
    params(("user" = Id, Path, description = "The user's id."), TimeHeader),
    request_body = CardBody,
    responses(
        (status = 201, description = "Linked: a new token.", body = TokenAnswer),
        (status = 200, description = "The card is linked already: its token.", body = TokenAnswer),
        (status = 400, description = "The body is not a card, or `X-Offersim-Time` is missing or not RFC 3339.", body = ErrorBody),
        (status = 409, description = "The card belongs to another user.", body = ErrorBody),
        (status = 422, description = "The card field holds a card number, an id is out of bounds, the time \
            is before the program's first day, no offer is registered, or the service holds no more users, \
            links or cards for this user.", body = ErrorBody),
    ))]
async fn post_card(
    State(s): State<Shared>,
    user: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<_, Refusal> {
        let user = segment(user)?;
        checked("user", &user)?;
        let b: CardBody = body(bytes)?;
        guard::card_handle("card", &b.card).map_err(unprocessable)?;
        let mut s = lock(&s)?;
        let max = s.limits.max_users;
        let r = s.running()?;
        let at = r.time(&headers)?;
        let known = r.users.get(&user).copied();
        if known.is_none() && r.users.len() as u32 >= max {
            return Err(refusal(LiveError::TooManyUsers(r.users.len() as u32, max)));
        }
        if known.is_some_and(|u| r.links[u as usize] >= MAX_LINKS_PER_USER) {
            return Err(unprocessable(format!(
                "this user has linked cards {MAX_LINKS_PER_USER} times, the most the service keeps"
            )));
        }
        let u = match known {
            Some(u) => u,
            None => {
                let u = r.users.len() as u32;
                r.users.insert(user.clone(), u);
                r.slots.push(Vec::new());
                r.links.push(0);
                u
            }
        };
        let slot = match r.cards.get(&b.card) {
            Some(&(owner, _, _)) if owner != u => {
                return Err(Refusal(StatusCode::CONFLICT, "the card belongs to another user".into()))
            }
            Some(&(_, _, Some(token))) => {
                return Ok((StatusCode::OK, Json(TokenAnswer { token: token.to_string() })));
            }
            Some(&(_, slot, None)) => slot,
            None => {
                let slots = &mut r.slots[u as usize];
                if slots.len() >= offersim_sim::world::MAX_CARDS_PER_USER {
                    return Err(unprocessable("too many cards for one user"));
                }
                slots.push(b.card.clone());
                (slots.len() - 1) as u8
            }
        };
        r.next_token += 1;
        let token = Token(r.next_token);
        r.live.card_added(at, u, slot, token).map_err(refusal)?;
        r.links[u as usize] += 1;
        r.cards.insert(b.card.clone(), (u, slot, Some(token)));
        r.tokens.insert(token.to_string(), (u, token, b.card));
        Ok((StatusCode::CREATED, Json(TokenAnswer { token: token.to_string() })))
    };
    run().into_response()
}

/// Deletes a card: its token earns nothing from then on.
///
/// Not retried.
#[utoipa::path(delete, path = "/v1/cards/{token}", tag = "traffic",
    params(("token" = Id, Path, description = "A token `POST /v1/users/{user}/cards` answered."), TimeHeader),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "`X-Offersim-Time` is missing or not RFC 3339.", body = ErrorBody),
        (status = 404, description = "Unknown token.", body = ErrorBody),
        (status = 409, description = "The token is not linked (deleted already).", body = ErrorBody),
        (status = 422, description = "The token is out of bounds, or the time is before the program's first day.", body = ErrorBody),
    ))]
async fn delete_card(
    State(s): State<Shared>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<_, Refusal> {
        let token = segment(token)?;
        checked("token", &token)?;
        let mut s = lock(&s)?;
        let r = s.running()?;
        let at = r.time(&headers)?;
        let (u, t, card) = r.tokens.get(&token).cloned().ok_or_else(|| not_found("unknown token"))?;
        r.live.card_deleted(at, u, t).map_err(refusal)?;
        if let Some(c) = r.cards.get_mut(&card) {
            c.2 = None;
        }
        Ok(StatusCode::NO_CONTENT)
    };
    run().into_response()
}

/// Enrolls a card (by its token) in an offer.
///
/// Not retried.
#[utoipa::path(post, path = "/v1/enrollments", tag = "traffic",
    params(TimeHeader),
    request_body = EnrollmentBody,
    responses(
        (status = 201, description = "Enrolled."),
        (status = 200, description = "Already enrolled: nothing changes."),
        (status = 400, description = "The body is not an enrollment, or `X-Offersim-Time` is missing or not RFC 3339.", body = ErrorBody),
        (status = 404, description = "Unknown offer or token.", body = ErrorBody),
        (status = 409, description = "The card was deleted.", body = ErrorBody),
        (status = 422, description = "An id is out of bounds, or the time is before the program's first day.", body = ErrorBody),
    ))]
async fn post_enrollment(
    State(s): State<Shared>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let run = || -> Result<_, Refusal> {
        let b: EnrollmentBody = body(bytes)?;
        checked("token", &b.token)?;
        checked("offer", &b.offer)?;
        let mut s = lock(&s)?;
        let r = s.running()?;
        let at = r.time(&headers)?;
        let offer = *r.offers.get(&b.offer).ok_or_else(|| not_found(format!("unknown offer `{}`", shown(&b.offer))))?;
        let &(u, t, _) = r.tokens.get(&b.token).ok_or_else(|| not_found("unknown token"))?;
        match r.live.enrolled(at, u, t, offer) {
            Ok(()) => Ok(StatusCode::CREATED),
            Err(LiveError::AlreadyEnrolled) => Ok(StatusCode::OK),
            Err(e) => Err(refusal(e)),
        }
    };
    run().into_response()
}

/// One delivery of the card network's feed (at least once: retried).
///
/// A message on a card the service does not know is answered 200 and ignored.
#[utoipa::path(post, path = "/v1/network/messages", tag = "traffic",
    params(TimeHeader),
    request_body = MessageBody,
    responses(
        (status = 200, description = "Taken (or a repeat of a key already taken).", body = MessageAnswer),
        (status = 400, description = "The body is not a message, the amount is not a positive amount in cents, \
            the channel is unknown, a time is not RFC 3339, or `X-Offersim-Time` is missing.", body = ErrorBody),
        (status = 422, description = "The card field holds a card number, an id is out of bounds, the amount is more than \
            one purchase can be, the times are out of order (`purchase_time <= network_time <= X-Offersim-Time`), \
            or the service holds no more transaction ids.", body = ErrorBody),
    ))]
async fn post_message(State(s): State<Shared>, headers: HeaderMap, bytes: Result<Bytes, BytesRejection>) -> Response {
    let run = || -> Result<_, Refusal> {
        let b: MessageBody = body(bytes)?;
        // A card number is refused whether or not the card is one of this service's.
        guard::card_handle("card", &b.card).map_err(unprocessable)?;
        checked("idempotency_key", &b.idempotency_key)?;
        checked("transaction", &b.transaction)?;
        checked("mid", &b.mid)?;
        if let Some(r) = &b.referenced {
            checked("referenced", r)?;
        }
        let mut s = lock(&s)?;
        let r = s.running()?;
        let at = r.time(&headers)?;
        let Some(&(user, slot, _)) = r.cards.get(&b.card) else {
            // Not a card of this service's: nothing to do.
            return Ok(Json(MessageAnswer { duplicate: false }));
        };
        let amount = cents(b.amount)
            .filter(|c| c.0 > 0)
            .ok_or_else(|| bad(format!("amount: `{}` is not a positive amount in cents", b.amount)))?;
        if amount > offersim_sim::people::MAX_BASKET {
            return Err(unprocessable(format!("amount: {} is more than one purchase can be", b.amount)));
        }
        let bought_at = r.instant(&b.purchase_time, "purchase_time")?;
        let network_time = r.instant(&b.network_time, "network_time")?;
        if network_time < bought_at || at < network_time {
            return Err(unprocessable(
                "times out of order: purchase_time <= network_time <= X-Offersim-Time (a message cannot arrive before the network sent it)",
            ));
        }
        let channel = channel(&b.channel).ok_or_else(|| bad(format!("channel: unknown `{}`", shown(&b.channel))))?;
        let world = r.live.world();
        let scheme = world.schemes.iter().position(|x| *x == b.scheme).unwrap_or(world.schemes.len()).min(31) as u8;
        let (mid, mid_known) = match r.mids.get(&b.mid) {
            Some(&m) => (MidId(m), true),
            None => (MidId(0), false),
        };
        let index = r.txn(&b.transaction)?;
        let purchase = match (b.kind, &b.referenced) {
            (MessageKind::Refund, Some(original)) => PurchaseId { user, seq: r.txn(original)? },
            _ => PurchaseId { user, seq: index },
        };
        let m = NetworkMessage {
            kind: b.kind,
            purchase,
            amount,
            network_time,
            referenced: b.referenced.is_some(),
            mid_known,
            copy: 0,
        };
        let txn = LiveTxn { index, facts: MessageFacts { slot, mid, channel, scheme, bought_at } };
        let d = r.live.message(at, m, txn).map_err(refusal)?;
        Ok(Json(MessageAnswer { duplicate: d == Delivery::Duplicate }))
    };
    run().into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CreditsQuery {
    /// The cursor a previous page answered as `next` (absent or empty: the first page).
    #[param(max_length = 1024)]
    after: Option<String>,
    /// Credits per page at most (default 1,000; clamped to 1 to 10,000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    limit: Option<usize>,
}

/// `X-Offersim-Time`, the simulated instant a traffic request belongs to (for the document).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct TimeHeader {
    /// The simulated instant the request belongs to: offer windows, weekdays, hours, budget
    /// periods and return periods are judged by it, never by the wall clock.
    #[param(rename = "X-Offersim-Time", value_type = Rfc3339)]
    time: String,
}

fn state_of(c: &CreditView) -> &'static str {
    if c.pending + c.confirmed + c.paid == offersim_sim::Cents::ZERO {
        "reversed"
    } else if c.paid > offersim_sim::Cents::ZERO {
        "paid"
    } else if c.confirmed > offersim_sim::Cents::ZERO {
        "confirmed"
    } else {
        "pending"
    }
}

/// Credits as `GET /v1/credits` lists them, `transaction` naming each purchase: a credit
/// granted twice is listed twice, and what refunds took back is spread over the copies in order.
pub fn credit_bodies(
    world: &offersim_sim::World,
    page: &[(offersim_sim::truth::CreditKey, CreditView)],
    transaction: impl Fn(PurchaseId) -> String,
) -> Vec<CreditBody> {
    let mut credits = Vec::with_capacity(page.len());
    for (k, c) in page {
        let left = c.pending + c.confirmed + c.paid;
        let mut reversed = c.reward.0 * c.times.max(1) as i64 - left.0;
        for _ in 0..c.times.max(1) {
            let this = reversed.clamp(0, c.reward.0);
            reversed -= this;
            credits.push(CreditBody {
                transaction: transaction(k.0),
                offer: world.offers[k.1 .0 as usize].id.clone(),
                reward: money(c.reward),
                fee: money(c.fee),
                state: state_of(c).into(),
                reversed: money(offersim_sim::Cents(this)),
            });
        }
    }
    credits
}

/// The credits the service has granted, a page at a time (retried).
///
/// One entry per grant: a credit granted twice is listed twice. Pages are in a stable order once
/// traffic stops; follow `next` until it is null.
#[utoipa::path(get, path = "/v1/credits", tag = "traffic",
    params(CreditsQuery),
    responses(
        (status = 200, description = "A page of credits.", body = CreditsPage),
        (status = 400, description = "`after` is not a cursor from this service, or `limit` is not a number.", body = ErrorBody),
    ))]
async fn get_credits(State(s): State<Shared>, q: Result<Query<CreditsQuery>, QueryRejection>) -> Response {
    let run = || -> Result<_, Refusal> {
        let Query(q) = q.map_err(|e| bad(format!("query: {}", e.body_text())))?;
        let mut s = lock(&s)?;
        if s.running.is_none() {
            return Ok(Json(CreditsPage { credits: Vec::new(), next: None }));
        }
        let r = s.running()?;
        let after = match q.after.as_deref() {
            None | Some("") => None,
            Some(c) => {
                let mut it = c.split('.').map(|x| x.parse::<u32>());
                match (it.next(), it.next(), it.next()) {
                    (Some(Ok(u)), Some(Ok(q)), Some(Ok(o))) => Some((PurchaseId { user: u, seq: q }, OfferId(o))),
                    _ => return Err(bad(format!("after: `{}` is not a cursor from this service", shown(c)))),
                }
            }
        };
        let limit = q.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
        let page = r.live.credits_after(after, limit);
        let names = &r.txn_names;
        let credits = credit_bodies(r.live.world(), &page, |p| names.get(p.seq as usize).cloned().unwrap_or_default());
        let next = (page.len() == limit)
            .then(|| page.last().map(|(k, _)| format!("{}.{}.{}", k.0.user, k.0.seq, k.1 .0)))
            .flatten();
        Ok(Json(CreditsPage { credits, next }))
    };
    run().into_response()
}

/// Whether the service is up.
#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, description = "Up.", body = String, content_type = "text/plain", example = "ok")))]
async fn health() -> &'static str {
    "ok"
}

/// This document: the contract as OpenAPI 3.1.
///
/// Committed as `live/openapi.json`; only the reference service is expected to answer it.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json")))]
async fn openapi_document() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// Every route, each with its OpenAPI operation: the router and the document are built from the
/// same list, so neither can have a route the other lacks.
fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(document::base())
        .routes(routes!(health))
        .routes(routes!(openapi_document))
        .routes(routes!(put_merchant))
        .routes(routes!(put_offer))
        .routes(routes!(post_card))
        .routes(routes!(delete_card))
        .routes(routes!(post_enrollment))
        .routes(routes!(post_message))
        .routes(routes!(get_credits))
}

/// The service's routes, over a fresh state within `limits`.
pub fn router(limits: Limits) -> Router {
    let state: Shared = Arc::new(Mutex::new(Service::new(limits)));
    let (router, _) = routes().split_for_parts();
    router.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(state)
}
