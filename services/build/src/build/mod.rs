//! Builds: one run of an application's recipe on one commit.
//!
//! - [`model`]: pure rules (new builds, steps, versions, queue order, ends);
//! - [`api`]: the `ferry.build.v1.BuildService` gRPC adapter (writes to etcd only);
//! - [`controller`]: the leader-elected `build-runs` controller that runs builds;
//! - [`git`], [`docker`], [`artifact`], [`junit`], [`logs`]: the pieces a run is made of;
//! - [`inputs`]: a build's inputs as one fingerprint (the input cache);
//! - [`kube`], [`kube_status`], [`kube_run`]: the Kubernetes builder (one Job per build:
//!   its objects, the pure observer of its lifecycle, and the API calls).
//!
//! Keys (under the store prefix):
//!
//! | Key | Value |
//! |---|---|
//! | `/ferry/v1/build/builds/applications/<app>/builds/<number, 12 digits>` | `Build` |
//! | `/ferry/v1/build/build-specs/applications/<app>/builds/<number>` | [`model::BuildSpec`]: what the build was asked to do (the application as it was, flags) |
//! | `/ferry/v1/build/counters/applications/<app>` | [`model::BuildCounter`]: the last build number given |
//! | `/ferry/v1/build/logs/applications/<app>/builds/<number>/<offset, 16 digits>` | [`logs::LogRecord`]: one chunk of the build log |
//! | `/ferry/v1/build/input-cache/applications/<app>/<fingerprint>` | the name of the image a successful build made from exactly these inputs ([`inputs`]) |

pub mod api;
pub mod artifact;
pub mod controller;
pub mod docker;
pub mod git;
pub mod inputs;
pub mod junit;
pub mod kube;
pub mod kube_run;
pub mod kube_status;
pub mod logs;
pub mod model;

use ferry_store::keys;

/// The key of a build, from its number.
pub fn build_key(application: &str, number: i64) -> String {
    keys::collection("build/builds", &format!("{application}/builds")).key(&format!("{number:012}"))
}

/// The key of a build's spec.
pub fn spec_key(application: &str, number: i64) -> String {
    keys::collection("build/build-specs", &format!("{application}/builds"))
        .key(&format!("{number:012}"))
}

/// The prefix of an application's builds.
pub fn builds_prefix_of(application: &str) -> String {
    keys::collection("build/builds", &format!("{application}/builds")).into_string()
}

/// The prefix of every build.
pub fn builds_prefix() -> String {
    keys::kind_prefix("build/builds").into_string()
}

/// The key of an application's build counter.
pub fn counter_key(application: &str) -> String {
    keys::resource("build/counters", application)
}

/// The prefix of one build's log chunks.
pub fn log_prefix(application: &str, number: i64) -> String {
    keys::collection("build/logs", &format!("{application}/builds/{number:012}")).into_string()
}

/// The input-cache entry of an application for an inputs fingerprint: the image name.
pub fn input_cache_key(application: &str, fingerprint: &str) -> String {
    keys::collection("build/input-cache", application).key(fingerprint)
}

/// Every prefix holding records of an application other than the application itself
/// and its [`counter_key`] (removed with it).
pub fn application_records_prefixes(application: &str) -> Vec<String> {
    vec![
        builds_prefix_of(application),
        keys::collection("build/build-specs", &format!("{application}/builds")).into_string(),
        keys::collection("build/logs", application).into_string(),
        crate::image::images_prefix_of(application),
        crate::promotion::promotions_prefix_of(application),
        keys::collection("build/deliveries", application).into_string(),
        keys::collection("build/input-cache", application).into_string(),
    ]
}
