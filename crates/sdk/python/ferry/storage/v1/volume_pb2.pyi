import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
from ferry.storage.v1 import storage_provider_pb2 as _storage_provider_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Volume(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "type", "replica_count", "disperse_data_count", "disperse_redundancy_count", "distribute_count", "size_bytes", "transport", "access_mode", "allowed_namespaces", "state", "bricks", "mount_source", "binding", "bound_instance", "used_bytes", "backend_name", "last_reset_time", "conditions", "observed_generation", "reconciling")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[Volume.Type]
        TYPE_DISTRIBUTED: _ClassVar[Volume.Type]
        TYPE_REPLICATED: _ClassVar[Volume.Type]
        TYPE_DISPERSED: _ClassVar[Volume.Type]
        TYPE_DISTRIBUTED_REPLICATED: _ClassVar[Volume.Type]
        TYPE_DISTRIBUTED_DISPERSED: _ClassVar[Volume.Type]
        TYPE_STRIPED: _ClassVar[Volume.Type]
        TYPE_SINGLE: _ClassVar[Volume.Type]
    TYPE_UNSPECIFIED: Volume.Type
    TYPE_DISTRIBUTED: Volume.Type
    TYPE_REPLICATED: Volume.Type
    TYPE_DISPERSED: Volume.Type
    TYPE_DISTRIBUTED_REPLICATED: Volume.Type
    TYPE_DISTRIBUTED_DISPERSED: Volume.Type
    TYPE_STRIPED: Volume.Type
    TYPE_SINGLE: Volume.Type
    class AccessMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACCESS_MODE_UNSPECIFIED: _ClassVar[Volume.AccessMode]
        ACCESS_MODE_READ_WRITE_ONCE: _ClassVar[Volume.AccessMode]
        ACCESS_MODE_READ_ONLY_MANY: _ClassVar[Volume.AccessMode]
        ACCESS_MODE_READ_WRITE_MANY: _ClassVar[Volume.AccessMode]
    ACCESS_MODE_UNSPECIFIED: Volume.AccessMode
    ACCESS_MODE_READ_WRITE_ONCE: Volume.AccessMode
    ACCESS_MODE_READ_ONLY_MANY: Volume.AccessMode
    ACCESS_MODE_READ_WRITE_MANY: Volume.AccessMode
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Volume.State]
        STATE_CREATING: _ClassVar[Volume.State]
        STATE_AVAILABLE: _ClassVar[Volume.State]
        STATE_BOUND: _ClassVar[Volume.State]
        STATE_RESETTING: _ClassVar[Volume.State]
        STATE_DELETING: _ClassVar[Volume.State]
        STATE_FAILED: _ClassVar[Volume.State]
    STATE_UNSPECIFIED: Volume.State
    STATE_CREATING: Volume.State
    STATE_AVAILABLE: Volume.State
    STATE_BOUND: Volume.State
    STATE_RESETTING: Volume.State
    STATE_DELETING: Volume.State
    STATE_FAILED: Volume.State
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
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REPLICA_COUNT_FIELD_NUMBER: _ClassVar[int]
    DISPERSE_DATA_COUNT_FIELD_NUMBER: _ClassVar[int]
    DISPERSE_REDUNDANCY_COUNT_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_MODE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BRICKS_FIELD_NUMBER: _ClassVar[int]
    MOUNT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    BOUND_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_RESET_TIME_FIELD_NUMBER: _ClassVar[int]
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
    type: Volume.Type
    replica_count: int
    disperse_data_count: int
    disperse_redundancy_count: int
    distribute_count: int
    size_bytes: int
    transport: _storage_provider_pb2.Transport
    access_mode: Volume.AccessMode
    allowed_namespaces: _containers.RepeatedScalarFieldContainer[str]
    state: Volume.State
    bricks: _containers.RepeatedCompositeFieldContainer[Brick]
    mount_source: MountSource
    binding: str
    bound_instance: str
    used_bytes: int
    backend_name: str
    last_reset_time: _timestamp_pb2.Timestamp
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., type: _Optional[_Union[Volume.Type, str]] = ..., replica_count: _Optional[int] = ..., disperse_data_count: _Optional[int] = ..., disperse_redundancy_count: _Optional[int] = ..., distribute_count: _Optional[int] = ..., size_bytes: _Optional[int] = ..., transport: _Optional[_Union[_storage_provider_pb2.Transport, str]] = ..., access_mode: _Optional[_Union[Volume.AccessMode, str]] = ..., allowed_namespaces: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[Volume.State, str]] = ..., bricks: _Optional[_Iterable[_Union[Brick, _Mapping]]] = ..., mount_source: _Optional[_Union[MountSource, _Mapping]] = ..., binding: _Optional[str] = ..., bound_instance: _Optional[str] = ..., used_bytes: _Optional[int] = ..., backend_name: _Optional[str] = ..., last_reset_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class Brick(_message.Message):
    __slots__ = ("host", "path", "state", "set_index", "size_bytes", "used_bytes", "heal_pending_count")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Brick.State]
        STATE_PROVISIONING: _ClassVar[Brick.State]
        STATE_ONLINE: _ClassVar[Brick.State]
        STATE_OFFLINE: _ClassVar[Brick.State]
        STATE_HEALING: _ClassVar[Brick.State]
    STATE_UNSPECIFIED: Brick.State
    STATE_PROVISIONING: Brick.State
    STATE_ONLINE: Brick.State
    STATE_OFFLINE: Brick.State
    STATE_HEALING: Brick.State
    HOST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SET_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    HEAL_PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    host: str
    path: str
    state: Brick.State
    set_index: int
    size_bytes: int
    used_bytes: int
    heal_pending_count: int
    def __init__(self, host: _Optional[str] = ..., path: _Optional[str] = ..., state: _Optional[_Union[Brick.State, str]] = ..., set_index: _Optional[int] = ..., size_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., heal_pending_count: _Optional[int] = ...) -> None: ...

class MountSource(_message.Message):
    __slots__ = ("fs_type", "source", "options")
    FS_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    fs_type: str
    source: str
    options: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fs_type: _Optional[str] = ..., source: _Optional[str] = ..., options: _Optional[_Iterable[str]] = ...) -> None: ...

class VolumeProgress(_message.Message):
    __slots__ = ("volume", "phase", "bricks_total", "bricks_done", "current_host")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[VolumeProgress.Phase]
        PHASE_ALLOCATE: _ClassVar[VolumeProgress.Phase]
        PHASE_CREATE: _ClassVar[VolumeProgress.Phase]
        PHASE_START: _ClassVar[VolumeProgress.Phase]
        PHASE_UNMOUNT: _ClassVar[VolumeProgress.Phase]
        PHASE_STOP: _ClassVar[VolumeProgress.Phase]
        PHASE_WIPE: _ClassVar[VolumeProgress.Phase]
        PHASE_REMOVE: _ClassVar[VolumeProgress.Phase]
        PHASE_REMOUNT: _ClassVar[VolumeProgress.Phase]
    PHASE_UNSPECIFIED: VolumeProgress.Phase
    PHASE_ALLOCATE: VolumeProgress.Phase
    PHASE_CREATE: VolumeProgress.Phase
    PHASE_START: VolumeProgress.Phase
    PHASE_UNMOUNT: VolumeProgress.Phase
    PHASE_STOP: VolumeProgress.Phase
    PHASE_WIPE: VolumeProgress.Phase
    PHASE_REMOVE: VolumeProgress.Phase
    PHASE_REMOUNT: VolumeProgress.Phase
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    BRICKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BRICKS_DONE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_HOST_FIELD_NUMBER: _ClassVar[int]
    volume: str
    phase: VolumeProgress.Phase
    bricks_total: int
    bricks_done: int
    current_host: str
    def __init__(self, volume: _Optional[str] = ..., phase: _Optional[_Union[VolumeProgress.Phase, str]] = ..., bricks_total: _Optional[int] = ..., bricks_done: _Optional[int] = ..., current_host: _Optional[str] = ...) -> None: ...

class CreateVolumeRequest(_message.Message):
    __slots__ = ("parent", "volume", "volume_id", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    volume: Volume
    volume_id: str
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., volume: _Optional[_Union[Volume, _Mapping]] = ..., volume_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetVolumeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListVolumesRequest(_message.Message):
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

class ListVolumesResponse(_message.Message):
    __slots__ = ("volumes", "next_page_token", "total_size")
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    next_page_token: str
    total_size: int
    def __init__(self, volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateVolumeRequest(_message.Message):
    __slots__ = ("volume", "update_mask", "request_id", "validate_only")
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    volume: Volume
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, volume: _Optional[_Union[Volume, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteVolumeRequest(_message.Message):
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

class ResetVolumeRequest(_message.Message):
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
