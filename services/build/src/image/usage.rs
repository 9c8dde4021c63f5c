//! Where images run, as the deploy service reports it: its deployments are listed over
//! gRPC (an instance found in the registrations in etcd, called directly) and matched
//! to images by manifest digest.

use ferry_kit::error::ApiError;
use ferry_proto::ferry::build::v1::Image;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::deployment_service_client::DeploymentServiceClient;
use ferry_proto::ferry::deploy::v1::namespace_service_client::NamespaceServiceClient;
use ferry_proto::ferry::deploy::v1::{ListDeploymentsRequest, ListNamespacesRequest};
use ferry_store::Store;
use tonic::Code;
use tonic::transport::Channel;

/// A channel to one live instance of the deploy service; `None` when none is
/// registered.
pub async fn deploy_channel(store: &dyn Store) -> Result<Option<Channel>, ApiError> {
    let instances = ferry_kit::registry::list_instances(store, "deploy").await?;
    let Some(instance) = instances.first() else {
        return Ok(None);
    };
    let channel = Channel::from_shared(format!("http://{}", instance.address))
        .map_err(|e| ApiError::internal(&e))?
        .connect_timeout(std::time::Duration::from_secs(3))
        .connect_lazy();
    Ok(Some(channel))
}

fn unavailable(status: tonic::Status) -> ApiError {
    ApiError::new(
        Code::Unavailable,
        ErrorReason::BackendUnavailable,
        format!("deploy service: {}", status.message()),
    )
}

/// The digest part of an image reference (`…@sha256:…`), if any.
pub fn digest_of(reference: &str) -> Option<&str> {
    reference.rsplit_once('@').map(|(_, digest)| digest)
}

/// Every deployment of every namespace with the digest it runs or rolls out to.
pub async fn deployments_by_digest(store: &dyn Store) -> Result<Vec<(String, String)>, ApiError> {
    let Some(channel) = deploy_channel(store).await? else {
        tracing::warn!("no deploy service is registered: images are taken as not deployed");
        return Ok(Vec::new());
    };
    let mut namespaces = NamespaceServiceClient::new(channel.clone());
    let mut deployments = DeploymentServiceClient::new(channel);
    let mut result = Vec::new();
    let mut namespace_token = String::new();
    loop {
        let page = namespaces
            .list_namespaces(ListNamespacesRequest {
                page_size: 500,
                page_token: namespace_token.clone(),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?
            .into_inner();
        for namespace in &page.namespaces {
            let mut token = String::new();
            loop {
                let listed = deployments
                    .list_deployments(ListDeploymentsRequest {
                        parent: namespace.name.clone(),
                        page_size: 500,
                        page_token: token.clone(),
                        ..Default::default()
                    })
                    .await
                    .map_err(unavailable)?
                    .into_inner();
                for deployment in listed.deployments {
                    let mut digests = vec![deployment.current_image_uri.clone()];
                    if let Some(template) = &deployment.template
                        && let Some(ferry_proto::ferry::deploy::v1::deployment_template::ImageSource::ImageUri(uri)) = &template.image_source
                    {
                        digests.push(uri.clone());
                    }
                    for reference in digests {
                        if let Some(digest) = digest_of(&reference) {
                            result.push((deployment.name.clone(), digest.to_string()));
                        }
                    }
                }
                if listed.next_page_token.is_empty() {
                    break;
                }
                token = listed.next_page_token;
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        namespace_token = page.next_page_token;
    }
    result.sort();
    result.dedup();
    Ok(result)
}

/// The images of `images` that run somewhere, with the deployments that run them.
pub async fn deployed_images(
    store: &dyn Store,
    images: &[Image],
) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let deployments = deployments_by_digest(store).await?;
    Ok(images
        .iter()
        .filter_map(|image| {
            let places: Vec<String> = deployments
                .iter()
                .filter(|(_, digest)| *digest == image.digest)
                .map(|(d, _)| d.clone())
                .collect();
            (!places.is_empty()).then(|| (image.name.clone(), places))
        })
        .collect())
}
