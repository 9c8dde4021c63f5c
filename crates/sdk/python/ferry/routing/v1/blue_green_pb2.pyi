import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
from ferry.routing.v1 import service_pb2 as _service_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BLUE: _ClassVar[Side]
    SIDE_GREEN: _ClassVar[Side]
SIDE_UNSPECIFIED: Side
SIDE_BLUE: Side
SIDE_GREEN: Side

class BlueGreenEntry(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "application", "deployment", "blue_namespace", "green_namespace", "initial_side", "ports", "type", "session_affinity", "drain_timeout", "min_healthy_percent", "state", "active_side", "active_namespace", "dns_name", "cluster_address", "allocated_node_ports", "blue", "green", "switch_history", "last_switch_time", "conditions", "observed_generation", "reconciling")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[BlueGreenEntry.State]
        STATE_CREATING: _ClassVar[BlueGreenEntry.State]
        STATE_ACTIVE: _ClassVar[BlueGreenEntry.State]
        STATE_SWITCHING: _ClassVar[BlueGreenEntry.State]
        STATE_FAILED: _ClassVar[BlueGreenEntry.State]
        STATE_DELETING: _ClassVar[BlueGreenEntry.State]
    STATE_UNSPECIFIED: BlueGreenEntry.State
    STATE_CREATING: BlueGreenEntry.State
    STATE_ACTIVE: BlueGreenEntry.State
    STATE_SWITCHING: BlueGreenEntry.State
    STATE_FAILED: BlueGreenEntry.State
    STATE_DELETING: BlueGreenEntry.State
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
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    BLUE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    GREEN_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SIDE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SESSION_AFFINITY_FIELD_NUMBER: _ClassVar[int]
    DRAIN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MIN_HEALTHY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SIDE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DNS_NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_NODE_PORTS_FIELD_NUMBER: _ClassVar[int]
    BLUE_FIELD_NUMBER: _ClassVar[int]
    GREEN_FIELD_NUMBER: _ClassVar[int]
    SWITCH_HISTORY_FIELD_NUMBER: _ClassVar[int]
    LAST_SWITCH_TIME_FIELD_NUMBER: _ClassVar[int]
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
    application: str
    deployment: str
    blue_namespace: str
    green_namespace: str
    initial_side: Side
    ports: _containers.RepeatedCompositeFieldContainer[_service_pb2.ServicePort]
    type: _service_pb2.Service.Type
    session_affinity: _service_pb2.SessionAffinity
    drain_timeout: _duration_pb2.Duration
    min_healthy_percent: int
    state: BlueGreenEntry.State
    active_side: Side
    active_namespace: str
    dns_name: str
    cluster_address: str
    allocated_node_ports: _containers.RepeatedCompositeFieldContainer[_service_pb2.AllocatedNodePort]
    blue: SideStatus
    green: SideStatus
    switch_history: _containers.RepeatedCompositeFieldContainer[SwitchRecord]
    last_switch_time: _timestamp_pb2.Timestamp
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., application: _Optional[str] = ..., deployment: _Optional[str] = ..., blue_namespace: _Optional[str] = ..., green_namespace: _Optional[str] = ..., initial_side: _Optional[_Union[Side, str]] = ..., ports: _Optional[_Iterable[_Union[_service_pb2.ServicePort, _Mapping]]] = ..., type: _Optional[_Union[_service_pb2.Service.Type, str]] = ..., session_affinity: _Optional[_Union[_service_pb2.SessionAffinity, _Mapping]] = ..., drain_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., min_healthy_percent: _Optional[int] = ..., state: _Optional[_Union[BlueGreenEntry.State, str]] = ..., active_side: _Optional[_Union[Side, str]] = ..., active_namespace: _Optional[str] = ..., dns_name: _Optional[str] = ..., cluster_address: _Optional[str] = ..., allocated_node_ports: _Optional[_Iterable[_Union[_service_pb2.AllocatedNodePort, _Mapping]]] = ..., blue: _Optional[_Union[SideStatus, _Mapping]] = ..., green: _Optional[_Union[SideStatus, _Mapping]] = ..., switch_history: _Optional[_Iterable[_Union[SwitchRecord, _Mapping]]] = ..., last_switch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class SideStatus(_message.Message):
    __slots__ = ("side", "namespace", "deployment", "active", "healthy", "ready_instances", "desired_instances", "revision", "image_version")
    SIDE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    READY_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    DESIRED_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VERSION_FIELD_NUMBER: _ClassVar[int]
    side: Side
    namespace: str
    deployment: str
    active: bool
    healthy: bool
    ready_instances: int
    desired_instances: int
    revision: str
    image_version: str
    def __init__(self, side: _Optional[_Union[Side, str]] = ..., namespace: _Optional[str] = ..., deployment: _Optional[str] = ..., active: _Optional[bool] = ..., healthy: _Optional[bool] = ..., ready_instances: _Optional[int] = ..., desired_instances: _Optional[int] = ..., revision: _Optional[str] = ..., image_version: _Optional[str] = ...) -> None: ...

class SwitchRecord(_message.Message):
    __slots__ = ("from_side", "to_side", "from_namespace", "to_namespace", "rollback", "start_time", "switch_time", "end_time", "initiator", "operation", "result", "message")
    class Result(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        RESULT_UNSPECIFIED: _ClassVar[SwitchRecord.Result]
        RESULT_RUNNING: _ClassVar[SwitchRecord.Result]
        RESULT_SUCCEEDED: _ClassVar[SwitchRecord.Result]
        RESULT_FAILED: _ClassVar[SwitchRecord.Result]
        RESULT_CANCELLED: _ClassVar[SwitchRecord.Result]
    RESULT_UNSPECIFIED: SwitchRecord.Result
    RESULT_RUNNING: SwitchRecord.Result
    RESULT_SUCCEEDED: SwitchRecord.Result
    RESULT_FAILED: SwitchRecord.Result
    RESULT_CANCELLED: SwitchRecord.Result
    FROM_SIDE_FIELD_NUMBER: _ClassVar[int]
    TO_SIDE_FIELD_NUMBER: _ClassVar[int]
    FROM_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TO_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    SWITCH_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    from_side: Side
    to_side: Side
    from_namespace: str
    to_namespace: str
    rollback: bool
    start_time: _timestamp_pb2.Timestamp
    switch_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    initiator: str
    operation: str
    result: SwitchRecord.Result
    message: str
    def __init__(self, from_side: _Optional[_Union[Side, str]] = ..., to_side: _Optional[_Union[Side, str]] = ..., from_namespace: _Optional[str] = ..., to_namespace: _Optional[str] = ..., rollback: _Optional[bool] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., switch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., initiator: _Optional[str] = ..., operation: _Optional[str] = ..., result: _Optional[_Union[SwitchRecord.Result, str]] = ..., message: _Optional[str] = ...) -> None: ...

class DeployableNamespace(_message.Message):
    __slots__ = ("namespace", "deployment", "side", "active", "healthy", "ready_instances", "desired_instances", "revision", "image_version", "in_other_entry")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    READY_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    DESIRED_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VERSION_FIELD_NUMBER: _ClassVar[int]
    IN_OTHER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    deployment: str
    side: Side
    active: bool
    healthy: bool
    ready_instances: int
    desired_instances: int
    revision: str
    image_version: str
    in_other_entry: bool
    def __init__(self, namespace: _Optional[str] = ..., deployment: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., active: _Optional[bool] = ..., healthy: _Optional[bool] = ..., ready_instances: _Optional[int] = ..., desired_instances: _Optional[int] = ..., revision: _Optional[str] = ..., image_version: _Optional[str] = ..., in_other_entry: _Optional[bool] = ...) -> None: ...

class BlueGreenEntryProgress(_message.Message):
    __slots__ = ("entry", "phase", "replicas_done", "replicas_total")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[BlueGreenEntryProgress.Phase]
        PHASE_VERIFY_SIDES: _ClassVar[BlueGreenEntryProgress.Phase]
        PHASE_ALLOCATE: _ClassVar[BlueGreenEntryProgress.Phase]
        PHASE_PROGRAM: _ClassVar[BlueGreenEntryProgress.Phase]
        PHASE_RELEASE: _ClassVar[BlueGreenEntryProgress.Phase]
    PHASE_UNSPECIFIED: BlueGreenEntryProgress.Phase
    PHASE_VERIFY_SIDES: BlueGreenEntryProgress.Phase
    PHASE_ALLOCATE: BlueGreenEntryProgress.Phase
    PHASE_PROGRAM: BlueGreenEntryProgress.Phase
    PHASE_RELEASE: BlueGreenEntryProgress.Phase
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_DONE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    entry: str
    phase: BlueGreenEntryProgress.Phase
    replicas_done: int
    replicas_total: int
    def __init__(self, entry: _Optional[str] = ..., phase: _Optional[_Union[BlueGreenEntryProgress.Phase, str]] = ..., replicas_done: _Optional[int] = ..., replicas_total: _Optional[int] = ...) -> None: ...

class SwitchProgress(_message.Message):
    __slots__ = ("entry", "phase", "from_side", "to_side", "from_namespace", "to_namespace", "rollback", "phase_timings", "switch_time", "target_ready_instances", "target_desired_instances", "replicas_switched", "replicas_total", "draining_connections", "drain_deadline", "driver_replica")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[SwitchProgress.Phase]
        PHASE_VERIFY_TARGET: _ClassVar[SwitchProgress.Phase]
        PHASE_SWITCH: _ClassVar[SwitchProgress.Phase]
        PHASE_DRAIN_OLD: _ClassVar[SwitchProgress.Phase]
    PHASE_UNSPECIFIED: SwitchProgress.Phase
    PHASE_VERIFY_TARGET: SwitchProgress.Phase
    PHASE_SWITCH: SwitchProgress.Phase
    PHASE_DRAIN_OLD: SwitchProgress.Phase
    class PhaseTiming(_message.Message):
        __slots__ = ("phase", "start_time", "end_time")
        PHASE_FIELD_NUMBER: _ClassVar[int]
        START_TIME_FIELD_NUMBER: _ClassVar[int]
        END_TIME_FIELD_NUMBER: _ClassVar[int]
        phase: SwitchProgress.Phase
        start_time: _timestamp_pb2.Timestamp
        end_time: _timestamp_pb2.Timestamp
        def __init__(self, phase: _Optional[_Union[SwitchProgress.Phase, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FROM_SIDE_FIELD_NUMBER: _ClassVar[int]
    TO_SIDE_FIELD_NUMBER: _ClassVar[int]
    FROM_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TO_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    PHASE_TIMINGS_FIELD_NUMBER: _ClassVar[int]
    SWITCH_TIME_FIELD_NUMBER: _ClassVar[int]
    TARGET_READY_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    TARGET_DESIRED_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_SWITCHED_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DRAINING_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    DRAIN_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DRIVER_REPLICA_FIELD_NUMBER: _ClassVar[int]
    entry: str
    phase: SwitchProgress.Phase
    from_side: Side
    to_side: Side
    from_namespace: str
    to_namespace: str
    rollback: bool
    phase_timings: _containers.RepeatedCompositeFieldContainer[SwitchProgress.PhaseTiming]
    switch_time: _timestamp_pb2.Timestamp
    target_ready_instances: int
    target_desired_instances: int
    replicas_switched: int
    replicas_total: int
    draining_connections: int
    drain_deadline: _timestamp_pb2.Timestamp
    driver_replica: str
    def __init__(self, entry: _Optional[str] = ..., phase: _Optional[_Union[SwitchProgress.Phase, str]] = ..., from_side: _Optional[_Union[Side, str]] = ..., to_side: _Optional[_Union[Side, str]] = ..., from_namespace: _Optional[str] = ..., to_namespace: _Optional[str] = ..., rollback: _Optional[bool] = ..., phase_timings: _Optional[_Iterable[_Union[SwitchProgress.PhaseTiming, _Mapping]]] = ..., switch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target_ready_instances: _Optional[int] = ..., target_desired_instances: _Optional[int] = ..., replicas_switched: _Optional[int] = ..., replicas_total: _Optional[int] = ..., draining_connections: _Optional[int] = ..., drain_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., driver_replica: _Optional[str] = ...) -> None: ...

class CreateBlueGreenEntryRequest(_message.Message):
    __slots__ = ("blue_green_entry", "blue_green_entry_id", "request_id", "validate_only")
    BLUE_GREEN_ENTRY_FIELD_NUMBER: _ClassVar[int]
    BLUE_GREEN_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    blue_green_entry: BlueGreenEntry
    blue_green_entry_id: str
    request_id: str
    validate_only: bool
    def __init__(self, blue_green_entry: _Optional[_Union[BlueGreenEntry, _Mapping]] = ..., blue_green_entry_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetBlueGreenEntryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListBlueGreenEntriesRequest(_message.Message):
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

class ListBlueGreenEntriesResponse(_message.Message):
    __slots__ = ("blue_green_entries", "next_page_token", "total_size")
    BLUE_GREEN_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    blue_green_entries: _containers.RepeatedCompositeFieldContainer[BlueGreenEntry]
    next_page_token: str
    total_size: int
    def __init__(self, blue_green_entries: _Optional[_Iterable[_Union[BlueGreenEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateBlueGreenEntryRequest(_message.Message):
    __slots__ = ("blue_green_entry", "update_mask", "request_id", "validate_only")
    BLUE_GREEN_ENTRY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    blue_green_entry: BlueGreenEntry
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, blue_green_entry: _Optional[_Union[BlueGreenEntry, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteBlueGreenEntryRequest(_message.Message):
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

class SwitchBlueGreenEntryRequest(_message.Message):
    __slots__ = ("name", "target_side", "etag", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_SIDE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_side: Side
    etag: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., target_side: _Optional[_Union[Side, str]] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class RollbackBlueGreenEntryRequest(_message.Message):
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

class ListDeployableNamespacesRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token", "filter")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListDeployableNamespacesResponse(_message.Message):
    __slots__ = ("deployable_namespaces", "next_page_token", "total_size")
    DEPLOYABLE_NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    deployable_namespaces: _containers.RepeatedCompositeFieldContainer[DeployableNamespace]
    next_page_token: str
    total_size: int
    def __init__(self, deployable_namespaces: _Optional[_Iterable[_Union[DeployableNamespace, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...
