//! The Kubernetes objects of a group, built from a [`GroupSpec`]: the ReplicaSet (with
//! its pod template), the Secret that holds secret env values and config files, and the
//! Namespace of a Ferry namespace. Pure: plain data in, objects out.

use std::collections::BTreeMap;

use ferry_runtime::{
    EnvValue, GroupSpec, NamespaceSpec, Placement, Probe, ProbeAction, Resources, Transport, labels,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, EnvVar, EnvVarSource, ExecAction, HTTPGetAction,
    HTTPHeader, KeyToPath, Namespace, NodeAffinity, NodeSelector, NodeSelectorRequirement,
    NodeSelectorTerm, PodSpec, PodTemplateSpec, PreferredSchedulingTerm, Probe as KubeProbe,
    ResourceRequirements, Secret, SecretKeySelector, SecretVolumeSource, TCPSocketAction,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::KubeError;

/// The name of the one container of every Ferry pod.
pub const CONTAINER: &str = "app";
/// The volume that carries the config files (from the group's Secret).
const CONFIG_VOLUME: &str = "ferry-config";
/// The node label of host names (well-known; set by the kubelet).
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The longest group name whose pod names (`{group}-{5 characters}`) still fit a DNS label.
const MAX_GROUP_NAME: usize = 57;

/// The name of a group's ReplicaSet and Secret: `{deployment}-{revision}`. Pods get
/// `{deployment}-{revision}-{5 random characters}` from the ReplicaSet controller, and that
/// pod name is the Ferry instance id.
pub fn group_name(deployment: &str, revision: &str) -> String {
    format!("{deployment}-{revision}")
}

/// The labels that select a group's pods (and only them).
pub fn selector_labels(spec: &GroupSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::NAMESPACE.to_string(), spec.namespace.clone()),
        (labels::DEPLOYMENT.to_string(), spec.deployment.clone()),
        (labels::REVISION.to_string(), spec.revision.clone()),
    ])
}

/// The label selector (query string form) of a group's pods.
pub fn group_selector(deployment: &str, revision: &str) -> String {
    format!(
        "{}=true,{}={deployment},{}={revision}",
        labels::MANAGED,
        labels::DEPLOYMENT,
        labels::REVISION
    )
}

/// The label selector of every Ferry object.
pub fn managed_selector() -> String {
    format!("{}=true", labels::MANAGED)
}

/// Labels of the ReplicaSet, its pods and its Secret: the user's labels, then Ferry's
/// (which win).
pub fn group_labels(spec: &GroupSpec) -> BTreeMap<String, String> {
    let mut all = spec.labels.clone();
    all.extend(selector_labels(spec));
    all
}

/// Checks what Kubernetes would refuse with a less clear message, or what would make
/// instance ids that are not DNS labels.
pub fn validate(spec: &GroupSpec) -> Result<(), KubeError> {
    check_dns_label("runtime namespace", &spec.runtime_namespace, 63)?;
    check_dns_label("deployment", &spec.deployment, MAX_GROUP_NAME)?;
    check_dns_label("revision", &spec.revision, MAX_GROUP_NAME)?;
    check_label_value("namespace", &spec.namespace)?;
    let name = group_name(&spec.deployment, &spec.revision);
    if name.len() > MAX_GROUP_NAME {
        return Err(KubeError::Invalid(format!(
            "group name {name} is {} characters; at most {MAX_GROUP_NAME} leave room for the \
             pod suffix of a 63-character instance id",
            name.len()
        )));
    }
    if spec.image.trim().is_empty() {
        return Err(KubeError::Invalid("image is empty".into()));
    }
    for file in &spec.config_files {
        if !file.path.starts_with('/') || file.path.ends_with('/') {
            return Err(KubeError::Invalid(format!(
                "config file path {:?} is not an absolute file path",
                file.path
            )));
        }
        if file.mode > 0o777 {
            return Err(KubeError::Invalid(format!(
                "config file {} has mode {:o}; only permission bits (0 to 777) are allowed",
                file.path, file.mode
            )));
        }
    }
    for var in &spec.env {
        if var.name.is_empty() || var.name.contains('=') {
            return Err(KubeError::Invalid(format!(
                "environment variable name {:?} is empty or contains '='",
                var.name
            )));
        }
    }
    Ok(())
}

/// Checks a Kubernetes namespace name.
pub fn validate_namespace_name(name: &str) -> Result<(), KubeError> {
    check_dns_label("runtime namespace", name, 63)
}

fn check_dns_label(what: &str, value: &str, max: usize) -> Result<(), KubeError> {
    let valid_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let valid_ends = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > max || !valid_chars || !valid_ends {
        return Err(KubeError::Invalid(format!(
            "{what} {value:?} is not a DNS label of at most {max} characters \
             (lower-case letters, digits and '-', starting and ending with a letter or digit)"
        )));
    }
    Ok(())
}

fn check_label_value(what: &str, value: &str) -> Result<(), KubeError> {
    let valid_chars = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    let valid_ends = value.is_empty()
        || (value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if value.len() > 63 || !valid_chars || !valid_ends {
        return Err(KubeError::Invalid(format!(
            "{what} {value:?} is not a valid Kubernetes label value"
        )));
    }
    Ok(())
}

/// The Namespace of a Ferry namespace.
pub fn namespace(spec: &NamespaceSpec) -> Namespace {
    let mut all = spec.labels.clone();
    all.insert(labels::MANAGED.into(), "true".into());
    all.insert(labels::NAMESPACE.into(), spec.namespace.clone());
    Namespace {
        metadata: ObjectMeta {
            name: Some(spec.runtime_namespace.clone()),
            labels: Some(all),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The key of a secret env value in the group's Secret.
fn env_key(index: usize, name: &str) -> String {
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        format!("env.{name}")
    } else {
        format!("env.{index}")
    }
}

/// The key of a config file in the group's Secret.
fn file_key(index: usize) -> String {
    format!("file.{index}")
}

/// Whether the group needs a Secret (secret env values or config files).
pub fn needs_secret(spec: &GroupSpec) -> bool {
    !spec.config_files.is_empty()
        || spec
            .env
            .iter()
            .any(|var| matches!(var.value, EnvValue::Secret { .. }))
}

/// The group's Secret: secret env values (`env.{NAME}`) and config files (`file.{i}`;
/// config files may hold secrets too), or `None` when the group has neither. With `owner`
/// (the ReplicaSet's uid), the ReplicaSet owns it and the garbage collector removes it
/// with the group.
pub fn secret(spec: &GroupSpec, owner_uid: Option<&str>) -> Option<Secret> {
    if !needs_secret(spec) {
        return None;
    }
    let mut data = BTreeMap::new();
    for (index, var) in spec.env.iter().enumerate() {
        if let EnvValue::Secret { value, .. } = &var.value {
            data.insert(
                env_key(index, &var.name),
                ByteString(value.as_bytes().to_vec()),
            );
        }
    }
    for (index, file) in spec.config_files.iter().enumerate() {
        data.insert(file_key(index), ByteString(file.content.to_vec()));
    }
    let name = group_name(&spec.deployment, &spec.revision);
    Some(Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(spec.runtime_namespace.clone()),
            labels: Some(group_labels(spec)),
            owner_references: owner_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name,
                    uid: uid.into(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// The group's ReplicaSet with `replicas` pods.
pub fn replica_set(spec: &GroupSpec, replicas: u32) -> ReplicaSet {
    let name = group_name(&spec.deployment, &spec.revision);
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(spec.runtime_namespace.clone()),
            labels: Some(group_labels(spec)),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(i32::try_from(replicas).unwrap_or(i32::MAX)),
            selector: LabelSelector {
                match_labels: Some(selector_labels(spec)),
                ..Default::default()
            },
            template: Some(pod_template(spec)),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The pod template of a group.
pub fn pod_template(spec: &GroupSpec) -> PodTemplateSpec {
    let secret_name = group_name(&spec.deployment, &spec.revision);
    let env = spec
        .env
        .iter()
        .enumerate()
        .map(|(index, var)| match &var.value {
            EnvValue::Plain(value) => EnvVar {
                name: var.name.clone(),
                value: Some(value.clone()),
                ..Default::default()
            },
            EnvValue::Secret { .. } => EnvVar {
                name: var.name.clone(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret_name.clone(),
                        key: env_key(index, &var.name),
                        optional: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        })
        .collect::<Vec<_>>();
    let ports = spec
        .ports
        .iter()
        .map(|port| ContainerPort {
            name: (!port.name.is_empty()).then(|| port.name.clone()),
            container_port: i32::from(port.container_port),
            protocol: Some(
                match port.protocol {
                    Transport::Tcp => "TCP",
                    Transport::Udp => "UDP",
                }
                .into(),
            ),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let mounts = spec
        .config_files
        .iter()
        .enumerate()
        .map(|(index, file)| VolumeMount {
            name: CONFIG_VOLUME.into(),
            mount_path: file.path.clone(),
            sub_path: Some(file_key(index)),
            read_only: Some(true),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let volumes = (!spec.config_files.is_empty()).then(|| {
        vec![Volume {
            name: CONFIG_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_name.clone()),
                items: Some(
                    spec.config_files
                        .iter()
                        .enumerate()
                        .map(|(index, file)| KeyToPath {
                            key: file_key(index),
                            path: file_key(index),
                            mode: Some(i32::try_from(file.mode).unwrap_or(0o644)),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }]
    });
    let container = Container {
        name: CONTAINER.into(),
        image: Some(spec.image.clone()),
        command: (!spec.command.is_empty()).then(|| spec.command.clone()),
        args: (!spec.args.is_empty()).then(|| spec.args.clone()),
        env: (!env.is_empty()).then_some(env),
        ports: (!ports.is_empty()).then_some(ports),
        resources: resources(&spec.resources),
        readiness_probe: spec
            .readiness
            .as_ref()
            .map(|probe| kube_probe(probe, false)),
        liveness_probe: spec.liveness.as_ref().map(|probe| kube_probe(probe, true)),
        startup_probe: spec.startup.as_ref().map(|probe| kube_probe(probe, true)),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        working_dir: spec.working_dir.clone(),
        ..Default::default()
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(group_labels(spec)),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Always".into()),
            termination_grace_period_seconds: Some(
                i64::try_from(spec.termination_grace.as_secs()).unwrap_or(i64::MAX),
            ),
            // Instances find each other through Ferry's routing, not through the
            // Kubernetes service env variables, and need no API token.
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            affinity: affinity(&spec.placement),
            topology_spread_constraints: Some(vec![TopologySpreadConstraint {
                max_skew: 1,
                topology_key: labels::ZONE.into(),
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(spec)),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            volumes,
            ..Default::default()
        }),
    }
}

/// Requests and limits: CPU in millicores (`250m`), memory in bytes.
fn resources(resources: &Resources) -> Option<ResourceRequirements> {
    let pair = |cpu: Option<u64>, memory: Option<u64>| {
        let mut map = BTreeMap::new();
        if let Some(millis) = cpu {
            map.insert("cpu".to_string(), Quantity(format!("{millis}m")));
        }
        if let Some(bytes) = memory {
            map.insert("memory".to_string(), Quantity(bytes.to_string()));
        }
        (!map.is_empty()).then_some(map)
    };
    let requests = pair(resources.cpu_request_millis, resources.memory_request_bytes);
    let limits = pair(resources.cpu_limit_millis, resources.memory_limit_bytes);
    (requests.is_some() || limits.is_some()).then(|| ResourceRequirements {
        requests,
        limits,
        ..Default::default()
    })
}

/// Whole seconds, at least `min` (Kubernetes probes count in seconds).
fn seconds(duration: std::time::Duration, min: i32) -> i32 {
    let rounded_up = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(rounded_up).unwrap_or(i32::MAX).max(min)
}

/// A kubelet probe. Liveness and startup probes must have a success threshold of 1.
fn kube_probe(probe: &Probe, single_success: bool) -> KubeProbe {
    let mut kube = KubeProbe {
        initial_delay_seconds: Some(
            i32::try_from(probe.initial_delay.as_secs()).unwrap_or(i32::MAX),
        ),
        period_seconds: Some(seconds(probe.period, 1)),
        timeout_seconds: Some(seconds(probe.timeout, 1)),
        success_threshold: Some(if single_success {
            1
        } else {
            i32::try_from(probe.success_threshold.max(1)).unwrap_or(i32::MAX)
        }),
        failure_threshold: Some(i32::try_from(probe.failure_threshold.max(1)).unwrap_or(i32::MAX)),
        ..Default::default()
    };
    match &probe.action {
        ProbeAction::Http {
            port,
            path,
            headers,
        } => {
            kube.http_get = Some(HTTPGetAction {
                port: IntOrString::Int(i32::from(*port)),
                path: Some(path.clone()),
                http_headers: (!headers.is_empty()).then(|| {
                    headers
                        .iter()
                        .map(|(name, value)| HTTPHeader {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect()
                }),
                ..Default::default()
            });
        }
        ProbeAction::Tcp { port } => {
            kube.tcp_socket = Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(*port)),
                ..Default::default()
            });
        }
        ProbeAction::Exec { command } => {
            kube.exec = Some(ExecAction {
                command: Some(command.clone()),
            });
        }
    }
    kube
}

/// Required node affinity on the region and zone labels; a preference against the hosts
/// to avoid.
fn affinity(placement: &Placement) -> Option<Affinity> {
    let mut required = Vec::new();
    if let Some(region) = &placement.region {
        required.push(NodeSelectorRequirement {
            key: labels::REGION.into(),
            operator: "In".into(),
            values: Some(vec![region.clone()]),
        });
    }
    if let Some(zone) = &placement.zone {
        required.push(NodeSelectorRequirement {
            key: labels::ZONE.into(),
            operator: "In".into(),
            values: Some(vec![zone.clone()]),
        });
    }
    let preferred = (!placement.avoid_hosts.is_empty()).then(|| {
        vec![PreferredSchedulingTerm {
            weight: 100,
            preference: NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: HOSTNAME_LABEL.into(),
                    operator: "NotIn".into(),
                    values: Some(placement.avoid_hosts.clone()),
                }]),
                ..Default::default()
            },
        }]
    });
    if required.is_empty() && preferred.is_none() {
        return None;
    }
    Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: (!required.is_empty()).then(
                || NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(required),
                        ..Default::default()
                    }],
                },
            ),
            preferred_during_scheduling_ignored_during_execution: preferred,
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferry_runtime::{EnvVar, ProbeAction};

    use super::*;

    fn spec() -> GroupSpec {
        GroupSpec {
            namespace: "shop".into(),
            runtime_namespace: "ferry-shop".into(),
            deployment: "web".into(),
            revision: "r1".into(),
            image: "web:1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_and_selectors_follow_the_group() {
        let spec = spec();
        assert_eq!(group_name("web", "r1"), "web-r1");
        assert_eq!(
            group_selector("web", "r1"),
            "ferry.dev/managed=true,ferry.dev/deployment=web,ferry.dev/revision=r1"
        );
        let mut with_user_labels = spec.clone();
        with_user_labels
            .labels
            .insert(labels::DEPLOYMENT.into(), "spoofed".into());
        with_user_labels.labels.insert("team".into(), "a".into());
        let all = group_labels(&with_user_labels);
        assert_eq!(all[labels::DEPLOYMENT], "web", "Ferry's labels win");
        assert_eq!(all["team"], "a");
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let mut long = spec();
        long.deployment = "a".repeat(50);
        long.revision = "r12345678".into();
        let error = validate(&long).unwrap_err().to_string();
        assert!(error.contains("at most 57"), "{error}");

        let mut upper = spec();
        upper.deployment = "Web".into();
        assert!(
            validate(&upper)
                .unwrap_err()
                .to_string()
                .contains("deployment \"Web\"")
        );

        let mut no_image = spec();
        no_image.image = " ".into();
        assert!(
            validate(&no_image)
                .unwrap_err()
                .to_string()
                .contains("image is empty")
        );

        let mut relative = spec();
        relative.config_files.push(ferry_runtime::ConfigFile {
            path: "etc/x".into(),
            content: bytes::Bytes::new(),
            mode: 0o644,
        });
        assert!(
            validate(&relative)
                .unwrap_err()
                .to_string()
                .contains("etc/x")
        );

        assert!(validate(&spec()).is_ok());
        assert!(validate_namespace_name("-x").is_err());
        assert!(validate_namespace_name("ferry-shop").is_ok());
    }

    #[test]
    fn no_secret_without_secret_env_or_files() {
        let mut plain = spec();
        plain.env.push(EnvVar {
            name: "A".into(),
            value: EnvValue::Plain("1".into()),
        });
        assert!(secret(&plain, None).is_none());
        let template = pod_template(&plain);
        let container = &template.spec.unwrap().containers[0];
        assert_eq!(
            container.env.as_ref().unwrap()[0].value.as_deref(),
            Some("1")
        );
        assert!(container.volume_mounts.is_none());
    }

    #[test]
    fn secret_env_is_a_reference_and_the_value_is_in_the_secret() {
        let mut with_secret = spec();
        with_secret.env.push(EnvVar {
            name: "TOKEN".into(),
            value: EnvValue::Secret {
                secret: "api".into(),
                key: "token".into(),
                value: "hunter2".into(),
            },
        });
        let template = pod_template(&with_secret);
        let env = &template.spec.unwrap().containers[0].env.clone().unwrap()[0];
        assert_eq!(env.value, None);
        let reference = env
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (reference.name.as_str(), reference.key.as_str()),
            ("web-r1", "env.TOKEN")
        );
        let secret = secret(&with_secret, Some("uid-1")).unwrap();
        assert_eq!(secret.data.unwrap()["env.TOKEN"].0, b"hunter2");
        let owner = &secret.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("ReplicaSet", "uid-1")
        );
    }

    #[test]
    fn probes_round_up_to_whole_seconds_and_liveness_succeeds_once() {
        let probe = Probe {
            action: ProbeAction::Tcp { port: 80 },
            initial_delay: Duration::from_millis(1500),
            period: Duration::from_millis(100),
            timeout: Duration::ZERO,
            success_threshold: 3,
            failure_threshold: 0,
        };
        let readiness = kube_probe(&probe, false);
        assert_eq!(readiness.initial_delay_seconds, Some(1));
        assert_eq!(readiness.period_seconds, Some(1));
        assert_eq!(readiness.timeout_seconds, Some(1));
        assert_eq!(readiness.success_threshold, Some(3));
        assert_eq!(readiness.failure_threshold, Some(1));
        assert_eq!(kube_probe(&probe, true).success_threshold, Some(1));
    }

    #[test]
    fn placement_becomes_required_affinity_and_avoided_hosts_a_preference() {
        assert!(affinity(&Placement::default()).is_none());
        let placement = Placement {
            region: Some("r1".into()),
            zone: None,
            avoid_hosts: vec!["node-a".into()],
            excluded_hosts: Vec::new(),
        };
        let node = affinity(&placement).unwrap().node_affinity.unwrap();
        let required = &node
            .required_during_scheduling_ignored_during_execution
            .unwrap()
            .node_selector_terms[0];
        let expressions = required.match_expressions.as_ref().unwrap();
        assert_eq!(expressions.len(), 1);
        assert_eq!(expressions[0].key, labels::REGION);
        let preferred = &node
            .preferred_during_scheduling_ignored_during_execution
            .unwrap()[0];
        let avoid = &preferred.preference.match_expressions.as_ref().unwrap()[0];
        assert_eq!(avoid.operator, "NotIn");
        assert_eq!(avoid.values.as_deref(), Some(&["node-a".to_string()][..]));
    }

    #[test]
    fn resources_are_millicores_and_bytes() {
        let requirements = resources(&Resources {
            cpu_request_millis: Some(1500),
            memory_request_bytes: None,
            cpu_limit_millis: None,
            memory_limit_bytes: Some(1 << 30),
        })
        .unwrap();
        assert_eq!(requirements.requests.unwrap()["cpu"].0, "1500m");
        assert_eq!(requirements.limits.unwrap()["memory"].0, "1073741824");
        assert!(resources(&Resources::default()).is_none());
    }
}
