import datetime

from ferry.common.v1 import types_pb2 as _types_pb2
from ferry.deploy.v1 import event_pb2 as _event_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationChannel(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "webhook", "email", "slack", "state", "last_delivery", "last_attempt_time", "last_success_time", "last_error", "consecutive_failures", "pending_deliveries")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[NotificationChannel.State]
        STATE_HEALTHY: _ClassVar[NotificationChannel.State]
        STATE_FAILING: _ClassVar[NotificationChannel.State]
    STATE_UNSPECIFIED: NotificationChannel.State
    STATE_HEALTHY: NotificationChannel.State
    STATE_FAILING: NotificationChannel.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SLACK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    PENDING_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    webhook: WebhookConfig
    email: EmailConfig
    slack: SlackConfig
    state: NotificationChannel.State
    last_delivery: str
    last_attempt_time: _timestamp_pb2.Timestamp
    last_success_time: _timestamp_pb2.Timestamp
    last_error: str
    consecutive_failures: int
    pending_deliveries: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., webhook: _Optional[_Union[WebhookConfig, _Mapping]] = ..., email: _Optional[_Union[EmailConfig, _Mapping]] = ..., slack: _Optional[_Union[SlackConfig, _Mapping]] = ..., state: _Optional[_Union[NotificationChannel.State, str]] = ..., last_delivery: _Optional[str] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_success_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., pending_deliveries: _Optional[int] = ...) -> None: ...

class WebhookConfig(_message.Message):
    __slots__ = ("url", "signing_secret_ref", "signing_secret_value", "headers", "secret_headers", "timeout")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SecretHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _types_pb2.SecretRef
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    SIGNING_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    SIGNING_SECRET_VALUE_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    SECRET_HEADERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    url: str
    signing_secret_ref: _types_pb2.SecretRef
    signing_secret_value: str
    headers: _containers.ScalarMap[str, str]
    secret_headers: _containers.MessageMap[str, _types_pb2.SecretRef]
    timeout: _duration_pb2.Duration
    def __init__(self, url: _Optional[str] = ..., signing_secret_ref: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., signing_secret_value: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., secret_headers: _Optional[_Mapping[str, _types_pb2.SecretRef]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class EmailConfig(_message.Message):
    __slots__ = ("smtp_host", "smtp_port", "tls_mode", "username", "password_ref", "password_value", "from_address", "to_addresses", "subject_prefix")
    class TlsMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TLS_MODE_UNSPECIFIED: _ClassVar[EmailConfig.TlsMode]
        TLS_MODE_STARTTLS: _ClassVar[EmailConfig.TlsMode]
        TLS_MODE_IMPLICIT_TLS: _ClassVar[EmailConfig.TlsMode]
        TLS_MODE_NONE: _ClassVar[EmailConfig.TlsMode]
    TLS_MODE_UNSPECIFIED: EmailConfig.TlsMode
    TLS_MODE_STARTTLS: EmailConfig.TlsMode
    TLS_MODE_IMPLICIT_TLS: EmailConfig.TlsMode
    TLS_MODE_NONE: EmailConfig.TlsMode
    SMTP_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_PORT_FIELD_NUMBER: _ClassVar[int]
    TLS_MODE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_REF_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_VALUE_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_PREFIX_FIELD_NUMBER: _ClassVar[int]
    smtp_host: str
    smtp_port: int
    tls_mode: EmailConfig.TlsMode
    username: str
    password_ref: _types_pb2.SecretRef
    password_value: str
    from_address: str
    to_addresses: _containers.RepeatedScalarFieldContainer[str]
    subject_prefix: str
    def __init__(self, smtp_host: _Optional[str] = ..., smtp_port: _Optional[int] = ..., tls_mode: _Optional[_Union[EmailConfig.TlsMode, str]] = ..., username: _Optional[str] = ..., password_ref: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., password_value: _Optional[str] = ..., from_address: _Optional[str] = ..., to_addresses: _Optional[_Iterable[str]] = ..., subject_prefix: _Optional[str] = ...) -> None: ...

class SlackConfig(_message.Message):
    __slots__ = ("webhook_url_ref", "webhook_url_value", "channel", "username", "timeout")
    WEBHOOK_URL_REF_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_VALUE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    webhook_url_ref: _types_pb2.SecretRef
    webhook_url_value: str
    channel: str
    username: str
    timeout: _duration_pb2.Duration
    def __init__(self, webhook_url_ref: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., webhook_url_value: _Optional[str] = ..., channel: _Optional[str] = ..., username: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class NotificationPayload(_message.Message):
    __slots__ = ("delivery", "rule", "event", "suppressed_count", "test")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    delivery: str
    rule: str
    event: _event_pb2.Event
    suppressed_count: int
    test: bool
    def __init__(self, delivery: _Optional[str] = ..., rule: _Optional[str] = ..., event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., suppressed_count: _Optional[int] = ..., test: _Optional[bool] = ...) -> None: ...

class NotificationRule(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "enabled", "channels", "selector", "dedupe_window", "rate_limit", "description", "last_match_time", "suppressed_count")
    class RateLimit(_message.Message):
        __slots__ = ("max_notifications", "period")
        MAX_NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
        PERIOD_FIELD_NUMBER: _ClassVar[int]
        max_notifications: int
        period: _duration_pb2.Duration
        def __init__(self, max_notifications: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    DEDUPE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LAST_MATCH_TIME_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    enabled: bool
    channels: _containers.RepeatedScalarFieldContainer[str]
    selector: EventSelector
    dedupe_window: _duration_pb2.Duration
    rate_limit: NotificationRule.RateLimit
    description: str
    last_match_time: _timestamp_pb2.Timestamp
    suppressed_count: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., enabled: _Optional[bool] = ..., channels: _Optional[_Iterable[str]] = ..., selector: _Optional[_Union[EventSelector, _Mapping]] = ..., dedupe_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rate_limit: _Optional[_Union[NotificationRule.RateLimit, _Mapping]] = ..., description: _Optional[str] = ..., last_match_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., suppressed_count: _Optional[int] = ...) -> None: ...

class EventSelector(_message.Message):
    __slots__ = ("types", "severities", "reasons", "resource_patterns", "resource_types", "applications", "namespaces", "labels", "include_acknowledged")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPES_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPES_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[_event_pb2.Event.Type]
    severities: _containers.RepeatedScalarFieldContainer[_event_pb2.Event.Severity]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    resource_patterns: _containers.RepeatedScalarFieldContainer[str]
    resource_types: _containers.RepeatedScalarFieldContainer[str]
    applications: _containers.RepeatedScalarFieldContainer[str]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    include_acknowledged: bool
    def __init__(self, types: _Optional[_Iterable[_Union[_event_pb2.Event.Type, str]]] = ..., severities: _Optional[_Iterable[_Union[_event_pb2.Event.Severity, str]]] = ..., reasons: _Optional[_Iterable[str]] = ..., resource_patterns: _Optional[_Iterable[str]] = ..., resource_types: _Optional[_Iterable[str]] = ..., applications: _Optional[_Iterable[str]] = ..., namespaces: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., include_acknowledged: _Optional[bool] = ...) -> None: ...

class NotificationDelivery(_message.Message):
    __slots__ = ("name", "uid", "display_name", "create_time", "update_time", "etag", "event", "rule", "state", "attempt_count", "max_attempts", "next_attempt_time", "last_attempt_time", "last_error", "last_response_code", "attempts", "deliver_time", "test", "suppressed_count")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[NotificationDelivery.State]
        STATE_PENDING: _ClassVar[NotificationDelivery.State]
        STATE_SUCCEEDED: _ClassVar[NotificationDelivery.State]
        STATE_FAILED: _ClassVar[NotificationDelivery.State]
        STATE_RETRYING: _ClassVar[NotificationDelivery.State]
    STATE_UNSPECIFIED: NotificationDelivery.State
    STATE_PENDING: NotificationDelivery.State
    STATE_SUCCEEDED: NotificationDelivery.State
    STATE_FAILED: NotificationDelivery.State
    STATE_RETRYING: NotificationDelivery.State
    class Attempt(_message.Message):
        __slots__ = ("start_time", "duration", "succeeded", "response_code", "error")
        START_TIME_FIELD_NUMBER: _ClassVar[int]
        DURATION_FIELD_NUMBER: _ClassVar[int]
        SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
        RESPONSE_CODE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        start_time: _timestamp_pb2.Timestamp
        duration: _duration_pb2.Duration
        succeeded: bool
        response_code: int
        error: str
        def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., succeeded: _Optional[bool] = ..., response_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_RESPONSE_CODE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    event: str
    rule: str
    state: NotificationDelivery.State
    attempt_count: int
    max_attempts: int
    next_attempt_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    last_error: str
    last_response_code: int
    attempts: _containers.RepeatedCompositeFieldContainer[NotificationDelivery.Attempt]
    deliver_time: _timestamp_pb2.Timestamp
    test: bool
    suppressed_count: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., event: _Optional[str] = ..., rule: _Optional[str] = ..., state: _Optional[_Union[NotificationDelivery.State, str]] = ..., attempt_count: _Optional[int] = ..., max_attempts: _Optional[int] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., last_response_code: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[NotificationDelivery.Attempt, _Mapping]]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., test: _Optional[bool] = ..., suppressed_count: _Optional[int] = ...) -> None: ...

class GetNotificationChannelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsResponse(_message.Message):
    __slots__ = ("notification_channels", "next_page_token", "total_size")
    NOTIFICATION_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    notification_channels: _containers.RepeatedCompositeFieldContainer[NotificationChannel]
    next_page_token: str
    total_size: int
    def __init__(self, notification_channels: _Optional[_Iterable[_Union[NotificationChannel, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CreateNotificationChannelRequest(_message.Message):
    __slots__ = ("notification_channel_id", "notification_channel", "request_id", "validate_only")
    NOTIFICATION_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    notification_channel_id: str
    notification_channel: NotificationChannel
    request_id: str
    validate_only: bool
    def __init__(self, notification_channel_id: _Optional[str] = ..., notification_channel: _Optional[_Union[NotificationChannel, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateNotificationChannelRequest(_message.Message):
    __slots__ = ("notification_channel", "update_mask", "request_id", "validate_only")
    NOTIFICATION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    notification_channel: NotificationChannel
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, notification_channel: _Optional[_Union[NotificationChannel, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteNotificationChannelRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    force: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., force: _Optional[bool] = ...) -> None: ...

class TestNotificationChannelRequest(_message.Message):
    __slots__ = ("name", "request_id", "message", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    message: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ..., message: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class TestNotificationChannelResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: NotificationDelivery
    def __init__(self, delivery: _Optional[_Union[NotificationDelivery, _Mapping]] = ...) -> None: ...

class GetNotificationRuleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNotificationRulesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListNotificationRulesResponse(_message.Message):
    __slots__ = ("notification_rules", "next_page_token", "total_size")
    NOTIFICATION_RULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    notification_rules: _containers.RepeatedCompositeFieldContainer[NotificationRule]
    next_page_token: str
    total_size: int
    def __init__(self, notification_rules: _Optional[_Iterable[_Union[NotificationRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CreateNotificationRuleRequest(_message.Message):
    __slots__ = ("notification_rule_id", "notification_rule", "request_id", "validate_only")
    NOTIFICATION_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_RULE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    notification_rule_id: str
    notification_rule: NotificationRule
    request_id: str
    validate_only: bool
    def __init__(self, notification_rule_id: _Optional[str] = ..., notification_rule: _Optional[_Union[NotificationRule, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateNotificationRuleRequest(_message.Message):
    __slots__ = ("notification_rule", "update_mask", "request_id", "validate_only")
    NOTIFICATION_RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    notification_rule: NotificationRule
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, notification_rule: _Optional[_Union[NotificationRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteNotificationRuleRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetNotificationDeliveryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNotificationDeliveriesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "order_by")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    order_by: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListNotificationDeliveriesResponse(_message.Message):
    __slots__ = ("notification_deliveries", "next_page_token", "total_size")
    NOTIFICATION_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    notification_deliveries: _containers.RepeatedCompositeFieldContainer[NotificationDelivery]
    next_page_token: str
    total_size: int
    def __init__(self, notification_deliveries: _Optional[_Iterable[_Union[NotificationDelivery, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RetryNotificationDeliveryRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...
