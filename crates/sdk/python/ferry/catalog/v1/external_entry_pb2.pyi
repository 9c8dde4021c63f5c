import datetime

from ferry.common.v1 import types_pb2 as _types_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
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

class ExternalEntry(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "addresses", "ports", "health_check", "generation", "observed_generation", "reconciling", "state", "conditions", "dns_name", "address_statuses")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ExternalEntry.State]
        STATE_ACTIVE: _ClassVar[ExternalEntry.State]
        STATE_DEGRADED: _ClassVar[ExternalEntry.State]
        STATE_UNAVAILABLE: _ClassVar[ExternalEntry.State]
    STATE_UNSPECIFIED: ExternalEntry.State
    STATE_ACTIVE: ExternalEntry.State
    STATE_DEGRADED: ExternalEntry.State
    STATE_UNAVAILABLE: ExternalEntry.State
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
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DNS_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_STATUSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    addresses: _containers.RepeatedCompositeFieldContainer[ExternalAddress]
    ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerPort]
    health_check: _types_pb2.HealthCheck
    generation: int
    observed_generation: int
    reconciling: bool
    state: ExternalEntry.State
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    dns_name: str
    address_statuses: _containers.RepeatedCompositeFieldContainer[AddressStatus]
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., addresses: _Optional[_Iterable[_Union[ExternalAddress, _Mapping]]] = ..., ports: _Optional[_Iterable[_Union[_types_pb2.ContainerPort, _Mapping]]] = ..., health_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., generation: _Optional[int] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ..., state: _Optional[_Union[ExternalEntry.State, str]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., dns_name: _Optional[str] = ..., address_statuses: _Optional[_Iterable[_Union[AddressStatus, _Mapping]]] = ...) -> None: ...

class ExternalAddress(_message.Message):
    __slots__ = ("host", "ports")
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    host: str
    ports: _containers.RepeatedCompositeFieldContainer[AddressPort]
    def __init__(self, host: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[AddressPort, _Mapping]]] = ...) -> None: ...

class AddressPort(_message.Message):
    __slots__ = ("name", "port")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    port: int
    def __init__(self, name: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class AddressStatus(_message.Message):
    __slots__ = ("host", "resolved_ips", "health", "last_check_time", "last_transition_time", "last_error", "consecutive_failures")
    class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        HEALTH_UNSPECIFIED: _ClassVar[AddressStatus.Health]
        HEALTH_HEALTHY: _ClassVar[AddressStatus.Health]
        HEALTH_UNHEALTHY: _ClassVar[AddressStatus.Health]
        HEALTH_UNKNOWN: _ClassVar[AddressStatus.Health]
    HEALTH_UNSPECIFIED: AddressStatus.Health
    HEALTH_HEALTHY: AddressStatus.Health
    HEALTH_UNHEALTHY: AddressStatus.Health
    HEALTH_UNKNOWN: AddressStatus.Health
    HOST_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_IPS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    host: str
    resolved_ips: _containers.RepeatedScalarFieldContainer[str]
    health: AddressStatus.Health
    last_check_time: _timestamp_pb2.Timestamp
    last_transition_time: _timestamp_pb2.Timestamp
    last_error: str
    consecutive_failures: int
    def __init__(self, host: _Optional[str] = ..., resolved_ips: _Optional[_Iterable[str]] = ..., health: _Optional[_Union[AddressStatus.Health, str]] = ..., last_check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_transition_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., consecutive_failures: _Optional[int] = ...) -> None: ...

class CreateExternalEntryRequest(_message.Message):
    __slots__ = ("parent", "external_entry_id", "external_entry", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ENTRY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    external_entry_id: str
    external_entry: ExternalEntry
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., external_entry_id: _Optional[str] = ..., external_entry: _Optional[_Union[ExternalEntry, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetExternalEntryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListExternalEntriesRequest(_message.Message):
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

class ListExternalEntriesResponse(_message.Message):
    __slots__ = ("external_entries", "next_page_token", "total_size")
    EXTERNAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    external_entries: _containers.RepeatedCompositeFieldContainer[ExternalEntry]
    next_page_token: str
    total_size: int
    def __init__(self, external_entries: _Optional[_Iterable[_Union[ExternalEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateExternalEntryRequest(_message.Message):
    __slots__ = ("external_entry", "update_mask", "request_id", "validate_only", "allow_missing")
    EXTERNAL_ENTRY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    external_entry: ExternalEntry
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    allow_missing: bool
    def __init__(self, external_entry: _Optional[_Union[ExternalEntry, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class DeleteExternalEntryRequest(_message.Message):
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
