//! A representative group spec shared by the golden-manifest and cluster tests.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use ferry_runtime::{
    ConfigFile, EnvValue, EnvVar, GroupSpec, Placement, PortSpec, Probe, ProbeAction, Resources,
    Transport,
};

/// The value of the secret env variable; it must never appear outside the Secret.
pub const SECRET_VALUE: &str = "s3cr3t-db-password-7f1c";

/// A group using every field of the spec: plain and secret env, ports, resources, all
/// probe kinds, placement in zone `zone` of region r1, a config file, labels.
pub fn representative_spec(runtime_namespace: &str, zone: Option<&str>) -> GroupSpec {
    let probe = |action: ProbeAction| Probe {
        action,
        initial_delay: Duration::from_secs(2),
        period: Duration::from_millis(2500),
        timeout: Duration::from_millis(500),
        success_threshold: 2,
        failure_threshold: 3,
    };
    GroupSpec {
        namespace: "shop-dev".into(),
        runtime_namespace: runtime_namespace.into(),
        deployment: "web".into(),
        revision: "r3".into(),
        image: "registry.local/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
        command: vec!["/bin/web".into()],
        args: vec!["--listen".into(), ":8080".into()],
        env: vec![
            EnvVar {
                name: "LOG_LEVEL".into(),
                value: EnvValue::Plain("info".into()),
            },
            EnvVar {
                name: "DB_PASSWORD".into(),
                value: EnvValue::Secret {
                    secret: "db".into(),
                    key: "password".into(),
                    value: SECRET_VALUE.into(),
                },
            },
        ],
        ports: vec![
            PortSpec {
                name: "http".into(),
                container_port: 8080,
                protocol: Transport::Tcp,
                publish: false,
            },
            PortSpec {
                name: "metrics".into(),
                container_port: 9090,
                protocol: Transport::Udp,
                publish: false,
            },
        ],
        resources: Resources {
            cpu_request_millis: Some(250),
            memory_request_bytes: Some(64 << 20),
            cpu_limit_millis: Some(1000),
            memory_limit_bytes: Some(256 << 20),
        },
        placement: Placement {
            region: Some("r1".into()),
            zone: zone.map(str::to_string),
            avoid_hosts: Vec::new(),
            excluded_hosts: Vec::new(),
        },
        labels: BTreeMap::from([("team".to_string(), "storefront".to_string())]),
        aliases: vec!["web".into()],
        readiness: Some(probe(ProbeAction::Http {
            port: 8080,
            path: "/ready".into(),
            headers: vec![("X-Probe".into(), "ferry".into())],
        })),
        liveness: Some(probe(ProbeAction::Tcp { port: 8080 })),
        startup: Some(probe(ProbeAction::Exec {
            command: vec!["/bin/web".into(), "check".into()],
        })),
        config_files: vec![ConfigFile {
            path: "/etc/web/config.toml".into(),
            content: Bytes::from_static(b"listen = \":8080\"\n"),
            mode: 0o640,
        }],
        working_dir: Some("/srv".into()),
        termination_grace: Duration::from_secs(20),
    }
}
