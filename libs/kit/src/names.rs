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
