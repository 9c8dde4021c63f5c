//! Pure rules of notifications.
//!
//! Webhook requests are signed: `X-Ferry-Timestamp: <unix seconds>` and
//! `X-Ferry-Signature: sha256=<hex>`, the lower-case hex HMAC-SHA256 keyed with the
//! channel's signing secret over `<timestamp>.<raw body>`. Receivers recompute it, compare
//! in constant time, and refuse timestamps more than a few minutes old (replays).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use ferry_kit::aip::{self, NamePattern};
use ferry_kit::error::ApiError;
use ferry_proto::ferry::common::v1::SecretRef;
use ferry_proto::ferry::deploy::v1::email_config::TlsMode;
use ferry_proto::ferry::deploy::v1::event::{Severity, Type};
use ferry_proto::ferry::deploy::v1::notification_channel::Config;
use ferry_proto::ferry::deploy::v1::{
    EmailConfig, Event, EventSelector, NotificationChannel, NotificationDelivery,
    NotificationPayload, NotificationRule, SlackConfig, WebhookConfig, email_config, slack_config,
    webhook_config,
};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::event::model::namespace_of;

/// `notificationChannels/{channel}`.
pub const CHANNEL_NAME: NamePattern = NamePattern("notificationChannels/{channel}");
/// `notificationRules/{rule}`.
pub const RULE_NAME: NamePattern = NamePattern("notificationRules/{rule}");
/// `notificationChannels/{channel}/deliveries/{delivery}`.
pub const DELIVERY_NAME: NamePattern =
    NamePattern("notificationChannels/{channel}/deliveries/{delivery}");
/// Default attempt timeout of webhooks and Slack.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest attempt timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Default de-duplication window of rules.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(300);
/// Default rate-limit period.
pub const DEFAULT_RATE_PERIOD: Duration = Duration::from_secs(3600);
/// Kept attempts per delivery.
pub const KEPT_ATTEMPTS: usize = 10;
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Ferry-Signature";
/// The header carrying the signed Unix time.
pub const TIMESTAMP_HEADER: &str = "X-Ferry-Timestamp";
/// The header carrying the delivery id.
pub const DELIVERY_HEADER: &str = "X-Ferry-Delivery";
/// The reason of the event recorded when a delivery fails for good.
pub const DELIVERY_FAILED_REASON: &str = "NOTIFICATION_DELIVERY_FAILED";

/// The secret values of a channel. Never returned, never logged (its `Debug` hides
/// them).
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct ChannelSecrets {
    /// The webhook signing key.
    #[prost(string, tag = "1")]
    pub signing_secret: String,
    /// The SMTP password.
    #[prost(string, tag = "2")]
    pub smtp_password: String,
    /// The Slack-compatible incoming webhook URL.
    #[prost(string, tag = "3")]
    pub slack_webhook_url: String,
}

impl fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSecrets")
            .field("signing_secret", &redacted(&self.signing_secret))
            .field("smtp_password", &redacted(&self.smtp_password))
            .field("slack_webhook_url", &redacted(&self.slack_webhook_url))
            .finish()
    }
}

fn redacted(value: &str) -> &'static str {
    if value.is_empty() {
        "<unset>"
    } else {
        "<redacted>"
    }
}

/// A delivery as stored: the API resource plus what it reports.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeliveryRecord {
    /// The delivery.
    #[prost(message, optional, tag = "1")]
    pub delivery: Option<NotificationDelivery>,
    /// The event as it was when the delivery was queued.
    #[prost(message, optional, tag = "2")]
    pub event: Option<Event>,
    /// Whether the rule sends events acknowledged before the attempt.
    #[prost(bool, tag = "3")]
    pub include_acknowledged: bool,
}

/// The delivery status of a channel, kept apart from the channel so that status changes
/// leave its etag alone.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChannelStatus {
    /// The last delivery attempted.
    #[prost(string, tag = "1")]
    pub last_delivery: String,
    /// When a delivery was last attempted.
    #[prost(message, optional, tag = "2")]
    pub last_attempt_time: Option<prost_types::Timestamp>,
    /// When a delivery last succeeded.
    #[prost(message, optional, tag = "3")]
    pub last_success_time: Option<prost_types::Timestamp>,
    /// The error of the last failed attempt.
    #[prost(string, tag = "4")]
    pub last_error: String,
    /// Failed attempts in a row.
    #[prost(int32, tag = "5")]
    pub consecutive_failures: i32,
}

/// De-duplication and rate-limit state of one rule towards one channel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuleChannelState {
    /// `involved_resource|reason` → when it was last notified (µs).
    #[prost(map = "string, int64", tag = "1")]
    pub last_sent: HashMap<String, i64>,
    /// Start of the current rate-limit period (µs).
    #[prost(int64, tag = "2")]
    pub window_start: i64,
    /// Notifications sent in the current period.
    #[prost(int32, tag = "3")]
    pub window_count: i32,
    /// Events held back since the last notification.
    #[prost(int32, tag = "4")]
    pub suppressed: i32,
}

/// What responses show of a rule's matches, kept apart from the rule (its etag changes
/// only with user changes).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuleStatus {
    /// When an event last matched.
    #[prost(message, optional, tag = "1")]
    pub last_match_time: Option<prost_types::Timestamp>,
    /// When notifications were held back (µs), the last 24 hours, at most 10,000.
    #[prost(int64, repeated, tag = "2")]
    pub suppressed_at: Vec<i64>,
}

/// The window of [`RuleStatus::suppressed_count`].
const SUPPRESSED_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

impl RuleStatus {
    /// Records a held-back notification at `now`.
    pub fn note_suppressed(&mut self, now: i64) {
        self.suppressed_at
            .retain(|at| now - at < SUPPRESSED_WINDOW_MICROS);
        if self.suppressed_at.len() >= 10_000 {
            self.suppressed_at.remove(0);
        }
        self.suppressed_at.push(now);
    }

    /// How many notifications were held back in the 24 hours before `now`.
    pub fn suppressed_count(&self, now: i64) -> i32 {
        self.suppressed_at
            .iter()
            .filter(|at| now - **at < SUPPRESSED_WINDOW_MICROS)
            .count() as i32
    }
}

/// The dispatcher's position in the event history.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DispatchCursor {
    /// The last revision handled.
    #[prost(int64, tag = "1")]
    pub revision: i64,
}

// === Channels ===

/// The kind of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// A webhook.
    Webhook,
    /// E-mail.
    Email,
    /// Slack-compatible.
    Slack,
}

/// The kind of a channel configuration.
pub fn kind(config: &Config) -> ChannelKind {
    match config {
        Config::Webhook(_) => ChannelKind::Webhook,
        Config::Email(_) => ChannelKind::Email,
        Config::Slack(_) => ChannelKind::Slack,
    }
}

/// The reference responses show for a secret the channel owns.
pub fn owned_ref(channel_id: &str, key: &str) -> SecretRef {
    SecretRef {
        secret: format!("secrets/notification-channel-{channel_id}"),
        key: key.to_string(),
    }
}

const SIGNING_KEY: &str = "signing-secret";
const PASSWORD_KEY: &str = "smtp-password";
const SLACK_URL_KEY: &str = "webhook-url";

/// Moves input-only secret values of `channel` into the returned secrets and replaces
/// them with references the channel owns. A reference to the channel's own secret keeps
/// the value in `existing`; references to other secrets are refused (the platform secret
/// store is not available to channels yet). `field` prefixes error paths.
pub fn split_secrets(
    field: &str,
    channel_id: &str,
    channel: &mut NotificationChannel,
    existing: &ChannelSecrets,
) -> Result<ChannelSecrets, ApiError> {
    let mut secrets = ChannelSecrets::default();
    let check_ref = |path: &str, reference: &SecretRef, key: &str, value: &str| {
        if *reference != owned_ref(channel_id, key) {
            return Err(ApiError::invalid_field(
                format!("{field}.{path}"),
                "only the secret this channel owns can be referenced: give the value itself (`*_value`) instead",
            ));
        }
        if value.is_empty() {
            return Err(ApiError::invalid_field(
                format!("{field}.{path}"),
                "the channel holds no such secret: give the value itself",
            ));
        }
        Ok(value.to_string())
    };
    match channel.config.as_mut() {
        Some(Config::Webhook(webhook)) => match webhook.signing_secret.take() {
            Some(webhook_config::SigningSecret::SigningSecretValue(value)) => {
                secrets.signing_secret = value;
                webhook.signing_secret = Some(webhook_config::SigningSecret::SigningSecretRef(
                    owned_ref(channel_id, SIGNING_KEY),
                ));
            }
            Some(webhook_config::SigningSecret::SigningSecretRef(reference)) => {
                secrets.signing_secret = check_ref(
                    "webhook.signing_secret_ref",
                    &reference,
                    SIGNING_KEY,
                    &existing.signing_secret,
                )?;
                webhook.signing_secret =
                    Some(webhook_config::SigningSecret::SigningSecretRef(reference));
            }
            None => {}
        },
        Some(Config::Email(email)) => match email.password.take() {
            Some(email_config::Password::PasswordValue(value)) => {
                secrets.smtp_password = value;
                email.password = Some(email_config::Password::PasswordRef(owned_ref(
                    channel_id,
                    PASSWORD_KEY,
                )));
            }
            Some(email_config::Password::PasswordRef(reference)) => {
                secrets.smtp_password = check_ref(
                    "email.password_ref",
                    &reference,
                    PASSWORD_KEY,
                    &existing.smtp_password,
                )?;
                email.password = Some(email_config::Password::PasswordRef(reference));
            }
            None => {}
        },
        Some(Config::Slack(slack)) => match slack.webhook_url.take() {
            Some(slack_config::WebhookUrl::WebhookUrlValue(value)) => {
                secrets.slack_webhook_url = value;
                slack.webhook_url = Some(slack_config::WebhookUrl::WebhookUrlRef(owned_ref(
                    channel_id,
                    SLACK_URL_KEY,
                )));
            }
            Some(slack_config::WebhookUrl::WebhookUrlRef(reference)) => {
                secrets.slack_webhook_url = check_ref(
                    "slack.webhook_url_ref",
                    &reference,
                    SLACK_URL_KEY,
                    &existing.slack_webhook_url,
                )?;
                slack.webhook_url = Some(slack_config::WebhookUrl::WebhookUrlRef(reference));
            }
            None => {}
        },
        None => {}
    }
    Ok(secrets)
}

fn check_url(field: &str, url: &str) -> Result<(), ApiError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        ApiError::invalid_field(
            field,
            "is not a URL such as `https://hooks.example.com/ferry`",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::invalid_field(
            field,
            "must be an https:// (or http://) URL",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid_field(field, "has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::invalid_field(
            field,
            "must not hold credentials: use a header or the signing secret",
        ));
    }
    Ok(())
}

fn check_timeout(field: &str, timeout: Option<&prost_types::Duration>) -> Result<(), ApiError> {
    if let Some(timeout) = timeout {
        let valid = timeout.seconds >= 0
            && timeout.nanos >= 0
            && (timeout.seconds > 0 || timeout.nanos > 0)
            && (timeout.seconds as u64) <= MAX_TIMEOUT.as_secs()
            && !(timeout.seconds as u64 == MAX_TIMEOUT.as_secs() && timeout.nanos > 0);
        if !valid {
            return Err(ApiError::invalid_field(
                field,
                "must be more than 0 s and at most 60 s",
            ));
        }
    }
    Ok(())
}

/// A duration from its proto form, with a default.
pub fn duration_or(value: Option<&prost_types::Duration>, default: Duration) -> Duration {
    value
        .and_then(|d| Duration::try_from(*d).ok())
        .unwrap_or(default)
}

const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
];

fn check_mailbox(field: &str, address: &str) -> Result<(), ApiError> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|_| {
            ApiError::invalid_field(
                field,
                format!("{address:?} is not an e-mail address such as `Ferry <ferry@example.com>`"),
            )
        })
}

/// Checks a channel as it will be stored (after [`split_secrets`]); error paths start
/// with `field` (e.g. `notification_channel`).
pub fn validate_channel(
    field: &str,
    channel: &NotificationChannel,
    secrets: &ChannelSecrets,
) -> Result<(), ApiError> {
    let path = |name: &str| format!("{field}.{name}");
    if channel.display_name.chars().count() > 63 {
        return Err(ApiError::invalid_field(
            path("display_name"),
            "is longer than 63 characters",
        ));
    }
    match &channel.config {
        None => Err(ApiError::invalid_field(
            path("config"),
            "exactly one of webhook, email or slack is required",
        )),
        Some(Config::Webhook(webhook)) => validate_webhook(&path("webhook"), webhook),
        Some(Config::Email(email)) => validate_email(&path("email"), email, secrets),
        Some(Config::Slack(slack)) => validate_slack(&path("slack"), slack, secrets),
    }
}

fn validate_webhook(field: &str, webhook: &WebhookConfig) -> Result<(), ApiError> {
    let path = |name: &str| format!("{field}.{name}");
    if webhook.url.is_empty() {
        return Err(ApiError::invalid_field(path("url"), "is required"));
    }
    check_url(&path("url"), &webhook.url)?;
    for (name, value) in &webhook.headers {
        let header_path = path(&format!("headers[{name:?}]"));
        let valid_name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok();
        if !valid_name {
            return Err(ApiError::invalid_field(
                header_path,
                "is not a valid header name",
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-ferry-") {
            return Err(ApiError::invalid_field(
                header_path,
                "is set by Ferry and cannot be overridden",
            ));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(ApiError::invalid_field(
                header_path,
                "has a value that is not a valid header value",
            ));
        }
    }
    if !webhook.secret_headers.is_empty() {
        return Err(ApiError::invalid_field(
            path("secret_headers"),
            "secret headers need the platform secret store, which channels cannot use yet: use the signing secret",
        ));
    }
    check_timeout(&path("timeout"), webhook.timeout.as_ref())
}

fn validate_email(
    field: &str,
    email: &EmailConfig,
    secrets: &ChannelSecrets,
) -> Result<(), ApiError> {
    let path = |name: &str| format!("{field}.{name}");
    if email.smtp_host.is_empty() {
        return Err(ApiError::invalid_field(path("smtp_host"), "is required"));
    }
    if email.smtp_host.len() > 253
        || !email
            .smtp_host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(ApiError::invalid_field(
            path("smtp_host"),
            "is not a host name or address",
        ));
    }
    if !(0..=65535).contains(&email.smtp_port) {
        return Err(ApiError::invalid_field(
            path("smtp_port"),
            "must be 0 (the default) to 65535",
        ));
    }
    if TlsMode::try_from(email.tls_mode).is_err() {
        return Err(ApiError::invalid_field(
            path("tls_mode"),
            "is not a known mode",
        ));
    }
    if !email.username.is_empty() && secrets.smtp_password.is_empty() {
        return Err(ApiError::invalid_field(
            path("password_value"),
            "is required with a username",
        ));
    }
    if email.from_address.is_empty() {
        return Err(ApiError::invalid_field(path("from_address"), "is required"));
    }
    check_mailbox(&path("from_address"), &email.from_address)?;
    if email.to_addresses.is_empty() || email.to_addresses.len() > 50 {
        return Err(ApiError::invalid_field(
            path("to_addresses"),
            "give 1 to 50 addresses",
        ));
    }
    for (index, address) in email.to_addresses.iter().enumerate() {
        check_mailbox(&path(&format!("to_addresses[{index}]")), address)?;
    }
    if email.subject_prefix.chars().count() > 64 {
        return Err(ApiError::invalid_field(
            path("subject_prefix"),
            "is longer than 64 characters",
        ));
    }
    Ok(())
}

fn validate_slack(
    field: &str,
    slack: &SlackConfig,
    secrets: &ChannelSecrets,
) -> Result<(), ApiError> {
    let path = |name: &str| format!("{field}.{name}");
    if secrets.slack_webhook_url.is_empty() {
        return Err(ApiError::invalid_field(
            path("webhook_url_value"),
            "is required",
        ));
    }
    check_url(&path("webhook_url_value"), &secrets.slack_webhook_url)?;
    if slack.channel.len() > 80 {
        return Err(ApiError::invalid_field(
            path("channel"),
            "is longer than 80 characters",
        ));
    }
    if slack.username.len() > 80 {
        return Err(ApiError::invalid_field(
            path("username"),
            "is longer than 80 characters",
        ));
    }
    check_timeout(&path("timeout"), slack.timeout.as_ref())
}

/// Fields of a channel an update mask may name.
pub const CHANNEL_UPDATABLE: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "webhook",
    "webhook.url",
    "webhook.signing_secret_value",
    "webhook.signing_secret_ref",
    "webhook.headers",
    "webhook.secret_headers",
    "webhook.timeout",
    "email",
    "email.smtp_host",
    "email.smtp_port",
    "email.tls_mode",
    "email.username",
    "email.password_value",
    "email.password_ref",
    "email.from_address",
    "email.to_addresses",
    "email.subject_prefix",
    "slack",
    "slack.webhook_url_value",
    "slack.webhook_url_ref",
    "slack.channel",
    "slack.username",
    "slack.timeout",
];

/// Applies the fields of `input` named by `mask` to `current` (both with the same
/// kind). The kind cannot change.
pub fn apply_channel_update(
    current: &NotificationChannel,
    input: &NotificationChannel,
    mask: &[String],
) -> Result<NotificationChannel, ApiError> {
    let mut updated = current.clone();
    let current_kind = current.config.as_ref().map(kind);
    if let Some(input_kind) = input.config.as_ref().map(kind)
        && Some(input_kind) != current_kind
    {
        return Err(ApiError::invalid_field(
            "notification_channel.config",
            "the kind of a channel (webhook, email, slack) cannot change: create another channel",
        ));
    }
    let all = mask.iter().any(|p| p == "*");
    let wants = |path: &str| all || mask.iter().any(|p| p == path);
    if wants("display_name") {
        updated.display_name = input.display_name.clone();
    }
    if wants("labels") {
        updated.labels = input.labels.clone();
    }
    if wants("annotations") {
        updated.annotations = input.annotations.clone();
    }
    let missing = |kind: &str| {
        ApiError::invalid_field(
            format!("notification_channel.{kind}"),
            "is required by the update mask",
        )
    };
    match (updated.config.as_mut(), input.config.as_ref()) {
        (Some(Config::Webhook(current)), input) => {
            let empty = WebhookConfig::default();
            let input = match input {
                Some(Config::Webhook(input)) => input,
                _ if mask.iter().any(|p| p.starts_with("webhook")) || all => {
                    return Err(missing("webhook"));
                }
                _ => &empty,
            };
            let whole = all || wants("webhook");
            if whole || wants("webhook.url") {
                current.url = input.url.clone();
            }
            if whole || wants("webhook.signing_secret_value") || wants("webhook.signing_secret_ref")
            {
                current.signing_secret = input.signing_secret.clone();
            }
            if whole || wants("webhook.headers") {
                current.headers = input.headers.clone();
            }
            if whole || wants("webhook.secret_headers") {
                current.secret_headers = input.secret_headers.clone();
            }
            if whole || wants("webhook.timeout") {
                current.timeout = input.timeout;
            }
        }
        (Some(Config::Email(current)), input) => {
            let empty = EmailConfig::default();
            let input = match input {
                Some(Config::Email(input)) => input,
                _ if mask.iter().any(|p| p.starts_with("email")) || all => {
                    return Err(missing("email"));
                }
                _ => &empty,
            };
            let whole = all || wants("email");
            if whole || wants("email.smtp_host") {
                current.smtp_host = input.smtp_host.clone();
            }
            if whole || wants("email.smtp_port") {
                current.smtp_port = input.smtp_port;
            }
            if whole || wants("email.tls_mode") {
                current.tls_mode = input.tls_mode;
            }
            if whole || wants("email.username") {
                current.username = input.username.clone();
            }
            if whole || wants("email.password_value") || wants("email.password_ref") {
                current.password = input.password.clone();
            }
            if whole || wants("email.from_address") {
                current.from_address = input.from_address.clone();
            }
            if whole || wants("email.to_addresses") {
                current.to_addresses = input.to_addresses.clone();
            }
            if whole || wants("email.subject_prefix") {
                current.subject_prefix = input.subject_prefix.clone();
            }
        }
        (Some(Config::Slack(current)), input) => {
            let empty = SlackConfig::default();
            let input = match input {
                Some(Config::Slack(input)) => input,
                _ if mask.iter().any(|p| p.starts_with("slack")) || all => {
                    return Err(missing("slack"));
                }
                _ => &empty,
            };
            let whole = all || wants("slack");
            if whole || wants("slack.webhook_url_value") || wants("slack.webhook_url_ref") {
                current.webhook_url = input.webhook_url.clone();
            }
            if whole || wants("slack.channel") {
                current.channel = input.channel.clone();
            }
            if whole || wants("slack.username") {
                current.username = input.username.clone();
            }
            if whole || wants("slack.timeout") {
                current.timeout = input.timeout;
            }
        }
        (None, _) => {}
    }
    Ok(updated)
}

// === Rules ===

/// Checks a rule's own fields (channels must also exist; the adapter checks that).
pub fn validate_rule(field: &str, rule: &NotificationRule) -> Result<(), ApiError> {
    let path = |name: &str| format!("{field}.{name}");
    if rule.display_name.chars().count() > 63 {
        return Err(ApiError::invalid_field(
            path("display_name"),
            "is longer than 63 characters",
        ));
    }
    if rule.description.len() > 1024 {
        return Err(ApiError::invalid_field(
            path("description"),
            "is longer than 1 KiB",
        ));
    }
    if rule.channels.is_empty() || rule.channels.len() > 10 {
        return Err(ApiError::invalid_field(
            path("channels"),
            "name 1 to 10 channels",
        ));
    }
    for (index, channel) in rule.channels.iter().enumerate() {
        let channel_path = path(&format!("channels[{index}]"));
        CHANNEL_NAME.parse(&channel_path, channel)?;
        if rule.channels[..index].contains(channel) {
            return Err(ApiError::invalid_field(channel_path, "is listed twice"));
        }
    }
    if let Some(window) = &rule.dedupe_window
        && (window.seconds < 0 || window.nanos < 0 || window.seconds > 24 * 3600)
    {
        return Err(ApiError::invalid_field(
            path("dedupe_window"),
            "must be 0 s to 24 h",
        ));
    }
    if let Some(rate) = &rule.rate_limit {
        if rate.max_notifications < 0 {
            return Err(ApiError::invalid_field(
                path("rate_limit.max_notifications"),
                "must not be negative",
            ));
        }
        if let Some(period) = &rate.period
            && (period.seconds <= 0 || period.nanos < 0 || period.seconds > 7 * 24 * 3600)
        {
            return Err(ApiError::invalid_field(
                path("rate_limit.period"),
                "must be 1 s to 7 days",
            ));
        }
    }
    if let Some(selector) = &rule.selector {
        validate_selector(&path("selector"), selector)?;
    }
    Ok(())
}

fn validate_selector(field: &str, selector: &EventSelector) -> Result<(), ApiError> {
    let path = |name: &str, index: usize| format!("{field}.{name}[{index}]");
    for (index, value) in selector.types.iter().enumerate() {
        if Type::try_from(*value).unwrap_or(Type::Unspecified) == Type::Unspecified {
            return Err(ApiError::invalid_field(
                path("types", index),
                "is not NORMAL or WARNING",
            ));
        }
    }
    for (index, value) in selector.severities.iter().enumerate() {
        if Severity::try_from(*value).unwrap_or(Severity::Unspecified) == Severity::Unspecified {
            return Err(ApiError::invalid_field(
                path("severities", index),
                "is not a severity",
            ));
        }
    }
    for (index, reason) in selector.reasons.iter().enumerate() {
        let stem = reason.strip_suffix('*').unwrap_or(reason);
        let valid = if reason.ends_with('*') {
            stem.is_empty()
                || stem
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        } else {
            crate::event::model::is_reason(reason)
        };
        if !valid {
            return Err(ApiError::invalid_field(
                path("reasons", index),
                "must be an UPPER_SNAKE reason, or a prefix ending in `*` such as `ROLLOUT_*`",
            ));
        }
    }
    for (index, pattern) in selector.resource_patterns.iter().enumerate() {
        if pattern.is_empty() || pattern.split('/').any(str::is_empty) {
            return Err(ApiError::invalid_field(
                path("resource_patterns", index),
                "must be segments separated by `/`, e.g. `namespaces/*/deployments/web/**`",
            ));
        }
    }
    for (index, resource_type) in selector.resource_types.iter().enumerate() {
        if !resource_type.contains('/') {
            return Err(ApiError::invalid_field(
                path("resource_types", index),
                "must be a resource type such as `ferry.dev/Instance`",
            ));
        }
    }
    for (index, application) in selector.applications.iter().enumerate() {
        NamePattern("applications/{application}")
            .parse(&path("applications", index), application)?;
    }
    for (index, namespace) in selector.namespaces.iter().enumerate() {
        NamePattern("namespaces/{namespace}").parse(&path("namespaces", index), namespace)?;
    }
    Ok(())
}

/// Fields of a rule an update mask may name.
pub const RULE_UPDATABLE: &[&str] = &[
    "display_name",
    "labels",
    "annotations",
    "enabled",
    "channels",
    "selector",
    "selector.types",
    "selector.severities",
    "selector.reasons",
    "selector.resource_patterns",
    "selector.resource_types",
    "selector.applications",
    "selector.namespaces",
    "selector.labels",
    "selector.include_acknowledged",
    "dedupe_window",
    "rate_limit",
    "description",
];

/// Applies the fields of `input` named by `mask` to `current`.
pub fn apply_rule_update(
    current: &NotificationRule,
    input: &NotificationRule,
    mask: &[String],
) -> NotificationRule {
    let mut updated = current.clone();
    let all = mask.iter().any(|p| p == "*");
    let wants = |path: &str| all || mask.iter().any(|p| p == path);
    if wants("display_name") {
        updated.display_name = input.display_name.clone();
    }
    if wants("labels") {
        updated.labels = input.labels.clone();
    }
    if wants("annotations") {
        updated.annotations = input.annotations.clone();
    }
    if wants("enabled") {
        updated.enabled = input.enabled;
    }
    if wants("channels") {
        updated.channels = input.channels.clone();
    }
    if wants("dedupe_window") {
        updated.dedupe_window = input.dedupe_window;
    }
    if wants("rate_limit") {
        updated.rate_limit = input.rate_limit;
    }
    if wants("description") {
        updated.description = input.description.clone();
    }
    if wants("selector") {
        updated.selector = input.selector.clone();
    } else {
        let from = input.selector.clone().unwrap_or_default();
        let mut touched = false;
        let mut to = updated.selector.clone().unwrap_or_default();
        macro_rules! field {
            ($name:ident) => {
                if mask
                    .iter()
                    .any(|p| p == concat!("selector.", stringify!($name)))
                {
                    to.$name = from.$name.clone();
                    touched = true;
                }
            };
        }
        field!(types);
        field!(severities);
        field!(reasons);
        field!(resource_patterns);
        field!(resource_types);
        field!(applications);
        field!(namespaces);
        field!(labels);
        field!(include_acknowledged);
        if touched {
            updated.selector = Some(to);
        }
    }
    updated
}

/// Whether `pattern` (segments, `*` one segment, `**` any number) matches `resource`.
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    fn go(pattern: &[&str], resource: &[&str]) -> bool {
        match pattern.split_first() {
            None => resource.is_empty(),
            Some((&"**", rest)) => (0..=resource.len()).any(|skip| go(rest, &resource[skip..])),
            Some((segment, rest)) => match resource.split_first() {
                Some((first, resource_rest)) => {
                    (*segment == "*" || segment == first) && go(rest, resource_rest)
                }
                None => false,
            },
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let resource: Vec<&str> = resource.split('/').collect();
    go(&pattern, &resource)
}

/// Whether `event` satisfies every field `selector` sets (unset matches everything).
pub fn selector_matches(selector: Option<&EventSelector>, event: &Event) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let any = |list: &[String], test: &dyn Fn(&str) -> bool| {
        list.is_empty() || list.iter().any(|v| test(v))
    };
    (selector.types.is_empty() || selector.types.contains(&event.r#type))
        && (selector.severities.is_empty() || selector.severities.contains(&event.severity))
        && any(
            &selector.reasons,
            &|reason| match reason.strip_suffix('*') {
                Some(stem) => event.reason.starts_with(stem),
                None => event.reason == reason,
            },
        )
        && any(&selector.resource_patterns, &|pattern| {
            resource_matches(pattern, &event.involved_resource)
        })
        && any(&selector.resource_types, &|t| {
            event.involved_resource_type == t
        })
        && any(&selector.applications, &|a| event.application == a)
        && any(&selector.namespaces, &|n| {
            namespace_of(&event.name).is_some_and(|ns| n.strip_prefix("namespaces/") == Some(ns))
        })
        && selector
            .labels
            .iter()
            .all(|(key, value)| event.labels.get(key) == Some(value))
}

/// What the rule does with one matching event towards one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Notify, reporting this many held-back events.
    Send {
        /// Events held back since the last notification.
        suppressed: i32,
    },
    /// Hold it back (de-duplication or rate limit).
    Suppress,
}

/// Decides for an event of `identity` (`resource|reason`) at `now` and updates `state`.
pub fn decide(
    rule: &NotificationRule,
    state: &mut RuleChannelState,
    identity: &str,
    now: i64,
) -> Decision {
    let window = duration_or(rule.dedupe_window.as_ref(), DEFAULT_DEDUPE_WINDOW).as_micros() as i64;
    state
        .last_sent
        .retain(|_, sent| now - *sent < window.max(1));
    if window > 0
        && state
            .last_sent
            .get(identity)
            .is_some_and(|sent| now - sent < window)
    {
        state.suppressed += 1;
        return Decision::Suppress;
    }
    if let Some(rate) = &rule.rate_limit
        && rate.max_notifications > 0
    {
        let period = duration_or(rate.period.as_ref(), DEFAULT_RATE_PERIOD).as_micros() as i64;
        if now - state.window_start >= period {
            state.window_start = now;
            state.window_count = 0;
        }
        if state.window_count >= rate.max_notifications {
            state.suppressed += 1;
            return Decision::Suppress;
        }
        state.window_count += 1;
    }
    if window > 0 {
        state.last_sent.insert(identity.to_string(), now);
    }
    let suppressed = state.suppressed;
    state.suppressed = 0;
    Decision::Send { suppressed }
}

// === Delivery ===

/// The delay before attempt `attempt + 1` after `attempt` failed ones: `base`, doubling,
/// at most `max`, plus up to 10% jitter (`jitter` in [0, 1)).
pub fn backoff(attempt: i32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let delay = base.saturating_mul(1u32 << exponent.min(20)).min(max);
    delay + delay.mul_f64(jitter.clamp(0.0, 1.0) * 0.1)
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// It succeeded.
    pub succeeded: bool,
    /// HTTP status or SMTP reply code; 0 when no answer came.
    pub response_code: i32,
    /// The error (with the start of the answer); empty on success.
    pub error: String,
    /// A retry cannot help (HTTP 4xx other than 408/429, SMTP 5xx).
    pub permanent: bool,
}

/// Classifies an HTTP answer.
pub fn http_outcome(status: u16, body_start: &str) -> Outcome {
    let succeeded = (200..300).contains(&status);
    let permanent = (300..500).contains(&status) && status != 408 && status != 429;
    Outcome {
        succeeded,
        response_code: i32::from(status),
        error: if succeeded {
            String::new()
        } else {
            format!("HTTP {status}: {}", truncate(body_start, 256))
        },
        permanent: !succeeded && permanent,
    }
}

/// At most `max` bytes of `text`, on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The signature header value: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks a signature as a receiver would (constant-time comparison).
pub fn verify_signature(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(bytes) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(())
        })
        .collect::<Result<Vec<u8>, ()>>()
    else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

fn rfc3339(time: Option<&prost_types::Timestamp>) -> Option<Value> {
    time.map(|t| Value::String(t.to_string()))
}

fn insert_nonempty(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// An event in the proto3 JSON mapping (lowerCamelCase names, enum names, RFC 3339
/// times, default values omitted).
pub fn event_json(event: &Event) -> Value {
    let mut map = Map::new();
    insert_nonempty(&mut map, "name", &event.name);
    insert_nonempty(&mut map, "uid", &event.uid);
    insert_nonempty(&mut map, "displayName", &event.display_name);
    if !event.labels.is_empty() {
        map.insert("labels".into(), json!(event.labels));
    }
    for (key, time) in [
        ("createTime", &event.create_time),
        ("updateTime", &event.update_time),
        ("firstTime", &event.first_time),
        ("lastTime", &event.last_time),
        ("acknowledgeTime", &event.acknowledge_time),
        ("expireTime", &event.expire_time),
    ] {
        if let Some(value) = rfc3339(time.as_ref()) {
            map.insert(key.into(), value);
        }
    }
    insert_nonempty(&mut map, "etag", &event.etag);
    insert_nonempty(&mut map, "involvedResource", &event.involved_resource);
    insert_nonempty(
        &mut map,
        "involvedResourceType",
        &event.involved_resource_type,
    );
    insert_nonempty(
        &mut map,
        "involvedResourceUid",
        &event.involved_resource_uid,
    );
    if event.r#type != 0 {
        map.insert("type".into(), json!(event.r#type().as_str_name()));
    }
    if event.severity != 0 {
        map.insert("severity".into(), json!(event.severity().as_str_name()));
    }
    insert_nonempty(&mut map, "reason", &event.reason);
    insert_nonempty(&mut map, "message", &event.message);
    if let Some(source) = &event.source {
        let mut source_map = Map::new();
        if source.origin != 0 {
            source_map.insert("origin".into(), json!(source.origin().as_str_name()));
        }
        insert_nonempty(&mut source_map, "component", &source.component);
        insert_nonempty(&mut source_map, "host", &source.host);
        map.insert("source".into(), Value::Object(source_map));
    }
    if event.count != 0 {
        map.insert("count".into(), json!(event.count));
    }
    if event.acknowledged {
        map.insert("acknowledged".into(), json!(true));
    }
    insert_nonempty(&mut map, "acknowledgedBy", &event.acknowledged_by);
    insert_nonempty(&mut map, "acknowledgeNote", &event.acknowledge_note);
    insert_nonempty(&mut map, "application", &event.application);
    insert_nonempty(&mut map, "deployment", &event.deployment);
    insert_nonempty(&mut map, "operation", &event.operation);
    if !event.related_resources.is_empty() {
        map.insert("relatedResources".into(), json!(event.related_resources));
    }
    if !event.details.is_empty() {
        map.insert("details".into(), json!(event.details));
    }
    Value::Object(map)
}

/// A webhook body in the proto3 JSON mapping.
pub fn payload_json(payload: &NotificationPayload) -> Value {
    let mut map = Map::new();
    insert_nonempty(&mut map, "delivery", &payload.delivery);
    insert_nonempty(&mut map, "rule", &payload.rule);
    if let Some(event) = &payload.event {
        map.insert("event".into(), event_json(event));
    }
    if payload.suppressed_count != 0 {
        map.insert("suppressedCount".into(), json!(payload.suppressed_count));
    }
    if payload.test {
        map.insert("test".into(), json!(true));
    }
    Value::Object(map)
}

fn severity_word(event: &Event) -> &'static str {
    match event.severity() {
        Severity::Critical => "CRITICAL",
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        _ => "INFO",
    }
}

/// The one-line text of a notification (Slack message and e-mail subject).
pub fn title(payload: &NotificationPayload) -> String {
    let event = payload.event.clone().unwrap_or_default();
    let test = if payload.test { " (test)" } else { "" };
    format!("[{}] {}{test}", severity_word(&event), event.display_name)
}

/// The plain-text body of a notification (Slack text and e-mail body).
pub fn text_body(payload: &NotificationPayload) -> String {
    let event = payload.event.clone().unwrap_or_default();
    let mut lines = vec![
        event.message.clone(),
        String::new(),
        format!("Reason: {}", event.reason),
        format!("Resource: {}", event.involved_resource),
        format!("Event: {}", event.name),
    ];
    if event.count > 1 {
        lines.push(format!("Reported {} times", event.count));
    }
    if payload.suppressed_count > 0 {
        lines.push(format!(
            "{} similar events were held back since the previous notification",
            payload.suppressed_count
        ));
    }
    if let Some(time) = &event.last_time {
        lines.push(format!("Last seen: {time}"));
    }
    lines.join("\n")
}

/// The Slack-compatible message: `{"text": …}` plus `channel` and `username` when set.
pub fn slack_json(slack: &SlackConfig, payload: &NotificationPayload) -> Value {
    let mut map = Map::new();
    map.insert(
        "text".into(),
        json!(format!("*{}*\n{}", title(payload), text_body(payload))),
    );
    insert_nonempty(&mut map, "channel", &slack.channel);
    insert_nonempty(&mut map, "username", &slack.username);
    Value::Object(map)
}

/// The id part of a name.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Checks a delivery name in `field`; returns (channel id, delivery id).
pub fn parse_delivery_name<'a>(field: &str, name: &'a str) -> Result<(&'a str, &'a str), ApiError> {
    let ids = DELIVERY_NAME.parse(field, name)?;
    Ok((ids[0], ids[1]))
}

/// Checks a channel or rule id (re-exported for the adapter).
pub fn validate_id(field: &str, id: &str) -> Result<(), ApiError> {
    aip::validate_id(field, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::deploy::v1::notification_rule::RateLimit;

    fn event() -> Event {
        Event {
            name: "namespaces/prod/events/e1".into(),
            involved_resource: "namespaces/prod/deployments/web/instances/web-1".into(),
            involved_resource_type: "ferry.dev/Instance".into(),
            r#type: Type::Warning as i32,
            severity: Severity::Error as i32,
            reason: "INSTANCE_OOM_KILLED".into(),
            message: "killed".into(),
            application: "applications/shop".into(),
            labels: HashMap::from([("team".into(), "pay".into())]),
            ..Default::default()
        }
    }

    #[test]
    fn selectors_match_every_set_field() {
        let e = event();
        assert!(selector_matches(None, &e));
        let yes = |selector: EventSelector| {
            assert!(selector_matches(Some(&selector), &e), "{selector:?}")
        };
        let no = |selector: EventSelector| {
            assert!(!selector_matches(Some(&selector), &e), "{selector:?}")
        };
        yes(EventSelector::default());
        yes(EventSelector {
            types: vec![Type::Warning as i32],
            ..Default::default()
        });
        no(EventSelector {
            types: vec![Type::Normal as i32],
            ..Default::default()
        });
        yes(EventSelector {
            severities: vec![Severity::Error as i32, Severity::Critical as i32],
            ..Default::default()
        });
        no(EventSelector {
            severities: vec![Severity::Critical as i32],
            ..Default::default()
        });
        yes(EventSelector {
            reasons: vec!["INSTANCE_*".into()],
            ..Default::default()
        });
        yes(EventSelector {
            reasons: vec!["ROLLOUT_*".into(), "INSTANCE_OOM_KILLED".into()],
            ..Default::default()
        });
        no(EventSelector {
            reasons: vec!["INSTANCE_OOM".into()],
            ..Default::default()
        });
        yes(EventSelector {
            resource_patterns: vec!["namespaces/*/deployments/web/**".into()],
            ..Default::default()
        });
        no(EventSelector {
            resource_patterns: vec!["namespaces/prod/deployments/*".into()],
            ..Default::default()
        });
        yes(EventSelector {
            resource_types: vec!["ferry.dev/Instance".into()],
            ..Default::default()
        });
        yes(EventSelector {
            applications: vec!["applications/shop".into()],
            ..Default::default()
        });
        no(EventSelector {
            applications: vec!["applications/blog".into()],
            ..Default::default()
        });
        yes(EventSelector {
            namespaces: vec!["namespaces/prod".into()],
            ..Default::default()
        });
        no(EventSelector {
            namespaces: vec!["namespaces/dev".into()],
            ..Default::default()
        });
        yes(EventSelector {
            labels: HashMap::from([("team".into(), "pay".into())]),
            ..Default::default()
        });
        no(EventSelector {
            labels: HashMap::from([("team".into(), "ops".into())]),
            ..Default::default()
        });
        no(EventSelector {
            types: vec![Type::Warning as i32],
            namespaces: vec!["namespaces/dev".into()],
            ..Default::default()
        });
    }

    #[test]
    fn resource_patterns() {
        assert!(resource_matches(
            "namespaces/*/deployments/web",
            "namespaces/dev/deployments/web"
        ));
        assert!(resource_matches(
            "namespaces/**",
            "namespaces/dev/deployments/web"
        ));
        assert!(resource_matches("namespaces/dev/**", "namespaces/dev"));
        assert!(!resource_matches(
            "namespaces/*",
            "namespaces/dev/deployments/web"
        ));
        assert!(!resource_matches("hosts/*", "namespaces/dev"));
    }

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let body = br#"{"delivery":"notificationChannels/ops/deliveries/d1"}"#;
        let header = signature("s3cret", 1_700_000_000, body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify_signature("s3cret", 1_700_000_000, body, &header));
        assert!(!verify_signature("s3cret", 1_700_000_001, body, &header));
        assert!(!verify_signature("other", 1_700_000_000, body, &header));
        assert!(!verify_signature("s3cret", 1_700_000_000, b"{}", &header));
        // A known vector (HMAC-SHA256 of "1.x" keyed "k"), computed independently.
        assert_eq!(
            signature("k", 1, b"x"),
            format!("sha256={}", {
                let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
                mac.update(b"1.x");
                mac.finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            })
        );
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(2, base, max, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(3, base, max, 0.0), Duration::from_secs(120));
        assert_eq!(backoff(9, base, max, 0.0), max);
        assert_eq!(backoff(40, base, max, 0.0), max);
        assert_eq!(backoff(1, base, max, 0.5), Duration::from_millis(31_500));
    }

    #[test]
    fn http_answers_are_classified() {
        assert!(http_outcome(204, "").succeeded);
        for retryable in [408, 429, 500, 503] {
            let outcome = http_outcome(retryable, "busy");
            assert!(!outcome.succeeded && !outcome.permanent, "{retryable}");
        }
        for permanent in [400, 401, 404, 410] {
            assert!(http_outcome(permanent, "").permanent, "{permanent}");
        }
    }

    #[test]
    fn payload_json_uses_the_proto3_mapping() {
        let payload = NotificationPayload {
            delivery: "notificationChannels/ops/deliveries/d1".into(),
            rule: "notificationRules/r".into(),
            event: Some(Event {
                last_time: Some(prost_types::Timestamp {
                    seconds: 1_740_787_200,
                    nanos: 0,
                }),
                ..event()
            }),
            suppressed_count: 2,
            test: false,
        };
        let value = payload_json(&payload);
        assert_eq!(
            value["event"]["involvedResource"],
            "namespaces/prod/deployments/web/instances/web-1"
        );
        assert_eq!(value["event"]["severity"], "SEVERITY_ERROR");
        assert_eq!(value["event"]["lastTime"], "2025-03-01T00:00:00Z");
        assert_eq!(value["suppressedCount"], 2);
        assert!(value.get("test").is_none());
        let slack = slack_json(
            &SlackConfig {
                channel: "#ops".into(),
                ..Default::default()
            },
            &payload,
        );
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .contains("INSTANCE_OOM_KILLED")
        );
        assert_eq!(slack["channel"], "#ops");
    }

    #[test]
    fn dedupe_and_rate_limit() {
        let mut rule = NotificationRule::default();
        let mut state = RuleChannelState::default();
        let second = 1_000_000;
        assert_eq!(
            decide(&rule, &mut state, "r|A", 0),
            Decision::Send { suppressed: 0 }
        );
        assert_eq!(
            decide(&rule, &mut state, "r|A", 10 * second),
            Decision::Suppress
        );
        assert_eq!(
            decide(&rule, &mut state, "r|B", 11 * second),
            Decision::Send { suppressed: 1 }
        );
        assert_eq!(
            decide(&rule, &mut state, "r|A", 301 * second),
            Decision::Send { suppressed: 0 }
        );
        rule.dedupe_window = Some(prost_types::Duration {
            seconds: 0,
            nanos: 0,
        });
        rule.rate_limit = Some(RateLimit {
            max_notifications: 2,
            period: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        });
        let mut state = RuleChannelState::default();
        assert!(matches!(
            decide(&rule, &mut state, "x", 0),
            Decision::Send { .. }
        ));
        assert!(matches!(
            decide(&rule, &mut state, "x", 1),
            Decision::Send { .. }
        ));
        assert_eq!(decide(&rule, &mut state, "x", 2), Decision::Suppress);
        assert_eq!(
            decide(&rule, &mut state, "x", 61 * second),
            Decision::Send { suppressed: 1 }
        );
    }

    fn webhook_channel(url: &str) -> NotificationChannel {
        NotificationChannel {
            config: Some(Config::Webhook(WebhookConfig {
                url: url.into(),
                signing_secret: Some(webhook_config::SigningSecret::SigningSecretValue(
                    "s3cret".into(),
                )),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn secrets_are_split_and_validation_names_fields() {
        let mut channel = webhook_channel("https://hooks.example.com/x");
        let secrets = split_secrets("c", "ops", &mut channel, &ChannelSecrets::default()).unwrap();
        assert_eq!(secrets.signing_secret, "s3cret");
        assert!(!format!("{secrets:?}").contains("s3cret"));
        let Some(Config::Webhook(webhook)) = &channel.config else {
            unreachable!()
        };
        assert_eq!(
            webhook.signing_secret,
            Some(webhook_config::SigningSecret::SigningSecretRef(owned_ref(
                "ops",
                "signing-secret"
            )))
        );
        // The returned reference keeps the stored value; foreign references are refused.
        let mut again = channel.clone();
        assert_eq!(
            split_secrets("c", "ops", &mut again, &secrets).unwrap(),
            secrets
        );
        let mut foreign = channel.clone();
        if let Some(Config::Webhook(webhook)) = foreign.config.as_mut() {
            webhook.signing_secret =
                Some(webhook_config::SigningSecret::SigningSecretRef(SecretRef {
                    secret: "secrets/other".into(),
                    key: String::new(),
                }));
        }
        assert_eq!(
            split_secrets("c", "ops", &mut foreign, &secrets)
                .unwrap_err()
                .field_violations[0]
                .0,
            "c.webhook.signing_secret_ref"
        );
        let cases = [
            (webhook_channel("ftp://x"), "c.webhook.url"),
            (webhook_channel(""), "c.webhook.url"),
            (NotificationChannel::default(), "c.config"),
            (
                NotificationChannel {
                    config: Some(Config::Email(EmailConfig {
                        smtp_host: "mail.example.com".into(),
                        from_address: "not an address".into(),
                        to_addresses: vec!["ops@example.com".into()],
                        ..Default::default()
                    })),
                    ..Default::default()
                },
                "c.email.from_address",
            ),
            (
                NotificationChannel {
                    config: Some(Config::Email(EmailConfig {
                        smtp_host: "mail.example.com".into(),
                        username: "ferry".into(),
                        from_address: "ferry@example.com".into(),
                        to_addresses: vec!["ops@example.com".into()],
                        ..Default::default()
                    })),
                    ..Default::default()
                },
                "c.email.password_value",
            ),
            (
                NotificationChannel {
                    config: Some(Config::Slack(SlackConfig::default())),
                    ..Default::default()
                },
                "c.slack.webhook_url_value",
            ),
        ];
        for (mut channel, field) in cases {
            let result = split_secrets("c", "ops", &mut channel, &ChannelSecrets::default())
                .and_then(|secrets| validate_channel("c", &channel, &secrets));
            assert_eq!(result.unwrap_err().field_violations[0].0, field);
        }
    }

    #[test]
    fn rules_validate_and_update() {
        let rule = NotificationRule {
            channels: vec!["notificationChannels/ops".into()],
            selector: Some(EventSelector {
                reasons: vec!["ROLLOUT_*".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(validate_rule("r", &rule).is_ok());
        let mut bad = rule.clone();
        bad.channels.push("notificationChannels/ops".into());
        assert_eq!(
            validate_rule("r", &bad).unwrap_err().field_violations[0].0,
            "r.channels[1]"
        );
        let mut bad = rule.clone();
        bad.selector = Some(EventSelector {
            reasons: vec!["rollout".into()],
            ..Default::default()
        });
        assert_eq!(
            validate_rule("r", &bad).unwrap_err().field_violations[0].0,
            "r.selector.reasons[0]"
        );
        let input = NotificationRule {
            enabled: true,
            selector: Some(EventSelector {
                severities: vec![Severity::Error as i32],
                ..Default::default()
            }),
            ..Default::default()
        };
        let updated = apply_rule_update(
            &rule,
            &input,
            &["enabled".into(), "selector.severities".into()],
        );
        assert!(updated.enabled);
        let selector = updated.selector.unwrap();
        assert_eq!(selector.reasons, vec!["ROLLOUT_*".to_string()]);
        assert_eq!(selector.severities, vec![Severity::Error as i32]);
    }
}
