//! The routing service reads the deploy service's records by key: its documented
//! constants must name the same keys as the deploy service's own key functions.

#[test]
fn deploy_keys_match_the_deploy_service() {
    let deployment = "namespaces/dev/deployments/web";
    assert_eq!(
        ferry_routing::layout::instances_key(deployment),
        ferry_deploy::deployment::instances_key(deployment)
    );
    assert_eq!(
        ferry_routing::layout::deployment_key(deployment),
        ferry_deploy::deployment::deployment_key(deployment)
    );
    assert_eq!(
        ferry_routing::layout::deployments_prefix(),
        ferry_deploy::deployment::deployments_prefix()
    );
    let key = ferry_deploy::deployment::instances_key(deployment);
    assert_eq!(
        ferry_routing::layout::instances_deployment(&key),
        Some(deployment)
    );
}
