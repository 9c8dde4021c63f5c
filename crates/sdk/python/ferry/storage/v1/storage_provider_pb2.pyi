import datetime

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

class Transport(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSPORT_UNSPECIFIED: _ClassVar[Transport]
    TRANSPORT_TCP: _ClassVar[Transport]
    TRANSPORT_RDMA: _ClassVar[Transport]
    TRANSPORT_TCP_RDMA: _ClassVar[Transport]
TRANSPORT_UNSPECIFIED: Transport
TRANSPORT_TCP: Transport
TRANSPORT_RDMA: Transport
TRANSPORT_TCP_RDMA: Transport

class StorageProvider(_message.Message):
    __slots__ = ("name", "uid", "display_name", "labels", "annotations", "create_time", "update_time", "etag", "description", "kind", "glusterfs", "kubernetes_storage_class", "local", "state", "capacity_bytes", "used_bytes", "allocated_bytes", "volume_count", "peers", "backend_version", "last_probe_time", "conditions", "observed_generation", "reconciling")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[StorageProvider.Kind]
        KIND_GLUSTERFS: _ClassVar[StorageProvider.Kind]
        KIND_KUBERNETES_STORAGE_CLASS: _ClassVar[StorageProvider.Kind]
        KIND_LOCAL: _ClassVar[StorageProvider.Kind]
    KIND_UNSPECIFIED: StorageProvider.Kind
    KIND_GLUSTERFS: StorageProvider.Kind
    KIND_KUBERNETES_STORAGE_CLASS: StorageProvider.Kind
    KIND_LOCAL: StorageProvider.Kind
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[StorageProvider.State]
        STATE_PENDING: _ClassVar[StorageProvider.State]
        STATE_READY: _ClassVar[StorageProvider.State]
        STATE_DEGRADED: _ClassVar[StorageProvider.State]
        STATE_UNREACHABLE: _ClassVar[StorageProvider.State]
    STATE_UNSPECIFIED: StorageProvider.State
    STATE_PENDING: StorageProvider.State
    STATE_READY: StorageProvider.State
    STATE_DEGRADED: StorageProvider.State
    STATE_UNREACHABLE: StorageProvider.State
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
    KIND_FIELD_NUMBER: _ClassVar[int]
    GLUSTERFS_FIELD_NUMBER: _ClassVar[int]
    KUBERNETES_STORAGE_CLASS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_PROBE_TIME_FIELD_NUMBER: _ClassVar[int]
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
    description: str
    kind: StorageProvider.Kind
    glusterfs: GlusterfsConfig
    kubernetes_storage_class: KubernetesStorageClassConfig
    local: LocalConfig
    state: StorageProvider.State
    capacity_bytes: int
    used_bytes: int
    allocated_bytes: int
    volume_count: int
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    backend_version: str
    last_probe_time: _timestamp_pb2.Timestamp
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observed_generation: int
    reconciling: bool
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., description: _Optional[str] = ..., kind: _Optional[_Union[StorageProvider.Kind, str]] = ..., glusterfs: _Optional[_Union[GlusterfsConfig, _Mapping]] = ..., kubernetes_storage_class: _Optional[_Union[KubernetesStorageClassConfig, _Mapping]] = ..., local: _Optional[_Union[LocalConfig, _Mapping]] = ..., state: _Optional[_Union[StorageProvider.State, str]] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., allocated_bytes: _Optional[int] = ..., volume_count: _Optional[int] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., backend_version: _Optional[str] = ..., last_probe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observed_generation: _Optional[int] = ..., reconciling: _Optional[bool] = ...) -> None: ...

class GlusterfsConfig(_message.Message):
    __slots__ = ("hosts", "brick_root_path", "management", "default_transport")
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    BRICK_ROOT_PATH_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedScalarFieldContainer[str]
    brick_root_path: str
    management: GlusterfsManagementAccess
    default_transport: Transport
    def __init__(self, hosts: _Optional[_Iterable[str]] = ..., brick_root_path: _Optional[str] = ..., management: _Optional[_Union[GlusterfsManagementAccess, _Mapping]] = ..., default_transport: _Optional[_Union[Transport, str]] = ...) -> None: ...

class GlusterfsManagementAccess(_message.Message):
    __slots__ = ("method", "endpoint", "user", "credentials", "ca_certificate", "ssh_host_keys")
    class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        METHOD_UNSPECIFIED: _ClassVar[GlusterfsManagementAccess.Method]
        METHOD_SSH: _ClassVar[GlusterfsManagementAccess.Method]
        METHOD_GLUSTERD2: _ClassVar[GlusterfsManagementAccess.Method]
        METHOD_HEKETI: _ClassVar[GlusterfsManagementAccess.Method]
    METHOD_UNSPECIFIED: GlusterfsManagementAccess.Method
    METHOD_SSH: GlusterfsManagementAccess.Method
    METHOD_GLUSTERD2: GlusterfsManagementAccess.Method
    METHOD_HEKETI: GlusterfsManagementAccess.Method
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SSH_HOST_KEYS_FIELD_NUMBER: _ClassVar[int]
    method: GlusterfsManagementAccess.Method
    endpoint: str
    user: str
    credentials: _types_pb2.SecretRef
    ca_certificate: _types_pb2.SecretRef
    ssh_host_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, method: _Optional[_Union[GlusterfsManagementAccess.Method, str]] = ..., endpoint: _Optional[str] = ..., user: _Optional[str] = ..., credentials: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., ca_certificate: _Optional[_Union[_types_pb2.SecretRef, _Mapping]] = ..., ssh_host_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class KubernetesStorageClassConfig(_message.Message):
    __slots__ = ("storage_class_name", "csi_driver", "parameters", "allow_volume_expansion", "managed")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STORAGE_CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    CSI_DRIVER_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_VOLUME_EXPANSION_FIELD_NUMBER: _ClassVar[int]
    MANAGED_FIELD_NUMBER: _ClassVar[int]
    storage_class_name: str
    csi_driver: str
    parameters: _containers.ScalarMap[str, str]
    allow_volume_expansion: bool
    managed: bool
    def __init__(self, storage_class_name: _Optional[str] = ..., csi_driver: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ..., allow_volume_expansion: _Optional[bool] = ..., managed: _Optional[bool] = ...) -> None: ...

class LocalConfig(_message.Message):
    __slots__ = ("host", "root_path")
    HOST_FIELD_NUMBER: _ClassVar[int]
    ROOT_PATH_FIELD_NUMBER: _ClassVar[int]
    host: str
    root_path: str
    def __init__(self, host: _Optional[str] = ..., root_path: _Optional[str] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("host", "state", "peer_uuid", "capacity_bytes", "used_bytes", "brick_count", "last_seen_time", "message")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[PeerStatus.State]
        STATE_CONNECTED: _ClassVar[PeerStatus.State]
        STATE_DISCONNECTED: _ClassVar[PeerStatus.State]
        STATE_REJECTED: _ClassVar[PeerStatus.State]
        STATE_PROBING: _ClassVar[PeerStatus.State]
    STATE_UNSPECIFIED: PeerStatus.State
    STATE_CONNECTED: PeerStatus.State
    STATE_DISCONNECTED: PeerStatus.State
    STATE_REJECTED: PeerStatus.State
    STATE_PROBING: PeerStatus.State
    HOST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_UUID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    BRICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    host: str
    state: PeerStatus.State
    peer_uuid: str
    capacity_bytes: int
    used_bytes: int
    brick_count: int
    last_seen_time: _timestamp_pb2.Timestamp
    message: str
    def __init__(self, host: _Optional[str] = ..., state: _Optional[_Union[PeerStatus.State, str]] = ..., peer_uuid: _Optional[str] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., brick_count: _Optional[int] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class CreateStorageProviderRequest(_message.Message):
    __slots__ = ("storage_provider", "storage_provider_id", "request_id", "validate_only")
    STORAGE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    storage_provider: StorageProvider
    storage_provider_id: str
    request_id: str
    validate_only: bool
    def __init__(self, storage_provider: _Optional[_Union[StorageProvider, _Mapping]] = ..., storage_provider_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetStorageProviderRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListStorageProvidersRequest(_message.Message):
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

class ListStorageProvidersResponse(_message.Message):
    __slots__ = ("storage_providers", "next_page_token", "total_size")
    STORAGE_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    storage_providers: _containers.RepeatedCompositeFieldContainer[StorageProvider]
    next_page_token: str
    total_size: int
    def __init__(self, storage_providers: _Optional[_Iterable[_Union[StorageProvider, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateStorageProviderRequest(_message.Message):
    __slots__ = ("storage_provider", "update_mask", "request_id", "validate_only")
    STORAGE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    storage_provider: StorageProvider
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    validate_only: bool
    def __init__(self, storage_provider: _Optional[_Union[StorageProvider, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteStorageProviderRequest(_message.Message):
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
