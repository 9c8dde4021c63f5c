import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "create_time", "update_time", "etag", "involved_resource", "involved_resource_type", "involved_resource_uid", "type", "severity", "reason", "message", "source", "count", "first_time", "last_time", "acknowledged", "acknowledge_time", "acknowledged_by", "acknowledge_note", "application", "deployment", "operation", "related_resources", "details", "expire_time")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[Event.Type]
        TYPE_NORMAL: _ClassVar[Event.Type]
        TYPE_WARNING: _ClassVar[Event.Type]
    TYPE_UNSPECIFIED: Event.Type
    TYPE_NORMAL: Event.Type
    TYPE_WARNING: Event.Type
    class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SEVERITY_UNSPECIFIED: _ClassVar[Event.Severity]
        SEVERITY_INFO: _ClassVar[Event.Severity]
        SEVERITY_WARNING: _ClassVar[Event.Severity]
        SEVERITY_ERROR: _ClassVar[Event.Severity]
        SEVERITY_CRITICAL: _ClassVar[Event.Severity]
    SEVERITY_UNSPECIFIED: Event.Severity
    SEVERITY_INFO: Event.Severity
    SEVERITY_WARNING: Event.Severity
    SEVERITY_ERROR: Event.Severity
    SEVERITY_CRITICAL: Event.Severity
    class Source(_message.Message):
        __slots__ = ("origin", "component", "host")
        class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            ORIGIN_UNSPECIFIED: _ClassVar[Event.Source.Origin]
            ORIGIN_PLATFORM: _ClassVar[Event.Source.Origin]
            ORIGIN_RUNTIME: _ClassVar[Event.Source.Origin]
            ORIGIN_EXTERNAL: _ClassVar[Event.Source.Origin]
        ORIGIN_UNSPECIFIED: Event.Source.Origin
        ORIGIN_PLATFORM: Event.Source.Origin
        ORIGIN_RUNTIME: Event.Source.Origin
        ORIGIN_EXTERNAL: Event.Source.Origin
        ORIGIN_FIELD_NUMBER: _ClassVar[int]
        COMPONENT_FIELD_NUMBER: _ClassVar[int]
        HOST_FIELD_NUMBER: _ClassVar[int]
        origin: Event.Source.Origin
        component: str
        host: str
        def __init__(self, origin: _Optional[_Union[Event.Source.Origin, str]] = ..., component: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class DetailsEntry(_message.Message):
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
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    INVOLVED_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    INVOLVED_RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    INVOLVED_RESOURCE_UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RELATED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    involved_resource: str
    involved_resource_type: str
    involved_resource_uid: str
    type: Event.Type
    severity: Event.Severity
    reason: str
    message: str
    source: Event.Source
    count: int
    first_time: _timestamp_pb2.Timestamp
    last_time: _timestamp_pb2.Timestamp
    acknowledged: bool
    acknowledge_time: _timestamp_pb2.Timestamp
    acknowledged_by: str
    acknowledge_note: str
    application: str
    deployment: str
    operation: str
    related_resources: _containers.RepeatedScalarFieldContainer[str]
    details: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., involved_resource: _Optional[str] = ..., involved_resource_type: _Optional[str] = ..., involved_resource_uid: _Optional[str] = ..., type: _Optional[_Union[Event.Type, str]] = ..., severity: _Optional[_Union[Event.Severity, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., source: _Optional[_Union[Event.Source, _Mapping]] = ..., count: _Optional[int] = ..., first_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged: _Optional[bool] = ..., acknowledge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., acknowledge_note: _Optional[str] = ..., application: _Optional[str] = ..., deployment: _Optional[str] = ..., operation: _Optional[str] = ..., related_resources: _Optional[_Iterable[str]] = ..., details: _Optional[_Mapping[str, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListEventsRequest(_message.Message):
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

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token", "total_size")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    total_size: int
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("parent", "filter", "resume_token", "start_time")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    parent: str
    filter: str
    resume_token: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, parent: _Optional[str] = ..., filter: _Optional[str] = ..., resume_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("change_type", "event", "resume_token")
    class ChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CHANGE_TYPE_UNSPECIFIED: _ClassVar[WatchEventsResponse.ChangeType]
        CHANGE_TYPE_ADDED: _ClassVar[WatchEventsResponse.ChangeType]
        CHANGE_TYPE_MODIFIED: _ClassVar[WatchEventsResponse.ChangeType]
        CHANGE_TYPE_EXPIRED: _ClassVar[WatchEventsResponse.ChangeType]
        CHANGE_TYPE_RESYNC: _ClassVar[WatchEventsResponse.ChangeType]
        CHANGE_TYPE_HEARTBEAT: _ClassVar[WatchEventsResponse.ChangeType]
    CHANGE_TYPE_UNSPECIFIED: WatchEventsResponse.ChangeType
    CHANGE_TYPE_ADDED: WatchEventsResponse.ChangeType
    CHANGE_TYPE_MODIFIED: WatchEventsResponse.ChangeType
    CHANGE_TYPE_EXPIRED: WatchEventsResponse.ChangeType
    CHANGE_TYPE_RESYNC: WatchEventsResponse.ChangeType
    CHANGE_TYPE_HEARTBEAT: WatchEventsResponse.ChangeType
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    change_type: WatchEventsResponse.ChangeType
    event: Event
    resume_token: str
    def __init__(self, change_type: _Optional[_Union[WatchEventsResponse.ChangeType, str]] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., resume_token: _Optional[str] = ...) -> None: ...

class CreateEventRequest(_message.Message):
    __slots__ = ("parent", "event", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    event: Event
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class AcknowledgeEventRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    note: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class BatchAcknowledgeEventsRequest(_message.Message):
    __slots__ = ("parent", "names", "request_id", "validate_only", "note")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    names: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    validate_only: bool
    note: str
    def __init__(self, parent: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class BatchAcknowledgeEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...
