import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.common.v1 import types_pb2 as _types_pb2
from ferry.deploy.v1 import instance_pb2 as _instance_pb2
from ferry.deploy.v1 import types_pb2 as _types_pb2_1
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

class Deployment(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "application", "template", "replicas", "strategy", "auto_update", "revision_history_limit", "generation", "state", "current_replicas", "ready_replicas", "available_replicas", "updated_replicas", "current_revision", "target_revision", "active_rollout", "current_image_uri", "autoscaled", "conditions", "observed_generation", "reconciling")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Deployment.State]
        STATE_CREATING: _ClassVar[Deployment.State]
        STATE_ACTIVE: _ClassVar[Deployment.State]
        STATE_UPDATING: _ClassVar[Deployment.State]
        STATE_DEGRADED: _ClassVar[Deployment.State]
        STATE_FAILED: _ClassVar[Deployment.State]
        STATE_STOPPED: _ClassVar[Deployment.State]
        STATE_DELETING: _ClassVar[Deployment.State]
    STATE_UNSPECIFIED: Deployment.State
    STATE_CREATING: Deployment.State
    STATE_ACTIVE: Deployment.State
    STATE_UPDATING: Deployment.State
    STATE_DEGRADED: Deployment.State
    STATE_FAILED: Deployment.State
    STATE_STOPPED: Deployment.State
    STATE_DELETING: Deployment.State
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
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    AUTO_UPDATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_HISTORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REVISION_FIELD_NUMBER: _ClassVar[int]
    TARGET_REVISION_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    AUTOSCALED_FIELD_NUMBER: _ClassVar[int]
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
    template: DeploymentTemplate
    replicas: int
    strategy: RolloutStrategy
    auto_update: bool
    revision_history_limit: int
    generation: int
    state: Deployment.State
    current_replicas: int
    ready_replicas: int
    available_replicas: int
    updated_replicas: int
    current_revision: str
    target_revision: str
    active_rollout: str
    current_image_uri: str
    autoscaled: bool
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., application: _Optional[str] = ..., template: _Optional[_Union[DeploymentTemplate, _Mapping]] = ..., replicas: _Optional[int] = ..., strategy: _Optional[_Union[RolloutStrategy, _Mapping]] = ..., auto_update: _Optional[bool] = ..., revision_history_limit: _Optional[int] = ..., generation: _Optional[int] = ..., state: _Optional[_Union[Deployment.State, str]] = ..., current_replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., available_replicas: _Optional[int] = ..., updated_replicas: _Optional[int] = ..., current_revision: _Optional[str] = ..., target_revision: _Optional[str] = ..., active_rollout: _Optional[str] = ..., current_image_uri: _Optional[str] = ..., autoscaled: _Optional[bool] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class DeploymentTemplate(_message.Message):
    __slots__ = ("image", "image_uri", "command", "args", "env", "resources", "ports", "readiness_check", "liveness_check", "startup_check", "location_affinity", "volume_mounts", "config_files", "working_dir", "termination_grace_period")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    READINESS_CHECK_FIELD_NUMBER: _ClassVar[int]
    LIVENESS_CHECK_FIELD_NUMBER: _ClassVar[int]
    STARTUP_CHECK_FIELD_NUMBER: _ClassVar[int]
    LOCATION_AFFINITY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MOUNTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FILES_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    image: str
    image_uri: str
    command: _containers.RepeatedScalarFieldContainer[str]
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.RepeatedCompositeFieldContainer[_types_pb2.EnvVar]
    resources: _types_pb2.ResourceRequirements
    ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerPort]
    readiness_check: _types_pb2.HealthCheck
    liveness_check: _types_pb2.HealthCheck
    startup_check: _types_pb2.HealthCheck
    location_affinity: _types_pb2.LocationAffinity
    volume_mounts: _containers.RepeatedCompositeFieldContainer[VolumeMount]
    config_files: _containers.RepeatedCompositeFieldContainer[ConfigFile]
    working_dir: str
    termination_grace_period: _duration_pb2.Duration
    def __init__(self, image: _Optional[str] = ..., image_uri: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Iterable[_Union[_types_pb2.EnvVar, _Mapping]]] = ..., resources: _Optional[_Union[_types_pb2.ResourceRequirements, _Mapping]] = ..., ports: _Optional[_Iterable[_Union[_types_pb2.ContainerPort, _Mapping]]] = ..., readiness_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., liveness_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., startup_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., location_affinity: _Optional[_Union[_types_pb2.LocationAffinity, _Mapping]] = ..., volume_mounts: _Optional[_Iterable[_Union[VolumeMount, _Mapping]]] = ..., config_files: _Optional[_Iterable[_Union[ConfigFile, _Mapping]]] = ..., working_dir: _Optional[str] = ..., termination_grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class VolumeMount(_message.Message):
    __slots__ = ("volume_binding", "mount_path", "read_only", "sub_path")
    VOLUME_BINDING_FIELD_NUMBER: _ClassVar[int]
    MOUNT_PATH_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    SUB_PATH_FIELD_NUMBER: _ClassVar[int]
    volume_binding: str
    mount_path: str
    read_only: bool
    sub_path: str
    def __init__(self, volume_binding: _Optional[str] = ..., mount_path: _Optional[str] = ..., read_only: _Optional[bool] = ..., sub_path: _Optional[str] = ...) -> None: ...

class ConfigFile(_message.Message):
    __slots__ = ("path", "content", "secret_ref", "mode")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: str
    secret_ref: _types_pb2.SecretRef
    mode: int
    def __init__(self, path: _Optional[str] = ..., content: _Optional[str] = ..., secret_ref: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., mode: _Optional[int] = ...) -> None: ...

class RolloutStrategy(_message.Message):
    __slots__ = ("type", "max_surge", "max_unavailable", "instance_health_deadline", "min_ready_duration", "auto_rollback", "pause_between_steps", "pause_after_first_step", "progress_deadline")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[RolloutStrategy.Type]
        TYPE_ROLLING: _ClassVar[RolloutStrategy.Type]
        TYPE_RECREATE: _ClassVar[RolloutStrategy.Type]
    TYPE_UNSPECIFIED: RolloutStrategy.Type
    TYPE_ROLLING: RolloutStrategy.Type
    TYPE_RECREATE: RolloutStrategy.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_SURGE_FIELD_NUMBER: _ClassVar[int]
    MAX_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_HEALTH_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    MIN_READY_DURATION_FIELD_NUMBER: _ClassVar[int]
    AUTO_ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    PAUSE_BETWEEN_STEPS_FIELD_NUMBER: _ClassVar[int]
    PAUSE_AFTER_FIRST_STEP_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    type: RolloutStrategy.Type
    max_surge: _types_pb2_1.CountOrPercent
    max_unavailable: _types_pb2_1.CountOrPercent
    instance_health_deadline: _duration_pb2.Duration
    min_ready_duration: _duration_pb2.Duration
    auto_rollback: bool
    pause_between_steps: _duration_pb2.Duration
    pause_after_first_step: bool
    progress_deadline: _duration_pb2.Duration
    def __init__(self, type: _Optional[_Union[RolloutStrategy.Type, str]] = ..., max_surge: _Optional[_Union[_types_pb2_1.CountOrPercent, _Mapping]] = ..., max_unavailable: _Optional[_Union[_types_pb2_1.CountOrPercent, _Mapping]] = ..., instance_health_deadline: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., min_ready_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., auto_rollback: _Optional[bool] = ..., pause_between_steps: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., pause_after_first_step: _Optional[bool] = ..., progress_deadline: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DeploymentRevision(_message.Message):
    __slots__ = ("name", "uid", "display_name", "create_time", "number", "template", "image_uri", "image_digest", "image", "cause", "source_revision", "creator", "rollout", "rollout_result", "rollout_end_time", "rollout_result_message")
    class Cause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CAUSE_UNSPECIFIED: _ClassVar[DeploymentRevision.Cause]
        CAUSE_CREATE: _ClassVar[DeploymentRevision.Cause]
        CAUSE_UPDATE: _ClassVar[DeploymentRevision.Cause]
        CAUSE_ROLLBACK: _ClassVar[DeploymentRevision.Cause]
        CAUSE_AUTO_UPDATE: _ClassVar[DeploymentRevision.Cause]
        CAUSE_TOPOLOGY: _ClassVar[DeploymentRevision.Cause]
    CAUSE_UNSPECIFIED: DeploymentRevision.Cause
    CAUSE_CREATE: DeploymentRevision.Cause
    CAUSE_UPDATE: DeploymentRevision.Cause
    CAUSE_ROLLBACK: DeploymentRevision.Cause
    CAUSE_AUTO_UPDATE: DeploymentRevision.Cause
    CAUSE_TOPOLOGY: DeploymentRevision.Cause
    class RolloutResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ROLLOUT_RESULT_UNSPECIFIED: _ClassVar[DeploymentRevision.RolloutResult]
        ROLLOUT_RESULT_IN_PROGRESS: _ClassVar[DeploymentRevision.RolloutResult]
        ROLLOUT_RESULT_SUCCEEDED: _ClassVar[DeploymentRevision.RolloutResult]
        ROLLOUT_RESULT_FAILED: _ClassVar[DeploymentRevision.RolloutResult]
        ROLLOUT_RESULT_ROLLED_BACK: _ClassVar[DeploymentRevision.RolloutResult]
        ROLLOUT_RESULT_ABORTED: _ClassVar[DeploymentRevision.RolloutResult]
    ROLLOUT_RESULT_UNSPECIFIED: DeploymentRevision.RolloutResult
    ROLLOUT_RESULT_IN_PROGRESS: DeploymentRevision.RolloutResult
    ROLLOUT_RESULT_SUCCEEDED: DeploymentRevision.RolloutResult
    ROLLOUT_RESULT_FAILED: DeploymentRevision.RolloutResult
    ROLLOUT_RESULT_ROLLED_BACK: DeploymentRevision.RolloutResult
    ROLLOUT_RESULT_ABORTED: DeploymentRevision.RolloutResult
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_RESULT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_END_TIME_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_RESULT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    number: int
    template: DeploymentTemplate
    image_uri: str
    image_digest: str
    image: str
    cause: DeploymentRevision.Cause
    source_revision: str
    creator: str
    rollout: str
    rollout_result: DeploymentRevision.RolloutResult
    rollout_end_time: _timestamp_pb2.Timestamp
    rollout_result_message: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., number: _Optional[int] = ..., template: _Optional[_Union[DeploymentTemplate, _Mapping]] = ..., image_uri: _Optional[str] = ..., image_digest: _Optional[str] = ..., image: _Optional[str] = ..., cause: _Optional[_Union[DeploymentRevision.Cause, str]] = ..., source_revision: _Optional[str] = ..., creator: _Optional[str] = ..., rollout: _Optional[str] = ..., rollout_result: _Optional[_Union[DeploymentRevision.RolloutResult, str]] = ..., rollout_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rollout_result_message: _Optional[str] = ...) -> None: ...

class ScaleProgress(_message.Message):
    __slots__ = ("deployment", "from_replicas", "to_replicas", "ready_replicas", "current_replicas", "instance_results")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    FROM_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TO_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    from_replicas: int
    to_replicas: int
    ready_replicas: int
    current_replicas: int
    instance_results: _containers.RepeatedCompositeFieldContainer[_instance_pb2.InstanceHealthResult]
    def __init__(self, deployment: _Optional[str] = ..., from_replicas: _Optional[int] = ..., to_replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., current_replicas: _Optional[int] = ..., instance_results: _Optional[_Iterable[_Union[_instance_pb2.InstanceHealthResult, _Mapping]]] = ...) -> None: ...

class GetDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
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

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments", "next_page_token", "total_size")
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    next_page_token: str
    total_size: int
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CreateDeploymentRequest(_message.Message):
    __slots__ = ("parent", "deployment_id", "deployment", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    deployment_id: str
    deployment: Deployment
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., deployment_id: _Optional[str] = ..., deployment: _Optional[_Union[Deployment, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateDeploymentRequest(_message.Message):
    __slots__ = ("deployment", "update_mask", "request_id", "validate_only", "allow_missing")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    allow_missing: bool
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class DeleteDeploymentRequest(_message.Message):
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

class ScaleDeploymentRequest(_message.Message):
    __slots__ = ("name", "replicas", "etag", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    replicas: int
    etag: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., replicas: _Optional[int] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetDeploymentRevisionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDeploymentRevisionsRequest(_message.Message):
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

class ListDeploymentRevisionsResponse(_message.Message):
    __slots__ = ("deployment_revisions", "next_page_token", "total_size")
    DEPLOYMENT_REVISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    deployment_revisions: _containers.RepeatedCompositeFieldContainer[DeploymentRevision]
    next_page_token: str
    total_size: int
    def __init__(self, deployment_revisions: _Optional[_Iterable[_Union[DeploymentRevision, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...
