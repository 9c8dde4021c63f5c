//! NotificationService and the delivery workers through a real tonic server on loopback,
//! a real etcd, and real receivers on loopback: a webhook server that checks the HMAC
//! signature, a Slack-compatible receiver, and an SMTP sink.

mod common;

use std::time::Duration;

use common::{HttpReceiver, SmtpSink, etcd_store, serve, start_workers, wait_for};
use ferry_events::event::watch::WatchConfig;
use ferry_events::notify::model::verify_signature;
use ferry_events::{EventInput, Recorder};
use ferry_proto::ferry::deploy::v1::email_config::TlsMode;
use ferry_proto::ferry::deploy::v1::notification_channel::{Config, State as ChannelState};
use ferry_proto::ferry::deploy::v1::notification_delivery::State;
use ferry_proto::ferry::deploy::v1::notification_service_client::NotificationServiceClient;
use ferry_proto::ferry::deploy::v1::*;
use prost::Message as _;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const SECRET: &str = "topsecret-signing-key-8d1e";

fn webhook(url: &str, secret: Option<&str>) -> NotificationChannel {
    NotificationChannel {
        display_name: "ops hook".into(),
        config: Some(Config::Webhook(WebhookConfig {
            url: url.into(),
            signing_secret: secret
                .map(|s| webhook_config::SigningSecret::SigningSecretValue(s.into())),
            headers: [("X-Team".to_string(), "payments".to_string())].into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

async fn create_channel(
    client: &mut NotificationServiceClient<Channel>,
    id: &str,
    channel: NotificationChannel,
) -> NotificationChannel {
    client
        .create_notification_channel(CreateNotificationChannelRequest {
            notification_channel_id: id.into(),
            notification_channel: Some(channel),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn create_rule(
    client: &mut NotificationServiceClient<Channel>,
    id: &str,
    channels: &[&str],
    reasons: &[&str],
) {
    client
        .create_notification_rule(CreateNotificationRuleRequest {
            notification_rule_id: id.into(),
            notification_rule: Some(NotificationRule {
                enabled: true,
                channels: channels
                    .iter()
                    .map(|c| format!("notificationChannels/{c}"))
                    .collect(),
                selector: Some(EventSelector {
                    reasons: reasons.iter().map(|r| r.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
}

fn crash(deployment: &str, reason: &str) -> EventInput {
    EventInput::warning(
        "prod",
        &format!("namespaces/prod/deployments/{deployment}"),
        "ferry.dev/Deployment",
        reason,
        format!("{reason} on {deployment}"),
        "test/recorder",
    )
}

async fn deliveries(
    client: &mut NotificationServiceClient<Channel>,
    parent: &str,
    filter: &str,
) -> Vec<NotificationDelivery> {
    client
        .list_notification_deliveries(ListNotificationDeliveriesRequest {
            parent: parent.into(),
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notification_deliveries
}

/// Waits until the only delivery of `channel` is in `state`, and returns it.
async fn wait_delivery(
    client: &NotificationServiceClient<Channel>,
    channel: &str,
    state: State,
    timeout: Duration,
) -> NotificationDelivery {
    let parent = format!("notificationChannels/{channel}");
    wait_for(
        timeout,
        &format!("a {state:?} delivery of {channel}"),
        || {
            let mut client = client.clone();
            let parent = parent.clone();
            async move {
                deliveries(&mut client, &parent, "")
                    .await
                    .first()
                    .is_some_and(|d| d.state() == state)
            }
        },
    )
    .await;
    deliveries(&mut client.clone(), &parent, "").await.remove(0)
}

fn assert_signed(received: &common::Received, secret: &str) {
    let timestamp: i64 = received.headers["x-ferry-timestamp"].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - timestamp).abs() < 60, "fresh timestamp");
    assert!(
        verify_signature(
            secret,
            timestamp,
            &received.body,
            &received.headers["x-ferry-signature"]
        ),
        "the HMAC signature verifies"
    );
    assert!(!verify_signature(
        "wrong",
        timestamp,
        &received.body,
        &received.headers["x-ferry-signature"]
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_are_never_returned() {
    let server = serve(etcd_store("notify-secrets").await, WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let receiver = HttpReceiver::start(vec![(200, Duration::ZERO)]).await;
    let slack_url = format!(
        "http://{}/services/T000/B000/slack-secret-path",
        receiver.address
    );
    let created = vec![
        create_channel(&mut client, "hook", webhook(&receiver.url(), Some(SECRET))).await,
        create_channel(
            &mut client,
            "chat",
            NotificationChannel {
                config: Some(Config::Slack(SlackConfig {
                    webhook_url: Some(slack_config::WebhookUrl::WebhookUrlValue(slack_url.clone())),
                    ..Default::default()
                })),
                ..Default::default()
            },
        )
        .await,
        create_channel(
            &mut client,
            "mail",
            NotificationChannel {
                config: Some(Config::Email(EmailConfig {
                    smtp_host: "127.0.0.1".into(),
                    smtp_port: 2525,
                    tls_mode: TlsMode::None as i32,
                    username: "ferry".into(),
                    password: Some(email_config::Password::PasswordValue(
                        "smtp-password-77".into(),
                    )),
                    from_address: "Ferry <ferry@example.com>".into(),
                    to_addresses: vec!["ops@example.com".into()],
                    ..Default::default()
                })),
                ..Default::default()
            },
        )
        .await,
    ];
    let secrets = [SECRET, "slack-secret-path", "smtp-password-77"];
    let check = |what: &str, bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes).to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows a secret");
        }
    };
    for channel in &created {
        check("a create response", channel.encode_to_vec());
    }
    // Responses show references the channel owns instead.
    let Some(Config::Webhook(hook)) = &created[0].config else {
        panic!("webhook")
    };
    let Some(webhook_config::SigningSecret::SigningSecretRef(reference)) = &hook.signing_secret
    else {
        panic!("a signing secret reference")
    };
    assert_eq!(reference.secret, "secrets/notification-channel-hook");
    let listed = client
        .list_notification_channels(ListNotificationChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 3);
    check("the list", listed.encode_to_vec());
    let slack_only = client
        .list_notification_channels(ListNotificationChannelsRequest {
            filter: "slack:*".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        slack_only.notification_channels[0].name,
        "notificationChannels/chat"
    );

    // Updating another field keeps the secret, with the returned channel sent back as is.
    let mut changed = created[0].clone();
    changed.display_name = "renamed".into();
    let updated = client
        .update_notification_channel(UpdateNotificationChannelRequest {
            notification_channel: Some(changed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["*".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "renamed");
    check("an update response", updated.encode_to_vec());
    let tested = client
        .test_notification_channel(TestNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .delivery
        .unwrap();
    assert_eq!(tested.state(), State::Succeeded);
    assert!(tested.test);
    check("a test delivery", tested.encode_to_vec());
    assert_signed(&receiver.received()[0], SECRET);
    let payload: serde_json::Value = serde_json::from_slice(&receiver.received()[0].body).unwrap();
    assert_eq!(payload["test"], true);
    assert_eq!(payload["event"]["message"], "Test notification from Ferry");
    assert_eq!(receiver.received()[0].headers["x-team"], "payments");
    let got = client
        .get_notification_channel(GetNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
        })
        .await
        .unwrap()
        .into_inner();
    check("a get response", got.encode_to_vec());
    assert_eq!(got.last_delivery, tested.name);

    // Bad input names the field; a foreign secret reference is refused.
    let error = client
        .create_notification_channel(CreateNotificationChannelRequest {
            notification_channel_id: "bad".into(),
            notification_channel: Some(webhook("ftp://example.com", None)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.get_details_bad_request().unwrap().field_violations[0].field,
        "notification_channel.webhook.url"
    );
    let error = client
        .create_notification_channel(CreateNotificationChannelRequest {
            notification_channel_id: "hook".into(),
            notification_channel: Some(webhook(&receiver.url(), None)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists);
    // A rule holds the channel: deletion is refused unless forced.
    create_rule(&mut client, "all", &["hook"], &[]).await;
    let error = client
        .delete_notification_channel(DeleteNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    client
        .delete_notification_channel(DeleteNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let rule = client
        .get_notification_rule(GetNotificationRuleRequest {
            name: "notificationRules/all".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        rule.channels.is_empty() && !rule.enabled,
        "the rule lost its only channel and was disabled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_with_backoff_until_it_succeeds() {
    let store = etcd_store("notify-retry").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let receiver = HttpReceiver::start(vec![
        (500, Duration::ZERO),
        (503, Duration::ZERO),
        (200, Duration::ZERO),
    ])
    .await;
    create_channel(&mut client, "hook", webhook(&receiver.url(), Some(SECRET))).await;
    create_rule(&mut client, "crashes", &["hook"], &["INSTANCE_*"]).await;
    let stop = start_workers(store.clone(), "instance-a").await;
    let recorder = Recorder::new(store.clone());
    let event = recorder
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    recorder
        .record(crash("web", "ROLLOUT_STARTED"))
        .await
        .unwrap(); // no rule matches

    let delivery = wait_delivery(&client, "hook", State::Succeeded, Duration::from_secs(20)).await;
    assert_eq!(delivery.attempt_count, 3);
    assert_eq!(delivery.event, event.name);
    assert_eq!(delivery.rule, "notificationRules/crashes");
    assert_eq!(delivery.attempts.len(), 3);
    assert_eq!(
        delivery
            .attempts
            .iter()
            .map(|a| (a.succeeded, a.response_code))
            .collect::<Vec<_>>(),
        [(false, 500), (false, 503), (true, 200)]
    );
    assert!(delivery.last_error.is_empty() && delivery.deliver_time.is_some());
    // The back-off is visible: the second gap is about twice the first (base 400 ms).
    let requests = receiver.received();
    assert_eq!(requests.len(), 3);
    let first_gap = requests[1].at - requests[0].at;
    let second_gap = requests[2].at - requests[1].at;
    assert!(first_gap >= Duration::from_millis(400), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(800), "{second_gap:?}");
    // Every attempt carries the same delivery id and a valid signature.
    for request in &requests {
        assert_signed(request, SECRET);
        assert_eq!(
            request.headers["x-ferry-delivery"],
            delivery.name.rsplit('/').next().unwrap()
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
    let payload: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(payload["event"]["reason"], "INSTANCE_CRASH_LOOP");
    assert_eq!(payload["event"]["type"], "TYPE_WARNING");
    assert_eq!(payload["delivery"], delivery.name);
    let channel = client
        .get_notification_channel(GetNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            channel.state(),
            channel.consecutive_failures,
            channel.pending_deliveries
        ),
        (ChannelState::Healthy, 0, 0)
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_visible_and_can_be_retried() {
    let store = etcd_store("notify-failed").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let receiver = HttpReceiver::start(vec![(404, Duration::ZERO)]).await;
    create_channel(&mut client, "hook", webhook(&receiver.url(), None)).await;
    create_rule(&mut client, "crashes", &["hook"], &["INSTANCE_CRASH_LOOP"]).await;
    let stop = start_workers(store.clone(), "instance-a").await;
    Recorder::new(store.clone())
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();

    let failed = wait_delivery(&client, "hook", State::Failed, Duration::from_secs(20)).await;
    assert_eq!(
        (failed.attempt_count, failed.last_response_code),
        (1, 404),
        "4xx is not retried"
    );
    assert!(failed.last_error.contains("404"), "{}", failed.last_error);
    assert!(
        !receiver.received()[0]
            .headers
            .contains_key("x-ferry-signature"),
        "unsigned without a secret"
    );
    let listed = deliveries(&mut client, "notificationChannels/-", "state = FAILED").await;
    assert_eq!(listed.len(), 1);
    let channel = client
        .get_notification_channel(GetNotificationChannelRequest {
            name: "notificationChannels/hook".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (channel.state(), channel.consecutive_failures),
        (ChannelState::Failing, 1)
    );
    // The failure is also an event on the channel.
    let events_prefix = ferry_events::layout::namespace_events_prefix("ferry-system");
    wait_for(
        Duration::from_secs(10),
        "a NOTIFICATION_DELIVERY_FAILED event",
        || {
            let store = store.clone();
            let prefix = events_prefix.clone();
            async move {
                let (events, _) = ferry_events::event::api::list_at(store.as_ref(), &prefix, None)
                    .await
                    .unwrap();
                events.iter().any(|e| {
                    e.reason == "NOTIFICATION_DELIVERY_FAILED"
                        && e.involved_resource == "notificationChannels/hook"
                })
            }
        },
    )
    .await;

    // Retrying: only FAILED deliveries, etag-conditional; the new round succeeds.
    let error = client
        .retry_notification_delivery(RetryNotificationDeliveryRequest {
            name: failed.name.clone(),
            etag: "\"1\"".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Aborted);
    receiver.script.lock().unwrap().push((200, Duration::ZERO));
    let retried = client
        .retry_notification_delivery(RetryNotificationDeliveryRequest {
            name: failed.name.clone(),
            etag: failed.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.state(), State::Pending);
    let done = wait_delivery(&client, "hook", State::Succeeded, Duration::from_secs(20)).await;
    assert_eq!(done.attempt_count, 2, "attempts go on counting");
    let error = client
        .retry_notification_delivery(RetryNotificationDeliveryRequest {
            name: failed.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert_eq!(
        error.get_details_error_info().unwrap().reason,
        "INVALID_STATE"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_email_channels_deliver() {
    let store = etcd_store("notify-slack-mail").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let chat = HttpReceiver::start(vec![(200, Duration::ZERO)]).await;
    let sink = SmtpSink::start().await;
    create_channel(
        &mut client,
        "chat",
        NotificationChannel {
            config: Some(Config::Slack(SlackConfig {
                webhook_url: Some(slack_config::WebhookUrl::WebhookUrlValue(format!(
                    "http://{}/services/x",
                    chat.address
                ))),
                channel: "#ops".into(),
                username: "ferry".into(),
                ..Default::default()
            })),
            ..Default::default()
        },
    )
    .await;
    create_channel(
        &mut client,
        "mail",
        NotificationChannel {
            config: Some(Config::Email(EmailConfig {
                smtp_host: "127.0.0.1".into(),
                smtp_port: i32::from(sink.address.port()),
                tls_mode: TlsMode::None as i32,
                from_address: "Ferry <ferry@example.com>".into(),
                to_addresses: vec!["ops@example.com".into(), "Pager <pager@example.com>".into()],
                ..Default::default()
            })),
            ..Default::default()
        },
    )
    .await;
    create_rule(
        &mut client,
        "oom",
        &["chat", "mail"],
        &["INSTANCE_OOM_KILLED"],
    )
    .await;
    let stop = start_workers(store.clone(), "instance-a").await;
    Recorder::new(store.clone())
        .record(crash("api", "INSTANCE_OOM_KILLED"))
        .await
        .unwrap();

    wait_delivery(&client, "chat", State::Succeeded, Duration::from_secs(20)).await;
    let body: serde_json::Value = serde_json::from_slice(&chat.received()[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("INSTANCE_OOM_KILLED") && text.contains("namespaces/prod/deployments/api"),
        "{text}"
    );
    assert_eq!(
        (body["channel"].as_str(), body["username"].as_str()),
        (Some("#ops"), Some("ferry"))
    );
    assert_eq!(chat.received()[0].path, "/services/x");

    let mail = wait_delivery(&client, "mail", State::Succeeded, Duration::from_secs(20)).await;
    assert_eq!(mail.last_response_code, 250);
    let mails = sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].from.contains("ferry@example.com"));
    assert_eq!(mails[0].to.len(), 2);
    assert!(
        mails[0].data.contains("Subject: [Ferry] [WARNING]"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("INSTANCE_OOM_KILLED on api"),
        "{}",
        mails[0].data
    );

    // The test call also goes through SMTP.
    let tested = client
        .test_notification_channel(TestNotificationChannelRequest {
            name: "notificationChannels/mail".into(),
            message: "hello from the test".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .delivery
        .unwrap();
    assert_eq!(tested.state(), State::Succeeded);
    assert!(
        sink.mails.lock().unwrap()[1]
            .data
            .contains("hello from the test")
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_interrupted_by_a_crash_completes_on_the_next_leader() {
    let store = etcd_store("notify-crash").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    // The first request hangs (the worker dies meanwhile); the next one succeeds.
    let receiver =
        HttpReceiver::start(vec![(200, Duration::from_secs(30)), (200, Duration::ZERO)]).await;
    create_channel(&mut client, "hook", webhook(&receiver.url(), Some(SECRET))).await;
    create_rule(&mut client, "crashes", &["hook"], &[]).await;

    // Worker A: its tasks are aborted mid-attempt (a crash: no resignation, no record).
    let dispatcher = tokio::spawn(
        ferry_events::Dispatcher::new(store.clone(), "instance-a", common::fast_delivery())
            .run(tokio_util::sync::CancellationToken::new()),
    );
    let worker = tokio::spawn(
        ferry_events::DeliveryWorker::new(common::fast_delivery(), Recorder::new(store.clone()))
            .controller(store.clone(), "instance-a")
            .run(tokio_util::sync::CancellationToken::new()),
    );
    wait_for(Duration::from_secs(15), "the dispatch cursor", || {
        let store = store.clone();
        async move {
            store
                .get(&ferry_events::layout::dispatch_cursor_key())
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    Recorder::new(store.clone())
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(15),
        "the first attempt to start",
        || {
            let received = receiver.received().len();
            async move { received == 1 }
        },
    )
    .await;
    worker.abort();
    dispatcher.abort();
    let pending = deliveries(&mut client, "notificationChannels/hook", "").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].state(), pending[0].attempt_count),
        (State::Pending, 0)
    );

    // Worker B takes over once A's leases expire and finishes the delivery.
    let stop = start_workers(store.clone(), "instance-b").await;
    let done = wait_delivery(&client, "hook", State::Succeeded, Duration::from_secs(30)).await;
    assert_eq!(done.attempt_count, 1);
    let requests = receiver.received();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].headers["x-ferry-delivery"],
        requests[1].headers["x-ferry-delivery"]
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_validate_and_deduplicate() {
    let store = etcd_store("notify-rules").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let receiver = HttpReceiver::start(vec![(200, Duration::ZERO)]).await;
    let error = client
        .create_notification_rule(CreateNotificationRuleRequest {
            notification_rule_id: "r".into(),
            notification_rule: Some(NotificationRule {
                channels: vec!["notificationChannels/missing".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.get_details_bad_request().unwrap().field_violations[0].field,
        "notification_rule.channels[0]"
    );
    create_channel(&mut client, "hook", webhook(&receiver.url(), None)).await;
    create_rule(&mut client, "crashes", &["hook"], &["INSTANCE_*"]).await;
    let updated = client
        .update_notification_rule(UpdateNotificationRuleRequest {
            notification_rule: Some(NotificationRule {
                name: "notificationRules/crashes".into(),
                description: "crashes to ops".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.description, "crashes to ops");
    assert_eq!(updated.selector.unwrap().reasons, ["INSTANCE_*"]);
    let using_hook = client
        .list_notification_rules(ListNotificationRulesRequest {
            filter: "channels:\"notificationChannels/hook\" AND enabled = true".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(using_hook.total_size, 1);
    let error = client
        .list_notification_rules(ListNotificationRulesRequest {
            filter: "colour = red".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let stop = start_workers(store.clone(), "instance-a").await;
    let recorder = Recorder::new(store.clone());
    // Three reports of one crash loop within the default 5-minute window: one notification;
    // another resource is notified at once, reporting the held-back repeats.
    recorder
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    recorder
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    recorder
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    recorder
        .record(crash("api", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "two delivered notifications",
        || {
            let mut client = client.clone();
            async move {
                deliveries(
                    &mut client,
                    "notificationChannels/hook",
                    "state = SUCCEEDED",
                )
                .await
                .len()
                    == 2
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = deliveries(&mut client, "notificationChannels/hook", "").await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].suppressed_count, 2,
        "the newest reports the two held-back repeats"
    );
    assert_eq!(all[1].suppressed_count, 0);
    let rule = client
        .get_notification_rule(GetNotificationRuleRequest {
            name: "notificationRules/crashes".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rule.suppressed_count, 2);
    assert!(rule.last_match_time.is_some());
    assert_eq!(
        rule.etag, updated.etag,
        "status changes leave the etag alone"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_does_not_hold_up_other_channels() {
    let store = etcd_store("notify-slow").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let slow = HttpReceiver::start(vec![(200, Duration::from_secs(8))]).await;
    let fast = HttpReceiver::start(vec![(200, Duration::ZERO)]).await;
    create_channel(&mut client, "slow", webhook(&slow.url(), None)).await;
    create_channel(&mut client, "fast", webhook(&fast.url(), None)).await;
    create_rule(&mut client, "both", &["slow", "fast"], &[]).await;
    let stop = start_workers(store.clone(), "instance-a").await;
    Recorder::new(store.clone())
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    // The fast channel is served while the slow one's attempt is still under way.
    wait_delivery(&client, "fast", State::Succeeded, Duration::from_secs(6)).await;
    assert_eq!(slow.received().len(), 1);
    let slow_delivery = deliveries(&mut client, "notificationChannels/slow", "").await;
    assert_eq!(slow_delivery[0].state(), State::Pending);
    wait_delivery(&client, "slow", State::Succeeded, Duration::from_secs(20)).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_of_an_event_acknowledged_meanwhile_is_dropped() {
    let store = etcd_store("notify-acked").await;
    let server = serve(store.clone(), WatchConfig::default()).await;
    let mut client = NotificationServiceClient::new(server.channel.clone());
    let mut events = ferry_proto::ferry::deploy::v1::event_service_client::EventServiceClient::new(
        server.channel.clone(),
    );
    let receiver = HttpReceiver::start(vec![(503, Duration::ZERO), (200, Duration::ZERO)]).await;
    create_channel(&mut client, "hook", webhook(&receiver.url(), None)).await;
    create_rule(&mut client, "crashes", &["hook"], &[]).await;
    let stop = start_workers(store.clone(), "instance-a").await;
    let event = Recorder::new(store.clone())
        .record(crash("web", "INSTANCE_CRASH_LOOP"))
        .await
        .unwrap();
    wait_delivery(&client, "hook", State::Retrying, Duration::from_secs(20)).await;
    events
        .acknowledge_event(AcknowledgeEventRequest {
            name: event.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "the delivery to be dropped",
        || {
            let mut client = client.clone();
            async move {
                deliveries(&mut client, "notificationChannels/hook", "")
                    .await
                    .is_empty()
            }
        },
    )
    .await;
    assert_eq!(
        receiver.received().len(),
        1,
        "no attempt after the acknowledgement"
    );
    stop.cancel();
}
