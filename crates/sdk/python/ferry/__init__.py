"""Ferry's Python SDK.

The generated modules mirror the proto packages (``ferry.deploy.v1.namespace_pb2``,
``ferry.deploy.v1.namespace_pb2_grpc``, ...); :mod:`ferry.client` adds a client that
sends the bearer token with every call and a helper that waits for long-running
operations.
"""
