//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while building a layer, talking to a registry or
/// assembling an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image reference that does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A digest that is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    /// A path given for a layer entry that cannot go into an image.
    #[error("invalid path in image {path:?}: {reason}")]
    InvalidLayerPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading a layer's source files failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A source file of a kind a layer cannot hold (socket, FIFO, device).
    #[error("{path}: only regular files, directories and symlinks can go into a layer")]
    UnsupportedFileType {
        /// The file.
        path: PathBuf,
    },
    /// Writing the tar or gzip stream failed.
    #[error("cannot write the layer archive: {0}")]
    Archive(std::io::Error),
    /// The registry could not be reached (connection refused, DNS, TLS, timeout).
    #[error("registry {registry} is unreachable: {message}")]
    Unreachable {
        /// The registry host (`host:port`).
        registry: String,
        /// The transport error, without any credential.
        message: String,
    },
    /// The registry refused the credentials (or none were configured).
    #[error("registry {registry} denied access: {reason}")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// Why (status and the registry's message).
        reason: String,
    },
    /// A manifest or blob that the registry does not have.
    #[error("not found in registry {registry}: {what}")]
    NotFound {
        /// The registry host.
        registry: String,
        /// What was looked for (repository and tag or digest).
        what: String,
    },
    /// The registry answered with an unexpected status.
    #[error("registry {registry}: {operation} failed with HTTP {status}: {message}")]
    Registry {
        /// The registry host.
        registry: String,
        /// What was attempted (`PUT manifest ferry/app:v1`).
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error message (from its JSON error body when there is one).
        message: String,
    },
    /// Content whose digest is not the one expected.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of the content received.
        actual: String,
    },
    /// A manifest, index or image config that cannot be used.
    #[error("invalid {what}: {reason}")]
    InvalidContent {
        /// `manifest of 127.0.0.1:5000/x:y`, `image config`, ...
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image index without an entry for the wanted platform.
    #[error("image {reference} has no manifest for platform {platform}")]
    NoMatchingPlatform {
        /// The image reference.
        reference: String,
        /// `linux/amd64`.
        platform: String,
    },
    /// A blocking task (layer building) panicked or was cancelled.
    #[error("layer building task failed: {0}")]
    Task(String),
}

/// Results of this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;
