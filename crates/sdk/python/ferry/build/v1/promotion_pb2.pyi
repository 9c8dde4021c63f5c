import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
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

class Promotion(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "image", "image_digest", "image_uri", "qa_namespace", "production_namespace", "qa_deployment", "production_deployment", "state", "reconciling", "gates", "qa_approval_required", "release_gate_required", "failure_message", "qa_operation", "release_operation", "qa_ready_time", "release_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Promotion.State]
        STATE_PENDING_QA: _ClassVar[Promotion.State]
        STATE_QA_APPROVED: _ClassVar[Promotion.State]
        STATE_QA_REJECTED: _ClassVar[Promotion.State]
        STATE_RELEASING: _ClassVar[Promotion.State]
        STATE_RELEASED: _ClassVar[Promotion.State]
        STATE_FAILED: _ClassVar[Promotion.State]
    STATE_UNSPECIFIED: Promotion.State
    STATE_PENDING_QA: Promotion.State
    STATE_QA_APPROVED: Promotion.State
    STATE_QA_REJECTED: Promotion.State
    STATE_RELEASING: Promotion.State
    STATE_RELEASED: Promotion.State
    STATE_FAILED: Promotion.State
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
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    QA_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    QA_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECONCILING_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    QA_APPROVAL_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    RELEASE_GATE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    QA_OPERATION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_OPERATION_FIELD_NUMBER: _ClassVar[int]
    QA_READY_TIME_FIELD_NUMBER: _ClassVar[int]
    RELEASE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    image: str
    image_digest: str
    image_uri: str
    qa_namespace: str
    production_namespace: str
    qa_deployment: str
    production_deployment: str
    state: Promotion.State
    reconciling: bool
    gates: _containers.RepeatedCompositeFieldContainer[GateRecord]
    qa_approval_required: bool
    release_gate_required: bool
    failure_message: str
    qa_operation: str
    release_operation: str
    qa_ready_time: _timestamp_pb2.Timestamp
    release_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., image: _Optional[str] = ..., image_digest: _Optional[str] = ..., image_uri: _Optional[str] = ..., qa_namespace: _Optional[str] = ..., production_namespace: _Optional[str] = ..., qa_deployment: _Optional[str] = ..., production_deployment: _Optional[str] = ..., state: _Optional[_Union[Promotion.State, str]] = ..., reconciling: _Optional[bool] = ..., gates: _Optional[_Iterable[_Union[GateRecord, _Mapping]]] = ..., qa_approval_required: _Optional[bool] = ..., release_gate_required: _Optional[bool] = ..., failure_message: _Optional[str] = ..., qa_operation: _Optional[str] = ..., release_operation: _Optional[str] = ..., qa_ready_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., release_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GateRecord(_message.Message):
    __slots__ = ("gate", "decision", "actor", "decide_time", "comment", "automatic")
    class Gate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        GATE_UNSPECIFIED: _ClassVar[GateRecord.Gate]
        GATE_QA: _ClassVar[GateRecord.Gate]
        GATE_RELEASE: _ClassVar[GateRecord.Gate]
    GATE_UNSPECIFIED: GateRecord.Gate
    GATE_QA: GateRecord.Gate
    GATE_RELEASE: GateRecord.Gate
    class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DECISION_UNSPECIFIED: _ClassVar[GateRecord.Decision]
        DECISION_APPROVED: _ClassVar[GateRecord.Decision]
        DECISION_REJECTED: _ClassVar[GateRecord.Decision]
    DECISION_UNSPECIFIED: GateRecord.Decision
    DECISION_APPROVED: GateRecord.Decision
    DECISION_REJECTED: GateRecord.Decision
    GATE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    gate: GateRecord.Gate
    decision: GateRecord.Decision
    actor: str
    decide_time: _timestamp_pb2.Timestamp
    comment: str
    automatic: bool
    def __init__(self, gate: _Optional[_Union[GateRecord.Gate, str]] = ..., decision: _Optional[_Union[GateRecord.Decision, str]] = ..., actor: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., comment: _Optional[str] = ..., automatic: _Optional[bool] = ...) -> None: ...

class PromotionProgress(_message.Message):
    __slots__ = ("promotion", "state", "image_digest", "deployment", "rollout_operation", "rollout_progress_percent")
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_OPERATION_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_PROGRESS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    promotion: str
    state: Promotion.State
    image_digest: str
    deployment: str
    rollout_operation: str
    rollout_progress_percent: int
    def __init__(self, promotion: _Optional[str] = ..., state: _Optional[_Union[Promotion.State, str]] = ..., image_digest: _Optional[str] = ..., deployment: _Optional[str] = ..., rollout_operation: _Optional[str] = ..., rollout_progress_percent: _Optional[int] = ...) -> None: ...

class CreatePromotionRequest(_message.Message):
    __slots__ = ("parent", "promotion_id", "promotion", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    promotion_id: str
    promotion: Promotion
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., promotion_id: _Optional[str] = ..., promotion: _Optional[_Union[Promotion, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetPromotionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListPromotionsRequest(_message.Message):
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

class ListPromotionsResponse(_message.Message):
    __slots__ = ("promotions", "next_page_token", "total_size")
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    promotions: _containers.RepeatedCompositeFieldContainer[Promotion]
    next_page_token: str
    total_size: int
    def __init__(self, promotions: _Optional[_Iterable[_Union[Promotion, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ApprovePromotionRequest(_message.Message):
    __slots__ = ("name", "etag", "comment", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    comment: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class RejectPromotionRequest(_message.Message):
    __slots__ = ("name", "etag", "comment", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    comment: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ReleasePromotionRequest(_message.Message):
    __slots__ = ("name", "etag", "comment", "request_id", "validate_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    comment: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., comment: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...
