//! The `ferry.build.v1.ImageService` gRPC adapter: image versions read, labelled and
//! deleted (refused while the deploy service reports them deployed).

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_ops::operation as op;
use ferry_proto::ferry::build::v1::image_service_server::{ImageService, ImageServiceServer};
use ferry_proto::ferry::build::v1::{
    DeleteImageRequest, GetImageRequest, Image, ListImagesRequest, ListImagesResponse,
    UpdateImageRequest,
};
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_store::{Store, StoreError, typed};
use tonic::{Request, Response, Status};

use super::{image_key, images_prefix_of, parse_image_name, usage};
use crate::application::model::APPLICATION_NAME;
use crate::error::{BuildError, status};

/// Fields UpdateImage may change.
pub const UPDATABLE_FIELDS: &[&str] = &["display_name", "labels", "annotations", "aliases"];

/// Reads an image by version or alias.
pub async fn read_image(store: &dyn Store, name: &str) -> Result<(Image, i64), BuildError> {
    let (application, id) = parse_image_name("name", name)?;
    if let Some((mut image, revision)) = typed::get_msg::<Image>(store, &image_key(name)).await? {
        image.etag = aip::etag(revision);
        return Ok((image, revision));
    }
    let all = typed::list_all_msgs::<Image>(store, &images_prefix_of(&application), 500)
        .await?
        .0;
    all.into_iter()
        .find(|(_, image, _)| image.aliases.contains(&id))
        .map(|(_, mut image, revision)| {
            image.etag = aip::etag(revision);
            (image, revision)
        })
        .ok_or_else(|| BuildError::NotFound(name.to_string()))
}

/// Serves images.
#[derive(Clone)]
pub struct ImageApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    registry: super::registry::BuiltinRegistry,
}

impl ImageApi {
    /// Serves images from `store`.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency) -> Self {
        Self {
            store,
            idempotency,
            registry: Default::default(),
        }
    }

    /// Also deletes manifests from the built-in `registry` when their last image goes.
    pub fn with_registry(mut self, registry: super::registry::BuiltinRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// The tonic server.
    pub fn into_server(self) -> ImageServiceServer<Self> {
        ImageServiceServer::new(self)
    }

    async fn read(&self, name: &str) -> Result<(Image, i64), BuildError> {
        read_image(self.store.as_ref(), name).await
    }

    /// Fills `deployed_in` from the deploy service (best effort on reads).
    async fn with_usage(&self, mut images: Vec<Image>) -> Vec<Image> {
        match usage::deployments_by_digest(self.store.as_ref()).await {
            Ok(deployments) => {
                for image in &mut images {
                    image.deployed_in = deployments
                        .iter()
                        .filter(|(_, d)| *d == image.digest)
                        .map(|(n, _)| n.clone())
                        .collect();
                }
            }
            Err(error) => tracing::warn!(%error, "cannot ask the deploy service where images run"),
        }
        images
    }

    async fn list(&self, request: ListImagesRequest) -> Result<ListImagesResponse, BuildError> {
        APPLICATION_NAME.parse("parent", &request.parent)?;
        let limit = aip::page_size(request.page_size)?;
        if !request.filter.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "filter",
                "filters are not supported yet: list without one",
            )
            .into());
        }
        let ascending = match request.order_by.trim() {
            "" | "build_number desc" | "create_time desc" => false,
            "build_number" | "build_number asc" | "create_time" | "create_time asc" => true,
            _ => {
                return Err(ApiError::invalid_field(
                    "order_by",
                    "order by build_number or create_time (asc or desc)",
                )
                .into());
            }
        };
        let fingerprint = aip::request_fingerprint(&[&request.parent, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let mut images: Vec<Image> = typed::list_all_msgs::<Image>(
            self.store.as_ref(),
            &images_prefix_of(&request.parent),
            500,
        )
        .await?
        .0
        .into_iter()
        .map(|(_, mut image, revision)| {
            image.etag = aip::etag(revision);
            image
        })
        .collect();
        images.sort_by_key(|image| image.build_number);
        if !ascending {
            images.reverse();
        }
        let total_size = images.len() as i32;
        let start = match &token {
            Some(token) => images
                .iter()
                .position(|i| i.name == token.last)
                .map_or(images.len(), |p| p + 1),
            None => 0,
        };
        let mut page: Vec<Image> = images.into_iter().skip(start).take(limit + 1).collect();
        let next_page_token = if page.len() > limit {
            page.truncate(limit);
            aip::encode_page_token(&page[limit - 1].name, 1, &fingerprint)
        } else {
            String::new()
        };
        Ok(ListImagesResponse {
            images: self.with_usage(page).await,
            next_page_token,
            total_size,
        })
    }

    async fn update(&self, request: UpdateImageRequest) -> Result<Image, BuildError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.image.clone().unwrap_or_default();
        parse_image_name("image.name", &input.name)?;
        aip::parse_etag("image.etag", &input.etag)?;
        let mask = aip::validate_update_mask(request.update_mask.as_ref(), UPDATABLE_FIELDS)?;
        let (current, revision) = self.read(&input.name).await?;
        aip::check_etag("image.etag", &input.etag, revision, &input.name)?;
        let paths: Vec<&str> = if mask.is_empty() || mask.iter().any(|p| p == "*") {
            UPDATABLE_FIELDS.to_vec()
        } else {
            mask.iter().map(String::as_str).collect()
        };
        let mut updated = current.clone();
        for path in paths {
            match path {
                "display_name" => updated.display_name = input.display_name.clone(),
                "labels" => updated.labels = input.labels.clone(),
                "annotations" => updated.annotations = input.annotations.clone(),
                "aliases" => {
                    for (index, alias) in input.aliases.iter().enumerate() {
                        if !aip::is_valid_id(alias) {
                            return Err(ApiError::invalid_field(
                                format!("image.aliases[{index}]"),
                                "aliases are DNS labels starting with a letter",
                            )
                            .into());
                        }
                    }
                    updated.aliases = input.aliases.clone();
                }
                other => {
                    return Err(ApiError::invalid_field(
                        "update_mask",
                        format!("{other:?} cannot be updated"),
                    )
                    .into());
                }
            }
        }
        if updated == current {
            return Ok(current);
        }
        updated.update_time = Some(op::now());
        if request.validate_only {
            return Ok(updated);
        }
        // New aliases become tags of the manifest in the built-in registry first: a
        // registry that cannot tag fails the update before anything is written.
        if let Some(repository) = self.registry.repository_of(&current.image_uri) {
            for alias in updated
                .aliases
                .iter()
                .filter(|alias| !current.aliases.contains(alias))
            {
                if let Err(message) = self.registry.tag(repository, &current.digest, alias).await {
                    return Err(ApiError::new(
                        tonic::Code::Unavailable,
                        ErrorReason::BackendUnavailable,
                        format!(
                            "cannot tag {repository}@{} as {alias:?} in the registry \
                             ({message}); nothing was changed",
                            current.digest
                        ),
                    )
                    .with_metadata("registry", &self.registry.address)
                    .into());
                }
            }
        }
        let key = image_key(&current.name);
        let name = current.name.clone();
        self.idempotency
            .run(
                "ferry.build.v1.ImageService/UpdateImage",
                &request.request_id,
                &request,
                || async move {
                    updated.etag.clear();
                    // An alias another image has moves to this one, in the same write.
                    let application = name.split("/images/").next().unwrap_or_default();
                    let (others, _) = typed::list_all_msgs::<Image>(
                        self.store.as_ref(),
                        &images_prefix_of(application),
                        500,
                    )
                    .await?;
                    let mut txn = ferry_store::Txn::new()
                        .when(ferry_store::Precondition::ModRevision(
                            key.clone(),
                            revision,
                        ))
                        .put(key.clone(), prost::Message::encode_to_vec(&updated));
                    for (other_key, mut other, other_revision) in others {
                        if other.name == name
                            || !other.aliases.iter().any(|a| updated.aliases.contains(a))
                        {
                            continue;
                        }
                        other.aliases.retain(|a| !updated.aliases.contains(a));
                        other.update_time = updated.update_time;
                        txn = txn
                            .when(ferry_store::Precondition::ModRevision(
                                other_key.clone(),
                                other_revision,
                            ))
                            .put(other_key, prost::Message::encode_to_vec(&other));
                    }
                    match self.store.txn(txn).await {
                        Ok(new_revision) => {
                            updated.etag = aip::etag(new_revision);
                            Ok(updated)
                        }
                        Err(StoreError::Conflict { key: conflicting }) if conflicting != key => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(StoreError::Conflict { .. }) => Err(ApiError::etag_mismatch(&name)),
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(BuildError::from)
    }

    /// Deletes the image's manifest from the built-in registry when no other image
    /// record has its digest (best effort: a failure is logged, the record is gone).
    async fn forget_manifest(&self, image: &Image) {
        let Some(repository) = self.registry.repository_of(&image.image_uri) else {
            return;
        };
        let application = image.name.split("/images/").next().unwrap_or_default();
        let shared = match typed::list_all_msgs::<Image>(
            self.store.as_ref(),
            &images_prefix_of(application),
            500,
        )
        .await
        {
            Ok((others, _)) => others
                .iter()
                .any(|(_, other, _)| other.digest == image.digest && other.name != image.name),
            Err(_) => true,
        };
        if shared {
            return;
        }
        if let Err(message) = self
            .registry
            .delete_manifest(repository, &image.digest)
            .await
        {
            tracing::warn!(image = %image.name, %message, "cannot delete the image's manifest from the registry");
        }
    }

    async fn delete(&self, request: DeleteImageRequest) -> Result<(), BuildError> {
        aip::validate_request_id(&request.request_id)?;
        parse_image_name("name", &request.name)?;
        aip::parse_etag("etag", &request.etag)?;
        let (image, revision) = self.read(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let deployed =
            usage::deployed_images(self.store.as_ref(), std::slice::from_ref(&image)).await?;
        let application = image.name.split("/images/").next().unwrap_or_default();
        let open_promotions: Vec<String> =
            crate::promotion::api::promotions_of(self.store.as_ref(), application)
                .await?
                .into_iter()
                .filter(|p| p.image == image.name && crate::promotion::model::holds_image(p))
                .map(|p| p.name)
                .collect();
        if let Some(promotion) = open_promotions.first() {
            return Err(ApiError::failed_precondition(
                ErrorReason::InUse,
                promotion,
                format!("{} is the image of {promotion}, which is not finished: reject it or let it end first", image.name),
            )
            .into());
        }
        if let Some((_, places)) = deployed.first() {
            let mut error = ApiError::new(
                tonic::Code::FailedPrecondition,
                ErrorReason::InUse,
                format!("{} is deployed in {}: roll those deployments to another image or undeploy first", image.name, places.join(", ")),
            )
            .with_metadata("resource", &image.name);
            for place in places {
                error = error.with_precondition_violation(
                    "IN_USE",
                    place,
                    format!("{place} runs {}", image.digest),
                );
            }
            return Err(error.into());
        }
        if request.validate_only {
            return Ok(());
        }
        let key = image_key(&image.name);
        let name = image.name.clone();
        self.idempotency
            .run(
                "ferry.build.v1.ImageService/DeleteImage",
                &request.request_id,
                &request,
                || async move {
                    match self.store.delete(&key, Some(revision)).await {
                        Ok(_) => {
                            self.forget_manifest(&image).await;
                            Ok(())
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(BuildError::from)
    }
}

#[tonic::async_trait]
impl ImageService for ImageApi {
    async fn get_image(
        &self,
        request: Request<GetImageRequest>,
    ) -> Result<Response<Image>, Status> {
        let (image, _) = self
            .read(&request.into_inner().name)
            .await
            .map_err(status)?;
        let mut images = self.with_usage(vec![image]).await;
        let mut image = images.remove(0);
        // The image's promotions, newest first (at most 20), read from their records.
        let application = image
            .name
            .split("/images/")
            .next()
            .unwrap_or_default()
            .to_string();
        let mut promotions =
            crate::promotion::api::promotions_of(self.store.as_ref(), &application)
                .await
                .map_err(status)?;
        promotions.retain(|p| p.image == image.name);
        promotions.sort_by_key(|p| std::cmp::Reverse(p.create_time.map(|t| (t.seconds, t.nanos))));
        image.promotions = promotions.into_iter().take(20).map(|p| p.name).collect();
        Ok(Response::new(image))
    }

    async fn list_images(
        &self,
        request: Request<ListImagesRequest>,
    ) -> Result<Response<ListImagesResponse>, Status> {
        Ok(Response::new(
            self.list(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn update_image(
        &self,
        request: Request<UpdateImageRequest>,
    ) -> Result<Response<Image>, Status> {
        Ok(Response::new(
            self.update(request.into_inner()).await.map_err(status)?,
        ))
    }

    async fn delete_image(
        &self,
        request: Request<DeleteImageRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(()))
    }
}
