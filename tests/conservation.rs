//! Conservation of purchases in every shipped scenario: the mock network ends each purchase in
//! exactly one clearing or one reversal (a purchase at a location that only clears cannot be
//! reversed), so `network.clearings + network.reversals = funnel.purchases` in every committed
//! baseline (which `offersim regress` holds to a fresh run of each scenario).

use std::path::Path;

#[test]
fn every_baseline_clears_or_reverses_each_purchase_exactly_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/baselines");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("baselines").flatten().map(|e| e.path()).collect();
    names.sort();
    let mut checked = 0;
    for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("readable baseline")).expect("json");
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("{}: not a count: {v}", path.display()));
        let (clearings, reversals) = (n(&report["network"]["clearings"]), n(&report["network"]["reversals"]));
        let purchases = n(&report["funnel"]["purchases"]);
        assert_eq!(clearings + reversals, purchases, "{}: purchases lost or doubled by the network", path.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} baselines found in {}", dir.display());
}
