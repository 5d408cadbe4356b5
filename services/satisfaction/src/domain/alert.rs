//! The CSAT alert (SPEC §7): a merchant whose CSAT over the trailing window falls below
//! the target, on at least a minimum number of ratings, is alerted once per crossing:
//! staying below raises nothing more, going back to the target re-arms it.

/// A merchant's trailing window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub ratings: i64,
    pub satisfied: i64,
}

/// The policy: the target share and the ratings it needs to judge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// e.g. 0.8.
    pub csat: f64,
    pub min_ratings: i64,
}

/// What a rating's new window means for the merchant's alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// Fell below: alert.
    Raise,
    /// Back at or above the target: the next fall alerts again.
    Rearm,
    /// Nothing changes.
    Stay,
}

impl Window {
    pub fn csat(&self) -> f64 {
        if self.ratings == 0 {
            return 0.0;
        }
        self.satisfied as f64 / self.ratings as f64
    }
}

/// What `w` means for a merchant that was below the target (`was_below`) or not. Too
/// few ratings judge nothing.
pub fn crossing(was_below: bool, w: Window, t: Target) -> Crossing {
    if w.ratings < t.min_ratings {
        return Crossing::Stay;
    }
    let below = w.csat() < t.csat;
    match (was_below, below) {
        (false, true) => Crossing::Raise,
        (true, false) => Crossing::Rearm,
        _ => Crossing::Stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Target = Target {
        csat: 0.8,
        min_ratings: 20,
    };

    fn w(ratings: i64, satisfied: i64) -> Window {
        Window { ratings, satisfied }
    }

    #[test]
    fn once_per_crossing_and_never_on_too_few_ratings() {
        assert_eq!(crossing(false, w(19, 0), T), Crossing::Stay, "too few");
        assert_eq!(
            crossing(false, w(20, 16), T),
            Crossing::Stay,
            "80 % is the target"
        );
        assert_eq!(crossing(false, w(20, 15), T), Crossing::Raise);
        assert_eq!(crossing(true, w(21, 15), T), Crossing::Stay, "still below");
        assert_eq!(crossing(true, w(25, 20), T), Crossing::Rearm);
        assert_eq!(
            crossing(false, w(26, 20), T),
            Crossing::Raise,
            "a second crossing"
        );
    }
}
