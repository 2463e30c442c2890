//! Shop surfaces, hand-computed: with certain rates each funnel is a chain of equalities, the
//! inventory caps the sales exactly, and bad settings are refused with their place in the file.

mod common;

use common::Memory;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;
use serde_json::Value;

fn scenario(extra: &str, completion: f64) -> String {
    format!(
        "[scenario]\nname = \"shops\"\nseed = 11\nstart = \"2026-06-01\"\ndays = 3\nsettle_days = 5\n\n\
         [population]\nusers = 300\n\n\
         [segments.all]\nshare = 1.0\npurchases_per_day = 0.2\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.0\ncard_entry_completion = {completion}\n\n\
         [merchants.shop]\nname = \"Shop\"\ncategory = \"c\"\nmids = 2\nchannels = {{ in_store = 0.5, app = 0.25, online = 0.25 }}\nbasket = {{ median = 20.00, sigma = 0.3 }}\n\n\
         [merchants.store_only]\nname = \"Store\"\ncategory = \"c\"\nbasket = {{ median = 20.00, sigma = 0.3 }}\n\n\
         {extra}\n[network.schemes.visa]\nclearing_delay_hours = {{ min = 1, mode = 2, max = 3 }}\n"
    )
}

fn run(text: &str) -> (Value, Vec<Value>) {
    let s = load_str("shops.toml", text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, Some(&mut log)).unwrap();
    let report = serde_json::to_value(offersim_reports::build(&s.world, &out)).unwrap();
    (report, log.0)
}

#[test]
fn a_carousel_where_everyone_taps_visits_and_buys_sells_once_per_impression() {
    let (r, log) = run(&scenario(
        "[carousels.c]\nmerchant = \"shop\"\ntap_rate = 1.0\nvisit_rate = 1.0\nconversion = 1.0\ntargeting = { impressions_per_day = 1.0 }\n",
        0.5,
    ));
    let c = &r["attribution"]["shops"][0];
    let n = c["impressions"].as_u64().unwrap();
    assert!(n > 100, "{c}");
    assert_eq!((c["taps"].as_u64(), c["visits"].as_u64(), c["orders"].as_u64()), (Some(n), Some(n), Some(n)));
    // Each order is an online purchase at the shop whose last touch is the carousel; the shop's
    // other purchases within the window of a view are the carousel's too (view-through).
    let credited: Vec<&Value> =
        log.iter().filter(|e| e["type"] == "purchase" && e["touch"]["last"] == "carousel").collect();
    let online = credited.iter().filter(|e| e["channel"] == "online").count() as u64;
    assert!(online >= n, "{online} online carousel purchases for {n} orders");
    let spend: i64 = credited.iter().map(|e| common::cents(&e["amount"])).sum();
    let carousel =
        r["attribution"]["surfaces"].as_array().unwrap().iter().find(|s| s["surface"] == "carousel").unwrap();
    assert_eq!(common::cents(&carousel["spend"]), spend);
}

#[test]
fn nobody_buys_when_nobody_reaches_the_site() {
    let (r, _) = run(&scenario(
        "[carousels.c]\nmerchant = \"shop\"\ntap_rate = 1.0\nvisit_rate = 0.0\nconversion = 1.0\ntargeting = { impressions_per_day = 1.0 }\n",
        0.5,
    ));
    let c = &r["attribution"]["shops"][0];
    assert_eq!(c["taps"], c["impressions"]);
    assert_eq!((c["visits"].as_u64(), c["orders"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn a_buy_button_sells_its_inventory_exactly_then_refuses_orders() {
    let (r, log) = run(&scenario(
        "[buy_buttons.b]\nmerchant = \"shop\"\nproduct = \"Ticket\"\nprice = 85.00\ninventory = 40\nconversion = 1.0\ntargeting = { impressions_per_day = 1.0 }\n",
        1.0,
    ));
    let b = &r["attribution"]["shops"][0];
    let n = b["impressions"].as_u64().unwrap();
    assert!(n > 40, "{b}");
    // Every impression is an order attempt (a card typed once, then one click): 40 served, the
    // rest refused.
    assert_eq!(b["taps"].as_u64(), Some(n));
    assert_eq!(b["card_entries_abandoned"], 0);
    assert_eq!(
        (b["orders"].as_u64(), b["units"].as_u64(), b["inventory_left"].as_u64()),
        (Some(40), Some(40), Some(0))
    );
    assert_eq!(b["refused_sold_out"].as_u64(), Some(n - 40));
    assert_eq!(common::cents(&b["spend"]), 40 * 8_500);
    // Sold out at the 40th order: the time of the last purchase at $85 in the app before the
    // first refusal.
    let first_refusal = log.iter().position(|e| e["type"] == "order_refused").unwrap();
    let last_sale = log[..first_refusal]
        .iter()
        .rev()
        .find(|e| e["type"] == "purchase" && e["amount"] == "85.00" && e["channel"] == "app")
        .unwrap();
    assert_eq!(b["sold_out_at"], last_sale["at"]);
    let paid: Vec<&Value> =
        log.iter().filter(|e| e["type"] == "purchase" && e["touch"]["last"] == "buy_button").collect();
    assert!(paid.len() >= 40);
}

#[test]
fn a_first_order_needs_a_card_and_nobody_finishes_typing_one() {
    let (r, _) = run(&scenario(
        "[buy_buttons.b]\nmerchant = \"shop\"\nproduct = \"Ticket\"\nprice = 85.00\nconversion = 1.0\ntargeting = { impressions_per_day = 1.0 }\n",
        0.0,
    ));
    let b = &r["attribution"]["shops"][0];
    assert_eq!(b["orders"], 0);
    assert_eq!(b["card_entries_abandoned"], b["impressions"]);
}

#[test]
fn shop_settings_that_cannot_work_are_refused_with_their_place() {
    for (extra, says) in [
        ("[carousels.c]\nmerchant = \"store_only\"\n", "does not sell online"),
        ("[buy_buttons.b]\nmerchant = \"store_only\"\nproduct = \"X\"\nprice = 5.00\n", "sells neither"),
        ("[buy_buttons.b]\nmerchant = \"shop\"\nproduct = \"X\"\nprice = 5.00\ninventory = 0\n", "at least 1 unit"),
        ("[buy_buttons.b]\nmerchant = \"shop\"\nproduct = \"X\"\nprice = 0.00\n", "price"),
        ("[carousels.c]\nmerchant = \"shopp\"\n", "did you mean"),
        ("[carousels.c]\nmerchant = \"shop\"\nconversion = 1.5\n", "conversion"),
        ("[attribution]\nrule = \"last_click\"\n", "first_touch"),
        ("[attribution]\nwindow_days = 0\n", "window_days"),
    ] {
        let err = match load_str("shops.toml", &scenario(extra, 0.5), &Overrides::default()) {
            Ok(_) => panic!("accepted: {extra}"),
            Err(d) => d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n"),
        };
        assert!(err.contains(says), "{extra}: {err}");
        assert!(err.contains("shops.toml:"), "located: {err}");
    }
}
