//! Promotions: the production flow of one image version (QA rollout → QA gate →
//! release gate → production rollout of the same digest).
//!
//! - [`model`]: pure rules (gates, states, transitions);
//! - [`api`]: the `ferry.build.v1.PromotionService` gRPC adapter (writes to etcd only);
//! - [`controller`]: the leader-elected `build-promotions` controller that asks the
//!   deploy service for the rollouts and follows their Operations.
//!
//! A promotion is stored at
//! `/ferry/v1/build/promotions/applications/<app>/promotions/<id>`. Its phases' own
//! Operations (`qa_operation`, `release_operation`) hold, in their
//! `PromotionProgress` details, the deploy service's rollout Operation once it was
//! asked for, so a new leader continues a phase instead of starting it again (the
//! deploy call also carries a request id derived from the phase's Operation).

pub mod api;
pub mod controller;
pub mod model;

use ferry_store::keys;

/// The key of a promotion.
pub fn promotion_key(name: &str) -> String {
    keys::resource("build/promotions", name)
}

/// The prefix of an application's promotions.
pub fn promotions_prefix_of(application: &str) -> String {
    keys::collection("build/promotions", &format!("{application}/promotions")).into_string()
}

/// The prefix of every promotion.
pub fn promotions_prefix() -> String {
    keys::kind_prefix("build/promotions").into_string()
}
