//! Resource names of shipments (`shipments/{uuid}`), on top of `kit::names`.

use uuid::Uuid;

/// The collection of shipment names.
pub const SHIPMENTS: &str = "shipments";

/// `shipments/{id}`.
pub fn shipment(id: Uuid) -> String {
    kit::names::format(SHIPMENTS, id)
}

/// The id of a `shipments/{uuid}` name, or INVALID_ARGUMENT on `name`.
pub fn shipment_id(name: &str) -> kit::Result<Uuid> {
    kit::names::parse("name", SHIPMENTS, name)
}
