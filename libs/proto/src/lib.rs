//! Generated code for every aftersales contract (`proto/`), one module per protobuf package
//! (`aftersales::returns::v1`, ...), and the descriptor set that server reflection serves.

#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/packages.rs"));

/// Encoded `FileDescriptorSet` of every contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
