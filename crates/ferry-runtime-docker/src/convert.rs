//! Pure conversions between Ferry's runtime types and the Docker Engine API: names,
//! container configuration, phases and exits, usage. No IO here.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::SystemTime;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerStatsResponse, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use ferry_runtime::{
    ConfigFile, Exit, GroupSpec, InstancePhase, InstanceStatus, PublishedPort, Transport, labels,
};
use rand::Rng;

use crate::DockerError;

/// Label holding the runtime namespace (the Docker network) of a container; the Ferry
/// namespace id is in [`labels::NAMESPACE`].
pub const RUNTIME_NAMESPACE_LABEL: &str = "ferry.dev/runtime-namespace";

/// The name of the container of `instance` in `runtime_namespace`: container names are
/// per engine, so the namespace prefix keeps two namespaces apart.
pub fn container_name(runtime_namespace: &str, instance: &str) -> String {
    format!("{runtime_namespace}.{instance}")
}

/// A new instance id: `{deployment}-{revision}-{5 random [a-z0-9]}`.
pub(crate) fn new_instance_id(deployment: &str, revision: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{deployment}-{revision}-{suffix}")
}

fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// Checks that a runtime namespace can name a Docker network and prefix container names.
pub(crate) fn validate_runtime_namespace(runtime_namespace: &str) -> Result<(), DockerError> {
    if is_dns_label(runtime_namespace) {
        Ok(())
    } else {
        Err(DockerError::Invalid(format!(
            "runtime namespace {runtime_namespace:?} must be a DNS label (lowercase letters, digits, '-', at most 63)"
        )))
    }
}

/// Checks what this adapter needs of a group spec.
pub(crate) fn validate_spec(spec: &GroupSpec) -> Result<(), DockerError> {
    validate_runtime_namespace(&spec.runtime_namespace)?;
    for (field, value) in [
        ("deployment", &spec.deployment),
        ("revision", &spec.revision),
    ] {
        if !is_dns_label(value) {
            return Err(DockerError::Invalid(format!(
                "{field} {value:?} must be a DNS label"
            )));
        }
    }
    let instance_len = spec.deployment.len() + spec.revision.len() + 7;
    if instance_len > 63 {
        return Err(DockerError::Invalid(format!(
            "instance names of {}-{} would be {instance_len} characters, more than 63",
            spec.deployment, spec.revision
        )));
    }
    if spec.image.is_empty() {
        return Err(DockerError::Invalid("image is empty".into()));
    }
    for file in &spec.config_files {
        if !file.path.starts_with('/') || file.path.ends_with('/') || file.path.contains("/../") {
            return Err(DockerError::Invalid(format!(
                "config file path {:?} must be an absolute file path",
                file.path
            )));
        }
    }
    for var in &spec.env {
        if var.name.is_empty() || var.name.contains('=') {
            return Err(DockerError::Invalid(format!(
                "environment variable name {:?} is invalid",
                var.name
            )));
        }
    }
    Ok(())
}

fn port_key(port: u16, protocol: Transport) -> String {
    match protocol {
        Transport::Tcp => format!("{port}/tcp"),
        Transport::Udp => format!("{port}/udp"),
    }
}

/// The labels of an instance's container: the spec's, then Ferry's (which win).
pub(crate) fn container_labels(spec: &GroupSpec, instance: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    for (key, value) in [
        (labels::MANAGED, "true"),
        (labels::NAMESPACE, spec.namespace.as_str()),
        (labels::DEPLOYMENT, spec.deployment.as_str()),
        (labels::REVISION, spec.revision.as_str()),
        (labels::INSTANCE, instance),
        (RUNTIME_NAMESPACE_LABEL, spec.runtime_namespace.as_str()),
    ] {
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// The create-container body of one instance of `spec`, on the namespace's network.
/// Carries resolved secret values in `Env`: never log it.
pub(crate) fn container_body(spec: &GroupSpec, instance: &str) -> ContainerCreateBody {
    let network = spec.runtime_namespace.clone();
    let env: Vec<String> = spec
        .env
        .iter()
        .map(|var| format!("{}={}", var.name, var.value.resolved()))
        .collect();
    let exposed: Vec<String> = spec
        .ports
        .iter()
        .map(|p| port_key(p.container_port, p.protocol))
        .collect();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in spec.ports.iter().filter(|p| p.publish) {
        bindings.insert(
            port_key(port.container_port, port.protocol),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        );
    }
    let mut aliases = spec.aliases.clone();
    aliases.push(instance.to_string());
    let resources = spec.resources;
    let host_config = HostConfig {
        init: Some(true),
        network_mode: Some(network.clone()),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        nano_cpus: resources.cpu_limit_millis.map(|m| (m * 1_000_000) as i64),
        memory: resources.memory_limit_bytes.map(|b| b as i64),
        memory_reservation: resources.memory_request_bytes.map(|b| b as i64),
        cpu_shares: resources
            .cpu_request_millis
            .map(|m| ((m * 1024) / 1000).max(2) as i64),
        ..Default::default()
    };
    ContainerCreateBody {
        hostname: Some(instance.to_string()),
        image: Some(spec.image.clone()),
        entrypoint: (!spec.command.is_empty()).then(|| spec.command.clone()),
        cmd: (!spec.args.is_empty()).then(|| spec.args.clone()),
        env: Some(env),
        working_dir: spec.working_dir.clone(),
        labels: Some(container_labels(spec, instance)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        stop_signal: Some("SIGTERM".into()),
        stop_timeout: Some(spec.termination_grace.as_secs_f64().ceil() as i64),
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                EndpointSettings {
                    aliases: Some(aliases),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

/// A tar archive of the config files, to upload at `/` before the container starts.
pub(crate) fn config_files_tar(files: &[ConfigFile]) -> Result<Vec<u8>, DockerError> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.content.len() as u64);
        header.set_mode(file.mode);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        let relative = file.path.trim_start_matches('/');
        builder
            .append_data(&mut header, relative, file.content.as_ref())
            .map_err(|e| DockerError::Invalid(format!("config file {}: {e}", file.path)))?;
    }
    builder
        .into_inner()
        .map_err(|e| DockerError::Invalid(format!("config files archive: {e}")))
}

/// Parses an engine timestamp (RFC 3339, UTC); `None` for the zero time or garbage.
pub(crate) fn parse_time(value: &str) -> Option<SystemTime> {
    if value.is_empty() || value.starts_with("0001-") {
        return None;
    }
    humantime::parse_rfc3339_weak(value.trim_end_matches('Z'))
        .ok()
        .or_else(|| humantime::parse_rfc3339(value).ok())
}

/// How a run ended, from the engine's exit code and OOM flag. With `init: true` the
/// init process reports a child killed by signal N as 128+N, as does the engine for a
/// killed init.
pub(crate) fn exit_of(code: i64, oom_killed: bool, finished_at: Option<SystemTime>) -> Exit {
    let code = code as i32;
    let signal = if code > 128 && code < 128 + 65 {
        code - 128
    } else {
        0
    };
    let reason = if oom_killed {
        "OOM_KILLED"
    } else if signal != 0 {
        "KILLED"
    } else if code == 0 {
        "COMPLETED"
    } else {
        "ERROR"
    };
    Exit {
        code,
        signal: if oom_killed && signal == 0 { 9 } else { signal },
        reason: reason.into(),
        finished_at,
    }
}

/// The phase of a container state.
pub(crate) fn phase_of(
    status: Option<ContainerStateStatusEnum>,
    start_error: &str,
) -> InstancePhase {
    match status {
        Some(ContainerStateStatusEnum::RUNNING)
        | Some(ContainerStateStatusEnum::PAUSED)
        | Some(ContainerStateStatusEnum::RESTARTING) => InstancePhase::Running,
        Some(ContainerStateStatusEnum::REMOVING) | Some(ContainerStateStatusEnum::STOPPING) => {
            InstancePhase::Terminating
        }
        Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
            if start_error.is_empty() {
                InstancePhase::Exited
            } else {
                InstancePhase::Failed
            }
        }
        Some(ContainerStateStatusEnum::CREATED) | Some(ContainerStateStatusEnum::EMPTY) | None => {
            InstancePhase::Pending
        }
    }
}

/// Where an instance runs, for [`instance_status`].
#[derive(Clone, Debug, Default)]
pub(crate) struct HostInfo {
    /// Ferry host id.
    pub(crate) host: String,
    /// Region.
    pub(crate) region: String,
    /// Zone.
    pub(crate) zone: String,
}

/// An instance's status from its container's inspection (health not filled in).
pub(crate) fn instance_status(
    inspect: &ContainerInspectResponse,
    network: &str,
    host: &HostInfo,
) -> InstanceStatus {
    let config = inspect.config.clone().unwrap_or_default();
    let labels_map: BTreeMap<String, String> = config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let label = |key: &str| labels_map.get(key).cloned().unwrap_or_default();
    let state = inspect.state.clone().unwrap_or_default();
    let start_error = state.error.clone().unwrap_or_default();
    let phase = phase_of(state.status, &start_error);
    let started_at = state.started_at.as_deref().and_then(parse_time);
    let finished_at = state.finished_at.as_deref().and_then(parse_time);
    let exit = match phase {
        InstancePhase::Exited | InstancePhase::Failed => Some(exit_of(
            state.exit_code.unwrap_or(0),
            state.oom_killed.unwrap_or(false),
            finished_at,
        )),
        _ => None,
    };
    let settings = inspect.network_settings.clone().unwrap_or_default();
    let ip = settings
        .networks
        .as_ref()
        .and_then(|networks| networks.get(network))
        .and_then(|endpoint| endpoint.ip_address.as_deref())
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    let port_map = settings.ports.unwrap_or_default();
    let mut ports = Vec::new();
    for key in config.exposed_ports.clone().unwrap_or_default() {
        let (number, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = number.parse::<u16>() else {
            continue;
        };
        let binding = port_map
            .get(&key)
            .and_then(|b| b.as_ref())
            .and_then(|b| b.first().cloned());
        ports.push(PublishedPort {
            name: String::new(),
            container_port,
            protocol: if protocol == "udp" {
                Transport::Udp
            } else {
                Transport::Tcp
            },
            host_address: binding
                .as_ref()
                .and_then(|b| b.host_ip.as_deref())
                .and_then(|ip| ip.parse().ok()),
            host_port: binding
                .as_ref()
                .and_then(|b| b.host_port.as_deref())
                .and_then(|p| p.parse().ok()),
        });
    }
    ports.sort_by_key(|p| p.container_port);
    let running = phase == InstancePhase::Running;
    InstanceStatus {
        namespace: label(labels::NAMESPACE),
        deployment: label(labels::DEPLOYMENT),
        revision: label(labels::REVISION),
        instance: label(labels::INSTANCE),
        runtime_id: inspect.id.clone().unwrap_or_default(),
        display_name: inspect
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        host: host.host.clone(),
        region: host.region.clone(),
        zone: host.zone.clone(),
        phase,
        started: running,
        ready: running,
        reason: if phase == InstancePhase::Failed {
            "START_FAILED".into()
        } else {
            String::new()
        },
        message: start_error,
        ip,
        ports,
        restart_count: inspect.restart_count.unwrap_or(0).max(0) as u32,
        started_at,
        ready_since: if running { started_at } else { None },
        exit,
        labels: labels_map,
    }
}

/// CPU used between the two samples of a stats answer, in thousandths of a core.
pub(crate) fn cpu_millis(stats: &ContainerStatsResponse) -> u64 {
    let (Some(now), Some(before)) = (&stats.cpu_stats, &stats.precpu_stats) else {
        return 0;
    };
    let total = |s: &bollard::models::ContainerCpuStats| {
        s.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(now).saturating_sub(total(before));
    let system_delta = now
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(before.system_cpu_usage.unwrap_or(0));
    if system_delta == 0 {
        return 0;
    }
    let cpus = now.online_cpus.filter(|n| *n > 0).unwrap_or_else(|| {
        now.cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map(|v| v.len() as u32)
            .unwrap_or(1)
    });
    ((cpu_delta as f64 / system_delta as f64) * f64::from(cpus) * 1000.0).round() as u64
}

/// Memory working set: usage minus the inactive file cache.
pub(crate) fn memory_working_set(stats: &ContainerStatsResponse) -> u64 {
    let Some(memory) = &stats.memory_stats else {
        return 0;
    };
    let usage = memory.usage.unwrap_or(0);
    let details = memory.stats.clone().unwrap_or_default();
    let inactive = details
        .get("total_inactive_file")
        .or_else(|| details.get("inactive_file"))
        .or_else(|| details.get("cache"))
        .copied()
        .unwrap_or(0);
    usage.saturating_sub(inactive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};
    use ferry_runtime::{EnvValue, EnvVar, PortSpec};
    use std::time::Duration;

    #[test]
    fn exits_map_codes_signals_and_oom() {
        let killed = exit_of(137, false, None);
        assert_eq!(
            (killed.code, killed.signal, killed.reason.as_str()),
            (137, 9, "KILLED")
        );
        let error = exit_of(1, false, None);
        assert_eq!((error.signal, error.reason.as_str()), (0, "ERROR"));
        let done = exit_of(0, false, None);
        assert_eq!(done.reason, "COMPLETED");
        let oom = exit_of(137, true, None);
        assert_eq!((oom.signal, oom.reason.as_str()), (9, "OOM_KILLED"));
        let term = exit_of(143, false, None);
        assert_eq!(term.signal, 15);
        // Codes above 128+64 are plain codes, not signals.
        assert_eq!(exit_of(255, false, None).signal, 0);
    }

    #[test]
    fn phases_follow_the_container_state() {
        use ContainerStateStatusEnum as S;
        assert_eq!(phase_of(Some(S::CREATED), ""), InstancePhase::Pending);
        assert_eq!(phase_of(Some(S::RUNNING), ""), InstancePhase::Running);
        assert_eq!(phase_of(Some(S::REMOVING), ""), InstancePhase::Terminating);
        assert_eq!(phase_of(Some(S::EXITED), ""), InstancePhase::Exited);
        assert_eq!(phase_of(Some(S::DEAD), ""), InstancePhase::Exited);
        assert_eq!(
            phase_of(Some(S::EXITED), "exec: \"/nope\": not found"),
            InstancePhase::Failed
        );
    }

    #[test]
    fn instance_ids_and_container_names() {
        let id = new_instance_id("web", "r3");
        assert!(id.starts_with("web-r3-"), "{id}");
        let suffix = &id["web-r3-".len()..];
        assert_eq!(suffix.len(), 5);
        assert!(
            suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(new_instance_id("web", "r3"), new_instance_id("web", "r3"));
        assert_eq!(container_name("ferry-dev", &id), format!("ferry-dev.{id}"));
    }

    fn spec() -> GroupSpec {
        GroupSpec {
            namespace: "dev".into(),
            runtime_namespace: "ferry-dev".into(),
            deployment: "web".into(),
            revision: "r1".into(),
            image: "echo:1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn specs_are_validated() {
        assert!(validate_spec(&spec()).is_ok());
        let mut long = spec();
        long.deployment = "d".repeat(60);
        assert!(
            validate_spec(&long)
                .unwrap_err()
                .to_string()
                .contains("more than 63")
        );
        let mut upper = spec();
        upper.runtime_namespace = "Ferry".into();
        assert!(validate_spec(&upper).is_err());
        let mut relative = spec();
        relative.config_files.push(ConfigFile {
            path: "etc/x".into(),
            content: Default::default(),
            mode: 0o644,
        });
        assert!(validate_spec(&relative).is_err());
    }

    #[test]
    fn container_body_carries_labels_ports_limits_and_aliases() {
        let mut spec = spec();
        spec.env.push(EnvVar {
            name: "TOKEN".into(),
            value: EnvValue::Secret {
                secret: "s".into(),
                key: "k".into(),
                value: "hunter2".into(),
            },
        });
        spec.ports.push(PortSpec {
            name: "http".into(),
            container_port: 8080,
            protocol: Transport::Tcp,
            publish: true,
        });
        spec.aliases.push("web".into());
        spec.resources.cpu_limit_millis = Some(500);
        spec.resources.memory_limit_bytes = Some(64 << 20);
        spec.termination_grace = Duration::from_millis(1500);
        let body = container_body(&spec, "web-r1-abcde");
        assert_eq!(
            body.env.as_ref().unwrap(),
            &vec!["TOKEN=hunter2".to_string()]
        );
        let host = body.host_config.as_ref().unwrap();
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(host.init, Some(true));
        assert_eq!(body.stop_timeout, Some(2));
        let binding = host.port_bindings.as_ref().unwrap()["8080/tcp"]
            .clone()
            .unwrap();
        assert_eq!(binding[0].host_ip.as_deref(), Some("127.0.0.1"));
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[labels::INSTANCE], "web-r1-abcde");
        assert_eq!(labels[RUNTIME_NAMESPACE_LABEL], "ferry-dev");
        let endpoint = &body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap()["ferry-dev"];
        assert_eq!(
            endpoint.aliases.as_ref().unwrap(),
            &vec!["web".to_string(), "web-r1-abcde".to_string()]
        );
    }

    #[test]
    fn usage_from_stats() {
        let stats = ContainerStatsResponse {
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(1_500_000_000),
                    ..Default::default()
                }),
                system_cpu_usage: Some(12_000_000_000),
                online_cpus: Some(2),
                ..Default::default()
            }),
            precpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(1_000_000_000),
                    ..Default::default()
                }),
                system_cpu_usage: Some(10_000_000_000),
                online_cpus: Some(2),
                ..Default::default()
            }),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(100),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 30)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        // 0.5 s of CPU over 2 s of system time on 2 CPUs: half a core.
        assert_eq!(cpu_millis(&stats), 500);
        assert_eq!(memory_working_set(&stats), 70);
    }

    #[test]
    fn engine_times_parse() {
        let t = parse_time("2026-11-26T09:04:22.123456789Z").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1795683862);
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn config_files_become_a_tar() {
        let tar = config_files_tar(&[ConfigFile {
            path: "/etc/app/app.conf".into(),
            content: "a=1\n".into(),
            mode: 0o600,
        }])
        .unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("etc/app/app.conf"));
        assert_eq!(entry.header().mode().unwrap(), 0o600);
    }
}
