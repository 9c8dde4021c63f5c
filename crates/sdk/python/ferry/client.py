"""A typed client for a Ferry gateway.

``Client(address, token)`` opens one gRPC channel that sends
``authorization: Bearer <token>`` with every call and hands out the generated stubs on
it; ``Client.wait_operation`` waits for a long-running operation and returns its
response unpacked into the message it holds.

    from ferry.client import Client
    from ferry.deploy.v1 import namespace_pb2

    with Client("localhost:8080", token) as client:
        page = client.namespaces.ListNamespaces(namespace_pb2.ListNamespacesRequest())
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, TypeVar

import grpc
from google.protobuf import any_pb2, descriptor_pool, message, message_factory
from google.rpc import status_pb2

from ferry.auth.v1 import token_pb2_grpc
from ferry.build.v1 import build_pb2_grpc
from ferry.common.v1 import operation_pb2, operation_pb2_grpc
from ferry.deploy.v1 import deployment_pb2_grpc, namespace_pb2_grpc

__all__ = ["Client", "OperationFailed", "OperationTimeout", "unpack_any"]

StubT = TypeVar("StubT")
MessageT = TypeVar("MessageT", bound=message.Message)

# The most one WaitOperation call may wait (the service caps it at 10 minutes).
_MAX_WAIT_SECONDS = 600.0


class OperationFailed(Exception):
    """An operation ended with an error (failed or cancelled)."""

    def __init__(self, operation: operation_pb2.Operation) -> None:
        self.operation = operation
        self.status: status_pb2.Status = operation.error
        super().__init__(
            f"operation {operation.name} failed: "
            f"{_code_name(self.status.code)}: {self.status.message}"
        )


class OperationTimeout(Exception):
    """An operation was not done when the wait ran out."""

    def __init__(self, operation: operation_pb2.Operation, timeout: float) -> None:
        self.operation = operation
        super().__init__(f"operation {operation.name} not done after {timeout} s")


def _code_name(code: int) -> str:
    for status_code in grpc.StatusCode:
        if status_code.value[0] == code:
            return status_code.name
    return str(code)


class _BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def __repr__(self) -> str:  # never show the token
        return "_BearerInterceptor(<redacted>)"

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(self._header)
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def unpack_any(packed: any_pb2.Any, message_type: Optional[type[MessageT]] = None) -> Any:
    """Unpacks ``packed`` into ``message_type``, or, when that is None, into the
    generated class its type URL names (which must have been imported)."""
    if message_type is None:
        name = packed.type_url.rsplit("/", 1)[-1]
        try:
            descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
        except KeyError:
            raise ValueError(
                f"unknown message type {name!r}: import its generated _pb2 module"
            ) from None
        message_type = message_factory.GetMessageClass(descriptor)
    unpacked = message_type()
    if not packed.Unpack(unpacked):
        raise ValueError(
            f"the Any holds {packed.type_url}, not {unpacked.DESCRIPTOR.full_name}"
        )
    return unpacked


class Client:
    """A connection to a Ferry gateway that authenticates every call with ``token``.

    ``credentials`` (``grpc.ssl_channel_credentials()``, ...) makes the channel use
    TLS; without it the channel is plaintext (a gateway on loopback or behind a
    TLS-terminating proxy).
    """

    def __init__(
        self,
        address: str,
        token: str,
        *,
        credentials: Optional[grpc.ChannelCredentials] = None,
        options: Optional[list[tuple[str, Any]]] = None,
    ) -> None:
        if not address:
            raise ValueError("address is empty: pass the gateway's host:port")
        if not token:
            raise ValueError("token is empty: pass a Ferry API token")
        if credentials is None:
            raw = grpc.insecure_channel(address, options=options)
        else:
            raw = grpc.secure_channel(address, credentials, options=options)
        self._raw = raw
        self.channel: grpc.Channel = grpc.intercept_channel(raw, _BearerInterceptor(token))
        self.address = address

    def __repr__(self) -> str:
        return f"Client(address={self.address!r}, token=<redacted>)"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel."""
        self._raw.close()

    def stub(self, stub_type: Callable[[grpc.Channel], StubT]) -> StubT:
        """Any generated stub on this client's channel, e.g.
        ``client.stub(routing_pb2_grpc.RoutingServiceStub)``."""
        return stub_type(self.channel)

    @property
    def tokens(self) -> token_pb2_grpc.TokenServiceStub:
        """ferry.auth.v1.TokenService."""
        return token_pb2_grpc.TokenServiceStub(self.channel)

    @property
    def namespaces(self) -> namespace_pb2_grpc.NamespaceServiceStub:
        """ferry.deploy.v1.NamespaceService."""
        return namespace_pb2_grpc.NamespaceServiceStub(self.channel)

    @property
    def deployments(self) -> deployment_pb2_grpc.DeploymentServiceStub:
        """ferry.deploy.v1.DeploymentService."""
        return deployment_pb2_grpc.DeploymentServiceStub(self.channel)

    @property
    def builds(self) -> build_pb2_grpc.BuildServiceStub:
        """ferry.build.v1.BuildService."""
        return build_pb2_grpc.BuildServiceStub(self.channel)

    @property
    def operations(self) -> operation_pb2_grpc.OperationsServiceStub:
        """ferry.common.v1.OperationsService."""
        return operation_pb2_grpc.OperationsServiceStub(self.channel)

    def wait_operation(
        self,
        operation: operation_pb2.Operation,
        timeout: float,
        response_type: Optional[type[MessageT]] = None,
    ) -> Any:
        """Waits up to ``timeout`` seconds for ``operation`` to end and returns its
        response unpacked (into ``response_type``, else into the type its Any names).

        Raises OperationFailed when it ended with an error, OperationTimeout when it is
        still running after ``timeout``. An operation that is already done (e.g. the
        answer to a ``validate_only`` request, which has no name) is not fetched again.
        """
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        deadline = time.monotonic() + timeout
        current = operation
        while not current.done:
            if not current.name:
                raise ValueError("the operation is not done and has no name to wait on")
            left = deadline - time.monotonic()
            if left <= 0:
                raise OperationTimeout(current, timeout)
            request = operation_pb2.WaitOperationRequest(name=current.name)
            request.timeout.FromNanoseconds(int(min(left, _MAX_WAIT_SECONDS) * 1e9))
            current = self.operations.WaitOperation(request, timeout=left + 5)
        if current.HasField("error"):
            raise OperationFailed(current)
        if not current.HasField("response"):
            raise ValueError(f"operation {current.name} is done without a response")
        return unpack_any(current.response, response_type)
