//! The CLI's one error type, its exit codes, and how a failure is told to a person: what
//! failed, why (the status with its `google.rpc` details), and what to try.
//!
//! Exit codes:
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success |
//! | 1 | the API refused or failed the call (any gRPC status) |
//! | 2 | usage: bad flags or arguments (clap's own errors exit 2 too) |
//! | 3 | local configuration: no context, no token, unreadable config or input file |
//! | 4 | the gateway could not be reached |
//! | 5 | a long-running operation ended failed or cancelled |

use std::fmt::Write as _;

use tonic::Code;
use tonic_types::StatusExt;

/// Exit code of a usage error (wrong flags or arguments).
pub const EXIT_USAGE: i32 = 2;

/// Everything that can make a `ferry` command fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or arguments, caught before any call.
    #[error("{0}")]
    Usage(String),
    /// Missing or unreadable local configuration (config file, context, token, input file).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// The gateway could not be reached.
    #[error("could not connect to the gateway at {address}: {detail}")]
    Connect {
        /// The gateway address tried.
        address: String,
        /// The transport error, as text.
        detail: String,
    },
    /// The API answered with an error status.
    #[error("{action} failed: {}", .status.message())]
    Api {
        /// What the CLI was doing (`create namespace namespaces/dev`).
        action: String,
        /// The status, with its details.
        status: tonic::Status,
    },
    /// A long-running operation ended without success.
    #[error("operation {name} did not succeed")]
    OperationFailed {
        /// The operation's name.
        name: String,
        /// Why it failed (the operation's error).
        status: tonic::Status,
    },
}

impl CliError {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// A configuration error with a hint.
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The process exit code for this error (see the module docs).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Api { .. } => 1,
            Self::Usage(_) => EXIT_USAGE,
            Self::Config { .. } => 3,
            Self::Connect { .. } => 4,
            Self::OperationFailed { .. } => 5,
        }
    }

    /// The multi-line text printed on stderr: `error: …`, then `why:` and `try:` lines.
    pub fn render(&self) -> String {
        match self {
            Self::Usage(message) => {
                format!("error: {message}\n  try: `ferry --help` (or `ferry <command> --help`)\n")
            }
            Self::Config { message, hint } => format!("error: {message}\n  try: {hint}\n"),
            Self::Connect { address, detail } => format!(
                "error: could not connect to the gateway at {address}\n  why: {detail}\n  try: \
                 check the address (`ferry context list`, or --gateway / FERRY_GATEWAY) and \
                 that the gateway is running\n"
            ),
            Self::Api { action, status } => render_status(&format!("{action} failed"), status),
            Self::OperationFailed { name, status } => {
                render_status(&format!("operation {name} failed"), status)
            }
        }
    }
}

/// What failed, why and what to try, for an error status.
pub fn render_status(what: &str, status: &tonic::Status) -> String {
    let details = status.get_error_details();
    let info = details.error_info();
    let reason = info.map(|info| info.reason.as_str()).unwrap_or("");
    let mut out = format!("error: {what}\n  why: {}", status.message());
    if !reason.is_empty() {
        let _ = write!(out, " ({}", code_name(status.code()));
        let _ = write!(out, ", reason {reason}");
        if let Some(info) = info
            && !info.domain.is_empty()
        {
            let _ = write!(out, " from {}", info.domain);
        }
        out.push(')');
    } else {
        let _ = write!(out, " ({})", code_name(status.code()));
    }
    out.push('\n');
    if let Some(bad_request) = details.bad_request() {
        for violation in &bad_request.field_violations {
            let _ = writeln!(
                out,
                "  field {}: {}",
                violation.field, violation.description
            );
        }
    }
    if let Some(precondition) = details.precondition_failure() {
        for violation in &precondition.violations {
            let _ = writeln!(
                out,
                "  precondition {} {}: {}",
                violation.r#type, violation.subject, violation.description
            );
        }
    }
    if let Some(resource) = details.resource_info()
        && !resource.resource_name.is_empty()
    {
        let _ = writeln!(out, "  resource: {}", resource.resource_name);
    }
    let _ = writeln!(out, "  try: {}", hint(status.code(), reason, info));
    if let Some(help) = details.help() {
        for link in &help.links {
            let _ = writeln!(out, "  see: {} ({})", link.url, link.description);
        }
    }
    out
}

/// What to try after an error, by code and `ErrorInfo` reason.
fn hint(code: Code, reason: &str, info: Option<&tonic_types::ErrorInfo>) -> String {
    let metadata = |key: &str| {
        info.and_then(|info| info.metadata.get(key))
            .map(String::as_str)
            .unwrap_or("")
    };
    match (code, reason) {
        (_, "TOKEN_REVOKED") => {
            "this token was revoked: get a new one and run `ferry login --token-file <file>`"
                .to_string()
        }
        (Code::Unauthenticated, _) => "run `ferry login --gateway <address> --token-file <file>` \
             (or set FERRY_TOKEN) with a valid token"
            .to_string(),
        (Code::PermissionDenied, _) => {
            let permission = metadata("permission");
            let resource = metadata("resource");
            match (permission.is_empty(), resource.is_empty()) {
                (false, false) => format!(
                    "ask an administrator for a role binding that grants `{permission}` on \
                     `{resource}`"
                ),
                (false, true) => {
                    format!("ask an administrator for a role binding that grants `{permission}`")
                }
                _ => "ask an administrator for a role binding that allows this call".to_string(),
            }
        }
        (_, "ETAG_MISMATCH" | "CONCURRENT_MODIFICATION") => {
            "the resource changed since it was read: read it again (`get`) and retry".to_string()
        }
        (_, "OPERATION_IN_PROGRESS") => {
            "another operation is running on it: wait for it (`ferry operations wait <name>`) \
             and retry"
                .to_string()
        }
        (Code::InvalidArgument, _) => {
            "fix the fields named above and run the command again".to_string()
        }
        (Code::NotFound, _) => "check the name and the namespace (--namespace, or `ferry context \
             set-namespace`); `list` shows what exists"
            .to_string(),
        (Code::AlreadyExists, _) => {
            "pick another id, or `get` the existing one and update it".to_string()
        }
        (Code::Aborted, _) => "read the resource again and retry".to_string(),
        (Code::FailedPrecondition, _) => {
            "the resource is not in a state that allows this: `get` it to see its state".to_string()
        }
        (Code::ResourceExhausted, _) => {
            "a limit or quota was reached: wait and retry, or free capacity".to_string()
        }
        (Code::Unavailable, _) => {
            "a service behind the gateway is unavailable: retry in a moment; if it persists, \
             check the platform's health"
                .to_string()
        }
        (Code::DeadlineExceeded, _) => {
            "the call took too long: retry; long operations can be followed with `ferry \
             operations wait`"
                .to_string()
        }
        (Code::Unimplemented, _) => {
            "this gateway does not serve that call yet: check the platform's version".to_string()
        }
        _ => "retry; if it persists, report it with the message above".to_string(),
    }
}

/// The canonical name of a gRPC code (`INVALID_ARGUMENT`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A `tonic::Status` from a `google.rpc.Status` message (an Operation's error), details
/// kept so they render like a call's.
pub fn status_from_proto(status: &tonic_types::pb::Status) -> tonic::Status {
    use prost::Message as _;
    tonic::Status::with_details(
        Code::from(status.code),
        status.message.clone(),
        tonic::codegen::Bytes::from(status.encode_to_vec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    fn status(code: Code, message: &str, details: ErrorDetails) -> tonic::Status {
        tonic::Status::with_error_details(code, message, details)
    }

    #[test]
    fn invalid_argument_names_every_field_and_what_to_do() {
        let mut details = ErrorDetails::with_error_info(
            "INVALID_FIELD",
            "deploy.ferry.dev",
            std::collections::HashMap::new(),
        );
        details.set_bad_request(vec![
            FieldViolation::new("namespace_id", "must match [a-z][a-z0-9-]*"),
            FieldViolation::new("namespace.description", "too long"),
        ]);
        let error = CliError::Api {
            action: "create namespace Bad_Name".into(),
            status: status(Code::InvalidArgument, "invalid namespace_id", details),
        };
        let text = error.render();
        assert_eq!(error.exit_code(), 1);
        assert!(
            text.starts_with("error: create namespace Bad_Name failed\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "why: invalid namespace_id (INVALID_ARGUMENT, reason INVALID_FIELD from deploy.ferry.dev)"
            ),
            "{text}"
        );
        assert!(
            text.contains("field namespace_id: must match [a-z][a-z0-9-]*"),
            "{text}"
        );
        assert!(
            text.contains("field namespace.description: too long"),
            "{text}"
        );
        assert!(text.contains("try: fix the fields"), "{text}");
    }

    #[test]
    fn unauthenticated_says_log_in() {
        let details = ErrorDetails::with_error_info(
            "UNAUTHENTICATED",
            "gateway.ferry.dev",
            std::collections::HashMap::new(),
        );
        let text = render_status(
            "list namespaces",
            &status(Code::Unauthenticated, "no token", details),
        );
        assert!(text.contains("try: run `ferry login"), "{text}");
    }

    #[test]
    fn permission_denied_names_the_permission_and_resource() {
        let details = ErrorDetails::with_error_info(
            "PERMISSION_DENIED",
            "gateway.ferry.dev",
            [
                (
                    "permission".to_string(),
                    "deploy.namespaces.create".to_string(),
                ),
                ("resource".to_string(), "namespaces/prod".to_string()),
            ]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
        );
        let text = render_status(
            "create namespace",
            &status(Code::PermissionDenied, "denied", details),
        );
        assert!(
            text.contains("grants `deploy.namespaces.create` on `namespaces/prod`"),
            "{text}"
        );
    }

    #[test]
    fn etag_mismatch_says_read_again() {
        let details = ErrorDetails::with_error_info(
            "ETAG_MISMATCH",
            "deploy.ferry.dev",
            std::collections::HashMap::new(),
        );
        let text = render_status("scale", &status(Code::Aborted, "stale etag", details));
        assert!(text.contains("read it again (`get`) and retry"), "{text}");
    }

    #[test]
    fn operation_errors_keep_their_details() {
        let original = status(
            Code::FailedPrecondition,
            "no runtime",
            ErrorDetails::with_error_info(
                "RUNTIME_UNAVAILABLE",
                "deploy.ferry.dev",
                std::collections::HashMap::new(),
            ),
        );
        let proto = tonic_types::pb::Status {
            code: original.code() as i32,
            message: original.message().to_string(),
            details: {
                use prost::Message as _;
                tonic_types::pb::Status::decode(original.details())
                    .unwrap()
                    .details
            },
        };
        let error = CliError::OperationFailed {
            name: "operations/abc".into(),
            status: status_from_proto(&proto),
        };
        assert_eq!(error.exit_code(), 5);
        let text = error.render();
        assert!(text.contains("reason RUNTIME_UNAVAILABLE"), "{text}");
        assert!(text.starts_with("error: operation operations/abc failed"));
    }

    #[test]
    fn local_errors_have_their_own_exit_codes() {
        assert_eq!(CliError::usage("x").exit_code(), 2);
        assert_eq!(CliError::config("x", "y").exit_code(), 3);
        let connect = CliError::Connect {
            address: "http://127.0.0.1:1".into(),
            detail: "refused".into(),
        };
        assert_eq!(connect.exit_code(), 4);
        assert!(connect.render().contains("ferry context list"));
    }
}
