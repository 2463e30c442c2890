//! `offersim drive`: the simulated world against a real offers service over HTTP.
//!
//! 1. `plan`: the reference pipeline runs the scenario and records the platform's inputs.
//! 2. Setup: every merchant and offer is registered (`PUT`, retried).
//! 3. Traffic: a dispatcher releases each request when `pace` says it is due into one of
//!    `connections` lanes, chosen by user, so one person's requests arrive in order (a card is
//!    linked before it enrolls, a clearing before its refund); each lane sends one request at a
//!    time. Latency is measured from the scheduled time (`latency`). Idempotent calls are retried
//!    with exponential backoff on 5xx, timeouts and refused connections; others are not
//!    (`lanes`). Each second's figures make the `timeline`; with `--abort-on-fail` the drive
//!    stops at a threshold that can no longer pass (`abort`).
//! 4. Credits: `GET /v1/credits` page by page, judged against the reference (`oracle`).

pub mod abort;
pub mod html;
mod lanes;
pub mod latency;
pub mod oracle;
pub mod pace;
pub mod parts;
pub mod plan;
pub mod replay;
pub mod report;
pub mod timeline;

use crate::contract::*;
use crate::program::{merchant_body, offer_terms};
pub use lanes::traffic;
use latency::{Endpoint, Summary, ENDPOINTS};
use offersim_sim::core::rng::mix3;
use offersim_sim::world::network::MessageKind;
use offersim_sim::world::Token;
use offersim_sim::world::World;
use pace::Pace;
use plan::{Call, Plan};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Options {
    /// `http://127.0.0.1:PORT`, or any http(s) root with `allow_remote` (`target_base`).
    pub target: String,
    /// Whether a target off this machine is accepted (`--allow-remote`).
    pub allow_remote: bool,
    pub pace: Pace,
    /// Lanes, each one request in flight: at most this many connections.
    pub connections: usize,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts after the first, for idempotent calls.
    pub retries: u32,
    /// The traffic phase stops sending after this long (the report then says incomplete).
    pub max_duration: Duration,
    /// Only part K of N of the people (`user % N == K - 1`), each request at the time the whole
    /// plan's pace gives it: N such drivers together send the whole plan at the pace's rate.
    pub part: Option<(u32, u32)>,
    /// `--abort-on-fail`: the thresholds to watch during traffic (`abort`).
    pub abort: Option<Vec<report::Condition>>,
}

impl Options {
    /// Whether this driver plays user `u`'s requests.
    fn plays(&self, u: u32) -> bool {
        self.part.is_none_or(|(k, n)| u % n == k - 1)
    }
}

/// Live figures for a progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub sent: AtomicU64,
    pub answered: AtomicU64,
    pub errors: AtomicU64,
    /// Simulated seconds of the latest request sent.
    pub sim_time: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("the target `{0}` is not allowed: {1}")]
    Target(String, String),
    #[error("could not reach the target at {url}: {why} (is the service running?)")]
    Unreachable { url: String, why: String },
    #[error("the service at {url} accepted the connection but did not answer {what} within {seconds} s")]
    NoAnswer { url: String, what: String, seconds: f64 },
    #[error("the service at {url} broke off its answer to {what}: {why}")]
    Broken { url: String, what: String, why: String },
    #[error("the target refused {what}: HTTP {status}: {body}")]
    Refused { what: String, status: u16, body: String },
    #[error("the target's credits could not be read: {0}")]
    Credits(String),
    /// The credits' cursor does not lead to the end (it repeats, or is unusable).
    #[error("{0}")]
    Cursor(String),
    #[error("the target's answer to {what} exceeded {limit} bytes (it was not read further)")]
    TooLarge { what: String, limit: usize },
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

/// The service's root URL. Without `allow_remote`: `http://HOST:PORT` with a loopback HOST
/// (127.0.0.0/8, `localhost`, `[::1]`), as offersim has always required; with it, any
/// `http://` or `https://` HOST[:PORT]. Never a path or credentials.
pub fn target_base(url: &str, allow_remote: bool) -> Result<String, DriveError> {
    let bad = |why: &str| DriveError::Target(url.to_string(), why.to_string());
    let (scheme, rest) = match (url.split_once("://"), allow_remote) {
        (Some(("http", rest)), _) => ("http", rest),
        (Some(("https", rest)), true) => ("https", rest),
        (_, false) => return Err(bad("write it as http://127.0.0.1:PORT (--allow-remote also takes https://HOST)")),
        (_, true) => return Err(bad("write it as http://HOST[:PORT] or https://HOST[:PORT]")),
    };
    let hostport = rest.trim_end_matches('/');
    if hostport.contains('/') || hostport.contains('@') || hostport.contains('?') || hostport.contains('#') {
        return Err(bad("give the service's root, http://HOST:PORT, without a path"));
    }
    let host = match hostport.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && !h.is_empty() => h,
        _ if allow_remote && !hostport.is_empty() && !hostport.ends_with(':') => hostport,
        _ => return Err(bad("a port is required, e.g. http://127.0.0.1:8080")),
    };
    let loopback =
        host == "localhost" || host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback());
    if !loopback && !allow_remote {
        return Err(bad("offersim sends traffic to loopback addresses only (127.0.0.1, localhost, [::1]); \
             --allow-remote sends it to any http(s) host"));
    }
    Ok(format!("{scheme}://{hostport}"))
}

/// The wire's view of the world: names, handles, times.
pub struct Wire {
    pub world: Arc<World>,
    origin: chrono::NaiveDateTime,
}

impl Wire {
    pub fn new(world: Arc<World>) -> Wire {
        let origin = world.calendar.datetime(offersim_sim::SimTime::ZERO);
        Wire { world, origin }
    }
    pub fn time(&self, t: offersim_sim::SimTime) -> String {
        rfc3339(self.origin, self.world.utc_offset_secs, t)
    }
    /// The opaque handle of user `u`'s physical card `slot`.
    pub fn card(&self, u: u32, slot: u8) -> String {
        letters("card_", mix3(self.world.seed ^ 0x6361_7264, u as u64, slot as u64))
    }
    /// A refund's own transaction id: opaque, so that an unreferenced refund does not reveal
    /// its original.
    pub fn refund_id(&self, p: offersim_sim::world::network::PurchaseId) -> String {
        letters("rf_", mix3(self.world.seed ^ 0x7266, p.user as u64, p.seq as u64))
    }
    pub fn message(
        &self,
        m: &offersim_sim::world::network::NetworkMessage,
        f: &offersim_sim::platform::MessageFacts,
    ) -> MessageBody {
        let w = &self.world;
        let p = m.purchase;
        let kind = m.kind;
        let transaction = if kind == MessageKind::Refund { self.refund_id(p) } else { transaction_id(p.user, p.seq) };
        let code = &w.mids[f.mid.0 as usize].code;
        MessageBody {
            idempotency_key: format!("{transaction}:{}", kind.name()),
            kind,
            card: self.card(p.user, f.slot),
            mid: if m.mid_known { code.clone() } else { format!("unregistered-{code}") },
            amount: money(m.amount),
            purchase_time: self.time(f.bought_at),
            network_time: self.time(m.network_time),
            referenced: (kind == MessageKind::Refund && m.referenced).then(|| transaction_id(p.user, p.seq)),
            channel: f.channel.name().to_string(),
            scheme: w.schemes.get(f.scheme as usize).cloned().unwrap_or_default(),
            transaction,
        }
    }
}

/// The most of one `GET /v1/credits` page the driver reads: a page of the reference service
/// (`serve::MAX_PAGE` credits) is about 1.5 MB; past this the answer is not read further and
/// the read fails.
pub const MAX_CREDITS_PAGE_BYTES: usize = 16 << 20;
/// The most of any other answer the driver reads (a token, `{"duplicate": ...}`, an error).
pub const MAX_ANSWER_BYTES: usize = 64 << 10;

/// How long an idle connection is kept for the next request of its lane.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// What one attempt sequence ended with.
enum Answer {
    Status(u16, Vec<u8>),
    /// Connected, but no complete answer within the timeout.
    Timeout,
    /// No connection (refused, unreachable, or not made within the timeout).
    Unreachable(String),
    /// Connected, but the exchange failed (reset, not HTTP).
    Failed(String),
    /// The answer's body went past this many bytes: it was not read further.
    TooLarge(usize),
    /// Not sent: the drive's time limit had passed.
    Expired,
}

/// `METHOD /path` of a request, without its query (for messages).
fn request_name(method: &reqwest::Method, path: &str) -> String {
    format!("{method} {}", path.split('?').next().unwrap_or(path))
}

/// An error with its causes (`tcp connect error: Connection refused`).
fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Reads a body chunk by chunk, stopping past `limit` bytes (a body announced longer is not
/// read at all): an endless answer costs at most `limit` bytes.
async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Answer {
    let status = resp.status().as_u16();
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Answer::TooLarge(limit);
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) if body.len() + c.len() > limit => return Answer::TooLarge(limit),
            Ok(Some(c)) => body.extend_from_slice(&c),
            Ok(None) => return Answer::Status(status, body),
            Err(e) if e.is_timeout() => return Answer::Timeout,
            Err(e) => return Answer::Failed(error_text(&e)),
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    retries: u32,
    /// Nothing is sent after this instant (`--max-seconds`).
    deadline: Instant,
    /// Nothing more is sent once set (`--abort-on-fail`).
    stopped: std::sync::atomic::AtomicBool,
}

impl Client {
    /// Sends, retrying when `idempotent` on 5xx, timeouts and connection failures, with
    /// exponential backoff (10 ms doubling, at most 1 s); reads at most `limit` bytes of the
    /// answer. Returns the last answer and the number of retries.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        time: Option<&str>,
        body: Option<Vec<u8>>,
        idempotent: bool,
        limit: usize,
    ) -> (Answer, u32) {
        let mut retries = 0;
        loop {
            if self.halted() {
                return (Answer::Expired, retries);
            }
            let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).timeout(self.timeout);
            if let Some(t) = time {
                req = req.header(TIME_HEADER, t);
            }
            if let Some(b) = &body {
                req = req.header("content-type", "application/json").body(b.clone());
            }
            let answer = match req.send().await {
                Ok(resp) => read_capped(resp, limit).await,
                // First: a connection not made in time is a connection failure, not a silence.
                Err(e) if e.is_connect() => Answer::Unreachable(error_text(&e)),
                Err(e) if e.is_timeout() => Answer::Timeout,
                Err(e) => Answer::Failed(error_text(&e)),
            };
            // Worth another try: a server error that may pass, a timeout, a refused connection.
            let again = match &answer {
                Answer::Status(s, _) => matches!(s, 500 | 502 | 503 | 504),
                Answer::Timeout | Answer::Unreachable(_) | Answer::Failed(_) => true,
                Answer::TooLarge(_) | Answer::Expired => false,
            };
            if !(again && idempotent && retries < self.retries) {
                return (answer, retries);
            }
            let backoff = Duration::from_millis(10u64 << retries.min(7)).min(Duration::from_secs(1));
            tokio::time::sleep(backoff).await;
            retries += 1;
        }
    }

    /// Whether nothing more is sent: past the deadline, or stopped.
    fn halted(&self) -> bool {
        Instant::now() >= self.deadline || self.stopped.load(Relaxed)
    }

    /// Why `what` (`PUT /v1/offers/x`) got no usable answer: the error for anything but a
    /// status (a status is the caller's to judge).
    fn failure(&self, what: String, a: Answer) -> DriveError {
        let url = self.base.clone();
        match a {
            Answer::Status(status, b) => DriveError::Refused { what, status, body: excerpt(&b) },
            Answer::Timeout => DriveError::NoAnswer { url, what, seconds: self.timeout.as_secs_f64() },
            Answer::Unreachable(why) => DriveError::Unreachable { url, why },
            Answer::Failed(why) => DriveError::Broken { url, what, why },
            Answer::TooLarge(limit) => DriveError::TooLarge { what, limit },
            Answer::Expired => DriveError::Broken { url, what, why: "not sent: past --max-seconds".into() },
        }
    }
}

/// The start of an answer's body, as text.
fn excerpt(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(500).collect()
}

/// Registers every merchant and offer.
async fn setup(client: &Client, wire: &Wire) -> Result<(usize, usize), DriveError> {
    let w = &wire.world;
    let put = |path: String, body: Vec<u8>, what: String| async move {
        let (a, _) = client.send(reqwest::Method::PUT, &path, None, Some(body), true, MAX_ANSWER_BYTES).await;
        match a {
            Answer::Status(s, _) if (200..300).contains(&s) => Ok(()),
            Answer::Status(status, b) => {
                Err(DriveError::Refused { what, status, body: String::from_utf8_lossy(&b).into_owned() })
            }
            other => Err(client.failure(format!("PUT {path}"), other)),
        }
    };
    for (i, m) in w.merchants.iter().enumerate() {
        let body = serde_json::to_vec(&merchant_body(w, i)).unwrap_or_default();
        put(format!("/v1/merchants/{}", m.id), body, format!("merchant `{}`", m.id)).await?;
    }
    for o in &w.offers {
        let body = serde_json::to_vec(&offer_terms(w, o)).unwrap_or_default();
        put(format!("/v1/offers/{}", o.id), body, format!("offer `{}`", o.id)).await?;
    }
    Ok((w.merchants.len(), w.offers.len()))
}

/// The longest credits cursor accepted (it goes back in a URL, and every one is kept to find
/// a loop).
pub const MAX_CURSOR_BYTES: usize = 1_024;

/// `s` percent-encoded for a URL's query (everything but RFC 3986's unreserved characters).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A cursor as the messages show it: escaped, and cut if long.
fn shown(cursor: &str) -> String {
    let s: String = cursor.escape_debug().collect();
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// Reads every credit of the target, page by page (at most `max_pages`). Each `next` must be
/// a cursor not seen before: one that repeats (the one just given, or an earlier one) would
/// read the same pages again, and is an error rather than the end.
async fn credits(client: &Client, max_pages: usize) -> Result<Vec<CreditBody>, DriveError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for _ in 0..max_pages {
        let path = match &cursor {
            Some(c) => format!("/v1/credits?after={}", query_escape(c)),
            None => "/v1/credits".to_string(),
        };
        let (a, _) = client.send(reqwest::Method::GET, &path, None, None, true, MAX_CREDITS_PAGE_BYTES).await;
        let page: CreditsPage = match a {
            Answer::Status(200, b) => serde_json::from_slice(&b).map_err(|e| DriveError::Credits(e.to_string()))?,
            Answer::Status(s, b) => return Err(DriveError::Credits(format!("HTTP {s}: {}", excerpt(&b)))),
            other => return Err(client.failure(request_name(&reqwest::Method::GET, &path), other)),
        };
        all.extend(page.credits);
        let Some(next) = page.next else { return Ok(all) };
        let after = cursor.as_deref().map_or_else(|| "the first page".to_string(), |c| format!("`after={}`", shown(c)));
        if next.len() > MAX_CURSOR_BYTES {
            return Err(DriveError::Cursor(format!(
                "the target's credits cursor is {} bytes long (at most {MAX_CURSOR_BYTES}), returned for {after}",
                next.len()
            )));
        }
        if cursor.as_ref() == Some(&next) {
            return Err(DriveError::Cursor(format!(
                "the target's credits cursor did not advance: `{}` was returned for {after}",
                shown(&next)
            )));
        }
        if !seen.insert(next.clone()) {
            return Err(DriveError::Cursor(format!(
                "the target's credits cursor went back: `{}` was returned for {after}, and had been returned before",
                shown(&next)
            )));
        }
        cursor = Some(next);
    }
    Err(DriveError::Credits(format!("more than {max_pages} pages: the cursor never ended")))
}

/// What a drive measured, before rendering.
pub struct Measured {
    pub setup: (usize, usize),
    pub endpoints: Vec<Summary>,
    pub all: Summary,
    pub sent: u64,
    pub planned: u64,
    pub wall_seconds: f64,
    pub complete: bool,
    pub verdict: oracle::Verdict,
    /// Whether the credits were read and judged (not when the drive was aborted).
    pub judged: bool,
    pub timeline: timeline::Timeline,
    pub aborted: Option<abort::Aborted>,
}

/// What the traffic phase measured (of one driver, or of several added up: `parts`).
pub struct Traffic {
    /// Merchants and offers registered.
    pub setup: (usize, usize),
    /// Per endpoint, in `ENDPOINTS` order.
    pub per: Vec<Endpoint>,
    pub sent: u64,
    pub planned: u64,
    pub wall_seconds: f64,
    pub complete: bool,
    pub timeline: timeline::Timeline,
    /// Why the drive stopped early (`--abort-on-fail`).
    pub aborted: Option<abort::Aborted>,
}

fn http_client(opts: &Options) -> Result<reqwest::Client, DriveError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(opts.connections)
        // Close idle connections before a service does (`offersim serve` closes one idle for
        // 10 s): a request never races the server's close of the connection it is sent on.
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .no_proxy()
        .tcp_nodelay(true)
        // A connection not made within the timeout is told apart from an answer not given.
        .connect_timeout(opts.timeout)
        // A redirect could lead elsewhere (off loopback): never follow one.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DriveError::Client(e.to_string()))
}

/// A client for setup and the final read of credits: bounded by its retries, not by a deadline.
fn patient_client(opts: &Options) -> Result<Client, DriveError> {
    Ok(Client {
        http: http_client(opts)?,
        base: target_base(&opts.target, opts.allow_remote)?,
        timeout: opts.timeout,
        retries: opts.retries,
        deadline: Instant::now() + Duration::from_secs(24 * 3600),
        stopped: Default::default(),
    })
}

/// Runs the whole drive: setup, traffic, credits, verdict.
pub async fn drive(
    wire: Arc<Wire>,
    plan: Arc<Plan>,
    opts: &Options,
    progress: Arc<Progress>,
) -> Result<Measured, DriveError> {
    let t = traffic(wire.clone(), plan.clone(), opts, progress).await?;
    judge(&wire, &plan, opts, t).await
}

/// Reads the target's credits once and judges them against the plan (`oracle`); an aborted
/// drive's are not read: a partial drive cannot be compared with the reference.
pub async fn judge(wire: &Wire, plan: &Plan, opts: &Options, t: Traffic) -> Result<Measured, DriveError> {
    let judged = t.aborted.is_none();
    let verdict = if judged {
        let client = patient_client(opts)?;
        let max_pages = (plan.reference.len() * 4 + 100_000) / crate::serve::PAGE + 10;
        let got = credits(&client, max_pages).await?;
        oracle::judge(&wire.world, plan, &got)
    } else {
        oracle::Verdict::default()
    };
    let mut all = Endpoint::new();
    for e in &t.per {
        all.add(e);
    }
    Ok(Measured {
        setup: t.setup,
        endpoints: ENDPOINTS.iter().zip(&t.per).map(|(name, e)| Summary::of(name, e)).collect(),
        all: Summary::of("all", &all),
        sent: t.sent,
        planned: t.planned,
        wall_seconds: t.wall_seconds,
        complete: t.complete,
        verdict,
        judged,
        timeline: t.timeline,
        aborted: t.aborted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client(base: &str, timeout: Duration) -> Client {
        Client {
            http: reqwest::Client::builder().no_proxy().build().expect("an HTTP client"),
            base: base.to_string(),
            timeout,
            retries: 0,
            deadline: Instant::now() + Duration::from_secs(600),
            stopped: Default::default(),
        }
    }

    /// A target that answers every request with a credits page that never ends (chunked, a
    /// credit after another); counts the bytes it managed to write.
    async fn endless_target() -> (String, Arc<AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = sock.read(&mut request).await;
                    let head =
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    let first = "{\"credits\":[";
                    let mut out = format!("{head}{:x}\r\n{first}\r\n", first.len());
                    let credit = "{\"transaction\":\"t1.1\",\"offer\":\"o\",\"reward\":\"2.00\",\"fee\":\"0.20\",\"state\":\"pending\",\"reversed\":\"0.00\"},";
                    let chunk = credit.repeat(512);
                    let chunk = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                    loop {
                        if sock.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                        counter.fetch_add(out.len() as u64, Relaxed);
                        out.clone_from(&chunk);
                    }
                });
            }
        });
        (url, written)
    }

    #[test]
    fn a_remote_target_needs_allow_remote_and_then_any_http_or_https_root_is_taken() {
        let refused = |url: &str, remote: bool| target_base(url, remote).expect_err(url).to_string();
        assert!(refused("http://example.com:80", false).contains("--allow-remote sends it to any http(s) host"));
        assert!(refused("http://10.0.0.1:80", false).contains("loopback addresses only"));
        assert!(refused("https://127.0.0.1:443", false).contains("--allow-remote also takes https://HOST"));
        assert_eq!(target_base("http://127.0.0.1:8080/", false).unwrap(), "http://127.0.0.1:8080");
        assert_eq!(target_base("https://offers.example.com", true).unwrap(), "https://offers.example.com");
        assert_eq!(target_base("http://10.0.0.1:8080", true).unwrap(), "http://10.0.0.1:8080");
        for bad in ["ftp://h:1", "https://h/v1", "https://u@h", "https://", "http://h:", "h:80"] {
            assert!(target_base(bad, true).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_endless_credits_page_is_cut_at_the_cap_and_fails_the_read() {
        let (url, written) = endless_target().await;
        let c = client(&url, Duration::from_secs(2));
        let e = credits(&c, 10).await.expect_err("an endless page cannot be read");
        assert!(matches!(e, DriveError::TooLarge { limit: MAX_CREDITS_PAGE_BYTES, .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("the target's answer to GET /v1/credits exceeded 16777216 bytes"), "{msg}");
        // The driver hung up: the target stops being able to write, not far past the cap
        // (loopback socket buffers hold a few MB).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let at = written.load(Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(written.load(Relaxed), at, "the connection is closed");
        assert!(at < 2 * MAX_CREDITS_PAGE_BYTES as u64, "{at} bytes written");
    }

    /// A target whose credits pages (one credit each) lead on as `next_of(after)` says.
    async fn paging_target(next_of: fn(Option<&str>) -> Option<String>) -> (String, tokio::task::JoinHandle<()>) {
        use axum::extract::Query;
        let page = move |Query(q): Query<BTreeMap<String, String>>| async move {
            let credit = CreditBody {
                transaction: "t1.1".into(),
                offer: "o".into(),
                reward: rust_decimal::Decimal::new(200, 2),
                fee: rust_decimal::Decimal::new(20, 2),
                state: "pending".into(),
                reversed: rust_decimal::Decimal::ZERO,
            };
            axum::Json(CreditsPage { credits: vec![credit], next: next_of(q.get("after").map(String::as_str)) })
        };
        let app = axum::Router::new().route("/v1/credits", axum::routing::get(page));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, server)
    }

    #[tokio::test]
    async fn a_credits_cursor_that_does_not_advance_is_an_error_naming_it() {
        let (url, server) = paging_target(|_| Some("p1".into())).await;
        let e = credits(&client(&url, Duration::from_secs(5)), 10).await.expect_err("a cursor that stays put");
        server.abort();
        assert!(matches!(e, DriveError::Cursor(_)), "{e}");
        assert_eq!(e.to_string(), "the target's credits cursor did not advance: `p1` was returned for `after=p1`");
    }

    #[tokio::test]
    async fn a_credits_cursor_that_loops_back_is_an_error() {
        let (url, server) = paging_target(|after| match after {
            None => Some("a".into()),
            Some("a") => Some("b".into()),
            Some(_) => Some("a".into()),
        })
        .await;
        let e = credits(&client(&url, Duration::from_secs(5)), 1_000).await.expect_err("a cursor that loops");
        server.abort();
        assert_eq!(
            e.to_string(),
            "the target's credits cursor went back: `a` was returned for `after=b`, and had been returned before"
        );
    }

    #[tokio::test]
    async fn a_credits_cursor_travels_percent_encoded_and_null_ends_the_pages() {
        const ODD: &str = "a b&c=d/é#1";
        let (url, server) = paging_target(|after| match after {
            None => Some(ODD.into()),
            Some(ODD) => None,
            Some(other) => panic!("the cursor arrived as {other:?}"),
        })
        .await;
        let got = credits(&client(&url, Duration::from_secs(5)), 10).await;
        server.abort();
        assert_eq!(got.expect("two pages").len(), 2);
    }

    #[tokio::test]
    async fn an_answer_announced_longer_than_its_cap_is_not_read() {
        use axum::routing::post;
        let app =
            axum::Router::new().route("/v1/network/messages", post(|| async { "x".repeat(MAX_ANSWER_BYTES + 1) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let c = client(&url, Duration::from_secs(5));
        let (a, retries) =
            c.send(reqwest::Method::POST, "/v1/network/messages", None, None, true, MAX_ANSWER_BYTES).await;
        server.abort();
        assert!(matches!(a, Answer::TooLarge(MAX_ANSWER_BYTES)), "{}", c.failure("POST".into(), a));
        assert_eq!(retries, 0, "an oversize answer is not retried");
    }
}
