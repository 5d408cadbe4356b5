//! The five rated dimensions (seed 001 §9.1), each 1-5, and what CSAT counts of them:
//! a rating is satisfied when its overall score (the mean of the five) is at least 4,
//! which in integers is a sum of at least 20, so no rounding ever decides it; a
//! dimension is satisfied at 4 or 5.

/// The dimensions, in the contract's order.
pub const DIMENSIONS: [&str; 5] = [
    "response_speed",
    "resolution_effect",
    "service_attitude",
    "process_convenience",
    "timeliness",
];

/// One rating's scores, in [`DIMENSIONS`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scores(pub [u8; 5]);

/// The overall sum at and above which a rating is satisfied (a mean of 4).
pub const SATISFIED_SUM: u32 = 20;

impl Scores {
    /// The scores, or the dimensions out of 1-5 (by name).
    pub fn new(raw: [u32; 5]) -> Result<Self, Vec<&'static str>> {
        let bad: Vec<&'static str> = DIMENSIONS
            .iter()
            .zip(raw)
            .filter(|(_, v)| !(1..=5).contains(v))
            .map(|(d, _)| *d)
            .collect();
        if !bad.is_empty() {
            return Err(bad);
        }
        Ok(Self(raw.map(|v| v as u8)))
    }

    pub fn sum(&self) -> u32 {
        self.0.iter().map(|v| u32::from(*v)).sum()
    }

    /// The overall score: the mean of the five.
    pub fn overall(&self) -> f64 {
        f64::from(self.sum()) / 5.0
    }

    /// Satisfied overall (CSAT's numerator).
    pub fn satisfied(&self) -> bool {
        self.sum() >= SATISFIED_SUM
    }

    /// Satisfied on each dimension (4 or 5).
    pub fn satisfied_by_dimension(&self) -> [bool; 5] {
        self.0.map(|v| v >= 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_is_one_to_five_and_each_bad_one_is_named() {
        assert!(Scores::new([1, 2, 3, 4, 5]).is_ok());
        assert_eq!(
            Scores::new([0, 5, 6, 5, 5]).unwrap_err(),
            ["response_speed", "service_attitude"]
        );
    }

    #[test]
    fn satisfied_is_a_mean_of_four_exactly_without_rounding() {
        let s = |v| Scores::new(v).unwrap();
        assert!(s([4, 4, 4, 4, 4]).satisfied());
        assert!(!s([4, 4, 4, 4, 3]).satisfied(), "3.8");
        assert!(s([5, 3, 4, 4, 4]).satisfied(), "4.0");
        assert_eq!(s([5, 3, 4, 4, 4]).overall(), 4.0);
        assert_eq!(
            s([5, 3, 4, 1, 4]).satisfied_by_dimension(),
            [true, false, true, false, true]
        );
    }
}
