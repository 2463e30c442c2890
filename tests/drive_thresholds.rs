//! Thresholds per endpoint (`p99_latency{endpoint=enrollments} < 20ms`, k6's tag syntax) and
//! `--abort-on-fail`, against a service (wiremock) that is slow on enrollments only.

mod common;

use common::offersim;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A service that takes everything, grants no credit, and answers enrollments after `slow`.
async fn slow_enrollments(slow: Duration) -> MockServer {
    let server = MockServer::start().await;
    let ok = |status: u16| ResponseTemplate::new(status);
    Mock::given(method("PUT")).respond_with(ok(204)).mount(&server).await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/users/[^/]+/cards$"))
        .respond_with(ok(201).set_body_json(json!({ "token": "tk_1" })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE")).respond_with(ok(204)).mount(&server).await;
    Mock::given(method("POST")).and(path("/v1/enrollments")).respond_with(ok(201).set_delay(slow)).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/network/messages"))
        .respond_with(ok(200).set_body_json(json!({ "duplicate": false })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/credits"))
        .respond_with(ok(200).set_body_json(json!({ "credits": [], "next": null })))
        .mount(&server)
        .await;
    server
}

/// The café against `url` (a lane per person: a slow enrollment holds up no one else's
/// requests), with `extra` arguments; off the async runtime, as it blocks until the drive ends.
async fn drive(url: &str, out: &Path, rate: &str, extra: &[&str]) -> (std::process::Output, Option<Value>) {
    let mut args: Vec<String> = ["drive", "scenarios/cafe.toml", "--target", url, "--rate", rate, "--connections"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["128", "--quiet", "--out", out.to_str().unwrap()].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = tokio::task::spawn_blocking(move || offersim(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("the drive runs");
    let json = std::fs::read_to_string(out.join("drive.json")).ok().map(|j| serde_json::from_str(&j).unwrap());
    (o, json)
}

fn threshold<'a>(r: &'a Value, condition: &str) -> &'a Value {
    r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["condition"] == condition)
        .unwrap_or_else(|| panic!("`{condition}` in {}", r["thresholds"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_enrollments_endpoint_fails_only_its_own_threshold() {
    let server = slow_enrollments(Duration::from_millis(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (o, r) = drive(
        &server.uri(),
        dir.path(),
        "1000/s",
        &[
            // The mock grants no credit: the oracle's verdict is not what this test is about.
            "--threshold",
            "discrepancies >= 0",
            "--threshold",
            "p99_latency{endpoint=enrollments} < 20ms",
            "--threshold",
            "p90_latency{endpoint=cards} < 20ms",
            "--threshold",
            "p90_latency{endpoint=network_messages} < 20ms",
            "--threshold",
            "errors{endpoint=enrollments} == 0",
            "--threshold",
            "p50_latency < 20ms",
            "--junit",
            junit.to_str().unwrap(),
        ],
    )
    .await;
    let r = r.expect("drive.json written");
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let slow = threshold(&r, "p99_latency{endpoint=enrollments} < 20ms");
    assert_eq!(slow["passed"], false, "{slow}");
    assert!(slow["actual"].as_f64().unwrap() >= 60.0, "the enrollments' own p99: {slow}");
    // The other endpoints are fast (a p90: one person's requests share a lane, so the second
    // card of someone whose enrollment is slow waits for it, and latency counts from the
    // scheduled time: a few of the 106 cards are late).
    for fast in
        ["p90_latency{endpoint=cards} < 20ms", "p90_latency{endpoint=network_messages} < 20ms", "p50_latency < 20ms"]
    {
        let t = threshold(&r, fast);
        assert_eq!(t["passed"], true, "{t}");
        assert!(t["actual"].as_f64().unwrap() < 20.0, "{t}");
    }
    assert_eq!(threshold(&r, "errors{endpoint=enrollments} == 0")["passed"], true);
    // Shown as written in drive.md, on stderr and in JUnit.
    let md = std::fs::read_to_string(dir.path().join("drive.md")).unwrap();
    assert!(md.contains("- FAIL: `p99_latency{endpoint=enrollments} < 20ms`"), "{md}");
    assert!(md.contains("- pass: `p90_latency{endpoint=cards} < 20ms`"), "{md}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("threshold failed: p99_latency{endpoint=enrollments} < 20ms"), "{err}");
    assert!(!err.contains("threshold failed: p90_latency{endpoint=cards}"), "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(
        xml.contains(
            "<testcase name=\"p99_latency{endpoint=enrollments} &lt; 20ms\" classname=\"cafe\">\n      <failure"
        ),
        "{xml}"
    );
}

#[test]
fn an_unknown_endpoint_or_tag_is_invalid_input_naming_the_known_ones() {
    for (condition, says) in [
        ("p99_latency{endpoint=payments} < 20ms", "known: cards, card_deletions, enrollments, network_messages"),
        ("p99_latency{status=500} < 20ms", "the one tag is `endpoint`"),
        ("discrepancies{endpoint=cards} == 0", "not per endpoint"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = offersim(&[
            "drive",
            "scenarios/cafe.toml",
            "--target",
            "http://127.0.0.1:9",
            "--threshold",
            condition,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{condition}: {err}");
        assert!(err.contains(says), "{condition}: {err}");
        assert!(!out.exists(), "nothing written");
    }
}
