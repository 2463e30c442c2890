//! The HTTP contract as an OpenAPI 3.1 document (`live/openapi.json`): committed as generated,
//! valid, answered by `offersim serve`, naming every route it answers and every status it gives.
//!
//! After changing a wire type or a route: `OFFERSIM_BLESS=1 cargo test --test openapi`
//! rewrites `live/openapi.json`; commit it.

mod common;

use common::openapi::{committed_path, generated, statuses, METHODS};
use common::served::Served;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const TIME: &str = "2026-01-02T00:00:00Z";

fn committed() -> String {
    std::fs::read_to_string(committed_path()).unwrap_or_else(|e| {
        panic!("{}: {e}; generate it with `OFFERSIM_BLESS=1 cargo test --test openapi`", committed_path().display())
    })
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let now = offersim_live::serve::openapi_json();
    if std::env::var_os("OFFERSIM_BLESS").is_some() {
        std::fs::write(committed_path(), now).expect("live/openapi.json is writable");
    }
    let was = committed();
    if was != now {
        let line = was
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(was.lines().count().min(now.lines().count()));
        panic!(
            "live/openapi.json is not the document the code generates (first difference at line {}); \
             regenerate it with `OFFERSIM_BLESS=1 cargo test --test openapi` and commit it",
            line + 1
        );
    }
}

/// Every `$ref` in `v`, with where it is.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push((at.to_string(), x.as_str().unwrap_or("(not a string)").to_string()));
                } else {
                    refs(x, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(xs) => xs.iter().enumerate().for_each(|(i, x)| refs(x, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// The operations of the document: (method, path template, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                ops.push((m.to_string(), path.clone(), op));
            }
        }
    }
    ops
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let text = offersim_live::serve::openapi_json();
    assert!(text.ends_with("}\n"), "the document ends with one newline");
    let spec = oas3::from_json(text).unwrap_or_else(|e| panic!("not an OpenAPI 3.1 document: {e}"));
    assert_eq!(spec.openapi, "3.1.0");
    assert_eq!(spec.info.title, "offersim offers-service contract");
    assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"), "info.version is the crate version");
    let doc = generated();
    // Every reference resolves within the document.
    let mut found = Vec::new();
    refs(&doc, "#", &mut found);
    assert!(found.len() > 20, "only {} references", found.len());
    for (at, r) in &found {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{at}: `{r}` points outside the document"));
        assert!(doc.pointer(pointer).is_some(), "{at}: `{r}` resolves to nothing");
    }
    let ops = operations(&doc);
    let ids: BTreeSet<&str> =
        ops.iter().map(|(_, _, op)| op["operationId"].as_str().expect("an operationId")).collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are unique (a generated client names its methods by them)");
    for (method, path, op) in &ops {
        let what = format!("{} {path}", method.to_uppercase());
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        // Each `{name}` of the path is a required path parameter, and nothing else is.
        let in_path: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        let declared: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path" && p["required"] == true)
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(in_path, declared, "{what}: path parameters");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no success answer");
        for (status, r) in responses {
            assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{what} {status}: no description");
            // A refusal says why, as `{"error": ...}`; a timeout has no body.
            if (status.starts_with('4') || status.starts_with('5')) && status != "408" {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{what} {status}: a refusal's body"
                );
            }
        }
        // A traffic request carries the simulated instant it belongs to.
        let timed =
            params.iter().any(|p| p["name"] == "X-Offersim-Time" && p["in"] == "header" && p["required"] == true);
        let traffic = op["tags"].as_array().is_some_and(|t| t.contains(&json!("traffic")));
        assert_eq!(timed, traffic && method != "get", "{what}: X-Offersim-Time");
    }
    // Money is a decimal string with two places, wherever it is.
    let money = &doc["components"]["schemas"]["Money"];
    assert_eq!((money["type"].as_str(), money["pattern"].as_str()), (Some("string"), Some(r"^[0-9]+\.[0-9]{2}$")));
    for field in ["reward", "fee", "reversed"] {
        assert_eq!(
            doc["components"]["schemas"]["CreditBody"]["properties"][field]["$ref"],
            "#/components/schemas/Money"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["MessageBody"]["properties"]["amount"]["$ref"],
        "#/components/schemas/Money"
    );
    assert_eq!(doc["components"]["schemas"]["Time"]["format"], "date-time");
    // The credits page takes `after` and `limit`, within the service's page bounds.
    let credits = &doc["paths"]["/v1/credits"]["get"]["parameters"];
    let limit = credits.as_array().and_then(|ps| ps.iter().find(|p| p["name"] == "limit")).expect("limit");
    assert_eq!(limit["schema"]["maximum"], json!(offersim_live::serve::MAX_PAGE));
    assert!(credits.as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == "after" && p["in"] == "query")));
}

/// What the driver writes in a network message's and a credit's money fields: two places.
#[test]
fn money_on_the_wire_has_the_documented_form() {
    use offersim_live::contract::{money, MONEY_PATTERN};
    use offersim_sim::Cents;
    assert_eq!(MONEY_PATTERN, r"^[0-9]+\.[0-9]{2}$", "the check below follows the pattern");
    let form = |s: &str| {
        s.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.len() == 2
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    };
    for c in [0, 5, 50, 1_250, 100_000, 123_456_789] {
        let s = money(Cents(c)).to_string();
        assert!(form(&s), "{c} cents is `{s}` on the wire");
    }
}

/// Every offer the driver registers (shipped scenarios, and one with every rule) fits the
/// document's `OfferTerms`: no key the document does not name, no value of another type.
#[test]
fn every_offer_the_driver_registers_fits_the_documented_terms() {
    use offersim_live::program::{offer_terms, OfferTerms};
    let mut every = std::fs::read_to_string(common::scenario("cafe.toml")).expect("cafe.toml");
    let rules = "[offers.every_rule]\nmerchant = \"cafe_lumiere\"\nreward = { percent = 12.5, cap = 4.00 }\n\
        min_spend = 3.00\nmax_spend = 80.00\nstart = \"2013-11-12T06:30\"\nend = \"2013-11-16T22:00\"\n\
        days = [\"tue\", \"sat\"]\nhours = [7, 20]\nper_card_cap = 2\nper_user_cap = 3\n\
        transactions_per_enrollment = 2\nchannels = [\"app\"]\nschemes = [\"visa\", \"amex\"]\nmids = [\"cafe_lumiere#2\"]\n\
        new_customer_days = 30\nbudget = 99.99\nbudget_per_period = { amount = 20.00, days = 2 }\n\
        overspend = \"finish_last\"\npriority = 4\nstackable = true\nreturn_period_days = 3\npayout_delay_days = 2\n\
        platform_fee_percent = 7.5\n";
    every = every.replace("[thresholds]", &format!("{rules}\n[thresholds]"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("every_rule.toml");
    std::fs::write(&file, every).expect("written");
    let mut files = vec![file];
    for e in std::fs::read_dir(common::root().join("scenarios")).expect("scenarios/").flatten() {
        let p = e.path();
        let big = p.file_name().is_some_and(|n| n == "black_friday_xl.toml");
        if p.extension().is_some_and(|x| x == "toml") && !big {
            files.push(p);
        }
    }
    files.sort();
    let mut offers = 0;
    for f in &files {
        let s = offersim::load_file(f, &Default::default()).unwrap_or_else(|d| panic!("{f:?}: {d:?}"));
        for o in &s.world.offers {
            let terms = offer_terms(&s.world, o);
            if let Err(e) = serde_json::from_value::<OfferTerms>(terms.clone()) {
                panic!("{f:?} offer {}: {e}\n{terms:#}", o.id);
            }
            offers += 1;
        }
    }
    assert!(offers > 10, "only {offers} offers checked");
}

/// A path of the document with each `{name}` filled in.
fn concrete(template: &str) -> String {
    template.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/")
}

async fn send(c: &Client, url: &str, method: Method, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut req = c.request(method, format!("{url}{path}")).header("x-offersim-time", TIME);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// The router answers exactly the document's operations: each one is routed (not the router's
/// bare 404 or 405), and every other method on a documented path is 405. The router and the
/// document are built from one list (`.routes(routes!(handler))` in `live/src/serve/mod.rs`),
/// and nothing else adds a route.
#[tokio::test]
async fn every_route_serve_answers_is_in_the_openapi_document() {
    let doc = generated();
    let served = Served::start();
    let c = Client::new();
    // The router's own answer to a path it does not know: 404, no body.
    let (status, body) = send(&c, &served.url, Method::GET, "/v1/nothing/here", None).await;
    assert_eq!((status, body.as_str()), (404, ""), "the router's 404");
    let probes = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE"];
    let ops = operations(&doc);
    assert!(ops.len() >= 9, "only {} operations", ops.len());
    for path in doc["paths"].as_object().expect("paths").keys() {
        for m in probes {
            let documented = doc["paths"][path].get(m.to_ascii_lowercase()).is_some();
            let method = Method::from_bytes(m.as_bytes()).expect("a method");
            let (status, body) = send(&c, &served.url, method, &concrete(path), Some(&json!({}))).await;
            if documented {
                assert!(status != 405 && !(status == 404 && body.is_empty()), "{m} {path}: not routed ({status})");
                let listed = statuses(&doc, m, &concrete(path)).expect("documented");
                assert!(listed.contains(&status), "{m} {path} answered {status}, which the document does not list");
            } else {
                // (HEAD is not probed: HTTP answers it wherever GET is.)
                assert_eq!(status, 405, "{m} {path}: answered, but not in the document");
            }
        }
    }
    // Nothing adds a route but `.routes(routes!(...))`, one per documented operation.
    let dir = common::root().join("live/src/serve");
    let mut sources = String::new();
    for e in std::fs::read_dir(&dir).expect("live/src/serve").flatten() {
        sources.push_str(&std::fs::read_to_string(e.path()).expect("a source file"));
    }
    for bypass in [".route(", ".route_service(", ".nest(", ".nest_service(", ".merge(", ".fallback("] {
        assert!(
            !sources.contains(bypass),
            "live/src/serve adds a route with `{bypass}`, which the document cannot see"
        );
    }
    assert_eq!(sources.matches(".routes(routes!(").count(), ops.len(), "one `.routes(routes!(handler))` per operation");
}

#[tokio::test]
async fn offersim_serve_answers_the_committed_document_at_openapi_json() {
    let served = Served::start();
    let r = reqwest::get(format!("{}/openapi.json", served.url)).await.expect("an answer");
    assert_eq!(r.status().as_u16(), 200);
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(kind.as_deref(), Some("application/json"));
    let body = r.text().await.expect("a body");
    // The generated document, which the test above holds equal to live/openapi.json (compared
    // with it rather than with the file, so that blessing races no test).
    assert!(
        body == offersim_live::serve::openapi_json(),
        "GET /openapi.json is not the document ({} bytes)",
        body.len()
    );
}

/// A session against `offersim serve`, each request's status the expected one and one the
/// document lists for its route.
#[tokio::test]
async fn every_status_of_a_session_is_one_the_document_lists() {
    let doc = generated();
    let served = Served::start();
    let (c, url) = (Client::new(), served.url.clone());
    let merchant = json!({"name": "Cafe", "utc_offset": "+05:00", "mids": ["cafe#1"]});
    let offer = json!({"merchant": "cafe", "reward": {"fixed": "2.00"}, "min_spend": "5.00",
                       "start": "2026-01-01T00:00:00", "end": "2026-01-31T00:00:00"});
    let message = |card: &str, kind: &str| {
        json!({"idempotency_key": format!("t1.1:{kind}"), "kind": kind, "transaction": "t1.1", "card": card,
               "mid": "cafe#1", "amount": "6.75", "purchase_time": "2026-01-01T12:00:00Z",
               "network_time": "2026-01-01T12:00:00Z", "referenced": null, "channel": "in_store", "scheme": "visa"})
    };
    let huge = json!({"card": "y".repeat(100_000)});
    let steps: Vec<(Method, &str, Option<Value>, u16)> = vec![
        (Method::GET, "/v1/health", None, 200),
        (Method::GET, "/v1/credits", None, 200),
        (Method::PUT, "/v1/offers/o1", Some(offer.clone()), 422),
        (Method::PUT, "/v1/merchants/cafe", Some(json!({"name": "Cafe"})), 400),
        (Method::PUT, "/v1/merchants/cafe", Some(merchant.clone()), 204),
        (Method::PUT, "/v1/offers/o1", Some(offer.clone()), 204),
        (Method::POST, "/v1/users/u1/cards", Some(json!({"card": "4111 1111 1111 1111"})), 422),
        (Method::POST, "/v1/users/u1/cards", Some(huge), 413),
        (Method::POST, "/v1/users/u1/cards", Some(json!({"card": "card_a"})), 201),
        (Method::POST, "/v1/users/u1/cards", Some(json!({"card": "card_a"})), 200),
        (Method::POST, "/v1/users/u2/cards", Some(json!({"card": "card_a"})), 409),
        (Method::PUT, "/v1/merchants/cafe", Some(merchant), 204),
        (Method::PUT, "/v1/offers/o2", Some(offer), 409),
        (Method::POST, "/v1/enrollments", Some(json!({"token": "nope", "offer": "o1"})), 404),
        (Method::POST, "/v1/network/messages", Some(message("card_a", "clearing")), 200),
        (Method::POST, "/v1/network/messages", Some(message("card_a", "moon")), 400),
        (Method::GET, "/v1/credits?after=not-a-cursor", None, 400),
        (Method::GET, "/v1/credits?limit=1", None, 200),
        (Method::DELETE, "/v1/cards/nope", None, 404),
    ];
    for (method, path, body, want) in steps {
        let what = format!("{method} {path}");
        let (status, text) = send(&c, &url, method.clone(), path, body.as_ref()).await;
        assert_eq!(status, want, "{what}: {text}");
        let route = path.split('?').next().unwrap_or(path);
        let listed = statuses(&doc, method.as_str(), route).unwrap_or_else(|| panic!("{what}: not in the document"));
        assert!(listed.contains(&status), "{what} answered {status}; the document lists {listed:?}");
        if status >= 400 {
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {status} is not JSON ({e}): {text}"));
            assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {text}");
        }
    }
    // The token, the enrollment (and its repeat) and the deletion.
    let (_, text) = send(&c, &url, Method::POST, "/v1/users/u1/cards", Some(&json!({"card": "card_a"}))).await;
    let token =
        serde_json::from_str::<Value>(&text).expect("a token answer")["token"].as_str().expect("token").to_string();
    for (method, path, body, want) in [
        (Method::POST, "/v1/enrollments".to_string(), Some(json!({"token": token, "offer": "o1"})), 201),
        (Method::POST, "/v1/enrollments".to_string(), Some(json!({"token": token, "offer": "o1"})), 200),
        (Method::DELETE, format!("/v1/cards/{token}"), None, 204),
        (Method::POST, "/v1/enrollments".to_string(), Some(json!({"token": token, "offer": "o1"})), 409),
    ] {
        let (status, text) = send(&c, &url, method.clone(), &path, body.as_ref()).await;
        assert_eq!(status, want, "{method} {path}: {text}");
        let listed = statuses(&doc, method.as_str(), &path).expect("documented");
        assert!(listed.contains(&status), "{method} {path} answered {status}; the document lists {listed:?}");
    }
}
