//! One attempt to send a notification through a channel.
//!
//! - Webhook: `POST` of the JSON payload with `Content-Type: application/json`,
//!   `X-Ferry-Delivery`, `X-Ferry-Timestamp` and, with a signing secret,
//!   `X-Ferry-Signature` (see [`super::model`]); redirects are not followed.
//! - Slack-compatible: `POST` of `{"text": …}`.
//! - E-mail: one message to every recipient through SMTP (STARTTLS, implicit TLS or
//!   plain), with a plain-text body.
//!
//! Every attempt is bounded by the channel's timeout; nothing here retries.

use std::time::{Duration, Instant};

use ferry_proto::ferry::deploy::v1::email_config::TlsMode;
use ferry_proto::ferry::deploy::v1::notification_channel::Config;
use ferry_proto::ferry::deploy::v1::{EmailConfig, NotificationChannel, NotificationPayload};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::model::{
    self, ChannelSecrets, DEFAULT_TIMEOUT, DELIVERY_HEADER, Outcome, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};

/// Timeout of one SMTP attempt (e-mail channels have no timeout setting).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends notifications.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    /// A sender with its own HTTP connection pool.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ferry-notifications/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http }
    }

    /// The longest an attempt through `channel` may take.
    pub fn timeout(channel: &NotificationChannel) -> Duration {
        match &channel.config {
            Some(Config::Webhook(webhook)) => {
                model::duration_or(webhook.timeout.as_ref(), DEFAULT_TIMEOUT)
            }
            Some(Config::Slack(slack)) => {
                model::duration_or(slack.timeout.as_ref(), DEFAULT_TIMEOUT)
            }
            _ => SMTP_TIMEOUT,
        }
    }

    /// Makes one attempt; returns how it ended and how long it took.
    pub async fn send(
        &self,
        channel: &NotificationChannel,
        secrets: &ChannelSecrets,
        payload: &NotificationPayload,
    ) -> (Outcome, Duration) {
        let started = Instant::now();
        let timeout = Self::timeout(channel);
        let attempt = async {
            match &channel.config {
                Some(Config::Webhook(webhook)) => {
                    let body =
                        serde_json::to_vec(&model::payload_json(payload)).unwrap_or_default();
                    let timestamp = crate::layout::now_micros() / 1_000_000;
                    let mut request = self
                        .http
                        .post(&webhook.url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .header(DELIVERY_HEADER, model::last_segment(&payload.delivery))
                        .header(TIMESTAMP_HEADER, timestamp.to_string());
                    if !secrets.signing_secret.is_empty() {
                        request = request.header(
                            SIGNATURE_HEADER,
                            model::signature(&secrets.signing_secret, timestamp, &body),
                        );
                    }
                    for (name, value) in &webhook.headers {
                        request = request.header(name.as_str(), value.as_str());
                    }
                    self.post(request.body(body)).await
                }
                Some(Config::Slack(slack)) => {
                    let body =
                        serde_json::to_vec(&model::slack_json(slack, payload)).unwrap_or_default();
                    let request = self
                        .http
                        .post(&secrets.slack_webhook_url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                    self.post(request).await
                }
                Some(Config::Email(email)) => send_email(email, secrets, payload, timeout).await,
                None => Outcome {
                    succeeded: false,
                    response_code: 0,
                    error: "the channel has no configuration".into(),
                    permanent: true,
                },
            }
        };
        let outcome = match tokio::time::timeout(timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome {
                succeeded: false,
                response_code: 0,
                error: format!("no answer within {timeout:?}"),
                permanent: false,
            },
        };
        (outcome, started.elapsed())
    }

    async fn post(&self, request: reqwest::RequestBuilder) -> Outcome {
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                model::http_outcome(status, &body)
            }
            Err(error) => Outcome {
                succeeded: false,
                response_code: 0,
                error: describe_http_error(error),
                permanent: false,
            },
        }
    }
}

fn describe_http_error(error: reqwest::Error) -> String {
    // Never the URL: a Slack URL is a secret.
    let error = error.without_url();
    if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "cannot connect to the receiver".to_string()
    } else {
        format!("request failed: {error}")
    }
}

fn smtp_port(email: &EmailConfig, mode: TlsMode) -> u16 {
    if email.smtp_port > 0 {
        return email.smtp_port as u16;
    }
    match mode {
        TlsMode::ImplicitTls => 465,
        TlsMode::None => 25,
        TlsMode::Starttls | TlsMode::Unspecified => 587,
    }
}

async fn send_email(
    email: &EmailConfig,
    secrets: &ChannelSecrets,
    payload: &NotificationPayload,
    timeout: Duration,
) -> Outcome {
    let failed = |error: String, permanent: bool| Outcome {
        succeeded: false,
        response_code: 0,
        error,
        permanent,
    };
    let prefix = if email.subject_prefix.is_empty() {
        "[Ferry]"
    } else {
        email.subject_prefix.as_str()
    };
    let mut builder = Message::builder()
        .subject(format!("{prefix} {}", model::title(payload)))
        .header(lettre::message::header::ContentType::TEXT_PLAIN);
    match email.from_address.parse() {
        Ok(from) => builder = builder.from(from),
        Err(_) => return failed("the sender address does not parse".into(), true),
    }
    for address in &email.to_addresses {
        match address.parse() {
            Ok(to) => builder = builder.to(to),
            Err(_) => return failed(format!("the recipient {address:?} does not parse"), true),
        }
    }
    let message = match builder.body(model::text_body(payload)) {
        Ok(message) => message,
        Err(error) => return failed(format!("cannot build the message: {error}"), true),
    };
    let mode = TlsMode::try_from(email.tls_mode).unwrap_or(TlsMode::Starttls);
    let port = smtp_port(email, mode);
    let builder = match mode {
        TlsMode::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &email.smtp_host,
        )),
        TlsMode::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(&email.smtp_host),
        TlsMode::Starttls | TlsMode::Unspecified => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&email.smtp_host)
        }
    };
    let mut builder = match builder {
        Ok(builder) => builder.port(port).timeout(Some(timeout)),
        Err(error) => return failed(format!("cannot set up TLS: {error}"), true),
    };
    if !email.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            email.username.clone(),
            secrets.smtp_password.clone(),
        ));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(response) => Outcome {
            succeeded: true,
            response_code: smtp_code(&response.code().to_string()),
            error: String::new(),
            permanent: false,
        },
        Err(error) => {
            let code = error
                .status()
                .map(|code| smtp_code(&code.to_string()))
                .unwrap_or(0);
            Outcome {
                succeeded: false,
                response_code: code,
                error: format!("SMTP: {}", model::truncate(&error.to_string(), 256)),
                permanent: error.is_permanent(),
            }
        }
    }
}

fn smtp_code(text: &str) -> i32 {
    text.trim()
        .get(..3)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
