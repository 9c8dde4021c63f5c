import datetime

from ferry.common.v1 import types_pb2 as _types_pb2
from ferry.deploy.v1 import types_pb2 as _types_pb2_1
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

class AutoscalingPolicy(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "enabled", "min_replicas", "max_replicas", "cpu", "memory", "scale_up_step", "scale_down_step", "scale_up_cooldown", "scale_down_cooldown", "evaluation_window", "generation", "state", "current_replicas", "desired_replicas", "last_scale_time", "last_scale_direction", "last_scale_from_replicas", "last_scale_to_replicas", "last_scale_reason", "current_cpu_utilization_percent", "current_memory_utilization_percent", "metrics_time", "conditions", "observed_generation", "reconciling")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[AutoscalingPolicy.State]
        STATE_DISABLED: _ClassVar[AutoscalingPolicy.State]
        STATE_ACTIVE: _ClassVar[AutoscalingPolicy.State]
        STATE_SUSPENDED: _ClassVar[AutoscalingPolicy.State]
        STATE_METRICS_UNAVAILABLE: _ClassVar[AutoscalingPolicy.State]
    STATE_UNSPECIFIED: AutoscalingPolicy.State
    STATE_DISABLED: AutoscalingPolicy.State
    STATE_ACTIVE: AutoscalingPolicy.State
    STATE_SUSPENDED: AutoscalingPolicy.State
    STATE_METRICS_UNAVAILABLE: AutoscalingPolicy.State
    class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DIRECTION_UNSPECIFIED: _ClassVar[AutoscalingPolicy.Direction]
        DIRECTION_UP: _ClassVar[AutoscalingPolicy.Direction]
        DIRECTION_DOWN: _ClassVar[AutoscalingPolicy.Direction]
    DIRECTION_UNSPECIFIED: AutoscalingPolicy.Direction
    DIRECTION_UP: AutoscalingPolicy.Direction
    DIRECTION_DOWN: AutoscalingPolicy.Direction
    class UtilizationThresholds(_message.Message):
        __slots__ = ("target_percent", "scale_up_threshold_percent", "scale_down_threshold_percent")
        TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
        SCALE_UP_THRESHOLD_PERCENT_FIELD_NUMBER: _ClassVar[int]
        SCALE_DOWN_THRESHOLD_PERCENT_FIELD_NUMBER: _ClassVar[int]
        target_percent: int
        scale_up_threshold_percent: int
        scale_down_threshold_percent: int
        def __init__(self, target_percent: _Optional[int] = ..., scale_up_threshold_percent: _Optional[int] = ..., scale_down_threshold_percent: _Optional[int] = ...) -> None: ...
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
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    SCALE_UP_STEP_FIELD_NUMBER: _ClassVar[int]
    SCALE_DOWN_STEP_FIELD_NUMBER: _ClassVar[int]
    SCALE_UP_COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    SCALE_DOWN_COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    DESIRED_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_DIRECTION_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_FROM_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_TO_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_REASON_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CPU_UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_MEMORY_UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    METRICS_TIME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    enabled: bool
    min_replicas: int
    max_replicas: int
    cpu: AutoscalingPolicy.UtilizationThresholds
    memory: AutoscalingPolicy.UtilizationThresholds
    scale_up_step: _types_pb2_1.CountOrPercent
    scale_down_step: _types_pb2_1.CountOrPercent
    scale_up_cooldown: _duration_pb2.Duration
    scale_down_cooldown: _duration_pb2.Duration
    evaluation_window: _duration_pb2.Duration
    generation: int
    state: AutoscalingPolicy.State
    current_replicas: int
    desired_replicas: int
    last_scale_time: _timestamp_pb2.Timestamp
    last_scale_direction: AutoscalingPolicy.Direction
    last_scale_from_replicas: int
    last_scale_to_replicas: int
    last_scale_reason: str
    current_cpu_utilization_percent: int
    current_memory_utilization_percent: int
    metrics_time: _timestamp_pb2.Timestamp
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., enabled: _Optional[bool] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ..., cpu: _Optional[_Union[AutoscalingPolicy.UtilizationThresholds, _Mapping]] = ..., memory: _Optional[_Union[AutoscalingPolicy.UtilizationThresholds, _Mapping]] = ..., scale_up_step: _Optional[_Union[_types_pb2_1.CountOrPercent, _Mapping]] = ..., scale_down_step: _Optional[_Union[_types_pb2_1.CountOrPercent, _Mapping]] = ..., scale_up_cooldown: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., scale_down_cooldown: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., evaluation_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., generation: _Optional[int] = ..., state: _Optional[_Union[AutoscalingPolicy.State, str]] = ..., current_replicas: _Optional[int] = ..., desired_replicas: _Optional[int] = ..., last_scale_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_scale_direction: _Optional[_Union[AutoscalingPolicy.Direction, str]] = ..., last_scale_from_replicas: _Optional[int] = ..., last_scale_to_replicas: _Optional[int] = ..., last_scale_reason: _Optional[str] = ..., current_cpu_utilization_percent: _Optional[int] = ..., current_memory_utilization_percent: _Optional[int] = ..., metrics_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class GetAutoscalingPolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UpdateAutoscalingPolicyRequest(_message.Message):
    __slots__ = ("autoscaling_policy", "update_mask", "request_id", "validate_only", "allow_missing")
    AUTOSCALING_POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    autoscaling_policy: AutoscalingPolicy
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    allow_missing: bool
    def __init__(self, autoscaling_policy: _Optional[_Union[AutoscalingPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class DeleteAutoscalingPolicyRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "allow_missing")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    allow_missing: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., allow_missing: _Optional[bool] = ...) -> None: ...
