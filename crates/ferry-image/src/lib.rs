//! Daemonless OCI images for the build service's artifact mode.
//!
//! Ferry assembles images itself instead of asking a Docker engine to build them:
//!
//! - [`LayerBuilder`] writes the build output as a reproducible layer (sorted entries,
//!   fixed timestamps, owner 0:0, modes and symlinks kept, gzip without name or time), so
//!   unchanged input gives a byte-identical blob.
//! - [`RegistryClient`] speaks the OCI distribution API (ping, blob HEAD/GET, cross-
//!   repository mount, monolithic upload, manifest GET/PUT) with anonymous, basic and
//!   bearer-token authentication, plain HTTP for loopback registries and HTTPS otherwise.
//! - [`assemble_and_push`] puts a base image (or scratch), the new layer, an OCI image
//!   config inheriting the base's settings and an OCI manifest together and pushes only
//!   what the target repository lacks; its [`PushReport`] says what was uploaded, found
//!   or mounted, which is how the build service reports cache hits.
//!
//! The distribution client is written here over reqwest rather than taken from
//! `oci-client`: the push path needs per-blob outcomes (present, mounted, uploaded),
//! mounts that fall back to the opened upload session, OCI media types on every
//! descriptor, and reuse of the workspace's reqwest/rustls; the protocol subset is small.

mod assemble;
mod auth;
mod digest;
mod error;
mod layer;
pub mod oci;
mod reference;
mod registry;
#[cfg(feature = "testing")]
pub mod testing;

pub use assemble::{
    Base, BaseInfo, BlobOutcome, BlobReport, ImageSettings, PushReport, ResolvedBase,
    assemble_and_push, build_and_push, build_layer, image_config, push_assembled, resolve_base,
};
pub use auth::{Challenge, Credentials, Scheme, Secret, parse_www_authenticate};
pub use digest::Digest;
pub use error::{ImageError, Result};
pub use layer::{Layer, LayerBuilder, LayerOptions};
pub use reference::{DEFAULT_REGISTRY, DEFAULT_TAG, Reference};
pub use registry::{
    ClientOptions, MountOutcome, Protocol, PulledManifest, RegistryClient, is_loopback,
};
