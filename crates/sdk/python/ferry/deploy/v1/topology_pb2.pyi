import datetime

from ferry.common.v1 import operation_pb2 as _operation_pb2
from ferry.deploy.v1 import autoscaling_pb2 as _autoscaling_pb2
from ferry.deploy.v1 import deployment_pb2 as _deployment_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import field_info_pb2 as _field_info_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import any_pb2 as _any_pb2
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

class TopologySpec(_message.Message):
    __slots__ = ("components", "resources", "stages", "parameters")
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[TopologyComponent]
    resources: _containers.RepeatedCompositeFieldContainer[TopologyResource]
    stages: _containers.RepeatedCompositeFieldContainer[DeployStage]
    parameters: _containers.RepeatedCompositeFieldContainer[TemplateParameter]
    def __init__(self, components: _Optional[_Iterable[_Union[TopologyComponent, _Mapping]]] = ..., resources: _Optional[_Iterable[_Union[TopologyResource, _Mapping]]] = ..., stages: _Optional[_Iterable[_Union[DeployStage, _Mapping]]] = ..., parameters: _Optional[_Iterable[_Union[TemplateParameter, _Mapping]]] = ...) -> None: ...

class TopologyComponent(_message.Message):
    __slots__ = ("id", "display_name", "labels", "template", "replicas", "strategy", "auto_update", "autoscaling_policy", "depends_on", "source_revision", "image_digest")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    AUTO_UPDATE_FIELD_NUMBER: _ClassVar[int]
    AUTOSCALING_POLICY_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REVISION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    template: _deployment_pb2.DeploymentTemplate
    replicas: int
    strategy: _deployment_pb2.RolloutStrategy
    auto_update: bool
    autoscaling_policy: _autoscaling_pb2.AutoscalingPolicy
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    source_revision: str
    image_digest: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., template: _Optional[_Union[_deployment_pb2.DeploymentTemplate, _Mapping]] = ..., replicas: _Optional[int] = ..., strategy: _Optional[_Union[_deployment_pb2.RolloutStrategy, _Mapping]] = ..., auto_update: _Optional[bool] = ..., autoscaling_policy: _Optional[_Union[_autoscaling_pb2.AutoscalingPolicy, _Mapping]] = ..., depends_on: _Optional[_Iterable[str]] = ..., source_revision: _Optional[str] = ..., image_digest: _Optional[str] = ...) -> None: ...

class TopologyResource(_message.Message):
    __slots__ = ("id", "type", "spec", "depends_on", "source_resource")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    spec: _any_pb2.Any
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    source_resource: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., spec: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., depends_on: _Optional[_Iterable[str]] = ..., source_resource: _Optional[str] = ...) -> None: ...

class DeployStage(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, items: _Optional[_Iterable[str]] = ...) -> None: ...

class TemplateParameter(_message.Message):
    __slots__ = ("name", "description", "type", "default_value", "required")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[TemplateParameter.Type]
        TYPE_STRING: _ClassVar[TemplateParameter.Type]
        TYPE_INTEGER: _ClassVar[TemplateParameter.Type]
        TYPE_BOOLEAN: _ClassVar[TemplateParameter.Type]
        TYPE_SECRET_NAME: _ClassVar[TemplateParameter.Type]
        TYPE_IMAGE: _ClassVar[TemplateParameter.Type]
    TYPE_UNSPECIFIED: TemplateParameter.Type
    TYPE_STRING: TemplateParameter.Type
    TYPE_INTEGER: TemplateParameter.Type
    TYPE_BOOLEAN: TemplateParameter.Type
    TYPE_SECRET_NAME: TemplateParameter.Type
    TYPE_IMAGE: TemplateParameter.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    type: TemplateParameter.Type
    default_value: str
    required: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[TemplateParameter.Type, str]] = ..., default_value: _Optional[str] = ..., required: _Optional[bool] = ...) -> None: ...

class TopologySnapshot(_message.Message):
    __slots__ = ("namespace", "snapshot_time", "spec", "warnings")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_TIME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    snapshot_time: _timestamp_pb2.Timestamp
    spec: TopologySpec
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespace: _Optional[str] = ..., snapshot_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., spec: _Optional[_Union[TopologySpec, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class TopologyTemplate(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "description", "spec", "latest_revision", "revision_count")
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
    SPEC_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    REVISION_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    description: str
    spec: TopologySpec
    latest_revision: str
    revision_count: int
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., description: _Optional[str] = ..., spec: _Optional[_Union[TopologySpec, _Mapping]] = ..., latest_revision: _Optional[str] = ..., revision_count: _Optional[int] = ...) -> None: ...

class TopologyTemplateRevision(_message.Message):
    __slots__ = ("name", "uid", "display_name", "create_time", "number", "spec", "creator", "source_namespace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    number: int
    spec: TopologySpec
    creator: str
    source_namespace: str
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., number: _Optional[int] = ..., spec: _Optional[_Union[TopologySpec, _Mapping]] = ..., creator: _Optional[str] = ..., source_namespace: _Optional[str] = ...) -> None: ...

class TopologyPlan(_message.Message):
    __slots__ = ("target_namespace", "create_namespace", "changes", "stages", "warnings")
    class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACTION_UNSPECIFIED: _ClassVar[TopologyPlan.Action]
        ACTION_CREATE: _ClassVar[TopologyPlan.Action]
        ACTION_UPDATE: _ClassVar[TopologyPlan.Action]
        ACTION_UNCHANGED: _ClassVar[TopologyPlan.Action]
        ACTION_SKIP: _ClassVar[TopologyPlan.Action]
    ACTION_UNSPECIFIED: TopologyPlan.Action
    ACTION_CREATE: TopologyPlan.Action
    ACTION_UPDATE: TopologyPlan.Action
    ACTION_UNCHANGED: TopologyPlan.Action
    ACTION_SKIP: TopologyPlan.Action
    class Change(_message.Message):
        __slots__ = ("id", "type", "resource", "action", "stage", "changed_fields", "image_uri")
        ID_FIELD_NUMBER: _ClassVar[int]
        TYPE_FIELD_NUMBER: _ClassVar[int]
        RESOURCE_FIELD_NUMBER: _ClassVar[int]
        ACTION_FIELD_NUMBER: _ClassVar[int]
        STAGE_FIELD_NUMBER: _ClassVar[int]
        CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
        IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
        id: str
        type: str
        resource: str
        action: TopologyPlan.Action
        stage: int
        changed_fields: _containers.RepeatedScalarFieldContainer[str]
        image_uri: str
        def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., resource: _Optional[str] = ..., action: _Optional[_Union[TopologyPlan.Action, str]] = ..., stage: _Optional[int] = ..., changed_fields: _Optional[_Iterable[str]] = ..., image_uri: _Optional[str] = ...) -> None: ...
    TARGET_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CREATE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    target_namespace: str
    create_namespace: bool
    changes: _containers.RepeatedCompositeFieldContainer[TopologyPlan.Change]
    stages: _containers.RepeatedCompositeFieldContainer[DeployStage]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target_namespace: _Optional[str] = ..., create_namespace: _Optional[bool] = ..., changes: _Optional[_Iterable[_Union[TopologyPlan.Change, _Mapping]]] = ..., stages: _Optional[_Iterable[_Union[DeployStage, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class TopologyProgress(_message.Message):
    __slots__ = ("plan", "source", "current_stage", "total_stages", "items")
    class ItemState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ITEM_STATE_UNSPECIFIED: _ClassVar[TopologyProgress.ItemState]
        ITEM_STATE_PENDING: _ClassVar[TopologyProgress.ItemState]
        ITEM_STATE_IN_PROGRESS: _ClassVar[TopologyProgress.ItemState]
        ITEM_STATE_READY: _ClassVar[TopologyProgress.ItemState]
        ITEM_STATE_FAILED: _ClassVar[TopologyProgress.ItemState]
        ITEM_STATE_SKIPPED: _ClassVar[TopologyProgress.ItemState]
    ITEM_STATE_UNSPECIFIED: TopologyProgress.ItemState
    ITEM_STATE_PENDING: TopologyProgress.ItemState
    ITEM_STATE_IN_PROGRESS: TopologyProgress.ItemState
    ITEM_STATE_READY: TopologyProgress.ItemState
    ITEM_STATE_FAILED: TopologyProgress.ItemState
    ITEM_STATE_SKIPPED: TopologyProgress.ItemState
    class Item(_message.Message):
        __slots__ = ("id", "resource", "state", "operation", "message")
        ID_FIELD_NUMBER: _ClassVar[int]
        RESOURCE_FIELD_NUMBER: _ClassVar[int]
        STATE_FIELD_NUMBER: _ClassVar[int]
        OPERATION_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        id: str
        resource: str
        state: TopologyProgress.ItemState
        operation: str
        message: str
        def __init__(self, id: _Optional[str] = ..., resource: _Optional[str] = ..., state: _Optional[_Union[TopologyProgress.ItemState, str]] = ..., operation: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STAGES_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    plan: TopologyPlan
    source: str
    current_stage: int
    total_stages: int
    items: _containers.RepeatedCompositeFieldContainer[TopologyProgress.Item]
    def __init__(self, plan: _Optional[_Union[TopologyPlan, _Mapping]] = ..., source: _Optional[str] = ..., current_stage: _Optional[int] = ..., total_stages: _Optional[int] = ..., items: _Optional[_Iterable[_Union[TopologyProgress.Item, _Mapping]]] = ...) -> None: ...

class TopologyResult(_message.Message):
    __slots__ = ("target_namespace", "plan", "deployments", "resources")
    TARGET_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    target_namespace: str
    plan: TopologyPlan
    deployments: _containers.RepeatedScalarFieldContainer[str]
    resources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target_namespace: _Optional[str] = ..., plan: _Optional[_Union[TopologyPlan, _Mapping]] = ..., deployments: _Optional[_Iterable[str]] = ..., resources: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportTopologyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CloneNamespaceRequest(_message.Message):
    __slots__ = ("name", "target_namespace", "component_ids", "image_overrides", "secret_policy", "volume_policy", "exclude_resources", "update_existing", "item_timeout", "request_id", "validate_only")
    class SecretPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SECRET_POLICY_UNSPECIFIED: _ClassVar[CloneNamespaceRequest.SecretPolicy]
        SECRET_POLICY_REQUIRE_EXISTING: _ClassVar[CloneNamespaceRequest.SecretPolicy]
        SECRET_POLICY_COPY: _ClassVar[CloneNamespaceRequest.SecretPolicy]
        SECRET_POLICY_OMIT: _ClassVar[CloneNamespaceRequest.SecretPolicy]
    SECRET_POLICY_UNSPECIFIED: CloneNamespaceRequest.SecretPolicy
    SECRET_POLICY_REQUIRE_EXISTING: CloneNamespaceRequest.SecretPolicy
    SECRET_POLICY_COPY: CloneNamespaceRequest.SecretPolicy
    SECRET_POLICY_OMIT: CloneNamespaceRequest.SecretPolicy
    class VolumePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        VOLUME_POLICY_UNSPECIFIED: _ClassVar[CloneNamespaceRequest.VolumePolicy]
        VOLUME_POLICY_CREATE_EMPTY: _ClassVar[CloneNamespaceRequest.VolumePolicy]
        VOLUME_POLICY_SHARE: _ClassVar[CloneNamespaceRequest.VolumePolicy]
        VOLUME_POLICY_OMIT: _ClassVar[CloneNamespaceRequest.VolumePolicy]
    VOLUME_POLICY_UNSPECIFIED: CloneNamespaceRequest.VolumePolicy
    VOLUME_POLICY_CREATE_EMPTY: CloneNamespaceRequest.VolumePolicy
    VOLUME_POLICY_SHARE: CloneNamespaceRequest.VolumePolicy
    VOLUME_POLICY_OMIT: CloneNamespaceRequest.VolumePolicy
    class ImageOverridesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_IDS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    SECRET_POLICY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_POLICY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    ITEM_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_namespace: str
    component_ids: _containers.RepeatedScalarFieldContainer[str]
    image_overrides: _containers.ScalarMap[str, str]
    secret_policy: CloneNamespaceRequest.SecretPolicy
    volume_policy: CloneNamespaceRequest.VolumePolicy
    exclude_resources: bool
    update_existing: bool
    item_timeout: _duration_pb2.Duration
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., target_namespace: _Optional[str] = ..., component_ids: _Optional[_Iterable[str]] = ..., image_overrides: _Optional[_Mapping[str, str]] = ..., secret_policy: _Optional[_Union[CloneNamespaceRequest.SecretPolicy, str]] = ..., volume_policy: _Optional[_Union[CloneNamespaceRequest.VolumePolicy, str]] = ..., exclude_resources: _Optional[bool] = ..., update_existing: _Optional[bool] = ..., item_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetTopologyTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListTopologyTemplatesRequest(_message.Message):
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

class ListTopologyTemplatesResponse(_message.Message):
    __slots__ = ("topology_templates", "next_page_token", "total_size")
    TOPOLOGY_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    topology_templates: _containers.RepeatedCompositeFieldContainer[TopologyTemplate]
    next_page_token: str
    total_size: int
    def __init__(self, topology_templates: _Optional[_Iterable[_Union[TopologyTemplate, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CreateTopologyTemplateRequest(_message.Message):
    __slots__ = ("topology_template_id", "topology_template", "source_namespace", "request_id", "validate_only")
    TOPOLOGY_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    topology_template_id: str
    topology_template: TopologyTemplate
    source_namespace: str
    request_id: str
    validate_only: bool
    def __init__(self, topology_template_id: _Optional[str] = ..., topology_template: _Optional[_Union[TopologyTemplate, _Mapping]] = ..., source_namespace: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class UpdateTopologyTemplateRequest(_message.Message):
    __slots__ = ("topology_template", "update_mask", "request_id", "validate_only")
    TOPOLOGY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    topology_template: TopologyTemplate
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, topology_template: _Optional[_Union[TopologyTemplate, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteTopologyTemplateRequest(_message.Message):
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

class GetTopologyTemplateRevisionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListTopologyTemplateRevisionsRequest(_message.Message):
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

class ListTopologyTemplateRevisionsResponse(_message.Message):
    __slots__ = ("topology_template_revisions", "next_page_token", "total_size")
    TOPOLOGY_TEMPLATE_REVISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    topology_template_revisions: _containers.RepeatedCompositeFieldContainer[TopologyTemplateRevision]
    next_page_token: str
    total_size: int
    def __init__(self, topology_template_revisions: _Optional[_Iterable[_Union[TopologyTemplateRevision, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class InstantiateTopologyTemplateRequest(_message.Message):
    __slots__ = ("name", "revision", "target_namespace", "parameters", "component_ids", "update_existing", "item_timeout", "request_id", "validate_only")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TARGET_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_IDS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    ITEM_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    target_namespace: str
    parameters: _containers.ScalarMap[str, str]
    component_ids: _containers.RepeatedScalarFieldContainer[str]
    update_existing: bool
    item_timeout: _duration_pb2.Duration
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., target_namespace: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., component_ids: _Optional[_Iterable[str]] = ..., update_existing: _Optional[bool] = ..., item_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...
