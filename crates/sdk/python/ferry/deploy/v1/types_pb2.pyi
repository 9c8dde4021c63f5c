from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RuntimeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUNTIME_KIND_UNSPECIFIED: _ClassVar[RuntimeKind]
    RUNTIME_KIND_KUBERNETES: _ClassVar[RuntimeKind]
    RUNTIME_KIND_DOCKER: _ClassVar[RuntimeKind]
RUNTIME_KIND_UNSPECIFIED: RuntimeKind
RUNTIME_KIND_KUBERNETES: RuntimeKind
RUNTIME_KIND_DOCKER: RuntimeKind

class CountOrPercent(_message.Message):
    __slots__ = ("count", "percent")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    count: int
    percent: int
    def __init__(self, count: _Optional[int] = ..., percent: _Optional[int] = ...) -> None: ...
