//! Conservation of purchases in every shipped scenario: the mock network ends each purchase in
//! exactly one clearing or one reversal (a purchase at a location that only clears cannot be
//! reversed), so `network.clearings + network.reversals = funnel.purchases` in every committed
//! baseline (which `offersim regress` holds to a fresh run of each scenario).

use std::path::{Path, PathBuf};

/// Every committed baseline report (at least ten), by path, in name order.
fn baselines() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/baselines");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("baselines").flatten().map(|e| e.path()).collect();
    names.sort();
    let reports: Vec<_> = names
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable baseline");
            let report = serde_json::from_str(&text).expect("json");
            (path, report)
        })
        .collect();
    assert!(reports.len() >= 10, "only {} baselines found in {}", reports.len(), dir.display());
    reports
}

/// A count of a baseline (`path`'s), or a panic naming it.
fn count(path: &Path, v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{}: not a count: {v}", path.display()))
}

#[test]
fn every_baseline_clears_or_reverses_each_purchase_exactly_once() {
    for (path, report) in baselines() {
        let n = |v: &serde_json::Value| count(&path, v);
        let (clearings, reversals) = (n(&report["network"]["clearings"]), n(&report["network"]["reversals"]));
        let purchases = n(&report["funnel"]["purchases"]);
        assert_eq!(clearings + reversals, purchases, "{}: purchases lost or doubled by the network", path.display());
    }
}

/// Cents from a report's money string ("1954198.78", "-3.50").
fn cents(v: &serde_json::Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a money string: {v}"));
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (whole, frac) = s.split_once('.').unwrap_or((s, "00"));
    let c = whole.parse::<i64>().expect("whole units") * 100 + format!("{frac:0<2}").parse::<i64>().expect("cents");
    if neg {
        -c
    } else {
        c
    }
}

/// Each purchase is counted once per merchant, by channel and by surface: in every committed
/// baseline a merchant's surfaces add up to its purchases and spend, its channels to its spend,
/// the merchants to the funnel's purchases, and each surface's merchants to the surface's row.
#[test]
fn every_baseline_counts_each_purchase_once_by_merchant_channel_and_surface() {
    for (path, report) in baselines() {
        let n = |v: &serde_json::Value| count(&path, v);
        let a = &report["attribution"];
        let merchants = a["merchants"].as_array().expect("merchants");
        let mut by_surface = std::collections::BTreeMap::<String, (u64, i64)>::new();
        let mut purchases = 0;
        for m in merchants {
            let (p, spend) = (n(&m["purchases"]), cents(&m["spend"]));
            let ch = &m["spend_by_channel"];
            let channels = cents(&ch["in_store"]) + cents(&ch["online"]) + cents(&ch["app"]);
            assert_eq!(channels, spend, "{}: {} channels against spend", path.display(), m["id"]);
            let surfaces = m["surfaces"].as_array().expect("surfaces");
            let sp: u64 = surfaces.iter().map(|s| n(&s["purchases"])).sum();
            let ss: i64 = surfaces.iter().map(|s| cents(&s["spend"])).sum();
            assert_eq!((sp, ss), (p, spend), "{}: {} surfaces against its total", path.display(), m["id"]);
            for s in surfaces {
                let e = by_surface.entry(s["surface"].as_str().expect("name").to_string()).or_default();
                e.0 += n(&s["purchases"]);
                e.1 += cents(&s["spend"]);
            }
            purchases += p;
        }
        assert_eq!(purchases, n(&report["funnel"]["purchases"]), "{}: merchants against the funnel", path.display());
        for s in a["surfaces"].as_array().expect("surfaces") {
            let name = s["surface"].as_str().expect("name");
            let got = by_surface.get(name).copied().unwrap_or_default();
            assert_eq!(got, (n(&s["purchases"]), cents(&s["spend"])), "{}: surface {name}", path.display());
        }
    }
}
