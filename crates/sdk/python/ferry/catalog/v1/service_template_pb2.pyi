import datetime

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

class ServiceTemplate(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "description", "engine", "engine_version", "built_in", "image", "image_pull_secret", "command", "args", "env", "ports", "exposed_ports", "parameters", "sizing", "hooks", "volumes", "health_check", "instance_count")
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
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILT_IN_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PULL_SECRET_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SIZING_FIELD_NUMBER: _ClassVar[int]
    HOOKS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    description: str
    engine: str
    engine_version: str
    built_in: bool
    image: str
    image_pull_secret: _types_pb2.SecretRef
    command: _containers.RepeatedScalarFieldContainer[str]
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.RepeatedCompositeFieldContainer[_types_pb2.EnvVar]
    ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerPort]
    exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    parameters: _containers.RepeatedCompositeFieldContainer[TemplateParameter]
    sizing: Sizing
    hooks: LifecycleHooks
    volumes: _containers.RepeatedCompositeFieldContainer[VolumeTemplate]
    health_check: _types_pb2.HealthCheck
    instance_count: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., description: _Optional[str] = ..., engine: _Optional[str] = ..., engine_version: _Optional[str] = ..., built_in: _Optional[bool] = ..., image: _Optional[str] = ..., image_pull_secret: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., command: _Optional[_Iterable[str]] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Iterable[_Union[_types_pb2.EnvVar, _Mapping]]] = ..., ports: _Optional[_Iterable[_Union[_types_pb2.ContainerPort, _Mapping]]] = ..., exposed_ports: _Optional[_Iterable[str]] = ..., parameters: _Optional[_Iterable[_Union[TemplateParameter, _Mapping]]] = ..., sizing: _Optional[_Union[Sizing, _Mapping]] = ..., hooks: _Optional[_Union[LifecycleHooks, _Mapping]] = ..., volumes: _Optional[_Iterable[_Union[VolumeTemplate, _Mapping]]] = ..., health_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., instance_count: _Optional[int] = ...) -> None: ...

class TemplateParameter(_message.Message):
    __slots__ = ("name", "description", "type", "default_value", "required", "secret", "generate", "allowed_values", "pattern", "env_name")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[TemplateParameter.Type]
        TYPE_STRING: _ClassVar[TemplateParameter.Type]
        TYPE_INTEGER: _ClassVar[TemplateParameter.Type]
        TYPE_NUMBER: _ClassVar[TemplateParameter.Type]
        TYPE_BOOLEAN: _ClassVar[TemplateParameter.Type]
        TYPE_ENUM: _ClassVar[TemplateParameter.Type]
    TYPE_UNSPECIFIED: TemplateParameter.Type
    TYPE_STRING: TemplateParameter.Type
    TYPE_INTEGER: TemplateParameter.Type
    TYPE_NUMBER: TemplateParameter.Type
    TYPE_BOOLEAN: TemplateParameter.Type
    TYPE_ENUM: TemplateParameter.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    GENERATE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    ENV_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    type: TemplateParameter.Type
    default_value: str
    required: bool
    secret: bool
    generate: bool
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    pattern: str
    env_name: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[TemplateParameter.Type, str]] = ..., default_value: _Optional[str] = ..., required: _Optional[bool] = ..., secret: _Optional[bool] = ..., generate: _Optional[bool] = ..., allowed_values: _Optional[_Iterable[str]] = ..., pattern: _Optional[str] = ..., env_name: _Optional[str] = ...) -> None: ...

class Sizing(_message.Message):
    __slots__ = ("min_members", "max_members", "default_members", "seed_count", "default_resources", "scale_in_allowed", "replication_factor_parameter")
    MIN_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SEED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SCALE_IN_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FACTOR_PARAMETER_FIELD_NUMBER: _ClassVar[int]
    min_members: int
    max_members: int
    default_members: int
    seed_count: int
    default_resources: _types_pb2.ResourceRequirements
    scale_in_allowed: bool
    replication_factor_parameter: str
    def __init__(self, min_members: _Optional[int] = ..., max_members: _Optional[int] = ..., default_members: _Optional[int] = ..., seed_count: _Optional[int] = ..., default_resources: _Optional[_Union[_types_pb2.ResourceRequirements, _Mapping]] = ..., scale_in_allowed: _Optional[bool] = ..., replication_factor_parameter: _Optional[str] = ...) -> None: ...

class LifecycleHooks(_message.Message):
    __slots__ = ("seed_command", "join_command", "leave_command", "verify_command", "join_success_pattern", "join_failure_pattern", "join_timeout", "leave_timeout")
    SEED_COMMAND_FIELD_NUMBER: _ClassVar[int]
    JOIN_COMMAND_FIELD_NUMBER: _ClassVar[int]
    LEAVE_COMMAND_FIELD_NUMBER: _ClassVar[int]
    VERIFY_COMMAND_FIELD_NUMBER: _ClassVar[int]
    JOIN_SUCCESS_PATTERN_FIELD_NUMBER: _ClassVar[int]
    JOIN_FAILURE_PATTERN_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    LEAVE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    seed_command: HookCommand
    join_command: HookCommand
    leave_command: HookCommand
    verify_command: HookCommand
    join_success_pattern: str
    join_failure_pattern: str
    join_timeout: _duration_pb2.Duration
    leave_timeout: _duration_pb2.Duration
    def __init__(self, seed_command: _Optional[_Union[HookCommand, _Mapping]] = ..., join_command: _Optional[_Union[HookCommand, _Mapping]] = ..., leave_command: _Optional[_Union[HookCommand, _Mapping]] = ..., verify_command: _Optional[_Union[HookCommand, _Mapping]] = ..., join_success_pattern: _Optional[str] = ..., join_failure_pattern: _Optional[str] = ..., join_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., leave_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HookCommand(_message.Message):
    __slots__ = ("command", "timeout", "max_attempts")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    timeout: _duration_pb2.Duration
    max_attempts: int
    def __init__(self, command: _Optional[_Iterable[str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_attempts: _Optional[int] = ...) -> None: ...

class VolumeTemplate(_message.Message):
    __slots__ = ("name", "mount_path", "size_bytes", "storage_provider", "volume_type", "shared")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOUNT_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    name: str
    mount_path: str
    size_bytes: int
    storage_provider: str
    volume_type: str
    shared: bool
    def __init__(self, name: _Optional[str] = ..., mount_path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., storage_provider: _Optional[str] = ..., volume_type: _Optional[str] = ..., shared: _Optional[bool] = ...) -> None: ...

class ListServiceTemplatesRequest(_message.Message):
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

class ListServiceTemplatesResponse(_message.Message):
    __slots__ = ("service_templates", "next_page_token", "total_size")
    SERVICE_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    service_templates: _containers.RepeatedCompositeFieldContainer[ServiceTemplate]
    next_page_token: str
    total_size: int
    def __init__(self, service_templates: _Optional[_Iterable[_Union[ServiceTemplate, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetServiceTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateServiceTemplateRequest(_message.Message):
    __slots__ = ("service_template_id", "service_template", "request_id", "validate_only")
    SERVICE_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    service_template_id: str
    service_template: ServiceTemplate
    request_id: str
    validate_only: bool
    def __init__(self, service_template_id: _Optional[str] = ..., service_template: _Optional[_Union[ServiceTemplate, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateServiceTemplateRequest(_message.Message):
    __slots__ = ("service_template", "update_mask", "request_id", "validate_only")
    SERVICE_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    service_template: ServiceTemplate
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, service_template: _Optional[_Union[ServiceTemplate, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteServiceTemplateRequest(_message.Message):
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
