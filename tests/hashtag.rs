//! Hashtag sync, hand-computed: a person whose issuer linked their card enrolls by posting the
//! offer's hashtag; with certain rates the funnel is a chain of equalities.

mod common;

use common::Memory;
use offersim::{load_str, Overrides};
use offersim_sim::harness::events::NoProgress;
use offersim_sim::RunOptions;
use serde_json::Value;

fn run(issuer_linked: f64, post_rate: f64) -> (Value, Vec<Value>) {
    let text = format!(
        "[scenario]\nname = \"tags\"\nseed = 5\nstart = \"2026-06-01\"\ndays = 3\nsettle_days = 5\n\n\
         [population]\nusers = 400\n\n\
         [segments.all]\nshare = 1.0\nhashtags = {{ hungry = 1.0 }}\npurchases_per_day = 1.0\nschemes = {{ visa = 1.0 }}\n\
         click_rate = 0.0\ncard_entry_completion = 1.0\nissuer_linked_share = {issuer_linked}\n\n\
         [merchants.snacks]\nname = \"Snacks\"\ncategory = \"c\"\nbasket = {{ median = 6.00, sigma = 0.3 }}\n\n\
         [offers.snack]\nmerchant = \"snacks\"\nreward = {{ fixed = 1.00 }}\nmin_spend = 4.00\nuplift = 0.5\n\
         targeting = {{ hashtags = [\"hungry\"], hours = [10, 13], impressions_per_day = 1.0 }}\n\
         hashtag_sync = {{ tag = \"SnackBreak\", post_rate = {post_rate} }}\n\n\
         [network.schemes.visa]\nclearing_delay_hours = {{ min = 1, mode = 2, max = 3 }}\n"
    );
    let s = load_str("tags.toml", &text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let mut log = Memory::default();
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, Some(&mut log)).unwrap();
    (serde_json::to_value(offersim_reports::build(&s.world, &out)).unwrap(), log.0)
}

fn funnel<'a>(r: &'a Value, surface: &str) -> &'a Value {
    r["attribution"]["funnels"].as_array().unwrap().iter().find(|f| f["surface"] == surface).unwrap()
}

#[test]
fn everyone_who_can_post_enrolls_by_posting_at_their_first_impression() {
    let (r, log) = run(1.0, 1.0);
    // Nobody clicks "Get offer"; everyone who saw the offer posted once and enrolled once.
    let viewers: std::collections::BTreeSet<u64> =
        log.iter().filter(|e| e["type"] == "exposure").map(|e| e["user"].as_u64().unwrap()).collect();
    let tags = funnel(&r, "hashtag");
    assert!(viewers.len() > 50);
    assert_eq!(tags["engagements"].as_u64(), Some(viewers.len() as u64));
    assert_eq!(tags["conversions"].as_u64(), Some(viewers.len() as u64));
    assert_eq!(r["funnel"]["enrollments"].as_u64(), Some(viewers.len() as u64));
    assert_eq!(r["funnel"]["cards_added"].as_u64(), Some(viewers.len() as u64), "one issuer link each");
    assert_eq!(r["funnel"]["clicks"], 0);
    assert_eq!(funnel(&r, "offer_card")["conversions"], 0);
    // Each post is the first event of its poster about the offer after the first impression.
    for e in log.iter().filter(|e| e["type"] == "hashtag_post") {
        assert_eq!(e["tag"], "SnackBreak");
    }
    // Their purchases at the merchant are the hashtag's or the offer card's (seen the same day), never organic
    // while the touch is fresh.
    let credited = r["attribution"]["surfaces"].as_array().unwrap().iter().find(|s| s["surface"] == "hashtag").unwrap();
    assert!(credited["purchases"].as_u64().unwrap() > 0, "{credited}");
}

#[test]
fn nobody_posts_without_an_issuer_linked_card() {
    let (r, _) = run(0.0, 1.0);
    assert_eq!(funnel(&r, "hashtag")["engagements"], 0);
    assert_eq!(r["funnel"]["enrollments"], 0);
}

#[test]
fn hashtag_sync_changes_nothing_for_people_who_do_not_post() {
    // Same seed, post rate 0: the exposures are exactly those of the run where everyone posts.
    let (_, a) = run(1.0, 1.0);
    let (_, b) = run(1.0, 0.0);
    let views = |log: &[Value]| {
        log.iter().filter(|e| e["type"] == "exposure").map(|e| (e["user"].clone(), e["t"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(views(&a), views(&b));
}

#[test]
fn a_hashtag_post_reaches_the_posters_followers() {
    let (r, log) = run(1.0, 1.0);
    let row = &r["attribution"]["sharing"][0];
    let posts = funnel(&r, "hashtag")["engagements"].as_u64().unwrap();
    assert_eq!(row["hashtag_posts"].as_u64(), Some(posts), "{row}");
    // Followers (a median of 150 per poster) see the post; without `sharing` they do not repost
    // it: one generation, here cut at the default reach of five views per person (400 people).
    let views = row["views_by_generation"].as_array().unwrap();
    assert_eq!(views.len(), 1, "{row}");
    assert_eq!(views[0].as_u64(), Some(2_000), "{row}");
    assert_eq!(row["capped"], true);
    assert!(row["people_reached"].as_u64().unwrap() <= 400);
    let share_views = log.iter().filter(|e| e["type"] == "share_seen").count() as u64;
    assert_eq!(share_views, views[0].as_u64().unwrap());
    assert!(!log.iter().any(|e| e["type"] == "shared"), "posters post, they do not reshare");
}

/// Runs a fixture (tests/fixtures/) and checks what a report must always say of its funnels:
/// the feed's, the shares' and the hashtag's enrollments add up to all of them, and the ledger
/// balances.
fn funnels_add_up(fixture: &str) -> Value {
    let path = common::root().join("tests").join("fixtures").join(fixture);
    let text = std::fs::read_to_string(&path).unwrap();
    let s = load_str(fixture, &text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}"));
    let out = offersim_sim::run(&s.world, &s.network, RunOptions::threads(1), &NoProgress, None).unwrap();
    assert!(out.ledger.is_balanced());
    let r = serde_json::to_value(offersim_reports::build(&s.world, &out)).unwrap();
    let enrolled = |surface: &str| funnel(&r, surface)["conversions"].as_u64().unwrap();
    let total = enrolled("offer_card") + enrolled("share") + enrolled("hashtag");
    assert_eq!(total, r["funnel"]["enrollments"].as_u64().unwrap(), "{fixture}: {}", r["attribution"]["funnels"]);
    r
}

#[test]
fn a_post_after_an_enrollment_from_a_shared_post_is_not_another_enrollment() {
    let r = funnels_add_up("hashtag_post_after_share_enrollment.toml");
    assert!(
        funnel(&r, "hashtag")["engagements"].as_u64().unwrap() > funnel(&r, "hashtag")["conversions"].as_u64().unwrap()
    );
}

#[test]
fn a_card_deleted_while_the_post_tap_completes_never_enrolls() {
    funnels_add_up("hashtag_card_deleted_during_tap.toml");
}
