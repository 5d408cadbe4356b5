//! The late-penalty formula (seed 001 §5.3.1-5.3.2): a merchant late on a return, an
//! exchange or a repair owes 0.5 % of the transaction amount per day late, unless the
//! buyer caused the delay.

/// The rate per late day, in basis points (0.5 %).
pub const RATE_BP_PER_DAY: u32 = 50;

/// A computed penalty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Penalty {
    /// Minor units owed.
    pub minor: i64,
    /// Days charged (0 when the buyer caused the delay).
    pub chargeable_days: u32,
}

/// Why a penalty cannot be computed.
#[derive(Debug, PartialEq, Eq)]
pub enum PenaltyError {
    /// The line amount is negative.
    NegativeAmount,
    /// amount × rate × days does not fit in 64 bits.
    Overflow,
}

/// `round_half_up(line_minor × 50 × late_days / 10 000)`: computed on the total in
/// integers (never per day, so 10 days of 0.5 fen are 5 fen, not 10 × 1), rounding a
/// half minor unit up; zero when `buyer_caused` or no day is late. No cap: a merchant
/// late long enough owes more than the line (the platform decides on goodwill above).
pub fn late_penalty(
    line_minor: i64,
    late_days: u32,
    buyer_caused: bool,
) -> Result<Penalty, PenaltyError> {
    if line_minor < 0 {
        return Err(PenaltyError::NegativeAmount);
    }
    let days = if buyer_caused { 0 } else { late_days };
    let numerator = (line_minor as i128) * (RATE_BP_PER_DAY as i128) * (days as i128);
    let minor = (numerator + 5_000) / 10_000;
    let minor = i64::try_from(minor).map_err(|_| PenaltyError::Overflow)?;
    Ok(Penalty {
        minor,
        chargeable_days: days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed(line: i64, days: u32, buyer: bool) -> (i64, u32) {
        let p = late_penalty(line, days, buyer).unwrap();
        (p.minor, p.chargeable_days)
    }

    #[test]
    fn zero_one_and_ten_days() {
        // 299.00 CNY line
        assert_eq!(owed(29_900, 0, false), (0, 0));
        assert_eq!(owed(29_900, 1, false), (150, 1)); // 149.5 fen rounds up to 1.50
        assert_eq!(owed(29_900, 10, false), (1_495, 10)); // 5 % of 299.00
    }

    #[test]
    fn rounds_half_up_on_the_total_not_per_day() {
        // 1.00 CNY: 0.5 fen a day
        assert_eq!(owed(100, 1, false), (1, 1)); // 0.5 -> 1
        assert_eq!(owed(100, 3, false), (2, 3)); // 1.5 -> 2, per-day rounding would say 3
        assert_eq!(owed(100, 10, false), (5, 10)); // exactly 5, per-day rounding would say 10
        // just below and just above a half
        assert_eq!(owed(99, 1, false), (0, 1)); // 0.495 -> 0
        assert_eq!(owed(101, 1, false), (1, 1)); // 0.505 -> 1
    }

    #[test]
    fn nothing_when_the_buyer_caused_the_delay() {
        assert_eq!(owed(29_900, 10, true), (0, 0));
    }

    #[test]
    fn huge_amounts_do_not_wrap() {
        assert_eq!(
            late_penalty(i64::MAX, u32::MAX, false),
            Err(PenaltyError::Overflow)
        );
        assert_eq!(
            late_penalty(-1, 1, false),
            Err(PenaltyError::NegativeAmount)
        );
    }
}
