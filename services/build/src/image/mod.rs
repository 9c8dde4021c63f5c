//! Image versions: what successful builds pushed.
//!
//! - [`api`]: the `ferry.build.v1.ImageService` gRPC adapter;
//! - [`usage`]: where images run, asked of the deploy service;
//! - [`registry`]: manifests deleted from the built-in registry.
//!
//! An image is stored at `/ferry/v1/build/images/applications/<app>/images/<version>`.

pub mod api;
pub mod registry;
pub mod usage;

use ferry_kit::error::ApiError;
use ferry_store::keys;

use crate::application::model::APPLICATION_NAME;

/// The key of an image (`applications/{app}/images/{version}`).
pub fn image_key(name: &str) -> String {
    keys::resource("build/images", name)
}

/// The prefix of an application's images.
pub fn images_prefix_of(application: &str) -> String {
    keys::collection("build/images", &format!("{application}/images")).into_string()
}

/// The name of an image version.
pub fn image_name(application: &str, version: &str) -> String {
    format!("{application}/images/{version}")
}

/// Parses `applications/{application}/images/{image}` (the image id is a version such
/// as `42-a1b2c3d` or an alias); returns the application's name and the id.
pub fn parse_image_name(field: &str, name: &str) -> Result<(String, String), ApiError> {
    let invalid = || {
        ApiError::invalid_name(
            field,
            format!("{name:?} does not match applications/{{application}}/images/{{image}}"),
        )
    };
    if name.is_empty() {
        return Err(ApiError::invalid_name(
            field,
            "is required (expected applications/{application}/images/{image})",
        ));
    }
    let (parent, id) = name.rsplit_once("/images/").ok_or_else(invalid)?;
    APPLICATION_NAME.parse(field, parent)?;
    let valid = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if !valid {
        return Err(invalid());
    }
    Ok((parent.to_string(), id.to_string()))
}
