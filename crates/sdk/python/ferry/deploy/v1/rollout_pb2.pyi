import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.deploy.v1 import deployment_pb2 as _deployment_pb2
from ferry.deploy.v1 import instance_pb2 as _instance_pb2
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

class Rollout(_message.Message):
    __slots__ = ("name", "uid", "display_name", "create_time", "update_time", "etag", "kind", "state", "state_reason", "state_message", "from_revision", "to_revision", "strategy", "progress", "operation", "initiator", "start_time", "end_time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Rollout.Kind]
        KIND_CREATE: _ClassVar[Rollout.Kind]
        KIND_UPDATE: _ClassVar[Rollout.Kind]
        KIND_AUTO_UPDATE: _ClassVar[Rollout.Kind]
        KIND_ROLLBACK: _ClassVar[Rollout.Kind]
        KIND_RESTART: _ClassVar[Rollout.Kind]
        KIND_TOPOLOGY: _ClassVar[Rollout.Kind]
    KIND_UNSPECIFIED: Rollout.Kind
    KIND_CREATE: Rollout.Kind
    KIND_UPDATE: Rollout.Kind
    KIND_AUTO_UPDATE: Rollout.Kind
    KIND_ROLLBACK: Rollout.Kind
    KIND_RESTART: Rollout.Kind
    KIND_TOPOLOGY: Rollout.Kind
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Rollout.State]
        STATE_PENDING: _ClassVar[Rollout.State]
        STATE_PROGRESSING: _ClassVar[Rollout.State]
        STATE_PAUSED: _ClassVar[Rollout.State]
        STATE_SUCCEEDED: _ClassVar[Rollout.State]
        STATE_FAILED: _ClassVar[Rollout.State]
        STATE_ROLLING_BACK: _ClassVar[Rollout.State]
        STATE_ROLLED_BACK: _ClassVar[Rollout.State]
        STATE_ABORTING: _ClassVar[Rollout.State]
        STATE_ABORTED: _ClassVar[Rollout.State]
    STATE_UNSPECIFIED: Rollout.State
    STATE_PENDING: Rollout.State
    STATE_PROGRESSING: Rollout.State
    STATE_PAUSED: Rollout.State
    STATE_SUCCEEDED: Rollout.State
    STATE_FAILED: Rollout.State
    STATE_ROLLING_BACK: Rollout.State
    STATE_ROLLED_BACK: Rollout.State
    STATE_ABORTING: Rollout.State
    STATE_ABORTED: Rollout.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    kind: Rollout.Kind
    state: Rollout.State
    state_reason: str
    state_message: str
    from_revision: str
    to_revision: str
    strategy: _deployment_pb2.RolloutStrategy
    progress: RolloutProgress
    operation: str
    initiator: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., kind: _Optional[_Union[Rollout.Kind, str]] = ..., state: _Optional[_Union[Rollout.State, str]] = ..., state_reason: _Optional[str] = ..., state_message: _Optional[str] = ..., from_revision: _Optional[str] = ..., to_revision: _Optional[str] = ..., strategy: _Optional[_Union[_deployment_pb2.RolloutStrategy, _Mapping]] = ..., progress: _Optional[_Union[RolloutProgress, _Mapping]] = ..., operation: _Optional[str] = ..., initiator: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RolloutProgress(_message.Message):
    __slots__ = ("rollout", "deployment", "old_revision", "new_revision", "state", "paused", "current_step", "total_steps", "instances_total", "instances_updated", "instances_available", "instances_old", "instance_results", "rollback_reason", "pause_reason", "step_start_time", "next_step_time")
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    OLD_REVISION_FIELD_NUMBER: _ClassVar[int]
    NEW_REVISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_UPDATED_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_OLD_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_REASON_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    STEP_START_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_STEP_TIME_FIELD_NUMBER: _ClassVar[int]
    rollout: str
    deployment: str
    old_revision: str
    new_revision: str
    state: Rollout.State
    paused: bool
    current_step: int
    total_steps: int
    instances_total: int
    instances_updated: int
    instances_available: int
    instances_old: int
    instance_results: _containers.RepeatedCompositeFieldContainer[_instance_pb2.InstanceHealthResult]
    rollback_reason: str
    pause_reason: str
    step_start_time: _timestamp_pb2.Timestamp
    next_step_time: _timestamp_pb2.Timestamp
    def __init__(self, rollout: _Optional[str] = ..., deployment: _Optional[str] = ..., old_revision: _Optional[str] = ..., new_revision: _Optional[str] = ..., state: _Optional[_Union[Rollout.State, str]] = ..., paused: _Optional[bool] = ..., current_step: _Optional[int] = ..., total_steps: _Optional[int] = ..., instances_total: _Optional[int] = ..., instances_updated: _Optional[int] = ..., instances_available: _Optional[int] = ..., instances_old: _Optional[int] = ..., instance_results: _Optional[_Iterable[_Union[_instance_pb2.InstanceHealthResult, _Mapping]]] = ..., rollback_reason: _Optional[str] = ..., pause_reason: _Optional[str] = ..., step_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_step_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRolloutRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRolloutsRequest(_message.Message):
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

class ListRolloutsResponse(_message.Message):
    __slots__ = ("rollouts", "next_page_token", "total_size")
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    rollouts: _containers.RepeatedCompositeFieldContainer[Rollout]
    next_page_token: str
    total_size: int
    def __init__(self, rollouts: _Optional[_Iterable[_Union[Rollout, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class PauseRolloutRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    reason: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeRolloutRequest(_message.Message):
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

class AbortRolloutRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    reason: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackDeploymentRequest(_message.Message):
    __slots__ = ("name", "revision", "force", "etag", "request_id", "validate_only", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    force: bool
    etag: str
    request_id: str
    validate_only: bool
    reason: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., force: _Optional[bool] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class RestartDeploymentRequest(_message.Message):
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
