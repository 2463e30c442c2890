//! Thresholds per endpoint (`p99_latency{endpoint=enrollments} < 20ms`, k6's tag syntax) and
//! `--abort-on-fail`, against a service (wiremock) that is slow on enrollments only.

mod common;

use common::{offersim, schema_errors};
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
            "p90_latency{endpoint=cards} < 40ms",
            "--threshold",
            "p90_latency{endpoint=network_messages} < 40ms",
            "--threshold",
            "errors{endpoint=enrollments} == 0",
            "--threshold",
            "p50_latency < 40ms",
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
    // The other endpoints are fast (40 ms leaves room for a loaded machine; a p90: one person's requests share a lane, so the second
    // card of someone whose enrollment is slow waits for it, and latency counts from the
    // scheduled time: a few of the 106 cards are late).
    for fast in
        ["p90_latency{endpoint=cards} < 40ms", "p90_latency{endpoint=network_messages} < 40ms", "p50_latency < 40ms"]
    {
        let t = threshold(&r, fast);
        assert_eq!(t["passed"], true, "{t}");
        assert!(t["actual"].as_f64().unwrap() < 40.0, "{t}");
    }
    assert_eq!(threshold(&r, "errors{endpoint=enrollments} == 0")["passed"], true);
    // Shown as written in drive.md, on stderr and in JUnit.
    let md = std::fs::read_to_string(dir.path().join("drive.md")).unwrap();
    assert!(md.contains("- FAIL: `p99_latency{endpoint=enrollments} < 20ms`"), "{md}");
    assert!(md.contains("- pass: `p90_latency{endpoint=cards} < 40ms`"), "{md}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_fail_stops_early_writes_the_report_and_exits_3() {
    // At 200/s the café's 1,000 requests take 5 s; enrollments take 300 ms. Of 106 planned,
    // two answered that slowly already make their p99 < 20ms impossible.
    let server = slow_enrollments(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let condition = "p99_latency{endpoint=enrollments} < 20ms";
    let (o, r) = drive(
        &server.uri(),
        dir.path(),
        "200/s",
        &[
            "--threshold",
            "p99_latency{endpoint=cards} < 10s",
            "--threshold",
            condition,
            "--abort-on-fail",
            "--junit",
            junit.to_str().unwrap(),
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let r = r.expect("drive.json written");
    assert_eq!(schema_errors("drive", &r), Vec::<String>::new(), "an aborted drive's drive.json validates too");
    let a = &r["aborted"];
    assert_eq!(a["condition"], condition, "{a}");
    assert!(a["actual"].as_f64().unwrap() >= 300.0, "{a}");
    assert!(a["at_s"].as_f64().unwrap() < 2.5, "{a}");
    assert!(err.contains(&format!("aborted at t={} s: {condition} can no longer pass", a["at_s"])), "{err}");
    // Nothing more was sent; what was sent is measured.
    let t = &r["traffic"];
    assert!(t["sent"].as_u64().unwrap() < t["planned"].as_u64().unwrap() / 2, "{t}");
    assert_eq!(t["complete"], false);
    let received = server.received_requests().await.unwrap();
    let traffic = received.iter().filter(|q| q.method.as_str() != "PUT").count() as u64;
    assert_eq!(traffic, t["sent"].as_u64().unwrap(), "sent as counted");
    // An enrollment whose card was never linked because the drive stopped is dropped, not
    // skipped (a skip is a failure of the service's making).
    assert_eq!(r["all"]["skipped"], 0);
    assert!(r["all"]["dropped"].as_u64().unwrap() > 0);
    // A partial drive is not judged: no credits read, no verdict either way.
    assert!(!received.iter().any(|q| q.url.path() == "/v1/credits"), "no credits read");
    assert_eq!(r["correctness_judged"], false);
    let d = threshold(&r, "discrepancies == 0");
    assert!(d["not_judged"].as_str().unwrap().contains("aborted"), "{d}");
    assert_eq!(threshold(&r, "p99_latency{endpoint=cards} < 10s")["passed"], true);
    assert_eq!(threshold(&r, condition)["passed"], false);
    // Every report is written, and says so.
    let md = std::fs::read_to_string(dir.path().join("drive.md")).unwrap();
    assert!(md.contains(&format!("**Aborted** at t={} s: `{condition}` was ", a["at_s"])), "{md}");
    assert!(md.contains("**Correctness not judged**"), "{md}");
    assert!(!md.contains("**WRONG**") && !md.contains("**Correct**"), "{md}");
    assert!(md.contains("- not judged: `discrepancies == 0`"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("drive.html")).unwrap();
    assert!(html.contains("Aborted at t="), "drive.html says so");
    let csv = std::fs::read_to_string(dir.path().join("timeline.csv")).unwrap();
    assert_eq!(csv.lines().count(), r["timeline"].as_array().unwrap().len() + 1);
    assert!(err.contains("threshold not judged: discrepancies == 0"), "{err}");
    assert!(!err.contains("threshold failed: discrepancies"), "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("the drive was aborted at t="), "{xml}");
    assert!(xml.contains("message=\"not judged: the drive was aborted"), "{xml}");
}

#[test]
fn abort_on_fail_never_stops_a_drive_that_passes() {
    let served = common::served::Served::start();
    let dir = tempfile::tempdir().unwrap();
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        &served.url,
        "--rate",
        "2000/s",
        "--threshold",
        "p99_latency < 5s",
        "--threshold",
        "errors{endpoint=network_messages} == 0",
        "--abort-on-fail",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("drive.json")).unwrap()).unwrap();
    assert!(r["aborted"].is_null());
    assert_eq!(r["correctness_judged"], true);
    assert_eq!(r["traffic"]["complete"], true);
    assert_eq!(r["correctness"]["missed"], 0);
}

#[test]
fn abort_on_fail_is_for_one_driver_not_parts() {
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        "http://127.0.0.1:9",
        "--part",
        "1/2",
        "--abort-on-fail",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--abort-on-fail"));
}
