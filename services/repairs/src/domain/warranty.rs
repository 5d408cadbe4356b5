//! Whether a repair is free (SPEC §5, seed 001 ch. 2.2): within warranty and not caused by
//! the buyer, it is; otherwise the buyer pays per quote. The warranty comes from the
//! platform's facts, never from the caller: the item's own warranty (the order line's
//! `warranty_until`) and the repair warranty the merchant's published after-sales policy
//! promises (months after sign-for), whichever runs longer.
//!
//! A policy's warranty of N months covers through the end of the Beijing calendar day N
//! months after the sign-for day (signed for 2026-01-31: through 2026-02-28 for one
//! month, the month's last day when it has no 31st). The item's own `warranty_until`
//! is an instant and covers up to and including it.

use chrono::{DateTime, Days, FixedOffset, Months, TimeZone, Utc};

/// The platform's facts about an item's warranty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// When the buyer signed for the item; without it the policy's warranty has not
    /// started.
    pub signed_for: Option<DateTime<Utc>>,
    /// The item's own warranty end, if it has one.
    pub item_until: Option<DateTime<Utc>>,
    /// The merchant policy's repair warranty in months after sign-for (0: none).
    pub policy_months: u32,
}

/// Why a repair is not free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NotFree {
    /// No warranty applies at all (none on the item, none in the policy, or not yet
    /// signed for).
    NoWarranty,
    /// The warranty ended before the request.
    Expired,
    /// Within warranty, but the buyer caused the fault (accidental damage, misuse).
    BuyerCaused,
}

/// What the warranty says of a repair requested at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The end of the warranty that runs longest (exclusive), if any.
    pub until: Option<DateTime<Utc>>,
    /// Whether `at` falls within it.
    pub within: bool,
    /// `None` when free; why not otherwise.
    pub not_free: Option<NotFree>,
}

impl Coverage {
    pub fn free(&self) -> bool {
        self.not_free.is_none()
    }
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The end (exclusive) of `months` of warranty from `signed_for`: midnight (Beijing)
/// after the day `months` later.
fn policy_end(signed_for: DateTime<Utc>, months: u32) -> Option<DateTime<Utc>> {
    let day = signed_for.with_timezone(&beijing()).date_naive();
    let last = day.checked_add_months(Months::new(months))?;
    let next = last.checked_add_days(Days::new(1))?;
    beijing()
        .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The warranty's end (exclusive): the later of the item's own and the policy's.
pub fn until(f: &Facts) -> Option<DateTime<Utc>> {
    // an instant "up to and including" ends one nanosecond later, exclusively
    let item = f.item_until.map(|t| t + chrono::Duration::nanoseconds(1));
    let policy = match (f.signed_for, f.policy_months) {
        (Some(s), m) if m > 0 => policy_end(s, m),
        _ => None,
    };
    item.max(policy)
}

/// Coverage of a repair requested at `at`, the buyer reporting (or the diagnosis
/// finding) `buyer_caused`.
pub fn decide(f: &Facts, at: DateTime<Utc>, buyer_caused: bool) -> Coverage {
    let until = until(f);
    let within = until.is_some_and(|u| at < u);
    let not_free = match (until, within, buyer_caused) {
        (None, _, _) => Some(NotFree::NoWarranty),
        (Some(_), false, _) => Some(NotFree::Expired),
        (Some(_), true, true) => Some(NotFree::BuyerCaused),
        (Some(_), true, false) => None,
    };
    Coverage {
        until,
        within,
        not_free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn policy(months: u32) -> Facts {
        Facts {
            signed_for: Some(at("2026-01-15T10:00:00+08:00")),
            item_until: None,
            policy_months: months,
        }
    }

    #[test]
    fn a_policy_warranty_covers_its_last_day_to_midnight_beijing() {
        let f = policy(12);
        assert!(decide(&f, at("2027-01-15T23:59:59+08:00"), false).free());
        let after = decide(&f, at("2027-01-16T00:00:00+08:00"), false);
        assert_eq!(after.not_free, Some(NotFree::Expired));
        assert!(!after.within);
        // a month without the sign-for day ends on its last day
        let f = Facts {
            signed_for: Some(at("2026-01-31T09:00:00+08:00")),
            ..policy(1)
        };
        assert_eq!(until(&f), Some(at("2026-03-01T00:00:00+08:00")));
    }

    #[test]
    fn the_items_own_warranty_covers_up_to_its_instant_and_the_longer_one_wins() {
        let f = Facts {
            item_until: Some(at("2027-06-30T12:00:00+08:00")),
            ..policy(12)
        };
        assert!(decide(&f, at("2027-06-30T12:00:00+08:00"), false).free());
        assert_eq!(
            decide(&f, at("2027-06-30T12:00:01+08:00"), false).not_free,
            Some(NotFree::Expired)
        );
        // a policy running longer than the item's own warranty extends it
        let f = Facts {
            item_until: Some(at("2026-07-01T00:00:00+08:00")),
            ..policy(12)
        };
        assert!(decide(&f, at("2026-12-01T00:00:00+08:00"), false).free());
    }

    #[test]
    fn buyer_caused_damage_is_paid_even_within_warranty() {
        let c = decide(&policy(12), at("2026-06-01T00:00:00+08:00"), true);
        assert!(c.within);
        assert_eq!(c.not_free, Some(NotFree::BuyerCaused));
    }

    #[test]
    fn no_warranty_without_one_on_the_item_nor_in_the_policy_nor_a_sign_for() {
        let none = Facts {
            signed_for: Some(at("2026-01-15T10:00:00+08:00")),
            item_until: None,
            policy_months: 0,
        };
        assert_eq!(
            decide(&none, at("2026-01-16T00:00:00+08:00"), false).not_free,
            Some(NotFree::NoWarranty)
        );
        let unsigned = Facts {
            signed_for: None,
            ..policy(12)
        };
        assert_eq!(
            decide(&unsigned, at("2026-01-16T00:00:00+08:00"), false).not_free,
            Some(NotFree::NoWarranty)
        );
    }
}
