//! Surfaces and attribution: which surface of the platform led to each purchase.
//!
//! A **touch** is a person meeting a merchant on a surface: seeing one of its offer cards, its
//! shop carousel or a buy button of its products (`shops.rs`), or tapping one. Each purchase looks back over its buyer's
//! touches **with the same merchant** within the attribution window (`[attribution]
//! window_days`, default 7) and records the first and the last of them; a purchase with none is
//! **organic** (baseline demand nobody prompted). The report credits each purchase — its spend,
//! and the rewards and fees it earned — to one surface by the scenario's rule: the last touch
//! (default) or the first. Attribution is computed per person from their own timeline, so it is
//! exact in any number of shards and threads.

use serde::Serialize;

/// Where a purchase came from. `Organic`: no touch with the merchant within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    #[default]
    Organic = 0,
    /// An offer card in a post (exposure → "Get offer" → card-linked enrollment).
    OfferCard = 1,
    /// A product sold inside a post, paid in one click (`shops.rs`).
    BuyButton = 2,
    /// Product photos on a merchant's profile, a tap away from its site (`shops.rs`).
    Carousel = 3,
    /// The person posted an offer's hashtag, which enrolled their issuer-linked card.
    Hashtag = 4,
    /// Someone the person follows shared the offer's post (`sharing.rs`).
    Share = 5,
}

impl Surface {
    pub const ALL: [Surface; 6] =
        [Surface::Organic, Surface::OfferCard, Surface::Share, Surface::Hashtag, Surface::BuyButton, Surface::Carousel];
    pub const COUNT: usize = Surface::ALL.len();

    pub fn name(self) -> &'static str {
        match self {
            Surface::Organic => "organic",
            Surface::OfferCard => "offer_card",
            Surface::BuyButton => "buy_button",
            Surface::Carousel => "carousel",
            Surface::Hashtag => "hashtag",
            Surface::Share => "share",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which touch a purchase is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    #[default]
    LastTouch,
    FirstTouch,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::LastTouch => "last_touch",
            Rule::FirstTouch => "first_touch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    pub rule: Rule,
    /// Seconds a touch counts for after it happened.
    pub window_secs: u64,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution { rule: Rule::LastTouch, window_secs: 7 * 86_400 }
    }
}

/// The surfaces that led to a purchase: the first and last touch within the window, and the
/// chain of every surface touched, in the order first touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
pub struct Touch {
    pub first: Surface,
    pub last: Surface,
    pub chain: Chain,
}

/// Distinct surfaces in the order first touched, three bits each (at most five: every surface
/// but organic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain(u16);

impl Chain {
    pub(crate) fn push(&mut self, s: Surface) {
        if self.iter().any(|x| x == s) {
            return;
        }
        let n = self.iter().count();
        self.0 |= (s as u16) << (3 * n);
    }
    pub fn iter(self) -> impl Iterator<Item = Surface> {
        (0..5)
            .map(move |k| (self.0 >> (3 * k)) & 7)
            .take_while(|v| *v != 0)
            .filter_map(|v| Surface::ALL.iter().copied().find(|s| s.index() == v as usize))
    }
}

impl Serialize for Chain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Surface::name))
    }
}

impl schemars::JsonSchema for Chain {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SurfaceChain".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The surfaces a person touched, in order (at most five).",
            "type": "array",
            "items": g.subschema_for::<Surface>(),
            "maxItems": 5
        })
    }
}

impl Touch {
    pub const ORGANIC: Touch = Touch { first: Surface::Organic, last: Surface::Organic, chain: Chain(0) };
    /// Every touch on one surface (a purchase made on the surface itself).
    pub fn on(s: Surface) -> Touch {
        let mut chain = Chain::default();
        chain.push(s);
        Touch { first: s, last: s, chain }
    }
    pub fn credited(self, rule: Rule) -> Surface {
        match rule {
            Rule::LastTouch => self.last,
            Rule::FirstTouch => self.first,
        }
    }
}
