//! Shards: which users each one runs, and its share of every budget (`ARCHITECTURE.md`,
//! "Shards").

use offersim::{load_str, Overrides};
use offersim_sim::core::money::Cents;

fn world(users: u32, shards: u32) -> offersim_sim::world::World {
    let text = format!(
        "[scenario]\nname = \"s\"\nseed = 1\nstart = \"2026-03-02\"\ndays = 3\n\n\
         [population]\nusers = {users}\nshards = {shards}\n\n\
         [segments.all]\nshare = 1.0\npurchases_per_day = 1.0\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.1\ncard_entry_completion = 0.5\n\n\
         [merchants.shop]\nname = \"Shop\"\ncategory = \"retail\"\nbasket = {{ median = 10.00, sigma = 0.5 }}\n\n\
         [offers.deal]\nmerchant = \"shop\"\nreward = {{ fixed = 0.25 }}\nbudget = 10.01\n\
         budget_per_period = {{ amount = 3.03, days = 1 }}\n\n\
         [network.schemes.visa]\nclearing_delay_hours = {{ min = 24, mode = 48, max = 72 }}\n"
    );
    load_str("s.toml", &text, &Overrides::default()).expect("valid scenario").world
}

#[test]
fn budgets_are_split_in_whole_cents_with_the_remainder_to_the_first_shards() {
    let w = world(50, 4);
    let shares: Vec<(Cents, Cents)> = (0..4)
        .map(|s| {
            let o = &w.shard_world(s).offers[0];
            (o.budget.unwrap(), o.period_budget.unwrap().amount)
        })
        .collect();
    // $10.01 = 1001 cents: 251 + 250 + 250 + 250; $3.03 = 303 cents: 76 + 76 + 76 + 75.
    assert_eq!(
        shares,
        [(Cents(251), Cents(76)), (Cents(250), Cents(76)), (Cents(250), Cents(76)), (Cents(250), Cents(75))]
    );
    // One shard sees the whole budget.
    let one = world(50, 1);
    assert_eq!(one.shard_world(0).offers[0].budget, Some(Cents(1001)));
}

#[test]
fn shards_cover_every_user_once_in_order_and_evenly() {
    let w = world(50, 7);
    let ranges: Vec<_> = (0..7).map(|s| w.shard_users(s)).collect();
    assert_eq!(ranges[0].start, 0);
    assert_eq!(ranges[6].end, 50);
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "consecutive, no gap or overlap");
    }
    let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
    assert!(sizes.iter().all(|&n| n == 7 || n == 8), "{sizes:?}");
}

#[test]
fn the_default_is_one_shard_per_quarter_million_users() {
    let text = |users: u32| {
        format!(
            "[scenario]\nname = \"s\"\nseed = 1\nstart = \"2026-03-02\"\ndays = 3\n\n[population]\nusers = {users}\n\n\
             [segments.all]\nshare = 1.0\npurchases_per_day = 1.0\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.1\ncard_entry_completion = 0.5\n\n\
             [merchants.shop]\nname = \"Shop\"\ncategory = \"retail\"\nbasket = {{ median = 10.00, sigma = 0.5 }}\n\n[network.schemes.visa]\nclearing_delay_hours = {{ min = 24, mode = 48, max = 72 }}\n"
        )
    };
    for (users, shards) in [(1, 1), (250_000, 1), (250_001, 2), (10_000_000, 40)] {
        let w = load_str("s.toml", &text(users), &Overrides::default()).unwrap().world;
        assert_eq!(w.shards, shards, "{users} users");
    }
}

/// Generation alone (`harness::generate_shard`, benches/generation.rs) produces the purchases a
/// run counts: those that happen, and those withdrawn with their offer, pulled forward or refused
/// as sold out; shard by shard, and a part of a shard is its first people's.
#[test]
fn generation_alone_makes_the_purchases_a_run_counts() {
    use offersim_sim::harness::events::NoProgress;
    use offersim_sim::harness::{generate_shard, Generated};
    use offersim_sim::people::sharing::cascades;
    use offersim_sim::RunOptions;
    let mut scenarios: Vec<(String, offersim::Scenario)> =
        ["cafe", "budget_exhaustion", "concert_buy_button", "refund_storm"]
            .iter()
            .map(|n| {
                let path = format!("scenarios/{n}.toml");
                (path.clone(), offersim::load_file(std::path::Path::new(&path), &Overrides::default()).expect("loads"))
            })
            .collect();
    let text = std::fs::read_to_string("scenarios/budget_exhaustion.toml").expect("reads");
    let sharded = text.replacen("[population]", "[population]\nshards = 3", 1);
    scenarios.push((
        "budget_exhaustion, 3 shards".into(),
        offersim::load_str("s.toml", &sharded, &Overrides::default()).expect("loads"),
    ));
    for (name, s) in &scenarios {
        let w = &s.world;
        let shares = cascades(w);
        let per_shard: Vec<Generated> = (0..w.shards).map(|k| generate_shard(w, k, None, &shares)).collect();
        let generated: u64 = per_shard.iter().map(|g| g.purchases).sum();
        let out = offersim_sim::run(w, &s.network, RunOptions::threads(2), &NoProgress, None).expect("runs");
        let dropped: u64 = out.offers.iter().map(|o| o.uplift_purchases_withdrawn + o.pulled_forward).sum::<u64>()
            + out.shops.iter().map(|k| k.refused_sold_out).sum::<u64>();
        assert!(generated > 0, "{name}");
        assert_eq!(generated, out.funnel.purchases + dropped, "{name}: generated purchases against the report's");
        assert_eq!(per_shard.iter().map(|g| g.people).sum::<u64>(), w.users, "{name}");
        // The first people of shard 0 are a part of it, generated the same way.
        let part = generate_shard(w, 0, Some(100), &shares);
        assert_eq!(part.people, 100.min(per_shard[0].people), "{name}");
        assert!(part.purchases <= per_shard[0].purchases && part.events <= per_shard[0].events, "{name}");
    }
}
