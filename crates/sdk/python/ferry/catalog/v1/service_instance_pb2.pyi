import datetime

from ferry.common.v1 import logs_pb2 as _logs_pb2
from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
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

class ServiceInstance(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "template", "engine", "engine_version", "image", "parameters", "size", "resources", "location_affinity", "storage", "generation", "observed_generation", "reconciling", "state", "conditions", "current_members", "ready_members", "endpoint", "volumes", "current_operation")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ServiceInstance.State]
        STATE_CREATING: _ClassVar[ServiceInstance.State]
        STATE_JOINING: _ClassVar[ServiceInstance.State]
        STATE_ACTIVE: _ClassVar[ServiceInstance.State]
        STATE_RESIZING: _ClassVar[ServiceInstance.State]
        STATE_DEGRADED: _ClassVar[ServiceInstance.State]
        STATE_FAILED: _ClassVar[ServiceInstance.State]
        STATE_DELETING: _ClassVar[ServiceInstance.State]
    STATE_UNSPECIFIED: ServiceInstance.State
    STATE_CREATING: ServiceInstance.State
    STATE_JOINING: ServiceInstance.State
    STATE_ACTIVE: ServiceInstance.State
    STATE_RESIZING: ServiceInstance.State
    STATE_DEGRADED: ServiceInstance.State
    STATE_FAILED: ServiceInstance.State
    STATE_DELETING: ServiceInstance.State
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
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    LOCATION_AFFINITY_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    READY_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_OPERATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    template: str
    engine: str
    engine_version: str
    image: str
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterValue]
    size: int
    resources: _types_pb2.ResourceRequirements
    location_affinity: _types_pb2.LocationAffinity
    storage: InstanceStorage
    generation: int
    observed_generation: int
    reconciling: bool
    state: ServiceInstance.State
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    current_members: int
    ready_members: int
    endpoint: InstanceEndpoint
    volumes: _containers.RepeatedScalarFieldContainer[str]
    current_operation: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., template: _Optional[str] = ..., engine: _Optional[str] = ..., engine_version: _Optional[str] = ..., image: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ParameterValue, _Mapping]]] = ..., size: _Optional[int] = ..., resources: _Optional[_Union[_types_pb2.ResourceRequirements, _Mapping]] = ..., location_affinity: _Optional[_Union[_types_pb2.LocationAffinity, _Mapping]] = ..., storage: _Optional[_Union[InstanceStorage, _Mapping]] = ..., generation: _Optional[int] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ..., state: _Optional[_Union[ServiceInstance.State, str]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., current_members: _Optional[int] = ..., ready_members: _Optional[int] = ..., endpoint: _Optional[_Union[InstanceEndpoint, _Mapping]] = ..., volumes: _Optional[_Iterable[str]] = ..., current_operation: _Optional[str] = ...) -> None: ...

class ParameterValue(_message.Message):
    __slots__ = ("name", "value", "secret_value", "secret_ref")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SECRET_VALUE_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    secret_value: str
    secret_ref: _types_pb2.SecretRef
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., secret_value: _Optional[str] = ..., secret_ref: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ...) -> None: ...

class InstanceStorage(_message.Message):
    __slots__ = ("storage_provider", "volume_type", "size_bytes", "volume_size_bytes")
    class VolumeSizeBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STORAGE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    storage_provider: str
    volume_type: str
    size_bytes: int
    volume_size_bytes: _containers.ScalarMap[str, int]
    def __init__(self, storage_provider: _Optional[str] = ..., volume_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., volume_size_bytes: _Optional[_Mapping[str, int]] = ...) -> None: ...

class InstanceEndpoint(_message.Message):
    __slots__ = ("dns_name", "ports", "member_dns_names")
    DNS_NAME_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_DNS_NAMES_FIELD_NUMBER: _ClassVar[int]
    dns_name: str
    ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerPort]
    member_dns_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dns_name: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[_types_pb2.ContainerPort, _Mapping]]] = ..., member_dns_names: _Optional[_Iterable[str]] = ...) -> None: ...

class ServiceMember(_message.Message):
    __slots__ = ("name", "uid", "display_name", "create_time", "update_time", "ordinal", "role", "state", "ready", "host", "region", "zone", "address", "dns_name", "volumes", "join_log_excerpt", "start_time", "join_time", "restart_count", "failure_message", "log_size_bytes")
    class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ROLE_UNSPECIFIED: _ClassVar[ServiceMember.Role]
        ROLE_SEED: _ClassVar[ServiceMember.Role]
        ROLE_MEMBER: _ClassVar[ServiceMember.Role]
    ROLE_UNSPECIFIED: ServiceMember.Role
    ROLE_SEED: ServiceMember.Role
    ROLE_MEMBER: ServiceMember.Role
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ServiceMember.State]
        STATE_PENDING: _ClassVar[ServiceMember.State]
        STATE_STARTING: _ClassVar[ServiceMember.State]
        STATE_JOINING: _ClassVar[ServiceMember.State]
        STATE_JOINED: _ClassVar[ServiceMember.State]
        STATE_LEAVING: _ClassVar[ServiceMember.State]
        STATE_FAILED: _ClassVar[ServiceMember.State]
    STATE_UNSPECIFIED: ServiceMember.State
    STATE_PENDING: ServiceMember.State
    STATE_STARTING: ServiceMember.State
    STATE_JOINING: ServiceMember.State
    STATE_JOINED: ServiceMember.State
    STATE_LEAVING: ServiceMember.State
    STATE_FAILED: ServiceMember.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ORDINAL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DNS_NAME_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    JOIN_LOG_EXCERPT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOG_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    ordinal: int
    role: ServiceMember.Role
    state: ServiceMember.State
    ready: bool
    host: str
    region: str
    zone: str
    address: str
    dns_name: str
    volumes: _containers.RepeatedScalarFieldContainer[str]
    join_log_excerpt: str
    start_time: _timestamp_pb2.Timestamp
    join_time: _timestamp_pb2.Timestamp
    restart_count: int
    failure_message: str
    log_size_bytes: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ordinal: _Optional[int] = ..., role: _Optional[_Union[ServiceMember.Role, str]] = ..., state: _Optional[_Union[ServiceMember.State, str]] = ..., ready: _Optional[bool] = ..., host: _Optional[str] = ..., region: _Optional[str] = ..., zone: _Optional[str] = ..., address: _Optional[str] = ..., dns_name: _Optional[str] = ..., volumes: _Optional[_Iterable[str]] = ..., join_log_excerpt: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., restart_count: _Optional[int] = ..., failure_message: _Optional[str] = ..., log_size_bytes: _Optional[int] = ...) -> None: ...

class ServiceInstanceProgress(_message.Message):
    __slots__ = ("service_instance", "phase", "target_members", "ready_members", "members", "kept_volumes")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_VALIDATING: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_PROVISIONING: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_STARTING_SEEDS: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_JOINING_MEMBERS: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_LEAVING_MEMBERS: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_VERIFYING: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_CLEANING_UP: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_DELETING: _ClassVar[ServiceInstanceProgress.Phase]
        PHASE_DONE: _ClassVar[ServiceInstanceProgress.Phase]
    PHASE_UNSPECIFIED: ServiceInstanceProgress.Phase
    PHASE_VALIDATING: ServiceInstanceProgress.Phase
    PHASE_PROVISIONING: ServiceInstanceProgress.Phase
    PHASE_STARTING_SEEDS: ServiceInstanceProgress.Phase
    PHASE_JOINING_MEMBERS: ServiceInstanceProgress.Phase
    PHASE_LEAVING_MEMBERS: ServiceInstanceProgress.Phase
    PHASE_VERIFYING: ServiceInstanceProgress.Phase
    PHASE_CLEANING_UP: ServiceInstanceProgress.Phase
    PHASE_DELETING: ServiceInstanceProgress.Phase
    PHASE_DONE: ServiceInstanceProgress.Phase
    SERVICE_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    READY_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    KEPT_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    service_instance: str
    phase: ServiceInstanceProgress.Phase
    target_members: int
    ready_members: int
    members: _containers.RepeatedCompositeFieldContainer[MemberProgress]
    kept_volumes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service_instance: _Optional[str] = ..., phase: _Optional[_Union[ServiceInstanceProgress.Phase, str]] = ..., target_members: _Optional[int] = ..., ready_members: _Optional[int] = ..., members: _Optional[_Iterable[_Union[MemberProgress, _Mapping]]] = ..., kept_volumes: _Optional[_Iterable[str]] = ...) -> None: ...

class MemberProgress(_message.Message):
    __slots__ = ("member", "ordinal", "role", "state", "start_time", "end_time", "message", "log_excerpt")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    ORDINAL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOG_EXCERPT_FIELD_NUMBER: _ClassVar[int]
    member: str
    ordinal: int
    role: ServiceMember.Role
    state: ServiceMember.State
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    message: str
    log_excerpt: str
    def __init__(self, member: _Optional[str] = ..., ordinal: _Optional[int] = ..., role: _Optional[_Union[ServiceMember.Role, str]] = ..., state: _Optional[_Union[ServiceMember.State, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., log_excerpt: _Optional[str] = ...) -> None: ...

class CreateServiceInstanceRequest(_message.Message):
    __slots__ = ("parent", "service_instance_id", "service_instance", "request_id", "validate_only", "keep_on_failure")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    KEEP_ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    service_instance_id: str
    service_instance: ServiceInstance
    request_id: str
    validate_only: bool
    keep_on_failure: bool
    def __init__(self, parent: _Optional[str] = ..., service_instance_id: _Optional[str] = ..., service_instance: _Optional[_Union[ServiceInstance, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., keep_on_failure: _Optional[bool] = ...) -> None: ...

class GetServiceInstanceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListServiceInstancesRequest(_message.Message):
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

class ListServiceInstancesResponse(_message.Message):
    __slots__ = ("service_instances", "next_page_token", "total_size")
    SERVICE_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    service_instances: _containers.RepeatedCompositeFieldContainer[ServiceInstance]
    next_page_token: str
    total_size: int
    def __init__(self, service_instances: _Optional[_Iterable[_Union[ServiceInstance, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateServiceInstanceRequest(_message.Message):
    __slots__ = ("service_instance", "update_mask", "request_id", "validate_only")
    SERVICE_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    service_instance: ServiceInstance
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, service_instance: _Optional[_Union[ServiceInstance, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ResizeServiceInstanceRequest(_message.Message):
    __slots__ = ("name", "size", "etag", "force", "delete_volumes", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    DELETE_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    etag: str
    force: bool
    delete_volumes: bool
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., etag: _Optional[str] = ..., force: _Optional[bool] = ..., delete_volumes: _Optional[bool] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteServiceInstanceRequest(_message.Message):
    __slots__ = ("name", "etag", "request_id", "validate_only", "delete_volumes", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    DELETE_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    request_id: str
    validate_only: bool
    delete_volumes: bool
    force: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., delete_volumes: _Optional[bool] = ..., force: _Optional[bool] = ...) -> None: ...

class ListServiceMembersRequest(_message.Message):
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

class ListServiceMembersResponse(_message.Message):
    __slots__ = ("service_members", "next_page_token", "total_size")
    SERVICE_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    service_members: _containers.RepeatedCompositeFieldContainer[ServiceMember]
    next_page_token: str
    total_size: int
    def __init__(self, service_members: _Optional[_Iterable[_Union[ServiceMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetServiceMemberRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StreamMemberLogsRequest(_message.Message):
    __slots__ = ("name", "offset", "follow")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    follow: bool
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...
