//! Money on the wire: exact integer micro-units, a decimal string and the currency.

use fleet_domain::money::CURRENCY;
use paperclip::actix::Apiv2Schema;
use serde::Serialize;

/// An amount of money. `micros` is exact; `amount` is the same value as a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Money {
    /// The amount in millionths of the currency unit (1 USD = 1,000,000 micros).
    pub micros: i64,
    /// The amount as a decimal string with six places, e.g. "0.011600".
    pub amount: String,
    /// ISO 4217 currency code.
    pub currency: String,
}

impl From<fleet_domain::Money> for Money {
    fn from(money: fleet_domain::Money) -> Self {
        Self {
            micros: money.micros(),
            amount: money.decimal(),
            currency: CURRENCY.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decimal_string_is_exact() {
        let money = Money::from(fleet_domain::Money::from_micros(1_234_567));
        assert_eq!(money.micros, 1_234_567);
        assert_eq!(money.amount, "1.234567");
        assert_eq!(money.currency, "USD");
        assert_eq!(
            Money::from(fleet_domain::Money::from_micros(-5)).amount,
            "-0.000005"
        );
        assert_eq!(Money::from(fleet_domain::Money::ZERO).amount, "0.000000");
    }
}
