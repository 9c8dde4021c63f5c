import datetime

from ferry.build.v1 import build_pb2 as _build_pb2
from ferry.build.v1 import webhook_pb2 as _webhook_pb2
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

class Application(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "source", "build", "image_repository", "auto_deploy", "production_flow", "polling", "webhook", "retention", "generation", "observed_generation", "reconciling", "state", "conditions", "last_build", "last_successful_build", "latest_image", "queued_builds", "last_seen_commit", "last_poll_time", "last_webhook_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Application.State]
        STATE_CREATING: _ClassVar[Application.State]
        STATE_ACTIVE: _ClassVar[Application.State]
        STATE_DEGRADED: _ClassVar[Application.State]
        STATE_DELETING: _ClassVar[Application.State]
    STATE_UNSPECIFIED: Application.State
    STATE_CREATING: Application.State
    STATE_ACTIVE: Application.State
    STATE_DEGRADED: Application.State
    STATE_DELETING: Application.State
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
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    IMAGE_REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    AUTO_DEPLOY_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FLOW_FIELD_NUMBER: _ClassVar[int]
    POLLING_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    LAST_BUILD_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESSFUL_BUILD_FIELD_NUMBER: _ClassVar[int]
    LATEST_IMAGE_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BUILDS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_COMMIT_FIELD_NUMBER: _ClassVar[int]
    LAST_POLL_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_WEBHOOK_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    source: GitSource
    build: BuildConfig
    image_repository: ImageRepository
    auto_deploy: AutoDeployConfig
    production_flow: ProductionFlowConfig
    polling: PollingConfig
    webhook: WebhookConfig
    retention: RetentionPolicy
    generation: int
    observed_generation: int
    reconciling: bool
    state: Application.State
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    last_build: _build_pb2.BuildSummary
    last_successful_build: _build_pb2.BuildSummary
    latest_image: str
    queued_builds: int
    last_seen_commit: str
    last_poll_time: _timestamp_pb2.Timestamp
    last_webhook_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., source: _Optional[_Union[GitSource, _Mapping]] = ..., build: _Optional[_Union[BuildConfig, _Mapping]] = ..., image_repository: _Optional[_Union[ImageRepository, _Mapping]] = ..., auto_deploy: _Optional[_Union[AutoDeployConfig, _Mapping]] = ..., production_flow: _Optional[_Union[ProductionFlowConfig, _Mapping]] = ..., polling: _Optional[_Union[PollingConfig, _Mapping]] = ..., webhook: _Optional[_Union[WebhookConfig, _Mapping]] = ..., retention: _Optional[_Union[RetentionPolicy, _Mapping]] = ..., generation: _Optional[int] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ..., state: _Optional[_Union[Application.State, str]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., last_build: _Optional[_Union[_build_pb2.BuildSummary, _Mapping]] = ..., last_successful_build: _Optional[_Union[_build_pb2.BuildSummary, _Mapping]] = ..., latest_image: _Optional[str] = ..., queued_builds: _Optional[int] = ..., last_seen_commit: _Optional[str] = ..., last_poll_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_webhook_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GitSource(_message.Message):
    __slots__ = ("repository_url", "ref", "sub_directory", "credentials", "fetch_submodules", "fetch_depth")
    REPOSITORY_URL_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    SUB_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    FETCH_SUBMODULES_FIELD_NUMBER: _ClassVar[int]
    FETCH_DEPTH_FIELD_NUMBER: _ClassVar[int]
    repository_url: str
    ref: str
    sub_directory: str
    credentials: GitCredentials
    fetch_submodules: bool
    fetch_depth: int
    def __init__(self, repository_url: _Optional[str] = ..., ref: _Optional[str] = ..., sub_directory: _Optional[str] = ..., credentials: _Optional[_Union[GitCredentials, _Mapping]] = ..., fetch_submodules: _Optional[bool] = ..., fetch_depth: _Optional[int] = ...) -> None: ...

class GitCredentials(_message.Message):
    __slots__ = ("ssh_key", "token")
    SSH_KEY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ssh_key: SshKeyCredentials
    token: TokenCredentials
    def __init__(self, ssh_key: _Optional[_Union[SshKeyCredentials, _Mapping]] = ..., token: _Optional[_Union[TokenCredentials, _Mapping]] = ...) -> None: ...

class SshKeyCredentials(_message.Message):
    __slots__ = ("private_key", "known_hosts")
    PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    KNOWN_HOSTS_FIELD_NUMBER: _ClassVar[int]
    private_key: _types_pb2.SecretRef
    known_hosts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, private_key: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., known_hosts: _Optional[_Iterable[str]] = ...) -> None: ...

class TokenCredentials(_message.Message):
    __slots__ = ("username", "token")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    username: str
    token: _types_pb2.SecretRef
    def __init__(self, username: _Optional[str] = ..., token: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ...) -> None: ...

class BuildConfig(_message.Message):
    __slots__ = ("build_script", "test", "dockerfile", "artifact", "builder_image", "env", "cache", "resources", "timeout")
    BUILD_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    BUILDER_IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    build_script: str
    test: TestConfig
    dockerfile: DockerfileBuild
    artifact: ArtifactBuild
    builder_image: str
    env: _containers.RepeatedCompositeFieldContainer[_types_pb2.EnvVar]
    cache: BuildCacheConfig
    resources: _types_pb2.ResourceRequirements
    timeout: _duration_pb2.Duration
    def __init__(self, build_script: _Optional[str] = ..., test: _Optional[_Union[TestConfig, _Mapping]] = ..., dockerfile: _Optional[_Union[DockerfileBuild, _Mapping]] = ..., artifact: _Optional[_Union[ArtifactBuild, _Mapping]] = ..., builder_image: _Optional[str] = ..., env: _Optional[_Iterable[_Union[_types_pb2.EnvVar, _Mapping]]] = ..., cache: _Optional[_Union[BuildCacheConfig, _Mapping]] = ..., resources: _Optional[_Union[_types_pb2.ResourceRequirements, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TestConfig(_message.Message):
    __slots__ = ("script", "junit_report_path")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    JUNIT_REPORT_PATH_FIELD_NUMBER: _ClassVar[int]
    script: str
    junit_report_path: str
    def __init__(self, script: _Optional[str] = ..., junit_report_path: _Optional[str] = ...) -> None: ...

class DockerfileBuild(_message.Message):
    __slots__ = ("dockerfile_path", "context_path", "build_args", "target", "secrets")
    class BuildArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DOCKERFILE_PATH_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_PATH_FIELD_NUMBER: _ClassVar[int]
    BUILD_ARGS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    dockerfile_path: str
    context_path: str
    build_args: _containers.ScalarMap[str, str]
    target: str
    secrets: _containers.RepeatedCompositeFieldContainer[DockerBuildSecret]
    def __init__(self, dockerfile_path: _Optional[str] = ..., context_path: _Optional[str] = ..., build_args: _Optional[_Mapping[str, str]] = ..., target: _Optional[str] = ..., secrets: _Optional[_Iterable[_Union[DockerBuildSecret, _Mapping]]] = ...) -> None: ...

class DockerBuildSecret(_message.Message):
    __slots__ = ("id", "secret")
    ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    id: str
    secret: _types_pb2.SecretRef
    def __init__(self, id: _Optional[str] = ..., secret: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ...) -> None: ...

class ArtifactBuild(_message.Message):
    __slots__ = ("base_image", "outputs", "entrypoint", "cmd", "workdir", "env", "exposed_ports", "user", "image_labels")
    class ImageLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BASE_IMAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    CMD_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    IMAGE_LABELS_FIELD_NUMBER: _ClassVar[int]
    base_image: str
    outputs: _containers.RepeatedCompositeFieldContainer[ArtifactPath]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    cmd: _containers.RepeatedScalarFieldContainer[str]
    workdir: str
    env: _containers.RepeatedCompositeFieldContainer[_types_pb2.EnvVar]
    exposed_ports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerPort]
    user: str
    image_labels: _containers.ScalarMap[str, str]
    def __init__(self, base_image: _Optional[str] = ..., outputs: _Optional[_Iterable[_Union[ArtifactPath, _Mapping]]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., cmd: _Optional[_Iterable[str]] = ..., workdir: _Optional[str] = ..., env: _Optional[_Iterable[_Union[_types_pb2.EnvVar, _Mapping]]] = ..., exposed_ports: _Optional[_Iterable[_Union[_types_pb2.ContainerPort, _Mapping]]] = ..., user: _Optional[str] = ..., image_labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ArtifactPath(_message.Message):
    __slots__ = ("source", "destination", "mode")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    mode: str
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...

class BuildCacheConfig(_message.Message):
    __slots__ = ("enabled", "size_bytes", "storage_provider", "volume")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    size_bytes: int
    storage_provider: str
    volume: str
    def __init__(self, enabled: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., storage_provider: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class ImageRepository(_message.Message):
    __slots__ = ("registry", "repository", "push_credentials", "insecure")
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    PUSH_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    registry: str
    repository: str
    push_credentials: _types_pb2.SecretRef
    insecure: bool
    def __init__(self, registry: _Optional[str] = ..., repository: _Optional[str] = ..., push_credentials: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., insecure: _Optional[bool] = ...) -> None: ...

class AutoDeployConfig(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, deployments: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductionFlowConfig(_message.Message):
    __slots__ = ("qa_namespace", "production_namespaces", "qa_approval_required", "release_gate_required", "separate_release_actor")
    QA_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    QA_APPROVAL_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    RELEASE_GATE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SEPARATE_RELEASE_ACTOR_FIELD_NUMBER: _ClassVar[int]
    qa_namespace: str
    production_namespaces: _containers.RepeatedScalarFieldContainer[str]
    qa_approval_required: bool
    release_gate_required: bool
    separate_release_actor: bool
    def __init__(self, qa_namespace: _Optional[str] = ..., production_namespaces: _Optional[_Iterable[str]] = ..., qa_approval_required: _Optional[bool] = ..., release_gate_required: _Optional[bool] = ..., separate_release_actor: _Optional[bool] = ...) -> None: ...

class PollingConfig(_message.Message):
    __slots__ = ("interval",)
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    interval: _duration_pb2.Duration
    def __init__(self, interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WebhookConfig(_message.Message):
    __slots__ = ("enabled", "providers", "secret", "url")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    providers: _containers.RepeatedScalarFieldContainer[_webhook_pb2.WebhookProvider]
    secret: _types_pb2.SecretRef
    url: str
    def __init__(self, enabled: _Optional[bool] = ..., providers: _Optional[_Iterable[_Union[_webhook_pb2.WebhookProvider, str]]] = ..., secret: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., url: _Optional[str] = ...) -> None: ...

class RetentionPolicy(_message.Message):
    __slots__ = ("max_builds", "max_images")
    MAX_BUILDS_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGES_FIELD_NUMBER: _ClassVar[int]
    max_builds: int
    max_images: int
    def __init__(self, max_builds: _Optional[int] = ..., max_images: _Optional[int] = ...) -> None: ...

class GetApplicationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
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

class ListApplicationsResponse(_message.Message):
    __slots__ = ("applications", "next_page_token", "total_size")
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    next_page_token: str
    total_size: int
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CreateApplicationRequest(_message.Message):
    __slots__ = ("application_id", "application", "request_id", "validate_only")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    application: Application
    request_id: str
    validate_only: bool
    def __init__(self, application_id: _Optional[str] = ..., application: _Optional[_Union[Application, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateApplicationRequest(_message.Message):
    __slots__ = ("application", "update_mask", "request_id", "validate_only")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    application: Application
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteApplicationRequest(_message.Message):
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
