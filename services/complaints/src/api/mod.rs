//! The gRPC surface of `complaints`. Its domain lands in its own issue; until then every
//! RPC answers UNIMPLEMENTED (after authentication), so callers see an honest status.
//! When the methods come, each stays a few lines (principal -> parse -> a fn returning
//! `kit::Result` -> `Status` once), split by verb family into `create.rs`,
//! `transitions.rs` and `reads.rs` beside this file.

use aftersales_proto::aftersales::complaints::v1::complaints_service_server::ComplaintsService;

/// The ComplaintsService implementation: the trait's defaults (UNIMPLEMENTED) for now.
pub struct Api;

impl ComplaintsService for Api {}
