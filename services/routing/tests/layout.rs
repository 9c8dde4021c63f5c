//! The routing service reads the deploy service's records by key: its documented
//! constants must name the same keys as the deploy service's own key functions; and it
//! reads `FERRY_DOCKER_ENGINES` as the deploy service does.

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
    assert_eq!(
        ferry_routing::layout::namespaces_prefix(),
        ferry_deploy::namespace::namespaces_prefix()
    );
    let key = ferry_deploy::namespace::namespace_key("namespaces/dev");
    assert_eq!(
        ferry_routing::layout::namespace_name(&key),
        Some("namespaces/dev")
    );
}

#[test]
fn docker_engines_parse_like_the_deploy_service() {
    for value in [
        "a=unix:///run/a.sock@eu/eu-1, b=tcp://127.0.0.1:2375",
        "local=unix:///var/run/docker.sock@local/local-1",
        "solo=unix:///x.sock",
    ] {
        let ours: Vec<(String, String)> = ferry_routing::namespace_dns::parse_docker_engines(value)
            .unwrap()
            .into_iter()
            .map(|e| (e.host, e.endpoint))
            .collect();
        let theirs: Vec<(String, String)> = ferry_deploy::runtimes::parse_docker_engines(value)
            .unwrap()
            .into_iter()
            .map(|e| (e.host, e.endpoint))
            .collect();
        assert_eq!(ours, theirs, "{value}");
    }
    for bad in ["nonsense", "a=/run/a.sock"] {
        assert!(ferry_routing::namespace_dns::parse_docker_engines(bad).is_err());
        assert!(ferry_deploy::runtimes::parse_docker_engines(bad).is_err());
    }
}
