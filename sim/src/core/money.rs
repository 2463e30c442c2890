//! Money. Amounts inside the engine are integer cents (`Cents`); configuration and reports use
//! `rust_decimal::Decimal`. Rewards and fees are rounded to cents **half-even** (banker's
//! rounding), the only rounding rule in offersim.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of money in integer minor units (cents). May be negative in ledgers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// Exact conversion; `None` when `d` has sub-cent digits or does not fit.
    pub fn from_decimal_exact(d: Decimal) -> Option<Cents> {
        let scaled = d.checked_mul(Decimal::ONE_HUNDRED)?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled).ok().map(Cents)
    }
    /// Rounds `d` to cents half-even.
    pub fn from_decimal_half_even(d: Decimal) -> Cents {
        let r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
        Cents::from_decimal_exact(r).unwrap_or(Cents(i64::MAX))
    }
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

/// Serialized as a decimal string with two places: `"12.50"`.
impl Serialize for Cents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl schemars::JsonSchema for Cents {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An amount of money: a decimal string with exactly two places (\"12.50\", \"-0.40\").",
            "type": "string",
            "pattern": "^-?[0-9]+\\.[0-9]{2}$"
        })
    }
}

/// Read back from the same string (a partial outcome, `offersim run --part`): exactly, or an
/// error for anything with sub-cent digits.
impl<'de> serde::Deserialize<'de> for Cents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let v: Decimal = s.parse().map_err(serde::de::Error::custom)?;
        Cents::from_decimal_exact(v).ok_or_else(|| serde::de::Error::custom(format!("{s} is not an amount in cents")))
    }
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}", self.to_decimal())
    }
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, o: Cents) -> Cents {
        Cents(self.0 + o.0)
    }
}
impl Sub for Cents {
    type Output = Cents;
    fn sub(self, o: Cents) -> Cents {
        Cents(self.0 - o.0)
    }
}
impl AddAssign for Cents {
    fn add_assign(&mut self, o: Cents) {
        self.0 += o.0;
    }
}
impl SubAssign for Cents {
    fn sub_assign(&mut self, o: Cents) {
        self.0 -= o.0;
    }
}
impl Neg for Cents {
    type Output = Cents;
    fn neg(self) -> Cents {
        Cents(-self.0)
    }
}
impl std::iter::Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, |a, b| a + b)
    }
}

/// `amount × percent / 100`, rounded to cents half-even.
pub fn percent_of(amount: Cents, percent: Decimal) -> Cents {
    Cents::from_decimal_half_even(amount.to_decimal() * percent / Decimal::ONE_HUNDRED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn half_even_rounds_ties_to_the_even_cent() {
        assert_eq!(Cents::from_decimal_half_even(d("0.125")), Cents(12));
        assert_eq!(Cents::from_decimal_half_even(d("0.135")), Cents(14));
        assert_eq!(Cents::from_decimal_half_even(d("0.1251")), Cents(13));
        assert_eq!(Cents::from_decimal_half_even(d("-0.125")), Cents(-12));
    }

    #[test]
    fn percent_of_rounds_half_even() {
        // 5% of 12.50 = 0.625 -> 0.62 (tie, 2 is even)
        assert_eq!(percent_of(Cents(1250), d("5")), Cents(62));
        // 5% of 12.70 = 0.635 -> 0.64 (tie, 4 is even)
        assert_eq!(percent_of(Cents(1270), d("5")), Cents(64));
        // 10% of 7.99 = 0.799 -> 0.80
        assert_eq!(percent_of(Cents(799), d("10")), Cents(80));
    }

    #[test]
    fn exact_conversion_refuses_sub_cent_amounts() {
        assert_eq!(Cents::from_decimal_exact(d("2.50")), Some(Cents(250)));
        assert_eq!(Cents::from_decimal_exact(d("2.505")), None);
    }

    #[test]
    fn cents_serialize_as_two_place_strings() {
        assert_eq!(serde_json::to_string(&Cents(-5)).unwrap(), "\"-0.05\"");
        assert_eq!(Cents(123456).to_string(), "1234.56");
    }
}
