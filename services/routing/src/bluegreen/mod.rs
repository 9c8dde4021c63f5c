//! Blue-green entries (`ferry.routing.v1.BlueGreenService`): one entry address in front
//! of an application deployed in a blue and a green namespace, switching all traffic
//! from one side to the other in one step.
//!
//! - [`model`]: pure validation, sides, side health, the program, update masks, and
//!   the order and filter fields of deployable namespaces;
//! - [`api`]: the gRPC adapter (create, get, list, update, delete, switch, rollback,
//!   list deployable namespaces);
//! - [`controller`]: the leader-elected controller that drives switches from etcd
//!   (VERIFY_TARGET, SWITCH, DRAIN_OLD) and writes the sides' status.
//!
//! The switch state lives in the entry's record: the API writes the entry in state
//! SWITCHING with a RUNNING switch record and its Operation in one transaction; the
//! controller (whichever replica leads, so a switch another replica began continues)
//! checks the target side again, then sets the active side (one write: every replica's
//! programming loop swaps its backend set atomically, and connections to the old side
//! drain for `drain_timeout`), then ends the switch once the drain time has passed.
//!
//! A deployment is a side of at most one entry: each side deployment has a claim key
//! (`layout::blue_green_side_key`) holding the entry's name, created only if absent in
//! the same transaction as the entry (or the update that moves the inactive side) and
//! deleted with it, so of two concurrent writes naming one deployment one loses
//! (FAILED_PRECONDITION, IN_USE, naming the holder). The entries are also read and checked
//! before writing, which catches entries written before claims existed.

pub mod api;
pub mod controller;
pub mod model;

use ferry_proto::ferry::deploy::v1::{Deployment, ListInstancesResponse};
use ferry_proto::ferry::routing::v1::{BlueGreenEntry, Side, SideStatus};
use ferry_store::{Store, StoreResult, typed};

use crate::layout;

/// The status of one side as etcd says now (its deployment and observed instances).
pub async fn read_side(
    store: &dyn Store,
    entry: &BlueGreenEntry,
    side: Side,
) -> StoreResult<SideStatus> {
    let deployment_name = model::side_deployment(entry, side);
    let deployment = typed::get_msg::<Deployment>(store, &layout::deployment_key(&deployment_name))
        .await?
        .map(|(d, _)| d);
    let instances = match deployment {
        Some(_) => {
            typed::get_msg::<ListInstancesResponse>(store, &layout::instances_key(&deployment_name))
                .await?
                .map(|(record, _)| record.instances)
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    Ok(model::side_status(
        entry,
        side,
        deployment.as_ref(),
        &instances,
    ))
}
