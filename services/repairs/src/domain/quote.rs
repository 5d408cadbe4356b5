//! A paid repair's quote (SPEC §5): spare parts at cost plus labour, the technician's
//! grade rate times the time worked, in integer minor units of the order's currency.
//!
//! Rounding, stated once: a labour line costs `round_half_up(rate_per_hour × minutes /
//! 60)` minor units (a line, not the total, is rounded: each line the buyer sees adds
//! up to the total they pay); parts are exact (`quantity × unit cost`). A free repair
//! (within warranty, not buyer-caused) is quoted all the same, with nothing payable: the
//! buyer sees what the warranty covered.

/// A technician's grade (the contract's enum values).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Grade {
    Junior = 1,
    Senior = 2,
    Expert = 3,
}

impl Grade {
    pub fn from_i32(v: i32) -> Option<Self> {
        [Self::Junior, Self::Senior, Self::Expert]
            .into_iter()
            .find(|g| *g as i32 == v)
    }
}

/// A spare part, at cost.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub part: String,
    pub quantity: u32,
    pub unit_cost_minor: i64,
}

/// A labour line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Labour {
    pub grade: Grade,
    pub hourly_rate_minor: i64,
    pub minutes: u32,
}

/// A priced quote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Priced {
    pub parts: Vec<Part>,
    pub labour: Vec<Labour>,
    pub parts_total: i64,
    pub labour_total: i64,
    /// parts_total + labour_total: what the repair is worth.
    pub total: i64,
    /// What the buyer pays: the total, or 0 for a free repair.
    pub payable: i64,
}

/// Why a quote cannot be priced; each names its field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuoteError {
    /// Neither parts nor labour.
    Empty,
    /// Part `i` has no units or a negative cost.
    Part(usize, &'static str),
    /// Labour line `i` has no time or a negative rate.
    Labour(usize, &'static str),
    /// Two labour lines of one grade at different rates.
    RateMismatch(Grade),
    /// The sums do not fit in 64 bits.
    Overflow,
}

/// `round_half_up(rate × minutes / 60)`.
pub fn labour_cost(hourly_rate_minor: i64, minutes: u32) -> Option<i64> {
    let n = i128::from(hourly_rate_minor) * i128::from(minutes);
    i64::try_from((n + 30) / 60).ok()
}

/// Prices `parts` and `labour`; `free` makes nothing payable.
pub fn price(parts: Vec<Part>, labour: Vec<Labour>, free: bool) -> Result<Priced, QuoteError> {
    if parts.is_empty() && labour.is_empty() {
        return Err(QuoteError::Empty);
    }
    let mut parts_total: i128 = 0;
    for (i, p) in parts.iter().enumerate() {
        if p.quantity == 0 {
            return Err(QuoteError::Part(i, "quantity must be at least 1"));
        }
        if p.unit_cost_minor < 0 {
            return Err(QuoteError::Part(i, "unit_cost must not be negative"));
        }
        parts_total += i128::from(p.quantity) * i128::from(p.unit_cost_minor);
    }
    let mut labour_total: i128 = 0;
    for (i, l) in labour.iter().enumerate() {
        if l.minutes == 0 {
            return Err(QuoteError::Labour(i, "minutes must be at least 1"));
        }
        if l.hourly_rate_minor < 0 {
            return Err(QuoteError::Labour(i, "hourly_rate must not be negative"));
        }
        if let Some(other) = labour[..i]
            .iter()
            .find(|o| o.grade == l.grade && o.hourly_rate_minor != l.hourly_rate_minor)
        {
            return Err(QuoteError::RateMismatch(other.grade));
        }
        labour_total +=
            i128::from(labour_cost(l.hourly_rate_minor, l.minutes).ok_or(QuoteError::Overflow)?);
    }
    let fit = |v: i128| i64::try_from(v).map_err(|_| QuoteError::Overflow);
    let (parts_total, labour_total) = (fit(parts_total)?, fit(labour_total)?);
    let total = parts_total
        .checked_add(labour_total)
        .ok_or(QuoteError::Overflow)?;
    Ok(Priced {
        parts,
        labour,
        parts_total,
        labour_total,
        total,
        payable: if free { 0 } else { total },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(quantity: u32, cost: i64) -> Part {
        Part {
            part: "screen".into(),
            quantity,
            unit_cost_minor: cost,
        }
    }

    fn labour(grade: Grade, rate: i64, minutes: u32) -> Labour {
        Labour {
            grade,
            hourly_rate_minor: rate,
            minutes,
        }
    }

    #[test]
    fn parts_at_cost_plus_grade_rate_times_time_in_minor_units() {
        // 2 x 45.50 + 1 x 12.00, a senior at 80.00/h for 90 min, a junior at 40.00/h for 20
        let q = price(
            vec![part(2, 4_550), part(1, 1_200)],
            vec![
                labour(Grade::Senior, 8_000, 90),
                labour(Grade::Junior, 4_000, 20),
            ],
            false,
        )
        .unwrap();
        assert_eq!(q.parts_total, 10_300);
        // 120.00 + 13.333... -> 13.33
        assert_eq!(q.labour_total, 12_000 + 1_333);
        assert_eq!(q.total, 23_633);
        assert_eq!(q.payable, 23_633);
    }

    #[test]
    fn a_labour_line_rounds_half_a_minor_unit_up() {
        // 1.00/h for 30 min = 0.5 fen -> 1; for 29 min = 0.4833 -> 0
        assert_eq!(labour_cost(1, 30), Some(1));
        assert_eq!(labour_cost(1, 29), Some(0));
        assert_eq!(labour_cost(100, 1), Some(2), "1.6667 -> 2");
    }

    #[test]
    fn a_free_repair_shows_what_was_covered_and_nothing_payable() {
        let q = price(vec![part(1, 30_000)], vec![], true).unwrap();
        assert_eq!((q.total, q.payable), (30_000, 0));
    }

    #[test]
    fn bad_lines_are_named_and_overflow_is_refused() {
        assert_eq!(price(vec![], vec![], false), Err(QuoteError::Empty));
        assert_eq!(
            price(vec![part(1, 10), part(0, 10)], vec![], false),
            Err(QuoteError::Part(1, "quantity must be at least 1"))
        );
        assert_eq!(
            price(vec![], vec![labour(Grade::Expert, -1, 10)], false),
            Err(QuoteError::Labour(0, "hourly_rate must not be negative"))
        );
        assert_eq!(
            price(
                vec![],
                vec![
                    labour(Grade::Senior, 8_000, 60),
                    labour(Grade::Senior, 9_000, 60)
                ],
                false
            ),
            Err(QuoteError::RateMismatch(Grade::Senior))
        );
        assert_eq!(
            price(vec![part(u32::MAX, i64::MAX)], vec![], false),
            Err(QuoteError::Overflow)
        );
    }
}
