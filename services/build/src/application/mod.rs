//! Applications: a git source and the recipe that turns it into an image.
//!
//! - [`model`]: pure validation and change rules;
//! - [`api`]: the gRPC adapter (writes to etcd only);
//! - [`controller`]: checks the source of created and reconfigured applications;
//! - [`polling`]: builds new commits found by polling the repository.

pub mod api;
pub mod controller;
pub mod model;
pub mod polling;

use ferry_store::keys;

/// Collection path of applications in the key space.
const KIND: &str = "build/applications";

/// The key of an application (`applications/{application}`).
pub fn application_key(name: &str) -> String {
    keys::resource(KIND, name)
}

/// The prefix of every application.
pub fn applications_prefix() -> String {
    keys::kind_prefix(KIND).into_string()
}
