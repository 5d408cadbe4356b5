//! Resource names (AIP-122): `returns/{uuid}`, `refunds/{uuid}`, `timers/{uuid}`. One
//! parser for every door (API, timer callback, event consumer), so a name that one door
//! takes every door takes, and a bad one is refused with the same field violation.

use uuid::Uuid;

use crate::Error;

/// `<collection>/<id>`.
pub fn format(collection: &str, id: impl std::fmt::Display) -> String {
    format!("{collection}/{id}")
}

/// The id of `name` in `collection`, or `None` when `name` is not `<collection>/<uuid>`.
pub fn id(collection: &str, name: &str) -> Option<Uuid> {
    let id = name.strip_prefix(collection)?.strip_prefix('/')?;
    Uuid::parse_str(id).ok()
}

/// The id of `name` in `collection`, or INVALID_ARGUMENT on `field`.
pub fn parse(field: &str, collection: &str, name: &str) -> Result<Uuid, Error> {
    id(collection, name)
        .ok_or_else(|| Error::invalid(field, format!("must look like {collection}/{{uuid}}")))
}

/// `name` with an optional `<collection>/` prefix taken off: ids of the platform's own
/// resources (orders, merchants) are accepted either way.
pub fn strip<'a>(collection: &str, name: &'a str) -> &'a str {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_their_own_collection_only() {
        let id = Uuid::now_v7();
        assert_eq!(super::id("returns", &format("returns", id)), Some(id));
        assert_eq!(super::id("returns", &format("refunds", id)), None);
        assert_eq!(super::id("returns", &format!("returnsx/{id}")), None);
        assert_eq!(super::id("returns", "returns/123"), None);
        assert!(matches!(
            parse("name", "returns", "x"),
            Err(Error::InvalidArgument(f)) if f[0].field == "name"
                && f[0].description == "must look like returns/{uuid}"
        ));
    }

    #[test]
    fn platform_ids_with_or_without_their_prefix() {
        assert_eq!(strip("orders", "orders/o-1"), "o-1");
        assert_eq!(strip("orders", "o-1"), "o-1");
        assert_eq!(strip("orders", "ordersx"), "ordersx");
    }
}

/// A case's human-readable number for status queries: `prefix` + the filing day in
/// Beijing time + a six-digit (or longer) sequence, e.g. `TS20261203-000042` (a
/// complaint) or `WX20261203-000042` (a repair). The sequence is the service schema's,
/// so numbers are unique and sort by day, then by filing order.
pub fn case_number(prefix: &str, at: chrono::DateTime<chrono::Utc>, seq: i64) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    format!(
        "{prefix}{}-{seq:06}",
        at.with_timezone(&china).format("%Y%m%d")
    )
}

/// Whether `s` looks like a case number of `prefix` (before it is looked up).
pub fn looks_like_case_number(prefix: &str, s: &str) -> bool {
    let Some(rest) = s.strip_prefix(prefix) else {
        return false;
    };
    let Some((day, seq)) = rest.split_once('-') else {
        return false;
    };
    day.len() == 8
        && day.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 6
        && seq.len() <= 18
        && seq.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn case_numbers_carry_the_beijing_day_and_sort_by_it() {
        let late = chrono::DateTime::parse_from_rfc3339("2026-12-02T16:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            case_number("TS", late, 42),
            "TS20261203-000042",
            "00:30 in Beijing"
        );
        assert!(looks_like_case_number("TS", "TS20261203-000042"));
        assert!(!looks_like_case_number("WX", "TS20261203-000042"));
        assert!(!looks_like_case_number("TS", "TS2026123-000042"));
        assert!(!looks_like_case_number("TS", "complaints/1"));
        assert!(
            case_number("WX", late, 9) < case_number("WX", late + chrono::Duration::days(1), 1)
        );
    }
}
