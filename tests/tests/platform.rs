//! Every service binary starts through the kit, registers in etcd under a lease, serves
//! health and reflection, answers UNIMPLEMENTED with ErrorInfo for what later releases
//! build, and leaves etcd cleanly (graceful) or by lease expiry (killed).

use std::time::Duration;

use ferry_e2e::{Launch, SERVICES, ServiceProcess, assert_error, eventually, unique_prefix};
use ferry_kit::registry;
use ferry_proto::ferry::common::v1::ListOperationsRequest;
use ferry_proto::ferry::common::v1::operations_service_client::OperationsServiceClient;
use ferry_proto::ferry::storage::v1::GetVolumeRequest;
use ferry_proto::ferry::storage::v1::volume_service_client::VolumeServiceClient;
use ferry_store::keys::PrefixedStore;
use ferry_store::testsuite::TestEtcd;
use ferry_store::{EtcdStore, Store};
use tonic::Code;

async fn scoped_store(etcd: &TestEtcd, prefix: &str) -> PrefixedStore<EtcdStore> {
    PrefixedStore::new(etcd.store().await, prefix.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_starts_registers_and_serves_the_api_surface() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("platform");
    let launch = Launch::new(&etcd, &prefix);
    let mut processes = Vec::new();
    for service in SERVICES {
        processes.push(ServiceProcess::spawn(service, &launch));
    }
    for process in &processes {
        process.wait_serving(Duration::from_secs(20)).await;
    }

    let store = scoped_store(&etcd, &prefix).await;
    for process in &processes {
        let instances = registry::list_instances(&store, &process.service)
            .await
            .unwrap();
        assert_eq!(instances.len(), 1, "{} registered once", process.service);
        assert_eq!(instances[0].address, process.address);
        assert_eq!(instances[0].instance_id, process.instance_id);
        assert!(!instances[0].grpc_services.is_empty());
    }

    // A method of the API that this release does not serve yet: UNIMPLEMENTED with
    // ErrorInfo naming the method and the owning service's domain.
    let storage = processes.iter().find(|p| p.service == "storage").unwrap();
    let status = VolumeServiceClient::new(storage.channel().await)
        .get_volume(GetVolumeRequest {
            name: "storageProviders/gluster/volumes/data".into(),
        })
        .await
        .unwrap_err();
    assert_error(
        &status,
        Code::Unimplemented,
        "NOT_IMPLEMENTED",
        "storage.ferry.dev",
    );

    // The Operations API is served by every service.
    for process in &processes {
        let response = OperationsServiceClient::new(process.channel().await)
            .list_operations(ListOperationsRequest::default())
            .await
            .unwrap_or_else(|status| panic!("{}: {status:?}", process.service));
        assert!(response.into_inner().operations.is_empty());
    }

    // Graceful stop: the registration goes at once (the lease is revoked).
    let mut routing = processes.pop().unwrap();
    assert_eq!(routing.service, "routing");
    routing.signal("TERM");
    assert_eq!(
        routing.wait_exit(Duration::from_secs(10)),
        Some(0),
        "log:\n{}",
        routing.log_text()
    );
    assert!(
        registry::list_instances(&store, "routing")
            .await
            .unwrap()
            .is_empty()
    );
    routing.assert_no_error_logs();

    // Killed: the registration expires with the lease (TTL 2 s, + 1 s of slack).
    let storage = processes.pop().unwrap();
    assert_eq!(storage.service, "storage");
    storage.signal("KILL");
    let gone = eventually(Duration::from_secs(3), || async {
        registry::list_instances(&store, "storage")
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    assert!(
        gone.is_some(),
        "a killed instance's registration must expire within TTL + 1 s"
    );

    for process in &processes {
        process.assert_no_error_logs();
    }
    store.delete_prefix("").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_the_services() {
    let etcd = TestEtcd::start();
    let prefix = unique_prefix("reflection");
    let deploy = ServiceProcess::start("deploy", &Launch::new(&etcd, &prefix)).await;
    let services = list_services_by_reflection(&deploy).await;
    for expected in [
        "ferry.deploy.v1.NamespaceService",
        "ferry.deploy.v1.DeploymentService",
        "ferry.common.v1.OperationsService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} missing from {services:?}"
        );
    }
    scoped_store(&etcd, &prefix)
        .await
        .delete_prefix("")
        .await
        .unwrap();
}

async fn list_services_by_reflection(process: &ServiceProcess) -> Vec<String> {
    use tonic_reflection_client::*;
    list_services(process.channel().await).await
}

/// A minimal reflection client (the v1 protocol), enough to list services.
mod tonic_reflection_client {
    use tonic::transport::Channel;

    #[derive(Clone, PartialEq, prost::Message)]
    struct ServerReflectionRequest {
        #[prost(string, tag = "1")]
        host: String,
        #[prost(oneof = "RequestKind", tags = "7")]
        message_request: Option<RequestKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum RequestKind {
        #[prost(string, tag = "7")]
        ListServices(String),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ServerReflectionResponse {
        #[prost(oneof = "ResponseKind", tags = "6")]
        message_response: Option<ResponseKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum ResponseKind {
        #[prost(message, tag = "6")]
        ListServicesResponse(ListServiceResponse),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ListServiceResponse {
        #[prost(message, repeated, tag = "1")]
        service: Vec<ServiceResponse>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ServiceResponse {
        #[prost(string, tag = "1")]
        name: String,
    }

    pub(super) async fn list_services(channel: Channel) -> Vec<String> {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(RequestKind::ListServices(String::new())),
        };
        let path = http::uri::PathAndQuery::from_static(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        );
        let codec =
            tonic_prost::ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default();
        let mut stream = grpc
            .streaming(
                tonic::Request::new(futures::stream::iter(vec![request])),
                path,
                codec,
            )
            .await
            .expect("reflection call")
            .into_inner();
        let response = stream
            .message()
            .await
            .expect("reflection answer")
            .expect("one message");
        match response.message_response {
            Some(ResponseKind::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect()
            }
            None => panic!("unexpected reflection answer"),
        }
    }
}
