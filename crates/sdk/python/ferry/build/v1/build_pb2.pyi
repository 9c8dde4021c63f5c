import datetime

from ferry.build.v1 import webhook_pb2 as _webhook_pb2
from ferry.common.v1 import logs_pb2 as _logs_pb2
from ferry.common.v1 import operation_pb2 as _operation_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Build(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "ref", "build_number", "trigger", "repository_url", "commit", "application_generation", "state", "reconciling", "queue_position", "steps", "failure_reason", "failure_message", "test_results", "image", "image_uri", "image_digest", "cache", "builder_image", "builder_host", "log_size_bytes", "start_time", "end_time", "operation", "auto_deployments")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Build.State]
        STATE_QUEUED: _ClassVar[Build.State]
        STATE_RUNNING: _ClassVar[Build.State]
        STATE_SUCCEEDED: _ClassVar[Build.State]
        STATE_FAILED: _ClassVar[Build.State]
        STATE_CANCELLED: _ClassVar[Build.State]
    STATE_UNSPECIFIED: Build.State
    STATE_QUEUED: Build.State
    STATE_RUNNING: Build.State
    STATE_SUCCEEDED: Build.State
    STATE_FAILED: Build.State
    STATE_CANCELLED: Build.State
    class StepKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STEP_KIND_UNSPECIFIED: _ClassVar[Build.StepKind]
        STEP_KIND_FETCH: _ClassVar[Build.StepKind]
        STEP_KIND_BUILD: _ClassVar[Build.StepKind]
        STEP_KIND_TEST: _ClassVar[Build.StepKind]
        STEP_KIND_IMAGE: _ClassVar[Build.StepKind]
        STEP_KIND_PUSH: _ClassVar[Build.StepKind]
    STEP_KIND_UNSPECIFIED: Build.StepKind
    STEP_KIND_FETCH: Build.StepKind
    STEP_KIND_BUILD: Build.StepKind
    STEP_KIND_TEST: Build.StepKind
    STEP_KIND_IMAGE: Build.StepKind
    STEP_KIND_PUSH: Build.StepKind
    class FailureReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FAILURE_REASON_UNSPECIFIED: _ClassVar[Build.FailureReason]
        FAILURE_REASON_SOURCE_UNREACHABLE: _ClassVar[Build.FailureReason]
        FAILURE_REASON_REF_NOT_FOUND: _ClassVar[Build.FailureReason]
        FAILURE_REASON_BUILD_SCRIPT_FAILED: _ClassVar[Build.FailureReason]
        FAILURE_REASON_TESTS_FAILED: _ClassVar[Build.FailureReason]
        FAILURE_REASON_IMAGE_BUILD_FAILED: _ClassVar[Build.FailureReason]
        FAILURE_REASON_PUSH_FAILED: _ClassVar[Build.FailureReason]
        FAILURE_REASON_TIMED_OUT: _ClassVar[Build.FailureReason]
        FAILURE_REASON_BUILDER_LOST: _ClassVar[Build.FailureReason]
        FAILURE_REASON_INVALID_CONFIG: _ClassVar[Build.FailureReason]
        FAILURE_REASON_INTERNAL: _ClassVar[Build.FailureReason]
    FAILURE_REASON_UNSPECIFIED: Build.FailureReason
    FAILURE_REASON_SOURCE_UNREACHABLE: Build.FailureReason
    FAILURE_REASON_REF_NOT_FOUND: Build.FailureReason
    FAILURE_REASON_BUILD_SCRIPT_FAILED: Build.FailureReason
    FAILURE_REASON_TESTS_FAILED: Build.FailureReason
    FAILURE_REASON_IMAGE_BUILD_FAILED: Build.FailureReason
    FAILURE_REASON_PUSH_FAILED: Build.FailureReason
    FAILURE_REASON_TIMED_OUT: Build.FailureReason
    FAILURE_REASON_BUILDER_LOST: Build.FailureReason
    FAILURE_REASON_INVALID_CONFIG: Build.FailureReason
    FAILURE_REASON_INTERNAL: Build.FailureReason
    class Trigger(_message.Message):
        __slots__ = ("type", "actor", "webhook_provider", "webhook_delivery_id", "webhook_event")
        class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            TYPE_UNSPECIFIED: _ClassVar[Build.Trigger.Type]
            TYPE_API: _ClassVar[Build.Trigger.Type]
            TYPE_WEBHOOK: _ClassVar[Build.Trigger.Type]
            TYPE_POLL: _ClassVar[Build.Trigger.Type]
        TYPE_UNSPECIFIED: Build.Trigger.Type
        TYPE_API: Build.Trigger.Type
        TYPE_WEBHOOK: Build.Trigger.Type
        TYPE_POLL: Build.Trigger.Type
        TYPE_FIELD_NUMBER: _ClassVar[int]
        ACTOR_FIELD_NUMBER: _ClassVar[int]
        WEBHOOK_PROVIDER_FIELD_NUMBER: _ClassVar[int]
        WEBHOOK_DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
        WEBHOOK_EVENT_FIELD_NUMBER: _ClassVar[int]
        type: Build.Trigger.Type
        actor: str
        webhook_provider: _webhook_pb2.WebhookProvider
        webhook_delivery_id: str
        webhook_event: str
        def __init__(self, type: _Optional[_Union[Build.Trigger.Type, str]] = ..., actor: _Optional[str] = ..., webhook_provider: _Optional[_Union[_webhook_pb2.WebhookProvider, str]] = ..., webhook_delivery_id: _Optional[str] = ..., webhook_event: _Optional[str] = ...) -> None: ...
    class Commit(_message.Message):
        __slots__ = ("sha", "short_sha", "resolved_ref", "message", "author_name", "author_email", "commit_time")
        SHA_FIELD_NUMBER: _ClassVar[int]
        SHORT_SHA_FIELD_NUMBER: _ClassVar[int]
        RESOLVED_REF_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
        AUTHOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
        COMMIT_TIME_FIELD_NUMBER: _ClassVar[int]
        sha: str
        short_sha: str
        resolved_ref: str
        message: str
        author_name: str
        author_email: str
        commit_time: _timestamp_pb2.Timestamp
        def __init__(self, sha: _Optional[str] = ..., short_sha: _Optional[str] = ..., resolved_ref: _Optional[str] = ..., message: _Optional[str] = ..., author_name: _Optional[str] = ..., author_email: _Optional[str] = ..., commit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
    class Step(_message.Message):
        __slots__ = ("kind", "state", "start_time", "end_time", "exit_code", "message", "log_offset", "log_size_bytes")
        KIND_FIELD_NUMBER: _ClassVar[int]
        STATE_FIELD_NUMBER: _ClassVar[int]
        START_TIME_FIELD_NUMBER: _ClassVar[int]
        END_TIME_FIELD_NUMBER: _ClassVar[int]
        EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        LOG_OFFSET_FIELD_NUMBER: _ClassVar[int]
        LOG_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
        kind: Build.StepKind
        state: _operation_pb2.StageState
        start_time: _timestamp_pb2.Timestamp
        end_time: _timestamp_pb2.Timestamp
        exit_code: int
        message: str
        log_offset: int
        log_size_bytes: int
        def __init__(self, kind: _Optional[_Union[Build.StepKind, str]] = ..., state: _Optional[_Union[_operation_pb2.StageState, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exit_code: _Optional[int] = ..., message: _Optional[str] = ..., log_offset: _Optional[int] = ..., log_size_bytes: _Optional[int] = ...) -> None: ...
    class AutoDeployment(_message.Message):
        __slots__ = ("deployment", "operation", "error")
        DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
        OPERATION_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        deployment: str
        operation: str
        error: _status_pb2.Status
        def __init__(self, deployment: _Optional[str] = ..., operation: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
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
    REF_FIELD_NUMBER: _ClassVar[int]
    BUILD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_URL_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_GENERATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TEST_RESULTS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    BUILDER_IMAGE_FIELD_NUMBER: _ClassVar[int]
    BUILDER_HOST_FIELD_NUMBER: _ClassVar[int]
    LOG_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    AUTO_DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    ref: str
    build_number: int
    trigger: Build.Trigger
    repository_url: str
    commit: Build.Commit
    application_generation: int
    state: Build.State
    reconciling: bool
    queue_position: int
    steps: _containers.RepeatedCompositeFieldContainer[Build.Step]
    failure_reason: Build.FailureReason
    failure_message: str
    test_results: TestResults
    image: str
    image_uri: str
    image_digest: str
    cache: CacheInfo
    builder_image: str
    builder_host: str
    log_size_bytes: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    operation: str
    auto_deployments: _containers.RepeatedCompositeFieldContainer[Build.AutoDeployment]
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., ref: _Optional[str] = ..., build_number: _Optional[int] = ..., trigger: _Optional[_Union[Build.Trigger, _Mapping]] = ..., repository_url: _Optional[str] = ..., commit: _Optional[_Union[Build.Commit, _Mapping]] = ..., application_generation: _Optional[int] = ..., state: _Optional[_Union[Build.State, str]] = ..., reconciling: _Optional[bool] = ..., queue_position: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[Build.Step, _Mapping]]] = ..., failure_reason: _Optional[_Union[Build.FailureReason, str]] = ..., failure_message: _Optional[str] = ..., test_results: _Optional[_Union[TestResults, _Mapping]] = ..., image: _Optional[str] = ..., image_uri: _Optional[str] = ..., image_digest: _Optional[str] = ..., cache: _Optional[_Union[CacheInfo, _Mapping]] = ..., builder_image: _Optional[str] = ..., builder_host: _Optional[str] = ..., log_size_bytes: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., operation: _Optional[str] = ..., auto_deployments: _Optional[_Iterable[_Union[Build.AutoDeployment, _Mapping]]] = ...) -> None: ...

class TestResults(_message.Message):
    __slots__ = ("source", "passed", "exit_code", "tests", "failures", "errors", "skipped", "duration", "report_paths", "test_cases", "test_cases_truncated")
    class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SOURCE_UNSPECIFIED: _ClassVar[TestResults.Source]
        SOURCE_JUNIT_XML: _ClassVar[TestResults.Source]
        SOURCE_EXIT_CODE: _ClassVar[TestResults.Source]
    SOURCE_UNSPECIFIED: TestResults.Source
    SOURCE_JUNIT_XML: TestResults.Source
    SOURCE_EXIT_CODE: TestResults.Source
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TESTS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REPORT_PATHS_FIELD_NUMBER: _ClassVar[int]
    TEST_CASES_FIELD_NUMBER: _ClassVar[int]
    TEST_CASES_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    source: TestResults.Source
    passed: bool
    exit_code: int
    tests: int
    failures: int
    errors: int
    skipped: int
    duration: _duration_pb2.Duration
    report_paths: _containers.RepeatedScalarFieldContainer[str]
    test_cases: _containers.RepeatedCompositeFieldContainer[TestCase]
    test_cases_truncated: bool
    def __init__(self, source: _Optional[_Union[TestResults.Source, str]] = ..., passed: _Optional[bool] = ..., exit_code: _Optional[int] = ..., tests: _Optional[int] = ..., failures: _Optional[int] = ..., errors: _Optional[int] = ..., skipped: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., report_paths: _Optional[_Iterable[str]] = ..., test_cases: _Optional[_Iterable[_Union[TestCase, _Mapping]]] = ..., test_cases_truncated: _Optional[bool] = ...) -> None: ...

class TestCase(_message.Message):
    __slots__ = ("name", "class_name", "suite", "duration", "status", "message", "details")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[TestCase.Status]
        STATUS_PASSED: _ClassVar[TestCase.Status]
        STATUS_FAILED: _ClassVar[TestCase.Status]
        STATUS_ERROR: _ClassVar[TestCase.Status]
        STATUS_SKIPPED: _ClassVar[TestCase.Status]
    STATUS_UNSPECIFIED: TestCase.Status
    STATUS_PASSED: TestCase.Status
    STATUS_FAILED: TestCase.Status
    STATUS_ERROR: TestCase.Status
    STATUS_SKIPPED: TestCase.Status
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    name: str
    class_name: str
    suite: str
    duration: _duration_pb2.Duration
    status: TestCase.Status
    message: str
    details: str
    def __init__(self, name: _Optional[str] = ..., class_name: _Optional[str] = ..., suite: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., status: _Optional[_Union[TestCase.Status, str]] = ..., message: _Optional[str] = ..., details: _Optional[str] = ...) -> None: ...

class CacheInfo(_message.Message):
    __slots__ = ("enabled", "hit", "volume", "size_before_bytes", "size_after_bytes")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BEFORE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SIZE_AFTER_BYTES_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    hit: bool
    volume: str
    size_before_bytes: int
    size_after_bytes: int
    def __init__(self, enabled: _Optional[bool] = ..., hit: _Optional[bool] = ..., volume: _Optional[str] = ..., size_before_bytes: _Optional[int] = ..., size_after_bytes: _Optional[int] = ...) -> None: ...

class BuildSummary(_message.Message):
    __slots__ = ("build", "build_number", "state", "commit_sha", "ref", "create_time", "end_time")
    BUILD_FIELD_NUMBER: _ClassVar[int]
    BUILD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_SHA_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    build: str
    build_number: int
    state: Build.State
    commit_sha: str
    ref: str
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, build: _Optional[str] = ..., build_number: _Optional[int] = ..., state: _Optional[_Union[Build.State, str]] = ..., commit_sha: _Optional[str] = ..., ref: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BuildProgress(_message.Message):
    __slots__ = ("build", "build_number", "state", "queue_position", "current_step", "steps", "commit", "log_size_bytes", "test_results")
    BUILD_FIELD_NUMBER: _ClassVar[int]
    BUILD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    LOG_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TEST_RESULTS_FIELD_NUMBER: _ClassVar[int]
    build: str
    build_number: int
    state: Build.State
    queue_position: int
    current_step: Build.StepKind
    steps: _containers.RepeatedCompositeFieldContainer[Build.Step]
    commit: Build.Commit
    log_size_bytes: int
    test_results: TestResults
    def __init__(self, build: _Optional[str] = ..., build_number: _Optional[int] = ..., state: _Optional[_Union[Build.State, str]] = ..., queue_position: _Optional[int] = ..., current_step: _Optional[_Union[Build.StepKind, str]] = ..., steps: _Optional[_Iterable[_Union[Build.Step, _Mapping]]] = ..., commit: _Optional[_Union[Build.Commit, _Mapping]] = ..., log_size_bytes: _Optional[int] = ..., test_results: _Optional[_Union[TestResults, _Mapping]] = ...) -> None: ...

class CreateBuildRequest(_message.Message):
    __slots__ = ("parent", "build", "queue", "disable_cache", "skip_auto_deploy", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    DISABLE_CACHE_FIELD_NUMBER: _ClassVar[int]
    SKIP_AUTO_DEPLOY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    build: Build
    queue: bool
    disable_cache: bool
    skip_auto_deploy: bool
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., build: _Optional[_Union[Build, _Mapping]] = ..., queue: _Optional[bool] = ..., disable_cache: _Optional[bool] = ..., skip_auto_deploy: _Optional[bool] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetBuildRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListBuildsRequest(_message.Message):
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

class ListBuildsResponse(_message.Message):
    __slots__ = ("builds", "next_page_token", "total_size")
    BUILDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    builds: _containers.RepeatedCompositeFieldContainer[Build]
    next_page_token: str
    total_size: int
    def __init__(self, builds: _Optional[_Iterable[_Union[Build, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CancelBuildRequest(_message.Message):
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

class StreamBuildLogsRequest(_message.Message):
    __slots__ = ("name", "offset", "follow", "step")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    follow: bool
    step: Build.StepKind
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., follow: _Optional[bool] = ..., step: _Optional[_Union[Build.StepKind, str]] = ...) -> None: ...

class BuildLogChunk(_message.Message):
    __slots__ = ("chunk", "step", "final_state")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    FINAL_STATE_FIELD_NUMBER: _ClassVar[int]
    chunk: _logs_pb2.LogChunk
    step: Build.StepKind
    final_state: Build.State
    def __init__(self, chunk: _Optional[_Union[_logs_pb2.LogChunk, _Mapping]] = ..., step: _Optional[_Union[Build.StepKind, str]] = ..., final_state: _Optional[_Union[Build.State, str]] = ...) -> None: ...
