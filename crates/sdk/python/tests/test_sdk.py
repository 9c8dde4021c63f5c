"""The Python SDK against a running gateway.

Needs FERRY_GATEWAY (host:port of a gateway with the deploy service behind it) and
FERRY_TOKEN (an admin token); fails, naming the missing variable, without them.
tests/tests/sdk.rs starts the platform and runs this file.
"""

import os
import uuid

import grpc
import pytest
from google.protobuf import empty_pb2

from ferry.auth.v1 import token_pb2
from ferry.client import Client, unpack_any
from ferry.common.v1 import operation_pb2
from ferry.deploy.v1 import namespace_pb2


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: the SDK tests need a running gateway "
                    "(FERRY_GATEWAY=host:port, FERRY_TOKEN=an admin token)")
    return value


@pytest.fixture()
def client():
    with Client(_env("FERRY_GATEWAY"), _env("FERRY_TOKEN")) as client:
        yield client


def test_calls_without_a_token_are_refused():
    with grpc.insecure_channel(_env("FERRY_GATEWAY")) as channel:
        from ferry.deploy.v1 import namespace_pb2_grpc

        stub = namespace_pb2_grpc.NamespaceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            stub.ListNamespaces(namespace_pb2.ListNamespacesRequest(), timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_client_hides_the_token():
    client = Client("127.0.0.1:1", "secret-value")
    try:
        assert "secret-value" not in repr(client)
    finally:
        client.close()


def test_sdk_round_trip(client: Client):
    suffix = uuid.uuid4().hex[:8]

    # A new token works on its own.
    created = client.tokens.CreateToken(
        token_pb2.CreateTokenRequest(
            token_id=f"py-sdk-{suffix}",
            token=token_pb2.Token(display_name="python sdk test"),
        ),
        timeout=10,
    )
    assert created.token.name == f"tokens/py-sdk-{suffix}"
    assert created.secret
    with Client(_env("FERRY_GATEWAY"), created.secret) as second:
        listed = second.tokens.ListTokens(token_pb2.ListTokensRequest(), timeout=10)
        assert created.token.name in [t.name for t in listed.tokens]

    # Namespaces: the platform one exists; validate_only writes nothing.
    names = [n.name for n in client.namespaces.ListNamespaces(
        namespace_pb2.ListNamespacesRequest(page_size=500), timeout=10).namespaces]
    assert "namespaces/ferry-system" in names
    namespace_id = f"py-{suffix}"
    name = f"namespaces/{namespace_id}"
    planned = client.namespaces.CreateNamespace(
        namespace_pb2.CreateNamespaceRequest(
            namespace_id=namespace_id,
            namespace=namespace_pb2.Namespace(description="python sdk"),
            validate_only=True,
        ),
        timeout=10,
    )
    assert planned.name == name
    with pytest.raises(grpc.RpcError) as error:
        client.namespaces.GetNamespace(namespace_pb2.GetNamespaceRequest(name=name), timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    namespace = client.namespaces.CreateNamespace(
        namespace_pb2.CreateNamespaceRequest(
            namespace_id=namespace_id,
            namespace=namespace_pb2.Namespace(description="python sdk"),
        ),
        timeout=10,
    )
    assert namespace.name == name and namespace.uid
    fetched = client.namespaces.GetNamespace(namespace_pb2.GetNamespaceRequest(name=name), timeout=10)
    assert fetched.uid == namespace.uid
    assert fetched.description == "python sdk"

    # Deleting is a long-running operation: wait for it to end.
    operation = client.namespaces.DeleteNamespace(
        namespace_pb2.DeleteNamespaceRequest(name=name), timeout=10)
    assert operation.name.startswith("operations/")
    response = client.wait_operation(operation, timeout=60)
    assert isinstance(response, empty_pb2.Empty)
    done = client.operations.GetOperation(
        operation_pb2.GetOperationRequest(name=operation.name), timeout=10)
    assert done.done
    assert done.metadata.state == operation_pb2.OPERATION_STATE_SUCCEEDED
    assert isinstance(unpack_any(done.response), empty_pb2.Empty)
    with pytest.raises(grpc.RpcError) as error:
        client.namespaces.GetNamespace(namespace_pb2.GetNamespaceRequest(name=name), timeout=10)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    # An operation name that does not exist is an error, not a hang.
    with pytest.raises(grpc.RpcError) as error:
        client.wait_operation(operation_pb2.Operation(name="operations/does-not-exist"), timeout=5)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
