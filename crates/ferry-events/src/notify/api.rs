//! The `ferry.deploy.v1.NotificationService` gRPC adapter.
//!
//! Channels are stored without their secret values (kept under their own key and never
//! returned); their delivery status is kept apart and merged into responses.

use std::sync::Arc;

use ferry_kit::aip;
use ferry_kit::error::ApiError;
use ferry_kit::idempotency::Idempotency;
use ferry_proto::ferry::common::v1::ErrorReason;
use ferry_proto::ferry::deploy::v1::event::source::Origin;
use ferry_proto::ferry::deploy::v1::event::{Severity, Source, Type};
use ferry_proto::ferry::deploy::v1::notification_channel::State as ChannelState;
use ferry_proto::ferry::deploy::v1::notification_delivery::State;
use ferry_proto::ferry::deploy::v1::notification_service_server::{
    NotificationService, NotificationServiceServer,
};
use ferry_proto::ferry::deploy::v1::*;
use ferry_store::{Precondition, Store, StoreError, Txn, typed};
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::model::{
    self, CHANNEL_NAME, ChannelSecrets, ChannelStatus, DeliveryRecord, RULE_NAME, RuleStatus,
};
use super::send::Sender;
use super::worker::{self, DeliveryConfig};
use crate::SYSTEM_NAMESPACE;
use crate::error::{EventsError, status};
use crate::filter::{self, Fields, Kind, Schema, Value};
use crate::layout::{
    channel_deliveries_prefix, channel_key, channel_secrets_key, channel_status_key,
    channels_prefix, deliveries_prefix, delivery_key, micros, now_micros, rule_key,
    rule_state_prefix, rule_status_key, rules_prefix, timestamp_from_micros,
};

/// Serves notification channels, rules and deliveries.
#[derive(Clone)]
pub struct NotificationApi {
    store: Arc<dyn Store>,
    idempotency: Idempotency,
    sender: Sender,
    config: DeliveryConfig,
}

const SERVICE: &str = "ferry.deploy.v1.NotificationService";

impl NotificationApi {
    /// Serves from `store`; `config` sets the attempts of retried deliveries.
    pub fn new(store: Arc<dyn Store>, idempotency: Idempotency, config: DeliveryConfig) -> Self {
        Self {
            store,
            idempotency,
            sender: Sender::new(),
            config,
        }
    }

    /// The tonic server.
    pub fn into_server(self) -> NotificationServiceServer<Self> {
        NotificationServiceServer::new(self)
    }

    // === Channels ===

    /// The channel as responses show it: stored fields plus status.
    async fn present_channel(
        &self,
        mut channel: NotificationChannel,
        revision: i64,
    ) -> Result<NotificationChannel, EventsError> {
        let id = model::last_segment(&channel.name).to_string();
        let status = typed::get_msg::<ChannelStatus>(self.store.as_ref(), &channel_status_key(&id))
            .await?
            .map(|(status, _)| status)
            .unwrap_or_default();
        let (deliveries, _) = typed::list_all_msgs::<DeliveryRecord>(
            self.store.as_ref(),
            &channel_deliveries_prefix(&id),
            500,
        )
        .await?;
        channel.pending_deliveries = deliveries
            .iter()
            .filter(|(_, record, _)| {
                record
                    .delivery
                    .as_ref()
                    .is_some_and(|d| matches!(d.state(), State::Pending | State::Retrying))
            })
            .count() as i32;
        channel.etag = aip::etag(revision);
        channel.state = if status.consecutive_failures > 0 {
            ChannelState::Failing
        } else {
            ChannelState::Healthy
        } as i32;
        channel.last_delivery = status.last_delivery;
        channel.last_attempt_time = status.last_attempt_time;
        channel.last_success_time = status.last_success_time;
        channel.last_error = status.last_error;
        channel.consecutive_failures = status.consecutive_failures;
        Ok(channel)
    }

    async fn read_channel(
        &self,
        name: &str,
    ) -> Result<(NotificationChannel, i64, ChannelSecrets), EventsError> {
        let ids = CHANNEL_NAME.parse("name", name)?;
        worker::read_channel(self.store.as_ref(), ids[0])
            .await?
            .ok_or_else(|| EventsError::NotFound(name.to_string()))
    }

    async fn get_channel(&self, name: &str) -> Result<NotificationChannel, EventsError> {
        let (channel, revision, _) = self.read_channel(name).await?;
        self.present_channel(channel, revision).await
    }

    async fn create_channel(
        &self,
        request: CreateNotificationChannelRequest,
    ) -> Result<NotificationChannel, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        model::validate_id("notification_channel_id", &request.notification_channel_id)?;
        let id = request.notification_channel_id.clone();
        let Some(mut channel) = request.notification_channel.clone() else {
            return Err(ApiError::invalid_field("notification_channel", "is required").into());
        };
        let secrets = model::split_secrets(
            "notification_channel",
            &id,
            &mut channel,
            &ChannelSecrets::default(),
        )?;
        model::validate_channel("notification_channel", &channel, &secrets)?;
        let now = timestamp_from_micros(now_micros());
        let stored = NotificationChannel {
            name: CHANNEL_NAME.format(&[&id]),
            uid: uuid::Uuid::new_v4().to_string(),
            display_name: channel.display_name,
            labels: channel.labels,
            annotations: channel.annotations,
            create_time: Some(now),
            update_time: Some(now),
            config: channel.config,
            ..Default::default()
        };
        if request.validate_only {
            let mut shown = stored;
            shown.state = ChannelState::Healthy as i32;
            return Ok(shown);
        }
        let api = self.clone();
        self.idempotency
            .run(
                &format!("{SERVICE}/CreateNotificationChannel"),
                &request.request_id,
                &request,
                || async move {
                    let key = channel_key(&stored.name);
                    let txn = Txn::new()
                        .when(Precondition::Absent(key.clone()))
                        .put(key.clone(), stored.encode_to_vec())
                        .put(channel_secrets_key(&id), secrets.encode_to_vec())
                        .delete(channel_status_key(&id));
                    match api.store.txn(txn).await {
                        Ok(revision) => api
                            .present_channel(stored, revision)
                            .await
                            .map_err(ApiError::from),
                        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
                            Err(ApiError::already_exists(&stored.name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn update_channel(
        &self,
        request: UpdateNotificationChannelRequest,
    ) -> Result<NotificationChannel, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.notification_channel.clone().unwrap_or_default();
        let ids = CHANNEL_NAME.parse("notification_channel.name", &input.name)?;
        let id = ids[0].to_string();
        aip::parse_etag("notification_channel.etag", &input.etag)?;
        if request
            .update_mask
            .as_ref()
            .is_none_or(|mask| mask.paths.is_empty())
        {
            return Err(ApiError::invalid_field(
                "update_mask",
                "is required: name the fields to change, or `*`",
            )
            .into());
        }
        let mask =
            aip::validate_update_mask(request.update_mask.as_ref(), model::CHANNEL_UPDATABLE)?;
        let (current, revision, secrets) = self.read_channel(&input.name).await?;
        aip::check_etag(
            "notification_channel.etag",
            &input.etag,
            revision,
            &input.name,
        )?;
        let mut updated = model::apply_channel_update(&current, &input, &mask)?;
        let new_secrets =
            model::split_secrets("notification_channel", &id, &mut updated, &secrets)?;
        model::validate_channel("notification_channel", &updated, &new_secrets)?;
        updated.update_time = Some(timestamp_from_micros(now_micros()));
        if request.validate_only {
            return self.present_channel(updated, revision).await;
        }
        let api = self.clone();
        let name = input.name.clone();
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                &format!("{SERVICE}/UpdateNotificationChannel"),
                &request.request_id,
                &request,
                || async move {
                    let key = channel_key(&name);
                    let txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .put(key, updated.encode_to_vec())
                        .put(channel_secrets_key(&id), new_secrets.encode_to_vec());
                    match api.store.txn(txn).await {
                        Ok(revision) => api
                            .present_channel(updated, revision)
                            .await
                            .map_err(ApiError::from),
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn delete_channel(
        &self,
        request: DeleteNotificationChannelRequest,
    ) -> Result<(), EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = CHANNEL_NAME.parse("name", &request.name)?;
        let id = ids[0].to_string();
        aip::parse_etag("etag", &request.etag)?;
        let (_, revision, _) = self.read_channel(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        let (rules, _) =
            typed::list_all_msgs::<NotificationRule>(self.store.as_ref(), &rules_prefix(), 500)
                .await?;
        let users: Vec<(String, NotificationRule, i64)> = rules
            .into_iter()
            .filter(|(_, rule, _)| rule.channels.contains(&request.name))
            .collect();
        if !users.is_empty() && !request.force {
            let names: Vec<&str> = users
                .iter()
                .map(|(_, rule, _)| rule.name.as_str())
                .collect();
            return Err(ApiError::failed_precondition(
                ErrorReason::InUse,
                &request.name,
                format!(
                    "{} is used by {}: change those rules or set force",
                    request.name,
                    names.join(", ")
                ),
            )
            .into());
        }
        if request.validate_only {
            return Ok(());
        }
        let api = self.clone();
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                &format!("{SERVICE}/DeleteNotificationChannel"),
                &request.request_id,
                &request,
                || async move {
                    let key = channel_key(&name);
                    let mut txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .delete(key)
                        .delete(channel_secrets_key(&id))
                        .delete(channel_status_key(&id));
                    for (rule_key, mut rule, rule_revision) in users {
                        rule.channels.retain(|channel| *channel != name);
                        if rule.channels.is_empty() {
                            rule.enabled = false;
                        }
                        rule.update_time = Some(timestamp_from_micros(now_micros()));
                        txn = txn
                            .when(Precondition::ModRevision(rule_key.clone(), rule_revision))
                            .put(rule_key, rule.encode_to_vec());
                    }
                    match api.store.txn(txn).await {
                        Ok(_) => {}
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            return Err(ApiError::etag_mismatch(&name));
                        }
                        Err(StoreError::Conflict { .. }) => {
                            return Err(ApiError::concurrent_modification(&name));
                        }
                        Err(error) => return Err(error.into()),
                    }
                    api.store
                        .delete_prefix(&channel_deliveries_prefix(&id))
                        .await?;
                    Ok(())
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn list_channels(
        &self,
        request: ListNotificationChannelsRequest,
    ) -> Result<ListNotificationChannelsResponse, EventsError> {
        let limit = aip::page_size(request.page_size)?;
        let filter = filter::parse(&request.filter, CHANNEL_SCHEMA)?;
        let order = parse_order(
            &request.order_by,
            &["name", "create_time", "last_attempt_time"],
        )?;
        let fingerprint = aip::request_fingerprint(&[&request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let (items, revision) = list_revision::<NotificationChannel>(
            self.store.as_ref(),
            &channels_prefix(),
            token.as_ref().map(|t| t.revision),
        )
        .await
        .map_err(crate::error::expired_token)?;
        let mut channels = Vec::new();
        for (_, channel, mod_revision) in items {
            let channel = self.present_channel(channel, mod_revision).await?;
            if filter.matches(&ChannelFields(&channel)) {
                channels.push(channel);
            }
        }
        sort_by(&mut channels, &order, |channel, field| match field {
            "create_time" => micros(channel.create_time.as_ref()).to_string(),
            "last_attempt_time" => format!("{:020}", micros(channel.last_attempt_time.as_ref())),
            _ => channel.name.clone(),
        });
        let (notification_channels, next_page_token, total_size) = page(
            channels,
            limit,
            token.as_ref(),
            revision,
            &fingerprint,
            |c| c.name.clone(),
        )?;
        Ok(ListNotificationChannelsResponse {
            notification_channels,
            next_page_token,
            total_size,
        })
    }

    async fn test_channel(
        &self,
        request: TestNotificationChannelRequest,
    ) -> Result<TestNotificationChannelResponse, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let ids = CHANNEL_NAME.parse("name", &request.name)?;
        let id = ids[0].to_string();
        if request.message.len() > crate::event::model::MAX_MESSAGE_BYTES {
            return Err(ApiError::invalid_field("message", "is longer than 4 KiB").into());
        }
        let (channel, _, secrets) = self.read_channel(&request.name).await?;
        model::validate_channel("notification_channel", &channel, &secrets)?;
        let now = now_micros();
        let message = if request.message.is_empty() {
            "Test notification from Ferry".to_string()
        } else {
            request.message.clone()
        };
        let time = timestamp_from_micros(now);
        let event = Event {
            name: format!("namespaces/{SYSTEM_NAMESPACE}/events/test"),
            display_name: format!("Test notification for {}", request.name),
            involved_resource: request.name.clone(),
            involved_resource_type: "ferry.dev/NotificationChannel".into(),
            r#type: Type::Normal as i32,
            severity: Severity::Info as i32,
            reason: "NOTIFICATION_TEST".into(),
            message,
            source: Some(Source {
                origin: Origin::Platform as i32,
                component: "deploy/notification-service".into(),
                host: String::new(),
            }),
            count: 1,
            create_time: Some(time),
            update_time: Some(time),
            first_time: Some(time),
            last_time: Some(time),
            ..Default::default()
        };
        let name = model::DELIVERY_NAME.format(&[
            &id,
            &crate::layout::newest_first_id('t', now as u64, rand::random()),
        ]);
        let options = worker::DeliveryOptions {
            suppressed: 0,
            max_attempts: 1,
            include_acknowledged: true,
            test: true,
        };
        let mut record = worker::new_delivery(name, "", &event, options, now);
        if request.validate_only {
            let mut delivery = record.delivery.unwrap_or_default();
            delivery.name.clear();
            return Ok(TestNotificationChannelResponse {
                delivery: Some(delivery),
            });
        }
        let api = self.clone();
        let channel_name = request.name.clone();
        self.idempotency
            .run(
                &format!("{SERVICE}/TestNotificationChannel"),
                &request.request_id,
                &request,
                || async move {
                    let started = now_micros();
                    let (outcome, took) = api
                        .sender
                        .send(&channel, &secrets, &worker::payload(&record))
                        .await;
                    let mut delivery = record.delivery.clone().unwrap_or_default();
                    worker::record_attempt(
                        &mut delivery,
                        &outcome,
                        started,
                        took,
                        &api.config,
                        0.0,
                    );
                    record.delivery = Some(delivery.clone());
                    let status_key = channel_status_key(&id);
                    let status = typed::get_msg::<ChannelStatus>(api.store.as_ref(), &status_key)
                        .await?
                        .map(|(status, _)| status)
                        .unwrap_or_default();
                    let status = worker::next_status(&status, &delivery, &outcome);
                    let key = delivery_key(&delivery.name);
                    let txn = Txn::new()
                        .when(Precondition::Exists(channel_key(&channel_name)))
                        .put(key, record.encode_to_vec())
                        .put(status_key, status.encode_to_vec());
                    let revision = api.store.txn(txn).await.map_err(|error| match error {
                        StoreError::Conflict { .. } | StoreError::NotFound { .. } => {
                            ApiError::not_found(&channel_name)
                        }
                        error => error.into(),
                    })?;
                    delivery.etag = aip::etag(revision);
                    Ok(TestNotificationChannelResponse {
                        delivery: Some(delivery),
                    })
                },
            )
            .await
            .map_err(EventsError::from)
    }

    // === Rules ===

    async fn read_rule(
        &self,
        name: &str,
        field: &str,
    ) -> Result<(NotificationRule, i64), EventsError> {
        RULE_NAME.parse(field, name)?;
        match typed::get_msg::<NotificationRule>(self.store.as_ref(), &rule_key(name)).await? {
            Some((mut rule, revision)) => {
                rule.etag = aip::etag(revision);
                self.add_rule_status(&mut rule).await?;
                Ok((rule, revision))
            }
            None => Err(EventsError::NotFound(name.to_string())),
        }
    }

    /// Sets the output fields kept in the rule's status.
    async fn add_rule_status(&self, rule: &mut NotificationRule) -> Result<(), EventsError> {
        let status = typed::get_msg::<RuleStatus>(
            self.store.as_ref(),
            &rule_status_key(model::last_segment(&rule.name)),
        )
        .await?
        .map(|(status, _)| status)
        .unwrap_or_default();
        rule.last_match_time = status.last_match_time;
        rule.suppressed_count = status.suppressed_count(now_micros());
        Ok(())
    }

    async fn check_channels_exist(&self, rule: &NotificationRule) -> Result<(), EventsError> {
        for (index, channel) in rule.channels.iter().enumerate() {
            if self.store.get(&channel_key(channel)).await?.is_none() {
                return Err(ApiError::invalid_field(
                    format!("notification_rule.channels[{index}]"),
                    format!("{channel} does not exist"),
                )
                .into());
            }
        }
        Ok(())
    }

    async fn create_rule(
        &self,
        request: CreateNotificationRuleRequest,
    ) -> Result<NotificationRule, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        model::validate_id("notification_rule_id", &request.notification_rule_id)?;
        let Some(input) = request.notification_rule.clone() else {
            return Err(ApiError::invalid_field("notification_rule", "is required").into());
        };
        model::validate_rule("notification_rule", &input)?;
        self.check_channels_exist(&input).await?;
        let now = timestamp_from_micros(now_micros());
        let mut rule = NotificationRule {
            name: RULE_NAME.format(&[&request.notification_rule_id]),
            uid: uuid::Uuid::new_v4().to_string(),
            create_time: Some(now),
            update_time: Some(now),
            etag: String::new(),
            last_match_time: None,
            suppressed_count: 0,
            ..input
        };
        if request.validate_only {
            return Ok(rule);
        }
        let store = self.store.clone();
        let rule_id = request.notification_rule_id.clone();
        self.idempotency
            .run(
                &format!("{SERVICE}/CreateNotificationRule"),
                &request.request_id,
                &request,
                || async move {
                    match typed::create_msg(store.as_ref(), &rule_key(&rule.name), &rule).await {
                        Ok(revision) => {
                            // A re-created rule starts without the old one's de-duplication state.
                            store.delete_prefix(&rule_state_prefix(&rule_id)).await?;
                            match store.delete(&rule_status_key(&rule_id), None).await {
                                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                                Err(error) => return Err(error.into()),
                            }
                            rule.etag = aip::etag(revision);
                            Ok(rule)
                        }
                        Err(StoreError::AlreadyExists { .. }) => {
                            Err(ApiError::already_exists(&rule.name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn update_rule(
        &self,
        request: UpdateNotificationRuleRequest,
    ) -> Result<NotificationRule, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        let input = request.notification_rule.clone().unwrap_or_default();
        aip::parse_etag("notification_rule.etag", &input.etag)?;
        if request
            .update_mask
            .as_ref()
            .is_none_or(|mask| mask.paths.is_empty())
        {
            return Err(ApiError::invalid_field(
                "update_mask",
                "is required: name the fields to change, or `*`",
            )
            .into());
        }
        let mask = aip::validate_update_mask(request.update_mask.as_ref(), model::RULE_UPDATABLE)?;
        let (current, revision) = self
            .read_rule(&input.name, "notification_rule.name")
            .await?;
        aip::check_etag("notification_rule.etag", &input.etag, revision, &input.name)?;
        let mut updated = model::apply_rule_update(&current, &input, &mask);
        model::validate_rule("notification_rule", &updated)?;
        self.check_channels_exist(&updated).await?;
        updated.update_time = Some(timestamp_from_micros(now_micros()));
        if request.validate_only {
            return Ok(updated);
        }
        let store = self.store.clone();
        let name = input.name.clone();
        let client_sent_etag = !input.etag.is_empty();
        self.idempotency
            .run(
                &format!("{SERVICE}/UpdateNotificationRule"),
                &request.request_id,
                &request,
                || async move {
                    updated.etag.clear();
                    match typed::update_msg(store.as_ref(), &rule_key(&name), &updated, revision)
                        .await
                    {
                        Ok(revision) => {
                            updated.etag = aip::etag(revision);
                            Ok(updated)
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
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
            .map_err(EventsError::from)
    }

    async fn delete_rule(&self, request: DeleteNotificationRuleRequest) -> Result<(), EventsError> {
        aip::validate_request_id(&request.request_id)?;
        aip::parse_etag("etag", &request.etag)?;
        let (_, revision) = self.read_rule(&request.name, "name").await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if request.validate_only {
            return Ok(());
        }
        let store = self.store.clone();
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                &format!("{SERVICE}/DeleteNotificationRule"),
                &request.request_id,
                &request,
                || async move {
                    match store.delete(&rule_key(&name), Some(revision)).await {
                        Ok(_) => Ok(()),
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&name)),
                        Err(error) => Err(error.into()),
                    }?;
                    let rule_id = model::last_segment(&name);
                    store.delete_prefix(&rule_state_prefix(rule_id)).await?;
                    match store.delete(&rule_status_key(rule_id), None).await {
                        Ok(_) | Err(StoreError::NotFound { .. }) => {}
                        Err(error) => return Err(error.into()),
                    }
                    Ok(())
                },
            )
            .await
            .map_err(EventsError::from)
    }

    async fn list_rules(
        &self,
        request: ListNotificationRulesRequest,
    ) -> Result<ListNotificationRulesResponse, EventsError> {
        let limit = aip::page_size(request.page_size)?;
        let filter = filter::parse(&request.filter, RULE_SCHEMA)?;
        let order = parse_order(
            &request.order_by,
            &["name", "create_time", "last_match_time"],
        )?;
        let fingerprint = aip::request_fingerprint(&[&request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let (items, revision) = list_revision::<NotificationRule>(
            self.store.as_ref(),
            &rules_prefix(),
            token.as_ref().map(|t| t.revision),
        )
        .await
        .map_err(crate::error::expired_token)?;
        let mut rules: Vec<NotificationRule> = Vec::new();
        for (_, mut rule, mod_revision) in items {
            rule.etag = aip::etag(mod_revision);
            if filter.matches(&RuleFields(&rule)) {
                self.add_rule_status(&mut rule).await?;
                rules.push(rule);
            }
        }
        sort_by(&mut rules, &order, |rule, field| match field {
            "create_time" => format!("{:020}", micros(rule.create_time.as_ref())),
            "last_match_time" => format!("{:020}", micros(rule.last_match_time.as_ref())),
            _ => rule.name.clone(),
        });
        let (notification_rules, next_page_token, total_size) =
            page(rules, limit, token.as_ref(), revision, &fingerprint, |r| {
                r.name.clone()
            })?;
        Ok(ListNotificationRulesResponse {
            notification_rules,
            next_page_token,
            total_size,
        })
    }

    // === Deliveries ===

    async fn read_delivery(
        &self,
        name: &str,
    ) -> Result<(DeliveryRecord, NotificationDelivery, i64), EventsError> {
        model::parse_delivery_name("name", name)?;
        match typed::get_msg::<DeliveryRecord>(self.store.as_ref(), &delivery_key(name)).await? {
            Some((record, revision)) => {
                let mut delivery = record.delivery.clone().unwrap_or_default();
                delivery.etag = aip::etag(revision);
                Ok((record, delivery, revision))
            }
            None => Err(EventsError::NotFound(name.to_string())),
        }
    }

    async fn list_deliveries(
        &self,
        request: ListNotificationDeliveriesRequest,
    ) -> Result<ListNotificationDeliveriesResponse, EventsError> {
        let prefix = if request.parent == "notificationChannels/-" {
            deliveries_prefix()
        } else {
            let ids = CHANNEL_NAME.parse("parent", &request.parent)?;
            channel_deliveries_prefix(ids[0])
        };
        let limit = aip::page_size(request.page_size)?;
        let filter = filter::parse(&request.filter, DELIVERY_SCHEMA)?;
        let order = if request.order_by.trim().is_empty() {
            vec![("create_time".to_string(), true)]
        } else {
            parse_order(&request.order_by, &["create_time", "last_attempt_time"])?
        };
        let fingerprint =
            aip::request_fingerprint(&[&request.parent, &request.filter, request.order_by.trim()]);
        let token = aip::decode_page_token(&request.page_token, &fingerprint)?;
        let (items, revision) = list_revision::<DeliveryRecord>(
            self.store.as_ref(),
            &prefix,
            token.as_ref().map(|t| t.revision),
        )
        .await
        .map_err(crate::error::expired_token)?;
        let mut deliveries: Vec<NotificationDelivery> = items
            .into_iter()
            .filter_map(|(_, record, mod_revision)| {
                record.delivery.map(|mut delivery| {
                    delivery.etag = aip::etag(mod_revision);
                    delivery
                })
            })
            .filter(|delivery| filter.matches(&DeliveryFields(delivery)))
            .collect();
        sort_by(&mut deliveries, &order, |delivery, field| match field {
            "last_attempt_time" => format!("{:020}", micros(delivery.last_attempt_time.as_ref())),
            _ => format!("{:020}", micros(delivery.create_time.as_ref())),
        });
        let (notification_deliveries, next_page_token, total_size) = page(
            deliveries,
            limit,
            token.as_ref(),
            revision,
            &fingerprint,
            |d| d.name.clone(),
        )?;
        Ok(ListNotificationDeliveriesResponse {
            notification_deliveries,
            next_page_token,
            total_size,
        })
    }

    async fn retry_delivery(
        &self,
        request: RetryNotificationDeliveryRequest,
    ) -> Result<NotificationDelivery, EventsError> {
        aip::validate_request_id(&request.request_id)?;
        aip::parse_etag("etag", &request.etag)?;
        let (mut record, current, revision) = self.read_delivery(&request.name).await?;
        aip::check_etag("etag", &request.etag, revision, &request.name)?;
        if current.state() != State::Failed || current.test {
            let why = if current.test {
                "test deliveries are not retried: test the channel again".to_string()
            } else {
                format!(
                    "only FAILED deliveries can be retried; this one is {}",
                    current.state().as_str_name()
                )
            };
            return Err(ApiError::failed_precondition(
                ErrorReason::InvalidState,
                &request.name,
                why,
            )
            .into());
        }
        let now = timestamp_from_micros(now_micros());
        let mut delivery = current.clone();
        delivery.etag.clear();
        delivery.state = State::Pending as i32;
        delivery.max_attempts = delivery.attempt_count + self.config.max_attempts;
        delivery.next_attempt_time = Some(now);
        delivery.update_time = Some(now);
        if request.validate_only {
            delivery.etag = current.etag;
            return Ok(delivery);
        }
        let store = self.store.clone();
        let name = request.name.clone();
        let client_sent_etag = !request.etag.is_empty();
        self.idempotency
            .run(
                &format!("{SERVICE}/RetryNotificationDelivery"),
                &request.request_id,
                &request,
                || async move {
                    record.delivery = Some(delivery.clone());
                    let key = delivery_key(&name);
                    let txn = Txn::new()
                        .when(Precondition::ModRevision(key.clone(), revision))
                        .put(key, record.encode_to_vec());
                    match store.txn(txn).await {
                        Ok(revision) => {
                            delivery.etag = aip::etag(revision);
                            Ok(delivery)
                        }
                        Err(StoreError::Conflict { .. }) if client_sent_etag => {
                            Err(ApiError::etag_mismatch(&name))
                        }
                        Err(StoreError::Conflict { .. }) => {
                            Err(ApiError::concurrent_modification(&name))
                        }
                        Err(error) => Err(error.into()),
                    }
                },
            )
            .await
            .map_err(EventsError::from)
    }
}

/// Every message under `prefix` at `revision` (latest when `None`) and the revision.
async fn list_revision<M: prost::Message + Default>(
    store: &dyn Store,
    prefix: &str,
    revision: Option<i64>,
) -> Result<(Vec<(String, M, i64)>, i64), EventsError> {
    let mut options = ferry_store::ListOptions {
        limit: aip::MAX_PAGE_SIZE,
        revision,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let (items, more, read_revision) =
            typed::list_msgs::<M>(store, prefix, options.clone()).await?;
        options.revision = Some(read_revision);
        options.start_after = items.last().map(|(key, _, _)| key.clone());
        all.extend(items);
        if !more || options.start_after.is_none() {
            return Ok((all, read_revision));
        }
    }
}

/// Parses an `order_by` over `allowed` fields: `(field, descending)` pairs.
fn parse_order(text: &str, allowed: &[&str]) -> Result<Vec<(String, bool)>, ApiError> {
    if text.trim().is_empty() {
        return Ok(vec![("name".to_string(), false)]);
    }
    let mut order = Vec::new();
    for part in text.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (name, desc) = match words.as_slice() {
            [name] | [name, "asc"] => (*name, false),
            [name, "desc"] => (*name, true),
            _ => {
                return Err(ApiError::invalid_field(
                    "order_by",
                    format!("{part:?} is not `field [asc|desc]`"),
                ));
            }
        };
        if !allowed.contains(&name) {
            return Err(ApiError::invalid_field(
                "order_by",
                format!("{name:?} cannot be ordered on (use {})", allowed.join(", ")),
            ));
        }
        order.push((name.to_string(), desc));
    }
    Ok(order)
}

fn sort_by<T>(items: &mut [T], order: &[(String, bool)], key: impl Fn(&T, &str) -> String) {
    items.sort_by(|a, b| {
        for (field, desc) in order {
            let ordering = key(a, field).cmp(&key(b, field));
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        key(a, "name").cmp(&key(b, "name"))
    });
}

/// One page of sorted `items` after the token's last name.
fn page<T>(
    items: Vec<T>,
    limit: usize,
    token: Option<&aip::PageToken>,
    revision: i64,
    fingerprint: &[u8],
    name: impl Fn(&T) -> String,
) -> Result<(Vec<T>, String, i32), ApiError> {
    let total = items.len() as i32;
    let start = match token {
        Some(token) => items
            .iter()
            .position(|item| name(item) == token.last)
            .map(|index| index + 1)
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "page_token",
                    "the page's last item is gone: start again without a token",
                )
            })?,
        None => 0,
    };
    let mut page: Vec<T> = items.into_iter().skip(start).take(limit + 1).collect();
    let next = if page.len() > limit {
        page.truncate(limit);
        page.last()
            .map(|item| aip::encode_page_token(&name(item), revision, fingerprint))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok((page, next, total))
}

fn channel_state(text: &str) -> Option<i32> {
    filter::enum_value(text, "STATE_", |name| {
        ChannelState::from_str_name(name).map(|s| s as i32)
    })
}

fn delivery_state(text: &str) -> Option<i32> {
    filter::enum_value(text, "STATE_", |name| {
        State::from_str_name(name).map(|s| s as i32)
    })
}

const CHANNEL_SCHEMA: Schema = Schema(&[
    ("display_name", Kind::Text),
    ("labels", Kind::Map),
    ("state", Kind::Enum(channel_state)),
    ("webhook", Kind::Text),
    ("email", Kind::Text),
    ("slack", Kind::Text),
]);

struct ChannelFields<'a>(&'a NotificationChannel);

impl Fields for ChannelFields<'_> {
    fn value(&self, field: &str, key: Option<&str>) -> Option<Value> {
        let channel = self.0;
        let kind = |wanted: model::ChannelKind| {
            channel
                .config
                .as_ref()
                .filter(|config| model::kind(config) == wanted)
                .map(|_| Value::Text("*".into()))
        };
        match field {
            "display_name" => Some(Value::Text(channel.display_name.clone())),
            "labels" => key
                .and_then(|k| channel.labels.get(k))
                .map(|v| Value::Text(v.clone())),
            "state" => Some(Value::Enum(channel.state)),
            "webhook" => kind(model::ChannelKind::Webhook),
            "email" => kind(model::ChannelKind::Email),
            "slack" => kind(model::ChannelKind::Slack),
            _ => None,
        }
    }
}

const RULE_SCHEMA: Schema = Schema(&[
    ("display_name", Kind::Text),
    ("labels", Kind::Map),
    ("enabled", Kind::Bool),
    ("channels", Kind::Text),
]);

struct RuleFields<'a>(&'a NotificationRule);

impl Fields for RuleFields<'_> {
    fn value(&self, field: &str, key: Option<&str>) -> Option<Value> {
        let rule = self.0;
        match field {
            "display_name" => Some(Value::Text(rule.display_name.clone())),
            "labels" => key
                .and_then(|k| rule.labels.get(k))
                .map(|v| Value::Text(v.clone())),
            "enabled" => Some(Value::Bool(rule.enabled)),
            // `channels:"notificationChannels/x"`: any channel equal to it.
            "channels" => Some(Value::List(rule.channels.clone())),
            _ => None,
        }
    }
}

const DELIVERY_SCHEMA: Schema = Schema(&[
    ("state", Kind::Enum(delivery_state)),
    ("event", Kind::Text),
    ("rule", Kind::Text),
    ("test", Kind::Bool),
    ("create_time", Kind::Time),
    ("last_attempt_time", Kind::Time),
]);

struct DeliveryFields<'a>(&'a NotificationDelivery);

impl Fields for DeliveryFields<'_> {
    fn value(&self, field: &str, _key: Option<&str>) -> Option<Value> {
        let delivery = self.0;
        match field {
            "state" => Some(Value::Enum(delivery.state)),
            "event" => Some(Value::Text(delivery.event.clone())),
            "rule" => Some(Value::Text(delivery.rule.clone())),
            "test" => Some(Value::Bool(delivery.test)),
            "create_time" => Some(Value::Time(micros(delivery.create_time.as_ref()))),
            "last_attempt_time" => Some(Value::Time(micros(delivery.last_attempt_time.as_ref()))),
            _ => None,
        }
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn get_notification_channel(
        &self,
        request: Request<GetNotificationChannelRequest>,
    ) -> Result<Response<NotificationChannel>, Status> {
        Ok(Response::new(
            self.get_channel(&request.into_inner().name)
                .await
                .map_err(status)?,
        ))
    }

    async fn list_notification_channels(
        &self,
        request: Request<ListNotificationChannelsRequest>,
    ) -> Result<Response<ListNotificationChannelsResponse>, Status> {
        Ok(Response::new(
            self.list_channels(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn create_notification_channel(
        &self,
        request: Request<CreateNotificationChannelRequest>,
    ) -> Result<Response<NotificationChannel>, Status> {
        Ok(Response::new(
            self.create_channel(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn update_notification_channel(
        &self,
        request: Request<UpdateNotificationChannelRequest>,
    ) -> Result<Response<NotificationChannel>, Status> {
        Ok(Response::new(
            self.update_channel(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn delete_notification_channel(
        &self,
        request: Request<DeleteNotificationChannelRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete_channel(request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn test_notification_channel(
        &self,
        request: Request<TestNotificationChannelRequest>,
    ) -> Result<Response<TestNotificationChannelResponse>, Status> {
        Ok(Response::new(
            self.test_channel(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn get_notification_rule(
        &self,
        request: Request<GetNotificationRuleRequest>,
    ) -> Result<Response<NotificationRule>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(
            self.read_rule(&name, "name").await.map_err(status)?.0,
        ))
    }

    async fn list_notification_rules(
        &self,
        request: Request<ListNotificationRulesRequest>,
    ) -> Result<Response<ListNotificationRulesResponse>, Status> {
        Ok(Response::new(
            self.list_rules(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn create_notification_rule(
        &self,
        request: Request<CreateNotificationRuleRequest>,
    ) -> Result<Response<NotificationRule>, Status> {
        Ok(Response::new(
            self.create_rule(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn update_notification_rule(
        &self,
        request: Request<UpdateNotificationRuleRequest>,
    ) -> Result<Response<NotificationRule>, Status> {
        Ok(Response::new(
            self.update_rule(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn delete_notification_rule(
        &self,
        request: Request<DeleteNotificationRuleRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete_rule(request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn get_notification_delivery(
        &self,
        request: Request<GetNotificationDeliveryRequest>,
    ) -> Result<Response<NotificationDelivery>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(
            self.read_delivery(&name).await.map_err(status)?.1,
        ))
    }

    async fn list_notification_deliveries(
        &self,
        request: Request<ListNotificationDeliveriesRequest>,
    ) -> Result<Response<ListNotificationDeliveriesResponse>, Status> {
        Ok(Response::new(
            self.list_deliveries(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }

    async fn retry_notification_delivery(
        &self,
        request: Request<RetryNotificationDeliveryRequest>,
    ) -> Result<Response<NotificationDelivery>, Status> {
        Ok(Response::new(
            self.retry_delivery(request.into_inner())
                .await
                .map_err(status)?,
        ))
    }
}
