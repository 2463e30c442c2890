//! `offersim drive` against `offersim serve`: the project's own service agrees with the
//! reference pipeline credit by credit; the wire round-trips every offer's terms; bad targets
//! and paces are refused.

mod common;

use common::served::Served;
use common::{offersim, root, scenario};
use serde_json::Value;
use std::path::Path;

fn drive(scenario: &Path, url: &str, out: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec![
        "drive",
        scenario.to_str().unwrap(),
        "--target",
        url,
        "--rate",
        "20000/s",
        "--connections",
        "16",
        "--max-seconds",
        "300",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = offersim(&args);
    let json = std::fs::read_to_string(out.join("drive.json"))
        .unwrap_or_else(|_| panic!("drive.json written; stderr: {}", String::from_utf8_lossy(&o.stderr)));
    (o, serde_json::from_str(&json).expect("drive.json parses"))
}

fn assert_agrees(o: &std::process::Output, r: &Value) {
    let c = &r["correctness"];
    assert!(
        o.status.success(),
        "exit {:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for k in ["missed", "false_credits", "double", "wrong_amount", "wrong_reversal", "unknown", "budget_overspent"] {
        assert_eq!(c[k], 0, "{k} in {c}");
    }
    assert!(r["traffic"]["complete"].as_bool().unwrap());
    assert_eq!(r["traffic"]["sent"], r["traffic"]["planned"]);
    assert_eq!(r["all"]["errors"], 0);
    let expected = c["expected_credits"].as_u64().unwrap();
    assert!(expected > 0);
    let explained = c["explained_by_arrival_order"].as_u64().unwrap();
    assert!(c["correct"].as_u64().unwrap() + explained >= expected, "{c}");
}

#[test]
fn the_reference_service_agrees_with_the_pipeline_on_the_cafe() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start();
    let (o, r) = drive(&scenario("cafe.toml"), &served.url, dir.path(), &[]);
    assert_agrees(&o, &r);
    // Every credit of the café, by hand in tests/cafe.rs: 75 of $2, the whole $150 budget — so
    // the last few may go to other purchases when clearings of a batch arrive in another order.
    let c = &r["correctness"];
    assert_eq!(c["expected_credits"], 75);
    assert_eq!(c["target_credits"], 75, "the service spends the whole budget, no more: {c}");
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("**Correct**: "), "{md}");
    assert!(md.contains("| network_messages |"), "{md}");
    // Every endpoint under load was exercised.
    for e in r["latency"].as_array().unwrap() {
        assert!(e["requests"].as_u64().unwrap() > 0, "{e}");
    }
}

#[test]
fn the_reference_service_agrees_on_a_small_black_friday_with_every_fault() {
    // Black Friday with 4,000 people: surges, five schemes' timings, refunds, budgets.
    let text = std::fs::read_to_string(scenario("black_friday.toml")).unwrap();
    assert!(text.contains("users = 100_000"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("black_friday_small.toml");
    std::fs::write(&file, text.replace("users = 100_000", "users = 4_000")).unwrap();
    let served = Served::start();
    let (o, r) = drive(&file, &served.url, &dir.path().join("out"), &[]);
    assert_agrees(&o, &r);
    assert!(r["correctness"]["expected_credits"].as_u64().unwrap() > 40, "{}", r["correctness"]);
    // And a network full of faults: duplicates, outage backlogs, refunds without reference.
    let served = Served::start();
    let (o, r) = drive(&scenario("duplicate_webhooks.toml"), &served.url, &dir.path().join("dup"), &[]);
    assert_agrees(&o, &r);
}

#[test]
fn one_users_traffic_replays_alone_against_a_fresh_service() {
    let dir = tempfile::tempdir().unwrap();
    // Find a user who earned a credit in the café: the events of a run name them.
    let events = dir.path().join("events.jsonl");
    let o = offersim(&[
        "run",
        "scenarios/cafe.toml",
        "--out",
        dir.path().to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&events).unwrap();
    let matched: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "match")
        .expect("a credit in the café");
    let purchase = matched["purchase"].as_str().unwrap();
    let user = purchase.split(['.', '-', ':', '/']).next().unwrap().trim_start_matches(|c: char| !c.is_ascii_digit());
    let served = Served::start();
    let (o, r) = drive(&scenario("cafe.toml"), &served.url, &dir.path().join("one"), &["--user", user]);
    assert_agrees(&o, &r);
    let c = &r["correctness"];
    assert!(c["expected_credits"].as_u64().unwrap() >= 1);
    assert!(r["traffic"]["planned"].as_u64().unwrap() < 100, "one person's requests only: {}", r["traffic"]);
    assert!(r["replay"].as_str().unwrap().contains(&format!("--user {user}")));
}

#[test]
fn traffic_goes_to_loopback_only_and_bad_paces_are_refused() {
    for (args, says) in [
        (vec!["--target", "http://10.0.0.1:80"], "loopback"),
        (vec!["--target", "http://example.com:80"], "loopback"),
        (vec!["--target", "https://127.0.0.1:443"], "http://127.0.0.1:PORT"),
        (vec!["--target", "http://127.0.0.1"], "port"),
        (vec!["--target", "http://127.0.0.1:9", "--rate", "fast"], "500/s"),
        (vec!["--target", "http://127.0.0.1:9", "--speed=-3x"], "positive"),
        (vec!["--target", "http://127.0.0.1:9", "--speed", "3600x", "--rate", "5/s"], "give one"),
        (vec!["--target", "http://127.0.0.1:9", "--threshold", "p99 < 3ms"], "p99_latency"),
        (vec!["--target", "http://127.0.0.1:9", "--user", "400"], "users 0 to 399"),
    ] {
        let mut a = vec!["drive", "scenarios/cafe.toml"];
        a.extend(args.iter());
        let o = offersim(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn an_unreachable_target_is_a_clear_failure() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        &url,
        "--retries",
        "1",
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("could not reach the target") && err.contains("is the service running"), "{err}");
    assert!(err.contains("Connection refused") || err.contains("connect"), "the cause is named: {err}");
    assert!(!err.contains("accepted the connection"), "{err}");
    assert!(!dir.path().join("drive.json").exists(), "no report for a drive that never ran");
    let _ = root();
}

#[test]
fn a_target_that_accepts_but_never_answers_is_told_apart_from_one_not_running() {
    // Listening (the kernel completes the connections) but never answering.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        &url,
        "--timeout-ms",
        "300",
        "--retries",
        "1",
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
    ]);
    drop(silent);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let says = format!(
        "the service at {url} accepted the connection but did not answer PUT /v1/merchants/cafe_lumiere within 0.3 s"
    );
    assert!(err.contains(&says), "{err}");
    assert!(!err.contains("is the service running"), "{err}");
    assert!(!dir.path().join("drive.json").exists(), "no report for a drive that never ran");
}

/// An offer's terms as a service learns them over the wire, rebuilt by the reference service:
/// every rule comes back the same (the window as the same instants in UTC).
#[test]
fn every_offer_term_round_trips_through_the_wire() {
    use offersim_live::program::{merchant_body, offer_terms, Registry};
    let mut extra =
        String::from("[offers.every_rule]\nmerchant = \"cafe_lumiere\"\nreward = { percent = 12.5, cap = 4.00 }\n");
    extra.push_str("min_spend = 3.00\nmax_spend = 80.00\nstart = \"2013-11-12T06:30\"\nend = \"2013-11-16T22:00\"\n");
    extra.push_str("days = [\"tue\", \"sat\"]\nhours = [7, 20]\nper_card_cap = 2\nper_user_cap = 3\n");
    extra.push_str("transactions_per_enrollment = 2\nchannels = [\"app\"]\nschemes = [\"visa\", \"amex\"]\nmids = [\"cafe_lumiere#2\"]\n");
    extra.push_str("new_customer_days = 30\nbudget = 99.99\nbudget_per_period = { amount = 20.00, days = 2 }\n");
    extra.push_str("overspend = \"finish_last\"\npriority = 4\nstackable = true\nreturn_period_days = 3\npayout_delay_days = 2\nplatform_fee_percent = 7.5\n");
    let text = std::fs::read_to_string(scenario("cafe.toml"))
        .unwrap()
        .replace("[thresholds]", &format!("{extra}\n[thresholds]"));
    let text =
        text.replace("start = \"2013-11-11\"          # a Monday", "start = \"2013-11-11\"\nutc_offset = \"-05:00\"");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("every_rule.toml");
    std::fs::write(&file, &text).unwrap();
    let mut files = vec![file, scenario("black_friday.toml"), scenario("refund_storm.toml")];
    files.push(scenario("budget_exhaustion.toml"));
    for f in files {
        let s = offersim::load_file(&f, &Default::default()).unwrap_or_else(|d| panic!("{f:?}: {d:?}"));
        let w = &s.world;
        let mut reg = Registry::default();
        for (i, m) in w.merchants.iter().enumerate() {
            reg.merchant(&m.id, merchant_body(w, i));
        }
        for o in &w.offers {
            reg.offer(&o.id, offer_terms(w, o));
        }
        let p = reg.build(10).unwrap_or_else(|e| panic!("{f:?}: {e:?}"));
        let origin = w.calendar.datetime(offersim_sim::SimTime::ZERO) - chrono::Duration::seconds(w.utc_offset_secs);
        let utc = |o: chrono::NaiveDateTime, t: offersim_sim::SimTime| o + chrono::Duration::seconds(t.0 as i64);
        assert_eq!(p.world.offers.len(), w.offers.len());
        for (a, b) in w.offers.iter().zip(&p.world.offers) {
            let ctx = format!("{f:?} offer {}", a.id);
            assert_eq!(a.id, b.id, "{ctx}: registration order is precedence order");
            assert_eq!((a.reward, a.min_spend, a.max_spend), (b.reward, b.min_spend, b.max_spend), "{ctx}");
            assert_eq!(
                (utc(origin, a.start), utc(origin, a.end)),
                (utc(p.origin, b.start), utc(p.origin, b.end)),
                "{ctx}"
            );
            assert_eq!(
                (a.days_mask, a.hours, a.local_offset_secs + w.utc_offset_secs),
                (b.days_mask, b.hours, b.local_offset_secs),
                "{ctx}"
            );
            assert_eq!(
                (a.per_card_cap, a.per_user_cap, a.per_enrollment_limit),
                (b.per_card_cap, b.per_user_cap, b.per_enrollment_limit),
                "{ctx}"
            );
            assert_eq!((a.budget, a.period_budget, a.overspend), (b.budget, b.period_budget, b.overspend), "{ctx}");
            assert_eq!(
                (a.priority, a.stackable, a.return_period_secs, a.payout_delay_secs),
                (b.priority, b.stackable, b.return_period_secs, b.payout_delay_secs),
                "{ctx}"
            );
            assert_eq!(
                (a.fee_percent, a.channel_mask, a.new_customer_window),
                (b.fee_percent, b.channel_mask, b.new_customer_window),
                "{ctx}"
            );
            let names = |w: &offersim_sim::World, mask: u32| -> Vec<String> {
                w.schemes.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| n.clone()).collect()
            };
            let (mut sa, mut sb) = (names(w, a.scheme_mask), names(&p.world, b.scheme_mask));
            sa.sort();
            sb.sort();
            if sa.len() < w.schemes.len() {
                assert_eq!(sa, sb, "{ctx}: schemes");
            } else {
                assert_eq!(
                    b.scheme_mask & ((1 << p.world.schemes.len()) - 1),
                    (1 << p.world.schemes.len()) - 1,
                    "{ctx}"
                );
            }
            let codes = |w: &offersim_sim::World, m: &[offersim_sim::world::MidId]| -> Vec<String> {
                m.iter().map(|x| w.mids[x.0 as usize].code.clone()).collect()
            };
            assert_eq!(codes(w, &a.mids), codes(&p.world, &b.mids), "{ctx}: mids");
        }
    }
}

/// Three drivers, each with a third of the people (`--part K/3`), at once against one service,
/// then `--collect`: the merged report covers every request, its latency histograms add up
/// exactly, and the oracle, run once over everything the service credited, finds it correct.
/// A missing part is named, with nothing read from the service or written.
#[test]
fn three_drivers_in_parts_collected_judge_the_service_like_one() {
    let text = std::fs::read_to_string(scenario("black_friday.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("black_friday_small.toml");
    std::fs::write(&file, text.replace("users = 100_000", "users = 4_000")).unwrap();
    let served = Served::start();
    let part_dir = |k: u32| dir.path().join(format!("part{k}"));
    let drivers: Vec<std::process::Child> = (1..=3)
        .map(|k| {
            std::process::Command::new(env!("CARGO_BIN_EXE_offersim"))
                .args(["drive", file.to_str().unwrap(), "--target", &served.url, "--rate", "20000/s"])
                .args(["--connections", "8", "--part", &format!("{k}/3"), "--quiet", "--out"])
                .arg(part_dir(k))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut d in drivers {
        assert!(d.wait().unwrap().success());
    }
    let parts: Vec<Value> = (1..=3)
        .map(|k| serde_json::from_str(&std::fs::read_to_string(part_dir(k).join("drive-part.json")).unwrap()).unwrap())
        .collect();
    let dirs: Vec<String> = (1..=3).map(|k| part_dir(k).display().to_string()).collect();
    let mut extra: Vec<&str> = vec!["--collect"];
    extra.extend(dirs.iter().map(String::as_str));
    let (o, r) = drive(&file, &served.url, &dir.path().join("merged"), &extra);
    assert_agrees(&o, &r);
    // Every planned request was played by exactly one part.
    let planned: u64 = parts.iter().map(|p| p["planned"].as_u64().unwrap()).sum();
    assert_eq!(r["traffic"]["planned"].as_u64().unwrap(), planned);
    assert!(parts.iter().all(|p| p["planned"].as_u64().unwrap() > 0));
    // The merged histograms hold every part's answers.
    let answered: u64 = parts
        .iter()
        .flat_map(|p| p["endpoints"].as_array().unwrap().iter())
        .flat_map(|e| e["latency_us"].as_array().unwrap().iter())
        .map(|pair| pair[1].as_u64().unwrap())
        .sum();
    assert_eq!(r["all"]["requests"].as_u64().unwrap(), answered);
    // Their timelines merge second by second: every answer in one second, percentiles from the
    // seconds' merged histograms.
    assert!(parts.iter().all(|p| !p["timeline"]["latency_us"].as_array().unwrap().is_empty()));
    let rows = r["timeline"].as_array().unwrap();
    let completed: u64 = rows.iter().map(|x| x["completed"].as_u64().unwrap()).sum();
    assert_eq!(completed, answered);
    assert!(rows.iter().any(|x| x["endpoints"][3]["p99_ms"].as_f64().is_some_and(|v| v > 0.0)));
    // A part missing: named, nothing read or written.
    let o = offersim(
        &["drive", file.to_str().unwrap(), "--target", &served.url, "--collect", &dirs[0], &dirs[2], "--out"]
            .iter()
            .copied()
            .chain([dir.path().join("two").to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("parts missing: 2/3"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("two").exists());
}

/// `--allow-remote` is what lets a target off this machine through: refused without it, with a
/// message naming it; parsed with it (here an https target on loopback port 1, where nothing
/// listens: the drive fails to connect, no traffic leaves the machine).
#[test]
fn a_remote_target_is_refused_naming_the_flag_and_allow_remote_takes_https() {
    let o = offersim(&["drive", "scenarios/cafe.toml", "--target", "https://offers.example.com"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--allow-remote"), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tempfile::tempdir().unwrap();
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        "https://127.0.0.1:1",
        "--allow-remote",
        "--retries",
        "0",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("could not reach the target at https://127.0.0.1:1"), "{err}");
}
