//! Money as integer micro-units of the currency, never floating point.

use std::fmt;
use std::ops::{Add, Sub};

/// The currency every price in the catalog is expressed in.
pub const CURRENCY: &str = "USD";

const MICROS_PER_UNIT: i64 = 1_000_000;
const SECONDS_PER_HOUR: i128 = 3_600;

/// An amount in micro-units (1 USD = 1,000,000 micros).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// An amount of micro-units.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// The amount in micro-units.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The cost of `seconds` of uptime at `hourly` per hour, rounded down to a whole micro-unit.
    ///
    /// Billing never rounds a record on its own: it prices a server's cumulative seconds and
    /// charges each record the difference (see [`crate::billing`]), so a total is always
    /// `floor(total_seconds × hourly / 3600)` however many records it was accrued in.
    pub fn for_seconds(hourly: Money, seconds: i64) -> Money {
        let micros = i128::from(hourly.0) * i128::from(seconds) / SECONDS_PER_HOUR;
        Money(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

impl Money {
    /// The amount as a decimal string with six places and no currency, e.g. `0.011600`.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let unit = MICROS_PER_UNIT.unsigned_abs();
        format!("{sign}{}.{:06}", abs / unit, abs % unit)
    }
}

impl Money {
    /// The amount a decimal string of currency units gives (`100`, `12.5`, `0.000001`: at
    /// most six places, no sign, no exponent), or `None` when it is not one or overflows.
    pub fn parse_decimal(text: &str) -> Option<Money> {
        let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !digits(units) || !digits(fraction) || fraction.len() > 6 {
            return None;
        }
        if text.ends_with('.') {
            return None;
        }
        let units: i64 = units.parse().ok()?;
        let fraction: i64 = format!("{fraction:0<6}").parse().ok()?;
        units
            .checked_mul(MICROS_PER_UNIT)?
            .checked_add(fraction)
            .map(Money)
    }
}

impl Add for Money {
    type Output = Money;

    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Money {
    type Output = Money;

    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {CURRENCY}", self.decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_parse_to_micros_and_malformed_ones_do_not() {
        for (text, micros) in [
            ("100", 100_000_000),
            ("12.5", 12_500_000),
            ("0.000001", 1),
            ("0", 0),
        ] {
            assert_eq!(Money::parse_decimal(text), Some(Money::from_micros(micros)));
        }
        for text in [
            "",
            ".5",
            "1.",
            "-1",
            "+1",
            "1e3",
            "1.0000001",
            "1,5",
            " 1",
            "99999999999999",
        ] {
            assert_eq!(Money::parse_decimal(text), None, "{text:?}");
        }
    }

    #[test]
    fn an_hour_costs_the_hourly_price() {
        assert_eq!(
            Money::for_seconds(Money::from_micros(11_600), 3_600).micros(),
            11_600
        );
    }

    #[test]
    fn fractions_of_a_micro_unit_round_down() {
        // 11,600 micros/h for 1 s is 3.22 micros.
        assert_eq!(
            Money::for_seconds(Money::from_micros(11_600), 1).micros(),
            3
        );
    }

    #[test]
    fn display_shows_six_decimals_and_currency() {
        assert_eq!(Money::from_micros(1_234_567).to_string(), "1.234567 USD");
        assert_eq!(Money::from_micros(-5).to_string(), "-0.000005 USD");
    }

    proptest! {
        #[test]
        fn pricing_is_monotonic_and_exact_on_whole_hours(
            hourly in 0i64..10_000_000_000, hours in 0i64..10_000, extra in 0i64..3_600
        ) {
            let whole = Money::for_seconds(Money::from_micros(hourly), hours * 3_600);
            prop_assert_eq!(whole.micros(), hourly * hours);
            let more = Money::for_seconds(Money::from_micros(hourly), hours * 3_600 + extra);
            prop_assert!(more >= whole);
            prop_assert!(more.micros() - whole.micros() <= hourly);
        }
    }
}
