//! Resource names of refunds (`refunds/{uuid}`), one parser for every door (the API and
//! the timer callback), on top of `kit::names`.

use uuid::Uuid;

/// The collection of refund names.
pub const REFUNDS: &str = "refunds";

/// `refunds/{id}`.
pub fn refund(id: Uuid) -> String {
    kit::names::format(REFUNDS, id)
}

/// The id of a `refunds/{uuid}` name in `field`, or INVALID_ARGUMENT on `field`.
pub fn refund_id(field: &str, name: &str) -> kit::Result<Uuid> {
    kit::names::parse(field, REFUNDS, name)
}

/// The id of a `refunds/{uuid}` name, `None` when it is not one.
pub fn id(name: &str) -> Option<Uuid> {
    kit::names::id(REFUNDS, name)
}
