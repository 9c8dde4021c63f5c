import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
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

class VolumeBinding(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "volume", "target", "mount_path", "read_only", "rebind_policy", "rebind_delay", "state", "bound_instance", "host", "bind_time", "rebind_count", "history", "conditions", "observed_generation", "reconciling")
    class RebindPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REBIND_POLICY_UNSPECIFIED: _ClassVar[VolumeBinding.RebindPolicy]
        REBIND_POLICY_AUTOMATIC: _ClassVar[VolumeBinding.RebindPolicy]
        REBIND_POLICY_MANUAL: _ClassVar[VolumeBinding.RebindPolicy]
    REBIND_POLICY_UNSPECIFIED: VolumeBinding.RebindPolicy
    REBIND_POLICY_AUTOMATIC: VolumeBinding.RebindPolicy
    REBIND_POLICY_MANUAL: VolumeBinding.RebindPolicy
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[VolumeBinding.State]
        STATE_PENDING: _ClassVar[VolumeBinding.State]
        STATE_BOUND: _ClassVar[VolumeBinding.State]
        STATE_REBINDING: _ClassVar[VolumeBinding.State]
        STATE_UNBOUND: _ClassVar[VolumeBinding.State]
        STATE_FAILED: _ClassVar[VolumeBinding.State]
    STATE_UNSPECIFIED: VolumeBinding.State
    STATE_PENDING: VolumeBinding.State
    STATE_BOUND: VolumeBinding.State
    STATE_REBINDING: VolumeBinding.State
    STATE_UNBOUND: VolumeBinding.State
    STATE_FAILED: VolumeBinding.State
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
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MOUNT_PATH_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    REBIND_POLICY_FIELD_NUMBER: _ClassVar[int]
    REBIND_DELAY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BOUND_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    BIND_TIME_FIELD_NUMBER: _ClassVar[int]
    REBIND_COUNT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
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
    volume: str
    target: BindingTarget
    mount_path: str
    read_only: bool
    rebind_policy: VolumeBinding.RebindPolicy
    rebind_delay: _duration_pb2.Duration
    state: VolumeBinding.State
    bound_instance: str
    host: str
    bind_time: _timestamp_pb2.Timestamp
    rebind_count: int
    history: _containers.RepeatedCompositeFieldContainer[BindingRecord]
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., volume: _Optional[str] = ..., target: _Optional[_Union[BindingTarget, _Mapping]] = ..., mount_path: _Optional[str] = ..., read_only: _Optional[bool] = ..., rebind_policy: _Optional[_Union[VolumeBinding.RebindPolicy, str]] = ..., rebind_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., state: _Optional[_Union[VolumeBinding.State, str]] = ..., bound_instance: _Optional[str] = ..., host: _Optional[str] = ..., bind_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rebind_count: _Optional[int] = ..., history: _Optional[_Iterable[_Union[BindingRecord, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class BindingTarget(_message.Message):
    __slots__ = ("deployment", "service_instance", "ordinal", "instance")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    ORDINAL_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    service_instance: str
    ordinal: int
    instance: str
    def __init__(self, deployment: _Optional[str] = ..., service_instance: _Optional[str] = ..., ordinal: _Optional[int] = ..., instance: _Optional[str] = ...) -> None: ...

class BindingRecord(_message.Message):
    __slots__ = ("instance", "host", "bind_time", "unbind_time", "reason", "message", "operation")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[BindingRecord.Reason]
        REASON_INSTANCE_DIED: _ClassVar[BindingRecord.Reason]
        REASON_HOST_LOST: _ClassVar[BindingRecord.Reason]
        REASON_INSTANCE_REMOVED: _ClassVar[BindingRecord.Reason]
        REASON_MANUAL_REBIND: _ClassVar[BindingRecord.Reason]
        REASON_VOLUME_RESET: _ClassVar[BindingRecord.Reason]
        REASON_BINDING_DELETED: _ClassVar[BindingRecord.Reason]
        REASON_MOUNT_FAILED: _ClassVar[BindingRecord.Reason]
    REASON_UNSPECIFIED: BindingRecord.Reason
    REASON_INSTANCE_DIED: BindingRecord.Reason
    REASON_HOST_LOST: BindingRecord.Reason
    REASON_INSTANCE_REMOVED: BindingRecord.Reason
    REASON_MANUAL_REBIND: BindingRecord.Reason
    REASON_VOLUME_RESET: BindingRecord.Reason
    REASON_BINDING_DELETED: BindingRecord.Reason
    REASON_MOUNT_FAILED: BindingRecord.Reason
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    BIND_TIME_FIELD_NUMBER: _ClassVar[int]
    UNBIND_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    instance: str
    host: str
    bind_time: _timestamp_pb2.Timestamp
    unbind_time: _timestamp_pb2.Timestamp
    reason: BindingRecord.Reason
    message: str
    operation: str
    def __init__(self, instance: _Optional[str] = ..., host: _Optional[str] = ..., bind_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unbind_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[_Union[BindingRecord.Reason, str]] = ..., message: _Optional[str] = ..., operation: _Optional[str] = ...) -> None: ...

class RebindProgress(_message.Message):
    __slots__ = ("phase", "from_instance", "from_host", "to_instance", "to_host", "release_time", "mount_time", "automatic")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[RebindProgress.Phase]
        PHASE_SELECT_TARGET: _ClassVar[RebindProgress.Phase]
        PHASE_RELEASE_OLD: _ClassVar[RebindProgress.Phase]
        PHASE_MOUNT_NEW: _ClassVar[RebindProgress.Phase]
        PHASE_VERIFY: _ClassVar[RebindProgress.Phase]
    PHASE_UNSPECIFIED: RebindProgress.Phase
    PHASE_SELECT_TARGET: RebindProgress.Phase
    PHASE_RELEASE_OLD: RebindProgress.Phase
    PHASE_MOUNT_NEW: RebindProgress.Phase
    PHASE_VERIFY: RebindProgress.Phase
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FROM_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    FROM_HOST_FIELD_NUMBER: _ClassVar[int]
    TO_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TO_HOST_FIELD_NUMBER: _ClassVar[int]
    RELEASE_TIME_FIELD_NUMBER: _ClassVar[int]
    MOUNT_TIME_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    phase: RebindProgress.Phase
    from_instance: str
    from_host: str
    to_instance: str
    to_host: str
    release_time: _timestamp_pb2.Timestamp
    mount_time: _timestamp_pb2.Timestamp
    automatic: bool
    def __init__(self, phase: _Optional[_Union[RebindProgress.Phase, str]] = ..., from_instance: _Optional[str] = ..., from_host: _Optional[str] = ..., to_instance: _Optional[str] = ..., to_host: _Optional[str] = ..., release_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mount_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., automatic: _Optional[bool] = ...) -> None: ...

class CreateVolumeBindingRequest(_message.Message):
    __slots__ = ("parent", "volume_binding", "volume_binding_id", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_BINDING_FIELD_NUMBER: _ClassVar[int]
    VOLUME_BINDING_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    volume_binding: VolumeBinding
    volume_binding_id: str
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., volume_binding: _Optional[_Union[VolumeBinding, _Mapping]] = ..., volume_binding_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetVolumeBindingRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListVolumeBindingsRequest(_message.Message):
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

class ListVolumeBindingsResponse(_message.Message):
    __slots__ = ("volume_bindings", "next_page_token", "total_size")
    VOLUME_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    volume_bindings: _containers.RepeatedCompositeFieldContainer[VolumeBinding]
    next_page_token: str
    total_size: int
    def __init__(self, volume_bindings: _Optional[_Iterable[_Union[VolumeBinding, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateVolumeBindingRequest(_message.Message):
    __slots__ = ("volume_binding", "update_mask", "request_id", "validate_only")
    VOLUME_BINDING_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    volume_binding: VolumeBinding
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, volume_binding: _Optional[_Union[VolumeBinding, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteVolumeBindingRequest(_message.Message):
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

class RebindVolumeBindingRequest(_message.Message):
    __slots__ = ("name", "target_instance", "etag", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_instance: str
    etag: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., target_instance: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...
