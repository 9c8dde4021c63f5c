//! Which service answers a gRPC call: [`route`], a pure function of the call's path.
//!
//! The API is split by package (`proto/README.md`, "Layout"): `/ferry.deploy.v1.*` belongs
//! to the deploy service, and so on. The exceptions are spelled out here and nowhere else:
//! `ferry.catalog.v1.ExternalEntryService` belongs to routing, the Operations API is
//! answered by any service (they all read the same etcd), and `ferry.auth.v1`, health and
//! reflection are the gateway's own.

/// Where a call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Served by the gateway itself (`ferry.auth.v1`, health, reflection).
    Local,
    /// Forwarded to an instance of the target.
    Forward(Target),
    /// Nobody serves this path: UNIMPLEMENTED.
    Unknown,
}

/// The instances a forwarded call may go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An instance of one service, by its registered name (`deploy`, …).
    Service(&'static str),
    /// An instance of any service except the gateway, `preferred`'s first.
    Any {
        /// The service tried first while it has an instance.
        preferred: &'static str,
    },
}

impl Target {
    /// A short label for logs and error metadata.
    pub fn label(&self) -> &'static str {
        match self {
            Target::Service(service) => service,
            Target::Any { .. } => "any",
        }
    }
}

/// The owning service of each forwarded `ferry.<area>.v1` package.
const PACKAGES: &[(&str, &str)] = &[
    ("ferry.build.v1", "build"),
    ("ferry.deploy.v1", "deploy"),
    ("ferry.catalog.v1", "catalog"),
    ("ferry.storage.v1", "storage"),
    ("ferry.routing.v1", "routing"),
];

/// Routes a gRPC path `/<package>.<Service>/<Method>`.
pub fn route(path: &str) -> Route {
    let Some((package, service, _method)) = split_path(path) else {
        return Route::Unknown;
    };
    match (package, service) {
        ("ferry.auth.v1", _) => Route::Local,
        ("grpc.health.v1", _) => Route::Local,
        (package, _) if package.starts_with("grpc.reflection.") => Route::Local,
        ("ferry.common.v1", "OperationsService") => Route::Forward(Target::Any {
            preferred: "deploy",
        }),
        ("ferry.catalog.v1", "ExternalEntryService") => Route::Forward(Target::Service("routing")),
        (package, _) => PACKAGES
            .iter()
            .find(|(owned, _)| *owned == package)
            .map_or(Route::Unknown, |(_, owner)| {
                Route::Forward(Target::Service(owner))
            }),
    }
}

/// Splits `/<package>.<Service>/<Method>` into its three parts; `None` when malformed.
pub fn split_path(path: &str) -> Option<(&str, &str, &str)> {
    let (qualified, method) = path.strip_prefix('/')?.split_once('/')?;
    let (package, service) = qualified.rsplit_once('.')?;
    let valid = |part: &str| !part.is_empty() && !part.contains('/');
    (valid(package) && valid(service) && valid(method)).then_some((package, service, method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn forward(service: &'static str) -> Route {
        Route::Forward(Target::Service(service))
    }

    #[test]
    fn every_package_goes_to_its_owner() {
        for (path, expected) in [
            ("/ferry.build.v1.BuildService/GetBuild", forward("build")),
            ("/ferry.build.v1.WebhookService/X", forward("build")),
            (
                "/ferry.deploy.v1.NamespaceService/GetNamespace",
                forward("deploy"),
            ),
            (
                "/ferry.deploy.v1.EventService/WatchEvents",
                forward("deploy"),
            ),
            (
                "/ferry.catalog.v1.ServiceTemplateService/ListServiceTemplates",
                forward("catalog"),
            ),
            (
                "/ferry.catalog.v1.ServiceInstanceService/Get",
                forward("catalog"),
            ),
            (
                "/ferry.storage.v1.VolumeService/CreateVolume",
                forward("storage"),
            ),
            (
                "/ferry.routing.v1.RoutingService/GetService",
                forward("routing"),
            ),
            (
                "/ferry.routing.v1.BlueGreenService/Switch",
                forward("routing"),
            ),
        ] {
            assert_eq!(route(path), expected, "{path}");
        }
    }

    #[test]
    fn external_entries_belong_to_routing_not_catalog() {
        assert_eq!(
            route("/ferry.catalog.v1.ExternalEntryService/CreateExternalEntry"),
            forward("routing")
        );
    }

    #[test]
    fn operations_go_to_any_service_deploy_first() {
        assert_eq!(
            route("/ferry.common.v1.OperationsService/WatchOperation"),
            Route::Forward(Target::Any {
                preferred: "deploy"
            })
        );
    }

    #[test]
    fn auth_health_and_reflection_are_local() {
        for path in [
            "/ferry.auth.v1.TokenService/CreateToken",
            "/ferry.auth.v1.AuditService/ListAuditEntries",
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(route(path), Route::Local, "{path}");
        }
    }

    #[test]
    fn unknown_and_malformed_paths_are_unknown() {
        for path in [
            "/ferry.billing.v1.InvoiceService/GetInvoice",
            "/ferry.deploy.v2.NamespaceService/GetNamespace",
            "/ferry.common.v1.OtherService/Get",
            "/grpc.channelz.v1.Channelz/GetTopChannels",
            "/ferry.deploy.v1.NamespaceService",
            "/ferry.deploy.v1.NamespaceService/",
            "/NamespaceService/GetNamespace",
            "/ferry.deploy.v1.NamespaceService/Get/Extra",
            "ferry.deploy.v1.NamespaceService/GetNamespace",
            "/",
            "",
        ] {
            assert_eq!(route(path), Route::Unknown, "{path:?}");
        }
    }

    /// Every service the API declares (except the gateway's own) is forwarded somewhere:
    /// a new package or service cannot silently become UNIMPLEMENTED at the front door.
    #[test]
    fn every_declared_service_has_a_route() {
        let set = prost_types::FileDescriptorSet::decode(ferry_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut checked = 0;
        for file in set.file {
            let package = file.package();
            if !package.starts_with("ferry.") {
                continue;
            }
            for service in &file.service {
                let path = format!("/{package}.{}/Method", service.name());
                let expected_local = package == "ferry.auth.v1";
                match route(&path) {
                    Route::Local => assert!(expected_local, "{path} must be forwarded"),
                    Route::Forward(_) => assert!(!expected_local, "{path} must be local"),
                    Route::Unknown => panic!("{path} has no route"),
                }
                checked += 1;
            }
        }
        assert!(
            checked > 20,
            "only {checked} services in the descriptor set"
        );
    }
}
