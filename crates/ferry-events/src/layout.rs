//! Where events and notifications live in the key space (see the crate docs).

use ferry_store::keys;

const EVENTS: &str = "deploy/events";
const EVENT_INDEX: &str = "deploy/event-index";
const CHANNELS: &str = "deploy/notification-channels";
const CHANNEL_SECRETS: &str = "deploy/notification-channel-secrets";
const CHANNEL_STATUS: &str = "deploy/notification-channel-status";
const RULES: &str = "deploy/notification-rules";
const DELIVERIES: &str = "deploy/notification-deliveries";
const DISPATCH: &str = "deploy/notification-dispatch";

/// The key of an event, by name (`namespaces/{ns}/events/{id}`).
pub fn event_key(name: &str) -> String {
    keys::resource(EVENTS, name)
}

/// Every event.
pub fn events_prefix() -> String {
    keys::kind_prefix(EVENTS).into_string()
}

/// The events of one namespace.
pub fn namespace_events_prefix(namespace: &str) -> String {
    keys::collection(EVENTS, &format!("namespaces/{namespace}/events")).into_string()
}

/// The event name held by an event key.
pub fn event_name(key: &str) -> Option<&str> {
    keys::resource_name(EVENTS, key)
}

/// The repeat-detection index entry of an event identity in a namespace.
pub fn event_index_key(namespace: &str, digest: &str) -> String {
    keys::resource(EVENT_INDEX, &format!("{namespace}/{digest}"))
}

/// Every repeat-detection index entry.
pub fn event_index_prefix() -> String {
    keys::kind_prefix(EVENT_INDEX).into_string()
}

/// The event name an index entry (`{ns}/{digest}` → id) points to.
pub fn indexed_event_name(key: &str, id: &str) -> Option<String> {
    let rest = keys::resource_name(EVENT_INDEX, key)?;
    let namespace = rest.split('/').next()?;
    Some(format!("namespaces/{namespace}/events/{id}"))
}

/// The key of a channel, by name (`notificationChannels/{id}`).
pub fn channel_key(name: &str) -> String {
    keys::resource(CHANNELS, name)
}

/// Every channel.
pub fn channels_prefix() -> String {
    keys::kind_prefix(CHANNELS).into_string()
}

/// The secret values of a channel, by channel id.
pub fn channel_secrets_key(id: &str) -> String {
    keys::resource(CHANNEL_SECRETS, id)
}

/// The delivery status of a channel, by channel id.
pub fn channel_status_key(id: &str) -> String {
    keys::resource(CHANNEL_STATUS, id)
}

/// The key of a rule, by name (`notificationRules/{id}`).
pub fn rule_key(name: &str) -> String {
    keys::resource(RULES, name)
}

/// Every rule.
pub fn rules_prefix() -> String {
    keys::kind_prefix(RULES).into_string()
}

/// The key of a delivery, by name (`notificationChannels/{ch}/deliveries/{id}`).
pub fn delivery_key(name: &str) -> String {
    keys::resource(DELIVERIES, name)
}

/// Every delivery.
pub fn deliveries_prefix() -> String {
    keys::kind_prefix(DELIVERIES).into_string()
}

/// The deliveries of one channel, by channel id.
pub fn channel_deliveries_prefix(channel_id: &str) -> String {
    keys::collection(
        DELIVERIES,
        &format!("notificationChannels/{channel_id}/deliveries"),
    )
    .into_string()
}

/// The delivery name held by a delivery key.
pub fn delivery_name(key: &str) -> Option<&str> {
    keys::resource_name(DELIVERIES, key)
}

/// The dispatcher's cursor: the last event revision it handled.
pub fn dispatch_cursor_key() -> String {
    keys::resource(DISPATCH, "cursor")
}

/// De-duplication and rate-limit state of one rule towards one channel.
pub fn rule_channel_state_key(rule_id: &str, channel_id: &str) -> String {
    keys::resource(DISPATCH, &format!("rules/{rule_id}/{channel_id}"))
}

/// What responses show of a rule's matches, by rule id.
pub fn rule_status_key(rule_id: &str) -> String {
    keys::resource(DISPATCH, &format!("rule-status/{rule_id}"))
}

/// Every state of one rule.
pub fn rule_state_prefix(rule_id: &str) -> String {
    keys::collection(DISPATCH, &format!("rules/{rule_id}")).into_string()
}

/// A new id that sorts before every id made earlier (newest first), with `tag` as its
/// first letter: 16 hex digits of inverted microseconds and 8 of `salt`.
pub fn newest_first_id(tag: char, micros: u64, salt: u32) -> String {
    format!("{tag}{:016x}{salt:08x}", u64::MAX - micros)
}

/// Microseconds since the epoch of a timestamp (0 when unset or before the epoch).
pub fn micros(time: Option<&prost_types::Timestamp>) -> i64 {
    time.map(|t| t.seconds.saturating_mul(1_000_000) + i64::from(t.nanos / 1000))
        .unwrap_or(0)
        .max(0)
}

/// A timestamp from microseconds since the epoch.
pub fn timestamp_from_micros(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// Now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    micros(Some(&ferry_ops::operation::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_newest_first_and_are_dns_labels() {
        let older = newest_first_id('e', 1_000, 7);
        let newer = newest_first_id('e', 2_000, 1);
        assert!(newer < older);
        assert!(ferry_kit::aip::is_valid_id(&newer));
        assert_eq!(
            event_name(&event_key("namespaces/dev/events/e1")),
            Some("namespaces/dev/events/e1")
        );
        assert_eq!(micros(Some(&timestamp_from_micros(1_234_567))), 1_234_567);
    }
}
