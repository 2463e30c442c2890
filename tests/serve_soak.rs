//! A soak of `offersim serve`: thousands of random stateful requests (valid and hostile) from
//! concurrent clients while slow clients hold connections, bounded in count and in time. The
//! service never panics, never answers 5xx, never echoes a card number, and its peak memory
//! stays under `RSS_LIMIT_KIB`, and every status it answers is one the OpenAPI document
//! (`live/openapi.json`) lists for the route.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Requests sent in all, by all clients.
const REQUESTS: usize = 8_000;
const CLIENTS: usize = 16;
const SLOW_CLIENTS: usize = 150;
/// Peak resident memory allowed to the service (its high-water mark, /proc/PID/status VmHWM).
const RSS_LIMIT_KIB: u64 = 64 * 1024;
const CARD_NUMBER: &str = "4111111111111111";

struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_offersim"))
        .args(["serve", "--port", "0", "--max-users", "500", "--max-transactions", "5000"])
        .args(["--max-connections", "128", "--header-timeout-seconds", "1", "--request-timeout-seconds", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("offersim serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("an address").to_string();
    Served { child, url }
}

/// splitmix64: the test's own seeded randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// An id: usually small, sometimes hostile.
fn id(r: &mut Rng, prefix: &str, range: u64) -> String {
    match r.below(20) {
        0 => "x".repeat(100 + r.below(5_000) as usize),
        1 => CARD_NUMBER.to_string(),
        2 => "４１１１１１１１１１１１１１１１".to_string(),
        3 => "../../etc".to_string(),
        _ => format!("{prefix}{}", r.below(range)),
    }
}

fn time(r: &mut Rng) -> String {
    match r.below(30) {
        0 => CARD_NUMBER.to_string(),
        1 => "-262143-01-01T00:00:00Z".to_string(),
        2 => "yesterday".to_string(),
        _ => format!("2026-01-{:02}T{:02}:00:00Z", 2 + r.below(25), r.below(24)),
    }
}

fn request(r: &mut Rng, tokens: &[String]) -> (reqwest::Method, String, Option<String>, String) {
    let t = time(r);
    let token = if tokens.is_empty() || r.below(4) == 0 {
        id(r, "tok", 100)
    } else {
        tokens[r.below(tokens.len() as u64) as usize].clone()
    };
    match r.below(6) {
        0 => {
            let body = json!({ "card": id(r, "card_", 800) }).to_string();
            (reqwest::Method::POST, format!("/v1/users/{}/cards", id(r, "u", 800)), Some(body), t)
        }
        1 => (reqwest::Method::DELETE, format!("/v1/cards/{token}"), None, t),
        2 => {
            let body = json!({ "token": token, "offer": r.pick(&["o1", "o2", "nope", CARD_NUMBER]) }).to_string();
            (reqwest::Method::POST, "/v1/enrollments".into(), Some(body), t)
        }
        3 => {
            let after = r.pick(&["", "0.0.0", "1.2", CARD_NUMBER, "4294967295.4294967295.4294967295"]);
            (reqwest::Method::GET, format!("/v1/credits?after={after}&limit={}", r.below(20_000)), None, t)
        }
        _ => {
            let txn = id(r, "t", 8_000);
            let body = json!({
                "idempotency_key": format!("{txn}:k"), "kind": r.pick(&["auth", "clearing", "reversal", "refund", "x"]),
                "transaction": txn, "card": id(r, "card_", 800), "mid": r.pick(&["m1", "m2", "zz"]),
                "amount": r.pick(&["6.75", "0", "-1.00", "1.001", "99999999999.00", "50.00"]),
                "purchase_time": time(r), "network_time": time(r),
                "referenced": if r.below(3) == 0 { Value::String(id(r, "t", 8_000)) } else { Value::Null },
                "channel": r.pick(&["in_store", "online", "app", "moon"]), "scheme": "any"
            });
            let body = if r.below(25) == 0 { "{\"kind\": ".to_string() } else { body.to_string() };
            (reqwest::Method::POST, "/v1/network/messages".into(), Some(body), t)
        }
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_survives_a_soak_of_random_and_hostile_requests() {
    let served = start();
    let url = served.url.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let started = Instant::now();
    // The program, with hostile registrations among the good ones.
    let merchants = [
        ("m1", json!({"name": "Cafe", "utc_offset": "+05:00", "mids": ["m1"]})),
        ("m2", json!({"name": "Deli", "utc_offset": "-05:00", "mids": ["m2"]})),
        ("..%2F..%2Fetc", json!({"name": "Bad", "utc_offset": "+00:00", "mids": ["b"]})),
        (
            "big",
            json!({"name": "Big", "utc_offset": "+00:00", "mids": (0..65).map(|i| i.to_string()).collect::<Vec<_>>()}),
        ),
    ];
    for (m, body) in &merchants {
        let r = http.put(format!("{url}/v1/merchants/{m}")).body(body.to_string()).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "PUT merchant {m}: {}", r.status());
    }
    let offer = |m: &str, start: &str, reward: &str| {
        json!({"merchant": m, "reward": {"percent": reward, "cap": "3.00"}, "min_spend": "5.00",
               "start": start, "end": "2026-01-31T00:00:00", "budget": "40.00"})
    };
    for (o, body) in [
        ("o1", offer("m1", "2026-01-01T00:00:00", "10")),
        ("far", offer("m1", "-262143-01-01T00:00", "10")),
        ("o2", offer("m2", "2026-01-01T00:00:00", "5")),
        (CARD_NUMBER, offer("m2", "2026-01-01T00:00:00", "5")),
    ] {
        let r = http.put(format!("{url}/v1/offers/{o}")).body(body.to_string()).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "PUT offer {o}: {}", r.status());
    }
    // Slow clients: connections that send half a request, and nothing more.
    let addr = url.trim_start_matches("http://").to_string();
    let slow = tokio::spawn(async move {
        let mut held = Vec::new();
        for round in 0..3 {
            for _ in 0..SLOW_CLIENTS {
                if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                    let _ = s.write_all(b"GET /v1/credits HTTP/1.1\r\nHost: x\r\n").await;
                    held.push(s);
                }
            }
            tokio::time::sleep(Duration::from_millis(700 + round * 100)).await;
        }
        held.len()
    });
    // The traffic: each client its own seeded stream of requests, keeping the tokens it got.
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    let doc = Arc::new(common::openapi::generated());
    for c in 0..CLIENTS {
        let (http, url, answered, doc) = (http.clone(), url.clone(), answered.clone(), doc.clone());
        clients.push(tokio::spawn(async move {
            let mut r = Rng(0x5eed ^ c as u64);
            let mut tokens: Vec<String> = Vec::new();
            let mut problems = Vec::new();
            for _ in 0..REQUESTS / CLIENTS {
                let (method, path, body, t) = request(&mut r, &tokens);
                let mut req = http.request(method.clone(), format!("{url}{path}")).header("x-offersim-time", t);
                if let Some(b) = body {
                    req = req.header("content-type", "application/json").body(b);
                }
                let Ok(resp) = req.send().await else {
                    problems.push(format!("no answer to {path}"));
                    continue;
                };
                let status = resp.status().as_u16();
                // The path as sent (`../` segments resolved): a route, or none (the router's 404).
                let sent = resp.url().path().to_string();
                let shown: String = sent.chars().take(80).collect();
                match common::openapi::statuses(&doc, method.as_str(), &sent) {
                    Some(listed) if !listed.contains(&status) => {
                        problems.push(format!("{status} for {method} {shown}: not in the document's {listed:?}"))
                    }
                    None if status != 404 => problems.push(format!("{status} for {method} {shown}, not a route")),
                    _ => {}
                }
                let text = resp.text().await.unwrap_or_default();
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if status >= 500 {
                    problems.push(format!("{status} for {path}: {text}"));
                }
                if text.contains(CARD_NUMBER) || text.contains("４１１１") {
                    problems.push(format!("a card number echoed for {path}: {text}"));
                }
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    if let Some(t) = v.get("token").and_then(Value::as_str) {
                        tokens.push(t.to_string());
                    }
                }
            }
            problems
        }));
    }
    let mut problems = Vec::new();
    for c in clients {
        problems.extend(c.await.unwrap());
    }
    let held = slow.await.unwrap();
    assert!(problems.is_empty(), "{} problems, first: {:?}", problems.len(), &problems[..problems.len().min(5)]);
    assert_eq!(answered.load(std::sync::atomic::Ordering::Relaxed), REQUESTS / CLIENTS * CLIENTS);
    assert!(held > SLOW_CLIENTS, "the slow clients could not even connect ({held})");
    // Still alive and answering, within its memory bound, and bounded in time.
    let health = http.get(format!("{url}/v1/health")).send().await.unwrap();
    assert!(health.status().is_success());
    let peak = peak_rss_kib(served.child.id());
    assert!(peak < RSS_LIMIT_KIB, "peak RSS {peak} KiB over {RSS_LIMIT_KIB} KiB");
    assert!(started.elapsed() < Duration::from_secs(120), "the soak took {:?}", started.elapsed());
    let mut served = served;
    let _ = served.child.kill();
    let mut err = String::new();
    use std::io::Read;
    served.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!err.contains("panicked"), "the service panicked: {err}");
    eprintln!("soak: {REQUESTS} requests in {:?}, peak RSS {peak} KiB, {held} slow connections", started.elapsed());
}
