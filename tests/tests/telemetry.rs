//! Traces leave a service over OTLP/gRPC when an endpoint is configured: a small OTLP
//! sink (the collector is not installable here) receives the spans of a call, with the
//! service's name on them, at the latest when the service shuts down and flushes.

use std::time::Duration;

use ferry_e2e::{Launch, ServiceProcess, free_port, unique_prefix};
use ferry_proto::ferry::deploy::v1::GetNamespaceRequest;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_store::testsuite::TestEtcd;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;

/// Forwards (service name, span name) of every exported span.
struct Sink(mpsc::UnboundedSender<(String, String)>);

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans
                .resource
                .iter()
                .flat_map(|resource| resource.attributes.iter())
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref()?.value.clone())
                .map(|value| match value {
                    Value::StringValue(name) => name,
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    let _ = self.0.send((service_name.clone(), span.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_over_otlp() {
    let (sender, mut received) = mpsc::unbounded_channel();
    let port = free_port();
    let sink_address = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Sink(sender)))
            .serve(sink_address),
    );

    let etcd = TestEtcd::start();
    let mut launch = Launch::new(&etcd, &unique_prefix("otlp"));
    launch.extra_args = vec!["--otlp-endpoint".into(), format!("http://127.0.0.1:{port}")];
    let mut deploy = ServiceProcess::start("deploy", &launch).await;
    let _ = NamespaceServiceClient::new(deploy.channel().await)
        .get_namespace(GetNamespaceRequest {
            name: "namespaces/none".into(),
        })
        .await;
    // Shutting down flushes the batch exporter.
    deploy.signal("TERM");
    assert_eq!(
        deploy.wait_exit(Duration::from_secs(15)),
        Some(0),
        "log:\n{}",
        deploy.log_text()
    );

    let mut spans = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(span)) = tokio::time::timeout_at(deadline, received.recv()).await {
        spans.push(span);
        if spans.iter().any(|(_, name)| name == "grpc") {
            break;
        }
    }
    assert!(
        spans
            .iter()
            .any(|(service, name)| service == "ferry-deploy" && name == "grpc"),
        "no `grpc` span from ferry-deploy among {spans:?}"
    );
}
