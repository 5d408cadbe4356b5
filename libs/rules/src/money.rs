//! Money in integer minor units of an ISO-4217 currency; never floating point (SPEC §4).

use std::fmt;

/// A positive or zero amount in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// Minor units (fen for CNY).
    pub minor: i64,
    /// ISO-4217 code, upper case.
    pub currency: Currency,
}

/// A three-letter upper-case currency code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    /// Parses `raw`; `None` unless it is three ASCII upper-case letters.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| Self(raw.to_string()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Money {
    /// A strictly positive amount, as every refund and recovery must be.
    pub fn positive(minor: i64, currency: &str) -> Result<Self, &'static str> {
        let currency = Currency::parse(currency).ok_or("currency must be an ISO-4217 code")?;
        if minor <= 0 {
            return Err("amount_minor must be positive");
        }
        Ok(Self { minor, currency })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_amounts_in_iso_currencies() {
        assert!(Money::positive(1, "CNY").is_ok());
        assert!(Money::positive(0, "CNY").is_err());
        assert!(Money::positive(-5, "CNY").is_err());
        assert!(Money::positive(5, "cny").is_err());
        assert!(Money::positive(5, "CNYY").is_err());
        assert!(Money::positive(5, "").is_err());
    }
}
