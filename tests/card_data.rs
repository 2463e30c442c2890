//! Cards are tokens: no report, event log or error message contains a run of 13–19 digits that
//! passes the Luhn check (what a card number would look like).

mod common;
use common::*;

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = (d - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Every window of 13–19 consecutive digits that passes Luhn.
fn card_like_runs(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for run in text.as_bytes().split(|b| !b.is_ascii_digit()).filter(|r| r.len() >= 13) {
        for len in 13..=19.min(run.len()) {
            for w in run.windows(len) {
                if luhn_valid(w) {
                    found.push(String::from_utf8_lossy(w).into_owned());
                }
            }
        }
    }
    found
}

#[test]
fn the_luhn_scanner_finds_a_test_card_number() {
    assert!(luhn_valid(b"4111111111111111"));
    assert!(!luhn_valid(b"4111111111111112"));
    assert_eq!(card_like_runs("paid with 4111111111111111 today"), ["4111111111111111"]);
    assert!(card_like_runs("amount 12345.67, t 604800").is_empty());
}

#[test]
fn no_output_contains_anything_like_a_card_number() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["cafe", "card_deletion", "budget_exhaustion", "duplicate_webhooks"] {
        let out = dir.path().join(name);
        let events = dir.path().join(format!("{name}.jsonl"));
        let (json, md) = run_to(&scenario(&format!("{name}.toml")), &out, &["--events", events.to_str().unwrap()]);
        let log = std::fs::read_to_string(&events).unwrap();
        assert!(log.contains("\"card\":\"tok_"), "{name}: cards appear as tokens");
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        for (what, text) in [("report.json", &json), ("report.md", &md), ("report.html", &html), ("events", &log)] {
            let runs = card_like_runs(text);
            assert!(runs.is_empty(), "{name} {what}: card-like digit runs {:?}", &runs[..runs.len().min(5)]);
        }
    }
    // A sweep's outputs (its variant files are scenario text, checked like any scenario).
    let sweep = dir.path().join("sweep");
    let o = min_spend_sweep(&sweep, "2");
    assert!(o.status.success());
    for f in ["sweep.md", "sweep.csv", "sweep.json", "sweep.html"] {
        let runs = card_like_runs(&std::fs::read_to_string(sweep.join(f)).unwrap());
        assert!(runs.is_empty(), "{f}: card-like digit runs {runs:?}");
    }
    // Error messages too: every broken file's diagnostics.
    let mut files = vec!["tests/fixtures/multiple_problems.toml".to_string()];
    for e in std::fs::read_dir(root().join("tests").join("bad")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            files.push(p.strip_prefix(root()).unwrap().to_str().unwrap().to_string());
        }
    }
    for f in &files {
        let o = offersim(&["check", f]);
        let runs = card_like_runs(&String::from_utf8_lossy(&o.stderr));
        assert!(runs.is_empty(), "{f}: card-like digit runs in the diagnostics {runs:?}");
    }
}
