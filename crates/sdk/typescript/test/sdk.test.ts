/**
 * The TypeScript SDK against a running gateway. Needs FERRY_GATEWAY (host:port of a
 * gateway with the deploy service behind it) and FERRY_TOKEN (an admin token); fails,
 * naming the missing variable, without them. tests/tests/sdk.rs starts the platform and
 * runs `npm test` here (tsc, then `node --test` on the compiled files).
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { inspect } from "node:util";

import { credentials, status } from "@grpc/grpc-js";

import {
  connect,
  type FerryClient,
  isServiceError,
  OperationFailedError,
  unary,
  unpack,
  waitOperation,
} from "../src/index";
import { CreateTokenRequest, ListTokensRequest } from "../src/gen/ferry/auth/v1/token";
import { GetOperationRequest, OperationState } from "../src/gen/ferry/common/v1/operation";
import {
  CreateNamespaceRequest,
  DeleteNamespaceRequest,
  GetNamespaceRequest,
  ListNamespacesRequest,
  Namespace,
  NamespaceServiceClient,
} from "../src/gen/ferry/deploy/v1/namespace";
import { Empty } from "../src/gen/google/protobuf/empty";

const CALL = { timeoutMs: 10_000 };

function env(name: string): string {
  const value = process.env[name] ?? "";
  if (!value) {
    throw new Error(
      `${name} is not set: the SDK tests need a running gateway ` +
        "(FERRY_GATEWAY=host:port, FERRY_TOKEN=an admin token)",
    );
  }
  return value;
}

/** Runs `body` with a client for `token`, closing it after. */
async function withClient<R>(token: string, body: (client: FerryClient) => Promise<R>): Promise<R> {
  const client = connect(env("FERRY_GATEWAY"), token);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** Asserts that `promise` rejects with the gRPC status `code`. */
async function rejectsWith(promise: Promise<unknown>, code: status): Promise<unknown> {
  const error = await promise.then(
    (value) => assert.fail(`want ${status[code]}, got the answer ${inspect(value)}`),
    (error: unknown) => error,
  );
  assert.ok(isServiceError(error), `want ${status[code]}, got ${String(error)}`);
  assert.equal(status[error.code], status[code], `want ${status[code]}, got ${error.message}`);
  return error;
}

test("calls without a token are refused", async () => {
  const raw = new NamespaceServiceClient(env("FERRY_GATEWAY"), credentials.createInsecure());
  try {
    await rejectsWith(
      unary(raw, "listNamespaces", ListNamespacesRequest.fromPartial({}), CALL),
      status.UNAUTHENTICATED,
    );
  } finally {
    raw.close();
  }
});

test("connect refuses empty arguments and hides the token", () => {
  assert.throws(() => connect("", "token"), /address is empty/);
  assert.throws(() => connect("127.0.0.1:1", ""), /token is empty/);
  const client = connect("127.0.0.1:1", "secret-value");
  try {
    assert.ok(!inspect(client, { depth: 10, showHidden: true }).includes("secret-value"));
    assert.ok(!String(client).includes("secret-value"));
    assert.ok(!JSON.stringify(Object.keys(client)).includes("secret-value"));
  } finally {
    client.close();
  }
});

test("sdk round trip: tokens, namespaces, operations", async () => {
  const suffix = randomBytes(4).toString("hex");
  await withClient(env("FERRY_TOKEN"), async (client) => {
    // A new token works on its own.
    const created = await unary(
      client.tokens,
      "createToken",
      CreateTokenRequest.fromPartial({
        tokenId: `ts-sdk-${suffix}`,
        token: { displayName: "typescript sdk test" },
      }),
      CALL,
    );
    assert.equal(created.token?.name, `tokens/ts-sdk-${suffix}`);
    assert.ok(created.secret, "CreateToken returned no secret");
    await withClient(created.secret, async (second) => {
      const listed = await unary(second.tokens, "listTokens", ListTokensRequest.fromPartial({}), CALL);
      assert.ok(
        listed.tokens.some((token) => token.name === created.token?.name),
        `the new token does not list itself: ${listed.tokens.map((token) => token.name).join(", ")}`,
      );
    });

    // Namespaces (the deploy service): the platform one exists; validate_only writes nothing.
    const page = await unary(
      client.namespaces,
      "listNamespaces",
      ListNamespacesRequest.fromPartial({ pageSize: 500 }),
      CALL,
    );
    const names = page.namespaces.map((namespace) => namespace.name);
    assert.ok(names.includes("namespaces/ferry-system"), `no ferry-system in ${names.join(", ")}`);
    const namespaceId = `ts-${suffix}`;
    const name = `namespaces/${namespaceId}`;
    const planned = await unary(
      client.namespaces,
      "createNamespace",
      CreateNamespaceRequest.fromPartial({
        namespaceId,
        namespace: { description: "typescript sdk" },
        validateOnly: true,
      }),
      CALL,
    );
    assert.equal(planned.name, name);
    await rejectsWith(
      unary(client.namespaces, "getNamespace", GetNamespaceRequest.fromPartial({ name }), CALL),
      status.NOT_FOUND,
    );

    const namespace = await unary(
      client.namespaces,
      "createNamespace",
      CreateNamespaceRequest.fromPartial({ namespaceId, namespace: { description: "typescript sdk" } }),
      CALL,
    );
    assert.equal(namespace.name, name);
    assert.ok(namespace.uid, "the new namespace has no uid");
    const fetched = await unary(client.namespaces, "getNamespace", GetNamespaceRequest.fromPartial({ name }), CALL);
    assert.equal(fetched.uid, namespace.uid);
    assert.equal(fetched.description, "typescript sdk");

    // Deleting is a long-running operation: wait for it to end.
    const operation = await unary(
      client.namespaces,
      "deleteNamespace",
      DeleteNamespaceRequest.fromPartial({ name }),
      CALL,
    );
    assert.ok(operation.name.startsWith("operations/"), `operation name ${operation.name}`);
    const response = await client.waitOperation(operation, { timeoutMs: 60_000, responseType: Empty });
    assert.deepEqual(response, Empty.create());
    const done = await unary(
      client.operations,
      "getOperation",
      GetOperationRequest.fromPartial({ name: operation.name }),
      CALL,
    );
    assert.ok(done.done, "GetOperation after the wait: not done");
    assert.equal(done.metadata?.state, OperationState.OPERATION_STATE_SUCCEEDED);
    assert.ok(done.response, "GetOperation after the wait: no response");
    assert.equal(done.response.typeUrl.split("/").pop(), "google.protobuf.Empty");
    // Waiting on a done operation does not call; without a type it gives the Any.
    const again = await waitOperation(client.operations, done, { timeoutMs: 1_000 });
    assert.equal(again.typeUrl, done.response.typeUrl);
    // The response is Empty: unpacking it into another type fails with both names.
    assert.throws(() => unpack(done.response!, Namespace), /google\.protobuf\.Empty.*ferry\.deploy\.v1\.Namespace/);
    await rejectsWith(
      unary(client.namespaces, "getNamespace", GetNamespaceRequest.fromPartial({ name }), CALL),
      status.NOT_FOUND,
    );

    // An operation name that does not exist is an error, not a hang.
    const missing = await rejectsWith(
      client.waitOperation("operations/does-not-exist", { timeoutMs: 5_000 }),
      status.NOT_FOUND,
    );
    assert.ok(!(missing instanceof OperationFailedError), "a missing operation is no failed operation");
  });
  console.log("typescript sdk: token, namespaces and operation calls passed");
});
