//! Logistics rules, free of transport and SQL: how carrier events move a shipment, when
//! a delivery is late, and how partners sign webhook calls.

pub mod partners;
pub mod signature;
pub mod status;
