//! The reference service under hostile input: nothing a client sends crashes it, poisons its
//! state, grows it without bound, or comes back out as a card number.

use offersim_live::serve::{serve, Limits};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIME: &str = "2026-01-02T00:00:00Z";

async fn start(limits: Limits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = serve(listener, limits, std::future::pending()).await;
    });
    format!("http://{addr}")
}

fn cafe() -> Value {
    json!({"name": "Cafe Lumiere", "utc_offset": "+05:00", "mids": ["cafe#1"]})
}

fn offer() -> Value {
    json!({"merchant": "cafe", "reward": {"fixed": "2.00"}, "min_spend": "5.00",
           "start": "2026-01-01T00:00:00", "end": "2026-01-31T00:00:00"})
}

async fn put(c: &Client, url: &str, path: &str, body: &Value) -> (StatusCode, String) {
    let r = c
        .put(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(c: &Client, url: &str, path: &str, body: &Value) -> (StatusCode, String) {
    let r = c
        .post(format!("{url}{path}"))
        .header("x-offersim-time", TIME)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A service with the café and its offer registered.
async fn programmed(limits: Limits) -> (Client, String) {
    let url = start(limits).await;
    let c = Client::new();
    assert_eq!(put(&c, &url, "/v1/merchants/cafe", &cafe()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(put(&c, &url, "/v1/offers/o1", &offer()).await.0, StatusCode::NO_CONTENT);
    (c, url)
}

fn message(card: &str, transaction: &str) -> Value {
    json!({"idempotency_key": format!("{transaction}:clearing"), "kind": "clearing",
           "transaction": transaction, "card": card, "mid": "cafe#1", "amount": "6.75",
           "purchase_time": TIME, "network_time": TIME,
           "referenced": null, "channel": "in_store", "scheme": "any"})
}

#[tokio::test]
async fn an_offer_in_a_far_off_year_is_refused_and_the_service_goes_on() {
    let url = start(Limits::new(10)).await;
    let c = Client::new();
    assert_eq!(put(&c, &url, "/v1/merchants/cafe", &cafe()).await.0, StatusCode::NO_CONTENT);
    let mut far = offer();
    far["start"] = json!("-262143-01-01T00:00:00");
    let (status, body) = put(&c, &url, "/v1/offers/far", &far).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("offers.far.start") && body.contains("year"), "{body}");
    // Nothing of it stayed: a good offer and traffic go through.
    assert_eq!(put(&c, &url, "/v1/offers/o1", &offer()).await.0, StatusCode::NO_CONTENT);
    let (status, body) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_abc"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_merchant_that_could_never_be_built_is_refused_at_its_put() {
    let url = start(Limits::new(10)).await;
    let c = Client::new();
    let (status, body) = put(&c, &url, "/v1/merchants/..%2F..%2Fetc", &cafe()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("merchant id"), "{body}");
    let mids: Vec<String> = (0..65).map(|i| format!("m{i}")).collect();
    let (status, body) =
        put(&c, &url, "/v1/merchants/big", &json!({"name": "Big", "utc_offset": "+00:00", "mids": mids})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("mids") && body.contains("64"), "{body}");
    let (status, body) =
        put(&c, &url, "/v1/merchants/none", &json!({"name": "None", "utc_offset": "+00:00", "mids": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A terminal id belongs to one merchant.
    assert_eq!(put(&c, &url, "/v1/merchants/cafe", &cafe()).await.0, StatusCode::NO_CONTENT);
    let (status, body) = put(&c, &url, "/v1/merchants/copy", &cafe()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The refused merchants left nothing behind: the program builds and traffic flows.
    assert_eq!(put(&c, &url, "/v1/offers/o1", &offer()).await.0, StatusCode::NO_CONTENT);
    let (status, body) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_abc"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn ids_beyond_the_limit_are_refused_and_not_kept() {
    let (c, url) = programmed(Limits::new(10)).await;
    let long = "x".repeat(offersim_live::guard::MAX_ID_BYTES + 1);
    let (status, body) = post(&c, &url, &format!("/v1/users/{long}/cards"), &json!({"card": "card_abc"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.len() < 1_000, "the refusal echoes the id at length: {} bytes", body.len());
    let (status, _) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": long})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_abc"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (field, value) in [("transaction", &long), ("idempotency_key", &long), ("mid", &long)] {
        let mut m = message("card_abc", "t1.1");
        m[field] = json!(value);
        let (status, body) = post(&c, &url, "/v1/network/messages", &m).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
    }
    // A body over the limit is refused whole.
    let huge = json!({"card": "y".repeat(200_000)});
    let (status, body) = post(&c, &url, "/v1/users/u2/cards", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let refusal: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("413 is not JSON ({e}): {body}"));
    assert!(refusal["error"].as_str().is_some_and(|e| e.contains("length limit")), "{body}");
}

#[tokio::test]
async fn the_transaction_limit_refuses_new_ids_and_keeps_serving_known_ones() {
    let mut limits = Limits::new(10);
    limits.max_transactions = 2;
    let (c, url) = programmed(limits).await;
    post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_abc"})).await;
    assert_eq!(post(&c, &url, "/v1/network/messages", &message("card_abc", "t1.1")).await.0, StatusCode::OK);
    assert_eq!(post(&c, &url, "/v1/network/messages", &message("card_abc", "t1.2")).await.0, StatusCode::OK);
    let (status, body) = post(&c, &url, "/v1/network/messages", &message("card_abc", "t1.3")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("--max-transactions"), "{body}");
    // A repeat of a known transaction is still answered (as a duplicate).
    let (status, body) = post(&c, &url, "/v1/network/messages", &message("card_abc", "t1.1")).await;
    assert_eq!((status, body.contains("true")), (StatusCode::OK, true), "{body}");
}

#[tokio::test]
async fn card_numbers_are_refused_in_any_digits_and_never_echoed() {
    let (c, url) = programmed(Limits::new(10)).await;
    post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_abc"})).await;
    let numbers = ["4111111111111111", "4111 1111 1111 1111", "４１１１１１１１１１１１１１１１", "٤١١١١١١١١١١١١١١١"];
    for n in numbers {
        // As the card of a network message: refused even though it is no card of the service's.
        let (status, body) = post(&c, &url, "/v1/network/messages", &message(n, "t1.1")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {body}");
        assert!(!body.contains(n) && !body.contains("1111"), "{body}");
        let (status, body) = post(&c, &url, "/v1/users/u2/cards", &json!({ "card": n })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {body}");
        assert!(!body.contains(n), "{body}");
    }
    let n = "4111111111111111";
    // Echoed nowhere: an offer id, a cursor, a time header, a channel.
    let (_, body) = post(&c, &url, "/v1/enrollments", &json!({"token": "x", "offer": n})).await;
    assert!(!body.contains("1111"), "offer: {body}");
    let body = c.get(format!("{url}/v1/credits?after={n}")).send().await.unwrap().text().await.unwrap();
    assert!(!body.contains("1111") && body.contains("cursor"), "cursor: {body}");
    let body = c.get(format!("{url}/v1/credits?limit={n}{n}")).send().await.unwrap().text().await.unwrap();
    assert!(!body.contains("1111"), "limit: {body}");
    let r = c
        .post(format!("{url}/v1/users/u1/cards"))
        .header("x-offersim-time", n)
        .body(json!({"card": "card_abc"}).to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains("1111"), "time: {body}");
    let mut m = message("card_abc", "t1.1");
    m["channel"] = json!(n);
    let (_, body) = post(&c, &url, "/v1/network/messages", &m).await;
    assert!(!body.contains("1111"), "channel: {body}");
    let mut m = message("card_abc", "t1.1");
    m["kind"] = json!(n);
    let (_, body) = post(&c, &url, "/v1/network/messages", &m).await;
    assert!(!body.contains("1111"), "kind: {body}");
}

#[tokio::test]
async fn the_user_limit_is_a_client_error() {
    let (c, url) = programmed(Limits::new(1)).await;
    assert_eq!(post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_a"})).await.0, StatusCode::CREATED);
    let (status, body) = post(&c, &url, "/v1/users/u2/cards", &json!({"card": "card_b"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("--max-users"), "{body}");
}

#[tokio::test]
async fn relinking_a_card_is_bounded_per_user() {
    let (c, url) = programmed(Limits::new(10)).await;
    let limit = offersim_live::serve::MAX_LINKS_PER_USER;
    for i in 0..limit {
        let (status, body) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_a"})).await;
        assert!(status.is_success(), "link {i}: {body}");
        let token: Value = serde_json::from_str(&body).unwrap();
        let r = c
            .delete(format!("{url}/v1/cards/{}", token["token"].as_str().unwrap()))
            .header("x-offersim-time", TIME)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let (status, body) = post(&c, &url, "/v1/users/u1/cards", &json!({"card": "card_a"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Opens a connection and sends the start of a request, never finishing its headers.
async fn half_open(addr: &str) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(b"POST /v1/enrollments HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.ok()?;
    Some(s)
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_cannot_starve_the_others() {
    let mut limits = Limits::new(10);
    limits.header_timeout = Duration::from_secs(1);
    limits.max_connections = 64;
    let (c, url) = programmed(limits).await;
    let addr = url.trim_start_matches("http://").to_string();
    // More slow connections than the service serves at once; a few send nothing at all.
    let mut slow = Vec::new();
    for i in 0..200 {
        if i % 10 == 0 {
            slow.extend(TcpStream::connect(&addr).await.ok());
        } else {
            slow.extend(half_open(&addr).await);
        }
    }
    // A well-behaved client is still answered once the slow ones time out.
    let started = Instant::now();
    let r = Client::new().get(format!("{url}/v1/health")).timeout(Duration::from_secs(20)).send().await;
    assert!(r.is_ok_and(|r| r.status().is_success()), "a good client starved");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    // And the slow ones were closed by the service.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut closed = 0;
    for s in slow.iter_mut().take(64) {
        let mut buf = [0u8; 256];
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 64, "slow connections still open");
    drop(c);
}

#[tokio::test]
async fn a_body_that_trickles_is_cut_at_the_request_timeout() {
    let mut limits = Limits::new(10);
    limits.request_timeout = Duration::from_secs(1);
    let (_c, url) = programmed(limits).await;
    let addr = url.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /v1/enrollments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the service waited on the body for more than 5 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}
