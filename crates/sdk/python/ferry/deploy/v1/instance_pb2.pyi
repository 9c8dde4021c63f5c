import datetime

from ferry.common.v1 import logs_pb2 as _logs_pb2
from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Instance(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "create_time", "update_time", "etag", "revision", "state", "state_reason", "state_message", "host", "region", "zone", "ip_address", "ports", "restart_count", "start_time", "ready_time", "last_termination", "resource_usage", "resource_usage_time", "runtime_id", "conditions")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Instance.State]
        STATE_PENDING: _ClassVar[Instance.State]
        STATE_STARTING: _ClassVar[Instance.State]
        STATE_RUNNING: _ClassVar[Instance.State]
        STATE_READY: _ClassVar[Instance.State]
        STATE_UNHEALTHY: _ClassVar[Instance.State]
        STATE_RESTARTING: _ClassVar[Instance.State]
        STATE_TERMINATING: _ClassVar[Instance.State]
        STATE_FAILED: _ClassVar[Instance.State]
        STATE_UNKNOWN: _ClassVar[Instance.State]
    STATE_UNSPECIFIED: Instance.State
    STATE_PENDING: Instance.State
    STATE_STARTING: Instance.State
    STATE_RUNNING: Instance.State
    STATE_READY: Instance.State
    STATE_UNHEALTHY: Instance.State
    STATE_RESTARTING: Instance.State
    STATE_TERMINATING: Instance.State
    STATE_FAILED: Instance.State
    STATE_UNKNOWN: Instance.State
    class Port(_message.Message):
        __slots__ = ("port", "host_address", "host_port")
        PORT_FIELD_NUMBER: _ClassVar[int]
        HOST_ADDRESS_FIELD_NUMBER: _ClassVar[int]
        HOST_PORT_FIELD_NUMBER: _ClassVar[int]
        port: _types_pb2.ContainerPort
        host_address: str
        host_port: int
        def __init__(self, port: _Optional[_Union[_types_pb2.ContainerPort, _Mapping]] = ..., host_address: _Optional[str] = ..., host_port: _Optional[int] = ...) -> None: ...
    class Termination(_message.Message):
        __slots__ = ("exit_code", "signal", "reason", "message", "start_time", "end_time")
        EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
        SIGNAL_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        START_TIME_FIELD_NUMBER: _ClassVar[int]
        END_TIME_FIELD_NUMBER: _ClassVar[int]
        exit_code: int
        signal: int
        reason: str
        message: str
        start_time: _timestamp_pb2.Timestamp
        end_time: _timestamp_pb2.Timestamp
        def __init__(self, exit_code: _Optional[int] = ..., signal: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class LabelsEntry(_message.Message):
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
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    READY_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TERMINATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_USAGE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_USAGE_TIME_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    revision: str
    state: Instance.State
    state_reason: str
    state_message: str
    host: str
    region: str
    zone: str
    ip_address: str
    ports: _containers.RepeatedCompositeFieldContainer[Instance.Port]
    restart_count: int
    start_time: _timestamp_pb2.Timestamp
    ready_time: _timestamp_pb2.Timestamp
    last_termination: Instance.Termination
    resource_usage: _types_pb2.ResourceQuantities
    resource_usage_time: _timestamp_pb2.Timestamp
    runtime_id: str
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., revision: _Optional[str] = ..., state: _Optional[_Union[Instance.State, str]] = ..., state_reason: _Optional[str] = ..., state_message: _Optional[str] = ..., host: _Optional[str] = ..., region: _Optional[str] = ..., zone: _Optional[str] = ..., ip_address: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[Instance.Port, _Mapping]]] = ..., restart_count: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ready_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_termination: _Optional[_Union[Instance.Termination, _Mapping]] = ..., resource_usage: _Optional[_Union[_types_pb2.ResourceQuantities, _Mapping]] = ..., resource_usage_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., runtime_id: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ...) -> None: ...

class InstanceHealthResult(_message.Message):
    __slots__ = ("instance", "revision", "state", "result", "message", "restart_count", "update_time", "deadline")
    class Result(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        RESULT_UNSPECIFIED: _ClassVar[InstanceHealthResult.Result]
        RESULT_PENDING: _ClassVar[InstanceHealthResult.Result]
        RESULT_HEALTHY: _ClassVar[InstanceHealthResult.Result]
        RESULT_UNHEALTHY: _ClassVar[InstanceHealthResult.Result]
        RESULT_TIMED_OUT: _ClassVar[InstanceHealthResult.Result]
        RESULT_FAILED: _ClassVar[InstanceHealthResult.Result]
        RESULT_STOPPED: _ClassVar[InstanceHealthResult.Result]
    RESULT_UNSPECIFIED: InstanceHealthResult.Result
    RESULT_PENDING: InstanceHealthResult.Result
    RESULT_HEALTHY: InstanceHealthResult.Result
    RESULT_UNHEALTHY: InstanceHealthResult.Result
    RESULT_TIMED_OUT: InstanceHealthResult.Result
    RESULT_FAILED: InstanceHealthResult.Result
    RESULT_STOPPED: InstanceHealthResult.Result
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    instance: str
    revision: str
    state: Instance.State
    result: InstanceHealthResult.Result
    message: str
    restart_count: int
    update_time: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    def __init__(self, instance: _Optional[str] = ..., revision: _Optional[str] = ..., state: _Optional[_Union[Instance.State, str]] = ..., result: _Optional[_Union[InstanceHealthResult.Result, str]] = ..., message: _Optional[str] = ..., restart_count: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InstanceReplacementProgress(_message.Message):
    __slots__ = ("instance", "instance_state", "replacement")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_STATE_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    instance: str
    instance_state: Instance.State
    replacement: InstanceHealthResult
    def __init__(self, instance: _Optional[str] = ..., instance_state: _Optional[_Union[Instance.State, str]] = ..., replacement: _Optional[_Union[InstanceHealthResult, _Mapping]] = ...) -> None: ...

class GetInstanceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListInstancesRequest(_message.Message):
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

class ListInstancesResponse(_message.Message):
    __slots__ = ("instances", "next_page_token", "total_size")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    next_page_token: str
    total_size: int
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class StreamInstanceLogsRequest(_message.Message):
    __slots__ = ("name", "follow", "since_time", "tail_lines", "offset", "stream")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    name: str
    follow: bool
    since_time: _timestamp_pb2.Timestamp
    tail_lines: int
    offset: int
    stream: _logs_pb2.LogStream
    def __init__(self, name: _Optional[str] = ..., follow: _Optional[bool] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tail_lines: _Optional[int] = ..., offset: _Optional[int] = ..., stream: _Optional[_Union[_logs_pb2.LogStream, str]] = ...) -> None: ...

class StreamInstanceLogsResponse(_message.Message):
    __slots__ = ("chunk", "run")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    chunk: _logs_pb2.LogChunk
    run: int
    def __init__(self, chunk: _Optional[_Union[_logs_pb2.LogChunk, _Mapping]] = ..., run: _Optional[int] = ...) -> None: ...

class RestartInstanceRequest(_message.Message):
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

class DeleteInstanceRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "grace_period")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    grace_period: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
