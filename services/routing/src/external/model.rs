//! Pure rules of external entries: validation, the stored record, the data plane program
//! and the observed status.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::catalog::v1::address_status::Health;
use ferry_proto::ferry::catalog::v1::external_entry::State;
use ferry_proto::ferry::catalog::v1::{AddressStatus, ExternalEntry};
use ferry_proto::ferry::common::v1::{
    Condition, ConditionStatus, ErrorReason, Protocol, health_check,
};
use prost_types::Timestamp;

use crate::dataplane::{
    ActiveCheck, Balancing, Program, ProgramBackend, ProgramKind, ProgramPort, ProgramStatus,
    ProgramTarget, TargetPort,
};

/// `namespaces/{namespace}/externalEntries/{entry}`.
pub const ENTRY_NAME: NamePattern = NamePattern("namespaces/{namespace}/externalEntries/{entry}");

/// Fields UpdateExternalEntry may change.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "addresses",
    "ports",
    "health_check",
];

/// Most addresses of one entry.
pub const MAX_ADDRESSES: usize = 64;

/// How long connections to removed addresses may finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

const MAX_TEXT: usize = 1024;

/// What the routing service stores for an entry: its configuration (status fields
/// empty) and the cluster address it was given (the API has no field for it).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalRecord {
    /// The entry's configuration.
    #[prost(message, optional, tag = "1")]
    pub entry: Option<ExternalEntry>,
    /// Its stable loopback address (`127.77.x.y`), where the local data plane listens.
    #[prost(string, tag = "2")]
    pub cluster_address: String,
}

/// Checks every client-settable field of an entry (`field` is the request field).
pub fn validate(entry: &ExternalEntry, field: &str) -> Result<(), ApiError> {
    let at = |name: &str| format!("{field}.{name}");
    if entry.display_name.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            at("display_name"),
            format!("longer than {MAX_TEXT} bytes"),
        ));
    }
    if entry.ports.is_empty() {
        return Err(ApiError::invalid_field(
            at("ports"),
            "at least one port is required",
        ));
    }
    let mut names = HashSet::new();
    let mut numbers = HashSet::new();
    for (index, port) in entry.ports.iter().enumerate() {
        let at = |name: &str| format!("{field}.ports[{index}].{name}");
        if !(1..=65535).contains(&port.port) {
            return Err(ApiError::invalid_field(
                at("port"),
                format!("{} is outside 1..65535", port.port),
            ));
        }
        if port.name.is_empty() {
            if entry.ports.len() > 1 {
                return Err(ApiError::invalid_field(
                    at("name"),
                    "required when an entry has several ports",
                ));
            }
        } else {
            aip::validate_id(&at("name"), &port.name)?;
        }
        if !names.insert(port.name.as_str()) {
            return Err(ApiError::invalid_field(
                at("name"),
                format!("duplicate port name {:?}", port.name),
            ));
        }
        if !numbers.insert(port.port) {
            return Err(ApiError::invalid_field(
                at("port"),
                format!("duplicate port {}", port.port),
            ));
        }
        if port.protocol == Protocol::Udp as i32 {
            return Err(ApiError::invalid_field(
                at("protocol"),
                "UDP is not routed yet: use TCP, HTTP or GRPC",
            ));
        }
    }
    if entry.addresses.is_empty() || entry.addresses.len() > MAX_ADDRESSES {
        return Err(ApiError::invalid_field(
            at("addresses"),
            format!("between 1 and {MAX_ADDRESSES} addresses are required"),
        ));
    }
    let mut hosts = HashSet::new();
    for (index, address) in entry.addresses.iter().enumerate() {
        let at = |name: &str| format!("{field}.addresses[{index}].{name}");
        if !valid_host(&address.host) {
            return Err(ApiError::invalid_field(
                at("host"),
                format!("{:?} is not an IP address or a DNS host name", address.host),
            ));
        }
        if !hosts.insert(address.host.as_str()) {
            return Err(ApiError::invalid_field(
                at("host"),
                format!("duplicate address {:?}", address.host),
            ));
        }
        let mut mapped = HashSet::new();
        for (port_index, port) in address.ports.iter().enumerate() {
            let at = |name: &str| format!("{field}.addresses[{index}].ports[{port_index}].{name}");
            if !names.contains(port.name.as_str()) {
                return Err(ApiError::invalid_field(
                    at("name"),
                    format!("the entry has no port named {:?}", port.name),
                ));
            }
            if !mapped.insert(port.name.as_str()) {
                return Err(ApiError::invalid_field(
                    at("name"),
                    format!("port {:?} is mapped twice", port.name),
                ));
            }
            if !(1..=65535).contains(&port.port) {
                return Err(ApiError::invalid_field(
                    at("port"),
                    format!("{} is outside 1..65535", port.port),
                ));
            }
        }
    }
    if let Some(check) = &entry.health_check {
        let at = |name: &str| format!("{field}.health_check.{name}");
        match &check.probe {
            None => return Err(ApiError::invalid_field(at("probe"), "set http or tcp")),
            Some(health_check::Probe::Exec(_)) => {
                return Err(ApiError::invalid_field(
                    at("exec"),
                    "outside addresses cannot run commands: use http or tcp",
                ));
            }
            Some(health_check::Probe::Http(http)) => {
                if !http.path.starts_with('/') {
                    return Err(ApiError::invalid_field(
                        at("http.path"),
                        "must start with `/`",
                    ));
                }
                if !matches!(http.scheme.as_str(), "" | "http") {
                    return Err(ApiError::invalid_field(
                        at("http.scheme"),
                        "only http is checked yet",
                    ));
                }
            }
            Some(health_check::Probe::Tcp(_)) => {}
        }
        if let Some(period) = check.period
            && duration(period) < Duration::from_millis(100)
        {
            return Err(ApiError::invalid_field(at("period"), "at least 100 ms"));
        }
        if check.failure_threshold < 0 || check.success_threshold < 0 {
            return Err(ApiError::invalid_field(
                at("failure_threshold"),
                "must not be negative",
            ));
        }
    }
    Ok(())
}

fn valid_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn duration(value: prost_types::Duration) -> Duration {
    Duration::try_from(value).unwrap_or_default()
}

/// The data plane's active check for an entry's health check.
pub fn active_check(entry: &ExternalEntry) -> Option<ActiveCheck> {
    let check = entry.health_check.as_ref()?;
    Some(ActiveCheck {
        http_path: match &check.probe {
            Some(health_check::Probe::Http(http)) => Some(http.path.clone()),
            _ => None,
        },
        interval: check.period.map(duration).unwrap_or(Duration::from_secs(5)),
        timeout: check
            .timeout
            .map(duration)
            .unwrap_or(Duration::from_secs(1)),
        healthy_threshold: if check.success_threshold > 0 {
            check.success_threshold as u32
        } else {
            1
        },
        unhealthy_threshold: if check.failure_threshold > 0 {
            check.failure_threshold as u32
        } else {
            3
        },
    })
}

/// The IPs an address's host stands for: itself when it is an IP, else what it
/// resolved to (`resolved`).
pub fn host_ips(host: &str, resolved: &HashMap<String, Vec<IpAddr>>) -> Vec<IpAddr> {
    match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolved.get(host).cloned().unwrap_or_default(),
    }
}

/// The data plane program of an entry; `None` when its record has no entry.
/// `all_unhealthy` makes the program fail open (every address gets traffic).
pub fn program(
    record: &ExternalRecord,
    resolved: &HashMap<String, Vec<IpAddr>>,
    fail_open: bool,
) -> Option<Program> {
    let entry = record.entry.as_ref()?;
    let ports = entry
        .ports
        .iter()
        .map(|port| ProgramPort {
            name: port.name.clone(),
            port: port.port as u16,
            node_port: None,
            target_port: TargetPort::Number(port.port as u16),
            backends: entry
                .addresses
                .iter()
                .flat_map(|address| {
                    let number = address
                        .ports
                        .iter()
                        .find(|p| p.name == port.name)
                        .map_or(port.port, |p| p.port) as u16;
                    host_ips(&address.host, resolved)
                        .into_iter()
                        .map(move |ip| ProgramBackend {
                            id: address.host.clone(),
                            address: SocketAddr::new(ip, number),
                        })
                })
                .collect(),
        })
        .collect();
    let health_aware = entry.health_check.is_some() && !fail_open;
    Some(Program {
        id: entry.name.clone(),
        kind: ProgramKind::ExternalEntry,
        generation: entry.generation,
        dns_name: entry.dns_name.clone(),
        cluster_address: record
            .cluster_address
            .parse()
            .unwrap_or(Ipv4Addr::LOCALHOST),
        ports,
        balancing: Balancing::RoundRobin,
        health_aware,
        active_check: active_check(entry),
        drain_timeout: DRAIN_TIMEOUT,
        target: ProgramTarget::External,
    })
}

/// The status fields of an entry, on top of its stored configuration.
pub fn merge_status(config: &ExternalEntry, status: Option<&ExternalEntry>) -> ExternalEntry {
    let mut merged = config.clone();
    match status {
        Some(status) => {
            merged.observed_generation = status.observed_generation;
            merged.reconciling = status.reconciling;
            merged.state = status.state;
            merged.conditions = status.conditions.clone();
            merged.address_statuses = status.address_statuses.clone();
        }
        None => {
            merged.reconciling = true;
            merged.state = State::Active as i32;
            merged.address_statuses = config
                .addresses
                .iter()
                .map(|a| AddressStatus {
                    host: a.host.clone(),
                    health: Health::Unknown as i32,
                    ..Default::default()
                })
                .collect();
        }
    }
    merged
}

/// The observed status of an entry (only the status fields are set): health per
/// address from this replica's data plane (an address is UNHEALTHY when any of its
/// backends fails the check), the entry's state, and its conditions.
pub fn compute_status(
    record: &ExternalRecord,
    resolved: &HashMap<String, Vec<IpAddr>>,
    data_plane: Option<&ProgramStatus>,
    previous: Option<&ExternalEntry>,
    now: Timestamp,
) -> ExternalEntry {
    let entry = record.entry.clone().unwrap_or_default();
    let programmed = data_plane.is_some_and(|s| s.generation >= entry.generation);
    let checked = entry.health_check.is_some();
    let previous_statuses: HashMap<&str, &AddressStatus> = previous
        .map(|p| {
            p.address_statuses
                .iter()
                .map(|s| (s.host.as_str(), s))
                .collect()
        })
        .unwrap_or_default();
    let mut unresolved = Vec::new();
    let address_statuses: Vec<AddressStatus> = entry
        .addresses
        .iter()
        .map(|address| {
            let ips = host_ips(&address.host, resolved);
            if ips.is_empty() {
                unresolved.push(address.host.clone());
            }
            let backends: Vec<bool> = data_plane
                .map(|s| {
                    s.endpoints
                        .iter()
                        .filter(|e| e.backend_id == address.host)
                        .map(|e| e.healthy)
                        .collect()
                })
                .unwrap_or_default();
            let health = if !checked || backends.is_empty() {
                Health::Unknown
            } else if backends.iter().all(|h| *h) {
                Health::Healthy
            } else {
                Health::Unhealthy
            };
            let before = previous_statuses.get(address.host.as_str());
            let changed = before.is_none_or(|b| b.health != health as i32);
            AddressStatus {
                host: address.host.clone(),
                resolved_ips: ips.iter().map(IpAddr::to_string).collect(),
                health: health as i32,
                last_check_time: if health == Health::Unknown {
                    None
                } else if changed {
                    Some(now)
                } else {
                    before.and_then(|b| b.last_check_time)
                },
                last_transition_time: if changed {
                    Some(now)
                } else {
                    before.and_then(|b| b.last_transition_time)
                },
                last_error: if health == Health::Unhealthy {
                    "failing its health check".to_string()
                } else if ips.is_empty() {
                    "the host name does not resolve".to_string()
                } else {
                    String::new()
                },
                consecutive_failures: 0,
            }
        })
        .collect();
    let unhealthy = address_statuses
        .iter()
        .filter(|s| s.health == Health::Unhealthy as i32)
        .count();
    let state = if unhealthy == 0 {
        State::Active
    } else if unhealthy < address_statuses.len() {
        State::Degraded
    } else {
        State::Unavailable
    };
    let previous_conditions = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let condition = |kind: &str, holds: bool, reason: ErrorReason, message: String| {
        let status = if holds {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        Condition {
            r#type: kind.to_string(),
            status: status as i32,
            reason: if holds {
                String::new()
            } else {
                ferry_kit::error::reason_str(reason).to_string()
            },
            message,
            last_transition_time: previous_conditions
                .iter()
                .find(|c| c.r#type == kind && c.status == status as i32)
                .and_then(|c| c.last_transition_time)
                .or(Some(now)),
            observed_generation: entry.generation,
        }
    };
    let conditions = vec![
        condition(
            "Ready",
            programmed,
            ErrorReason::InvalidState,
            if programmed {
                format!(
                    "{} answers at {} (local data plane)",
                    entry.dns_name, record.cluster_address
                )
            } else {
                "the routing data plane has not applied the current configuration yet".to_string()
            },
        ),
        condition(
            "Healthy",
            unhealthy == 0,
            ErrorReason::TargetUnhealthy,
            format!(
                "{unhealthy} of {} addresses unhealthy",
                address_statuses.len()
            ),
        ),
        condition(
            "Resolved",
            unresolved.is_empty(),
            ErrorReason::BackendUnavailable,
            if unresolved.is_empty() {
                "every host resolves".to_string()
            } else {
                format!("not resolving: {}", unresolved.join(", "))
            },
        ),
    ];
    ExternalEntry {
        observed_generation: if programmed {
            entry.generation
        } else {
            previous.map_or(0, |p| p.observed_generation)
        },
        reconciling: !programmed,
        state: state as i32,
        conditions,
        address_statuses,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::catalog::v1::{AddressPort, ExternalAddress};
    use ferry_proto::ferry::common::v1::{ContainerPort, ExecProbe, HealthCheck};
    use tonic::Code;

    fn entry() -> ExternalEntry {
        ExternalEntry {
            name: "namespaces/dev/externalEntries/db".into(),
            generation: 1,
            ports: vec![ContainerPort {
                name: "pg".into(),
                port: 5432,
                protocol: 0,
            }],
            addresses: vec![
                ExternalAddress {
                    host: "10.0.0.1".into(),
                    ports: vec![AddressPort {
                        name: "pg".into(),
                        port: 6432,
                    }],
                },
                ExternalAddress {
                    host: "db.example.com".into(),
                    ports: vec![],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn bad_entries_name_the_field() {
        type Mutation = Box<dyn Fn(&mut ExternalEntry)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|e| e.ports.clear()), "entry.ports"),
            (Box::new(|e| e.ports[0].port = 0), "entry.ports[0].port"),
            (Box::new(|e| e.addresses.clear()), "entry.addresses"),
            (
                Box::new(|e| e.addresses[1].host = "bad host".into()),
                "entry.addresses[1].host",
            ),
            (
                Box::new(|e| e.addresses[1].host = "10.0.0.1".into()),
                "entry.addresses[1].host",
            ),
            (
                Box::new(|e| e.addresses[0].ports[0].name = "http".into()),
                "entry.addresses[0].ports[0].name",
            ),
            (
                Box::new(|e| {
                    e.health_check = Some(HealthCheck {
                        probe: Some(health_check::Probe::Exec(ExecProbe {
                            command: vec!["true".into()],
                        })),
                        ..Default::default()
                    })
                }),
                "entry.health_check.exec",
            ),
        ];
        for (mutate, field) in cases {
            let mut bad = entry();
            mutate(&mut bad);
            let error = validate(&bad, "entry").unwrap_err();
            assert_eq!(error.code, Code::InvalidArgument);
            assert_eq!(error.field_violations[0].0, field, "{error}");
        }
        assert!(validate(&entry(), "entry").is_ok());
    }

    #[test]
    fn programs_map_ports_per_address_and_resolve_hosts() {
        let record = ExternalRecord {
            entry: Some(entry()),
            cluster_address: "127.77.0.9".into(),
        };
        let resolved: HashMap<String, Vec<IpAddr>> = [(
            "db.example.com".to_string(),
            vec!["10.0.0.7".parse().unwrap()],
        )]
        .into();
        let program = program(&record, &resolved, false).unwrap();
        let backends: Vec<String> = program.ports[0]
            .backends
            .iter()
            .map(|b| b.address.to_string())
            .collect();
        assert_eq!(backends, vec!["10.0.0.1:6432", "10.0.0.7:5432"]);
        assert!(
            !program.health_aware,
            "no health check: every address gets traffic"
        );
        let status = compute_status(&record, &HashMap::new(), None, None, Timestamp::default());
        assert!(status.reconciling);
        let resolved = status
            .conditions
            .iter()
            .find(|c| c.r#type == "Resolved")
            .unwrap();
        assert_eq!(resolved.status(), ConditionStatus::False);
    }
}
