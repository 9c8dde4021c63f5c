from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WebhookProvider(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_PROVIDER_UNSPECIFIED: _ClassVar[WebhookProvider]
    WEBHOOK_PROVIDER_GITHUB: _ClassVar[WebhookProvider]
    WEBHOOK_PROVIDER_GITLAB: _ClassVar[WebhookProvider]
WEBHOOK_PROVIDER_UNSPECIFIED: WebhookProvider
WEBHOOK_PROVIDER_GITHUB: WebhookProvider
WEBHOOK_PROVIDER_GITLAB: WebhookProvider

class ReceiveWebhookRequest(_message.Message):
    __slots__ = ("application", "provider", "event_type", "signature", "delivery_id", "headers", "payload", "content_type")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    application: str
    provider: WebhookProvider
    event_type: str
    signature: str
    delivery_id: str
    headers: _containers.ScalarMap[str, str]
    payload: bytes
    content_type: str
    def __init__(self, application: _Optional[str] = ..., provider: _Optional[_Union[WebhookProvider, str]] = ..., event_type: _Optional[str] = ..., signature: _Optional[str] = ..., delivery_id: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., payload: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class ReceiveWebhookResponse(_message.Message):
    __slots__ = ("outcome", "ignore_reason", "build", "operation", "ref", "commit_sha", "delivery_id")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[ReceiveWebhookResponse.Outcome]
        OUTCOME_BUILD_CREATED: _ClassVar[ReceiveWebhookResponse.Outcome]
        OUTCOME_DUPLICATE: _ClassVar[ReceiveWebhookResponse.Outcome]
        OUTCOME_IGNORED: _ClassVar[ReceiveWebhookResponse.Outcome]
    OUTCOME_UNSPECIFIED: ReceiveWebhookResponse.Outcome
    OUTCOME_BUILD_CREATED: ReceiveWebhookResponse.Outcome
    OUTCOME_DUPLICATE: ReceiveWebhookResponse.Outcome
    OUTCOME_IGNORED: ReceiveWebhookResponse.Outcome
    class IgnoreReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        IGNORE_REASON_UNSPECIFIED: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
        IGNORE_REASON_PING: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
        IGNORE_REASON_EVENT_NOT_HANDLED: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
        IGNORE_REASON_REF_NOT_WATCHED: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
        IGNORE_REASON_REF_DELETED: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
        IGNORE_REASON_ALREADY_BUILT: _ClassVar[ReceiveWebhookResponse.IgnoreReason]
    IGNORE_REASON_UNSPECIFIED: ReceiveWebhookResponse.IgnoreReason
    IGNORE_REASON_PING: ReceiveWebhookResponse.IgnoreReason
    IGNORE_REASON_EVENT_NOT_HANDLED: ReceiveWebhookResponse.IgnoreReason
    IGNORE_REASON_REF_NOT_WATCHED: ReceiveWebhookResponse.IgnoreReason
    IGNORE_REASON_REF_DELETED: ReceiveWebhookResponse.IgnoreReason
    IGNORE_REASON_ALREADY_BUILT: ReceiveWebhookResponse.IgnoreReason
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    IGNORE_REASON_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    COMMIT_SHA_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    outcome: ReceiveWebhookResponse.Outcome
    ignore_reason: ReceiveWebhookResponse.IgnoreReason
    build: str
    operation: str
    ref: str
    commit_sha: str
    delivery_id: str
    def __init__(self, outcome: _Optional[_Union[ReceiveWebhookResponse.Outcome, str]] = ..., ignore_reason: _Optional[_Union[ReceiveWebhookResponse.IgnoreReason, str]] = ..., build: _Optional[str] = ..., operation: _Optional[str] = ..., ref: _Optional[str] = ..., commit_sha: _Optional[str] = ..., delivery_id: _Optional[str] = ...) -> None: ...
