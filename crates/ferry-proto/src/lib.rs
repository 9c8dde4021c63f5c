//! Ferry's public v1 API, generated from `proto/` by `tonic-prost-build`.
//!
//! Every package is a module under [`ferry`] (`ferry::deploy::v1`, …). The generated code
//! lives in `OUT_DIR`; nobody else runs protoc. [`FILE_DESCRIPTOR_SET`] holds every Ferry
//! file and its imports, for gRPC reflection and JSON transcoding.

#![allow(missing_docs, unreachable_pub, clippy::all, rust_2018_idioms)]

pub use prost;
pub use prost_types;
pub use tonic;
pub use tonic_types;

include!(concat!(env!("OUT_DIR"), "/ferry_includes.rs"));

/// The encoded `FileDescriptorSet` of every Ferry `.proto` file and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/ferry_descriptor.bin"));
