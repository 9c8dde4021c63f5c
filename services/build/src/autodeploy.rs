//! The development flow: after a successful build of the application's `source.ref`,
//! the new image is rolled out to the application's auto-deploy deployments through
//! the deploy service's gRPC API (an instance found in the registrations in etcd,
//! called directly), and each rollout's Operation is recorded in the build.

use ferry_ops::ReconcileContext;
use ferry_proto::ferry::build::v1::Build;
use ferry_proto::ferry::build::v1::build::AutoDeployment;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::deployment_template::ImageSource;
use ferry_proto::ferry::deploy::v1::{GetDeploymentRequest, UpdateDeploymentRequest};

use crate::build::controller::AfterBuild;
use crate::build::model::{self, BuildSpec};
use crate::image::usage::deploy_channel;

/// Rolls `image_uri` out to `target` (`namespaces/{ns}/deployments/{d}`) by updating
/// its template; with `only_auto_update`, a deployment whose `auto_update` is off is
/// refused. A `request_id` (a UUID) makes the call idempotent on the deploy service.
pub async fn roll_out(
    client: &mut DeploymentServiceClient<tonic::transport::Channel>,
    target: &str,
    image_uri: &str,
    request_id: &str,
    only_auto_update: bool,
) -> Result<ferry_proto::ferry::common::v1::Operation, tonic::Status> {
    let mut deployment = client
        .get_deployment(GetDeploymentRequest {
            name: target.to_string(),
        })
        .await?
        .into_inner();
    if only_auto_update && !deployment.auto_update {
        return Err(tonic::Status::failed_precondition(format!(
            "{target} has auto_update off: the image was not rolled out"
        )));
    }
    let mut template = deployment.template.clone().unwrap_or_default();
    template.image_source = Some(ImageSource::ImageUri(image_uri.to_string()));
    deployment.template = Some(template);
    deployment.etag.clear();
    let request = UpdateDeploymentRequest {
        deployment: Some(deployment),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["template".into()],
        }),
        request_id: request_id.to_string(),
        ..Default::default()
    };
    Ok(client.update_deployment(request).await?.into_inner())
}

/// Rolls successful development builds out to the auto-deploy targets.
pub struct AutoDeploy;

fn error_status(code: tonic::Code, message: impl Into<String>) -> tonic_types::pb::Status {
    tonic_types::pb::Status {
        code: code as i32,
        message: message.into(),
        details: Vec::new(),
    }
}

#[async_trait::async_trait]
impl AfterBuild for AutoDeploy {
    async fn succeeded(
        &self,
        context: &ReconcileContext,
        mut build: Build,
        spec: &BuildSpec,
    ) -> Build {
        let application = spec.application.clone().unwrap_or_default();
        let targets = application
            .auto_deploy
            .as_ref()
            .map(|a| a.deployments.clone())
            .unwrap_or_default();
        if spec.skip_auto_deploy
            || targets.is_empty()
            || !model::is_development_build(&build, &application)
        {
            return build;
        }
        let channel = match deploy_channel(context.store.as_ref()).await {
            Ok(Some(channel)) => channel,
            Ok(None) | Err(_) => {
                for deployment in targets {
                    build.auto_deployments.push(AutoDeployment {
                        deployment,
                        operation: String::new(),
                        error: Some(error_status(
                            tonic::Code::Unavailable,
                            "no deploy service is registered",
                        )),
                    });
                }
                return build;
            }
        };
        let mut client = DeploymentServiceClient::new(channel);
        for target in targets {
            let outcome = roll_out(&mut client, &target, &build.image_uri, "", true).await;
            match outcome {
                Ok(operation) => {
                    tracing::info!(build = %build.name, deployment = %target, operation = %operation.name, "auto-deploy started");
                    build.auto_deployments.push(AutoDeployment {
                        deployment: target,
                        operation: operation.name,
                        error: None,
                    });
                }
                Err(status) => {
                    tracing::warn!(build = %build.name, deployment = %target, error = %status.message(), "auto-deploy did not start");
                    build.auto_deployments.push(AutoDeployment {
                        deployment: target,
                        operation: String::new(),
                        error: Some(error_status(status.code(), status.message())),
                    });
                }
            }
        }
        build
    }
}
