//! The oracle catches a wrong service, and the driver keeps the contract's retry rules.
//!
//! The wrong service is built here with axum: a naive matcher that implements the contract but
//! plants five faults — it ignores idempotency keys (double credits), caps (false credits) and
//! refunds (wrong reversals), drops amex clearings (missed credits), and pays a cent less on app
//! purchases (wrong amounts). Each must show up in the verdict, with exact examples.

mod common;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use common::offersim;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Naive {
    /// MID code → merchant.
    mids: BTreeMap<String, String>,
    /// Offer → (merchant, fixed reward, minimum spend, fee percent).
    offers: BTreeMap<String, (String, Decimal, Decimal, Decimal)>,
    /// Token → card handle; card handle → offers enrolled.
    tokens: BTreeMap<String, String>,
    enrolled: BTreeMap<String, Vec<String>>,
    credits: Vec<Value>,
}

type S = Arc<Mutex<Naive>>;

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or("0")).unwrap_or_default()
}

async fn merchant(State(s): State<S>, Path(id): Path<String>, Json(b): Json<Value>) -> StatusCode {
    let mut s = s.lock().unwrap();
    for m in b["mids"].as_array().unwrap() {
        s.mids.insert(m.as_str().unwrap().to_string(), id.clone());
    }
    StatusCode::NO_CONTENT
}

async fn offer(State(s): State<S>, Path(id): Path<String>, Json(b): Json<Value>) -> StatusCode {
    let terms = (
        b["merchant"].as_str().unwrap().to_string(),
        dec(&b["reward"]["fixed"]),
        dec(&b["min_spend"]),
        dec(&b["platform_fee_percent"]),
    );
    s.lock().unwrap().offers.insert(id, terms);
    StatusCode::NO_CONTENT
}

async fn card(State(s): State<S>, Json(b): Json<Value>) -> (StatusCode, Json<Value>) {
    let card = b["card"].as_str().unwrap().to_string();
    let token = format!("tk_{card}");
    s.lock().unwrap().tokens.insert(token.clone(), card);
    (StatusCode::CREATED, Json(json!({ "token": token })))
}

async fn enroll(State(s): State<S>, Json(b): Json<Value>) -> StatusCode {
    let mut s = s.lock().unwrap();
    let card = s.tokens[b["token"].as_str().unwrap()].clone();
    s.enrolled.entry(card).or_default().push(b["offer"].as_str().unwrap().to_string());
    StatusCode::CREATED
}

async fn message(State(s): State<S>, Json(m): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    // Planted: refunds ignored; amex clearings dropped; no idempotency.
    if m["kind"] != "clearing" || m["scheme"] == "amex" {
        return Json(json!({ "duplicate": false }));
    }
    let Some(merchant) = s.mids.get(m["mid"].as_str().unwrap()).cloned() else {
        return Json(json!({ "duplicate": false }));
    };
    let amount = dec(&m["amount"]);
    let offers = s.enrolled.get(m["card"].as_str().unwrap()).cloned().unwrap_or_default();
    for o in offers {
        let (at, reward, min, fee_pct) = s.offers[&o].clone();
        // Planted: no caps, no window, no budget.
        if at == merchant && amount >= min {
            // Planted: a cent less in the app.
            let reward = if m["channel"] == "app" { reward - Decimal::new(1, 2) } else { reward };
            let fee = (reward * fee_pct / Decimal::from(100)).round_dp(2);
            let credit = json!({
                "transaction": m["transaction"], "offer": o, "reward": format!("{reward:.2}"),
                "fee": format!("{fee:.2}"), "state": "pending", "reversed": "0.00",
            });
            s.credits.push(credit);
        }
    }
    Json(json!({ "duplicate": false }))
}

async fn credits(State(s): State<S>) -> Json<Value> {
    Json(json!({ "credits": s.lock().unwrap().credits, "next": null }))
}

async fn deleted() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Runs the binary off the async runtime (it blocks until the drive ends).
async fn offersim_async(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || offersim(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("the drive runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oracle_catches_each_fault_planted_in_a_wrong_service() {
    let app = Router::new()
        .route("/v1/merchants/{m}", put(merchant))
        .route("/v1/offers/{o}", put(offer))
        .route("/v1/users/{u}/cards", post(card))
        .route("/v1/cards/{t}", delete(deleted))
        .route("/v1/enrollments", post(enroll))
        .route("/v1/network/messages", post(message))
        .route("/v1/credits", get(credits))
        .with_state(S::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let args =
        ["drive", "scenarios/duplicate_webhooks.toml", "--target", &url, "--rate", "20000/s", "--out", &out, "-q"];
    let o = offersim_async(args.iter().map(|s| s.to_string()).collect()).await;
    server.abort();
    let md = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "a wrong service fails the drive: {md}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("drive.json")).unwrap()).unwrap();
    let c = &r["correctness"];
    for k in ["missed", "false_credits", "double", "wrong_amount", "wrong_reversal"] {
        assert!(c[k].as_u64().unwrap() > 0, "planted fault `{k}` not caught: {c}");
    }
    assert_eq!(c["explained_by_arrival_order"], 0, "nothing about a wrong service is excused: {c}");
    let cents = |v: &Value| {
        use rust_decimal::prelude::ToPrimitive;
        (dec(v) * Decimal::from(100)).to_i64().expect("money in cents")
    };
    for e in c["examples"].as_array().unwrap() {
        let (want, got) = (&e["expected"], &e["got"]);
        match e["kind"].as_str().unwrap() {
            "double" => assert!(got["times"].as_u64().unwrap() >= 2, "{e}"),
            "missed" => assert!(got.is_null() && !want.is_null(), "{e}"),
            "false" => assert!(want.is_null() && !got.is_null(), "{e}"),
            "wrong_amount" => assert_eq!(cents(&got["reward"]), cents(&want["reward"]) - 1, "{e}"),
            "wrong_reversal" => {
                assert_eq!(cents(&got["reversed"]), 0, "{e}");
                assert!(cents(&want["reversed"]) > 0, "{e}");
            }
            _ => {}
        }
    }
    assert!(md.contains("**WRONG**"), "{md}");
    assert!(md.contains("--user "), "each discrepancy has its replay command: {md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_calls_are_retried_and_the_others_are_not() {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // Registering offers: two failures, then success.
    Mock::given(method("PUT"))
        .and(path("/v1/offers/cafe_2_over_5"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT")).respond_with(ResponseTemplate::new(204)).with_priority(2).mount(&server).await;
    // Cards: always a server error (not idempotent: never retried; their enrollments skipped).
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/users/[^/]+/cards$"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    // Network messages: always a server error (idempotent: retried).
    Mock::given(method("POST"))
        .and(path("/v1/network/messages"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credits"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "credits": [], "next": null })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let url = server.uri();
    let args =
        ["drive", "scenarios/cafe.toml", "--target", &url, "--rate", "20000/s", "--retries", "2", "--out", &out, "-q"];
    let o = offersim_async(args.iter().map(|s| s.to_string()).collect()).await;
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("drive.json")).unwrap()).unwrap();
    let received = server.received_requests().await.unwrap();
    let count = |m: &str, p: &dyn Fn(&str) -> bool| {
        received.iter().filter(|q| q.method.as_str() == m && p(q.url.path())).count() as u64
    };
    assert_eq!(count("PUT", &|p| p == "/v1/offers/cafe_2_over_5"), 3, "two 503s, then success");
    let endpoint =
        |name: &str| r["latency"].as_array().unwrap().iter().find(|e| e["endpoint"] == name).unwrap().clone();
    let cards = endpoint("cards");
    assert_eq!(count("POST", &|p| p.ends_with("/cards")), cards["requests"].as_u64().unwrap(), "cards never retried");
    assert_eq!(cards["retries"], 0);
    assert_eq!(cards["errors"], cards["requests"]);
    let enrollments = endpoint("enrollments");
    assert_eq!(enrollments["requests"], 0, "no enrollment on a card never linked");
    assert!(enrollments["skipped"].as_u64().unwrap() > 0);
    let messages = endpoint("network_messages");
    let n = messages["requests"].as_u64().unwrap();
    assert!(n > 0);
    assert_eq!(count("POST", &|p| p == "/v1/network/messages"), 3 * n, "each message: 1 + 2 retries");
    assert_eq!(messages["retries"].as_u64().unwrap(), 2 * n);
    assert_eq!(messages["errors"].as_u64().unwrap(), n);
    assert_eq!(r["correctness"]["missed"], r["correctness"]["expected_credits"]);
}
