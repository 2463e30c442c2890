//! The limits of a scenario: exceeding one is bad input, reported at its place in the file.

pub const MAX_USERS: u64 = 50_000_000;
/// Users per shard when the scenario does not set `[population] shards`.
pub const USERS_PER_SHARD: u64 = 250_000;
pub const MAX_SHARDS: u32 = 4_096;
pub const MAX_DAYS: u32 = 366;
pub const MAX_SETTLE_DAYS: u32 = 365;
/// Every merchant has 24 hourly weights in the stable pick tables.
pub const MAX_MERCHANTS: usize = 10_000;
pub const MAX_OFFERS: usize = 100_000;
pub const MAX_MIDS_PER_MERCHANT: u32 = 64;
pub const MAX_CARDS_PER_USER: usize = 8;
/// Segments in a scenario: the targeting index holds, per segment, the offers shown to it and a
/// list per hashtag (`targeting_index`).
pub const MAX_SEGMENTS: usize = 256;
/// Distinct hashtags in a scenario (segments', offers' and shop surfaces' together): a person's
/// profile draws one chance per hashtag of their segment, and the targeting index holds a list
/// per (segment, hashtag).
pub const MAX_HASHTAGS: usize = 1_024;
pub const MAX_PURCHASES_PER_DAY: f64 = 100.0;
pub const MAX_IMPRESSIONS_PER_DAY: f64 = 100.0;
pub const MAX_MONEY: i64 = 100_000_000_000; // one billion, in cents
/// Longest return period, and longest payout delay, in days.
pub const MAX_HOLD_DAYS: u32 = 365;
/// Longest look-back of a new-customer offer, in days.
pub const MAX_NEW_CUSTOMER_DAYS: u32 = 3_650;
/// Offer priorities lie in [-MAX_PRIORITY, MAX_PRIORITY].
pub const MAX_PRIORITY: i32 = 1_000;
/// Largest purchase-rate factor of one surge, or of overlapping surges combined.
pub const MAX_SURGE_FACTOR: f64 = 100.0;
/// Scenario start years: four-digit years only.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 9999;
pub(crate) const SHARE_TOLERANCE: f64 = 1e-6;

/// Longest burst of exposures (a moment), in minutes.
pub const MAX_BURST_MINUTES: u32 = 24 * 60;

/// Median followers per person, at most.
pub const MAX_FOLLOWERS_MEDIAN: f64 = 100_000.0;
/// Views of shared posts per offer, at most (16 bytes each, held for the run).
pub const MAX_SHARE_REACH: u64 = 20_000_000;

/// Longest attribution window, in days.
pub const MAX_ATTRIBUTION_DAYS: u32 = 365;
