/**
 * A typed client for a Ferry gateway (hand-written; everything under `gen/` is generated
 * from proto/ by deploy/dev/sdk.sh).
 *
 * `connect(address, token)` opens one gRPC channel whose calls all carry
 * `authorization: Bearer <token>` and hands out the generated service clients on it;
 * `unary` turns one of their callback methods into a promise; `waitOperation` waits for
 * a long-running operation and returns its response, unpacked when given its type.
 *
 *     import { connect, unary } from "@ferry/sdk";
 *     import { ListNamespacesRequest } from "@ferry/sdk/gen/ferry/deploy/v1/namespace";
 *
 *     const client = connect("localhost:8080", token);
 *     const page = await unary(client.namespaces, "listNamespaces",
 *       ListNamespacesRequest.fromPartial({ pageSize: 100 }), { timeoutMs: 10_000 });
 *     client.close();
 */

import {
  type CallOptions,
  Channel,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientOptions,
  type ClientUnaryCall,
  credentials as grpcCredentials,
  InterceptingCall,
  type Interceptor,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";

import { TokenServiceClient } from "./gen/ferry/auth/v1/token";
import { BuildServiceClient } from "./gen/ferry/build/v1/build";
import { Operation, OperationsServiceClient, WaitOperationRequest } from "./gen/ferry/common/v1/operation";
import { DeploymentServiceClient } from "./gen/ferry/deploy/v1/deployment";
import { NamespaceServiceClient } from "./gen/ferry/deploy/v1/namespace";
import type { Any } from "./gen/google/protobuf/any";
import type { Status } from "./gen/google/rpc/status";

/** The most one WaitOperation call waits (the service caps it at 10 minutes). */
const MAX_WAIT_MS = 10 * 60 * 1000;

/** How long a WaitOperation call may take beyond the wait it asks for. */
const CALL_SLACK_MS = 5000;

/** A generated service client's constructor (`NamespaceServiceClient`, ...). */
export type ServiceClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => C;

/** A generated message's constant (`Empty`, `Namespace`, ...): its full name and decoder. */
export interface MessageType<T> {
  readonly $type: string;
  decode(input: Uint8Array): T;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /**
   * Channel credentials (`credentials.createSsl()`, ...) for a TLS channel; without
   * them the channel is plaintext (a gateway on loopback or behind a TLS-terminating
   * proxy). The token is sent either way.
   */
  credentials?: ChannelCredentials;
  /** gRPC channel options (`grpc.max_receive_message_length`, ...). */
  channelOptions?: Partial<ChannelOptions>;
}

/** Options of one call made with `unary`. */
export interface CallSettings {
  /** The call's deadline, from now. */
  timeoutMs?: number;
  /** Extra metadata (the client's interceptor adds `authorization`). */
  metadata?: Metadata;
}

/** Options of `waitOperation`. */
export interface WaitOptions {
  /** How long to wait in all, in milliseconds (positive). */
  timeoutMs: number;
}

/** Options of `waitOperation` that unpack the response. */
export interface WaitForOptions<T> extends WaitOptions {
  /** The message type the operation returns: its response is unpacked into it. */
  responseType: MessageType<T>;
}

/** An operation ended with an error (failed or cancelled). */
export class OperationFailedError extends Error {
  /** The operation as it ended. */
  readonly operation: Operation;
  /** Its error, a google.rpc.Status with details. */
  readonly status: Status;

  constructor(operation: Operation) {
    const error = operation.error ?? { code: status.UNKNOWN, message: "", details: [] };
    super(`operation ${operation.name} failed: ${codeName(error.code)}: ${error.message}`);
    this.name = "OperationFailedError";
    this.operation = operation;
    this.status = error;
  }
}

/** An operation was not done when the wait ran out. */
export class OperationTimeoutError extends Error {
  /** The operation as last seen. */
  readonly operation: Operation;

  constructor(operation: Operation, timeoutMs: number) {
    super(`operation ${operation.name} not done after ${timeoutMs} ms`);
    this.name = "OperationTimeoutError";
    this.operation = operation;
  }
}

/** The name of a gRPC status code (`NOT_FOUND`), or the number when it has none. */
export function codeName(code: number): string {
  return status[code] ?? String(code);
}

/** True when `error` is a failed gRPC call (it has a numeric `code`). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** An interceptor that sets `authorization: Bearer <token>` on every call. */
function bearer(token: string): Interceptor {
  const header = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", header);
        next(metadata, listener);
      },
    });
}

/** A connection to a Ferry gateway that authenticates every call with a token. */
export class FerryClient {
  /** The gateway's host:port. */
  readonly address: string;
  /** ferry.auth.v1.TokenService. */
  readonly tokens: TokenServiceClient;
  /** ferry.deploy.v1.NamespaceService. */
  readonly namespaces: NamespaceServiceClient;
  /** ferry.deploy.v1.DeploymentService. */
  readonly deployments: DeploymentServiceClient;
  /** ferry.build.v1.BuildService. */
  readonly builds: BuildServiceClient;
  /** ferry.common.v1.OperationsService. */
  readonly operations: OperationsServiceClient;
  // Kept out of sight so that logging the client never shows the token (which lives
  // only inside the interceptor's closure).
  readonly #channel: Channel;
  readonly #interceptor: Interceptor;
  readonly #credentials: ChannelCredentials;

  constructor(address: string, token: string, options: ConnectOptions = {}) {
    if (!address) {
      throw new Error("address is empty: pass the gateway's host:port");
    }
    if (!token) {
      throw new Error("token is empty: pass a Ferry API token");
    }
    this.address = address;
    this.#credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.#channel = new Channel(address, this.#credentials, options.channelOptions ?? {});
    this.#interceptor = bearer(token);
    this.tokens = this.service(TokenServiceClient);
    this.namespaces = this.service(NamespaceServiceClient);
    this.deployments = this.service(DeploymentServiceClient);
    this.builds = this.service(BuildServiceClient);
    this.operations = this.service(OperationsServiceClient);
  }

  /** Any generated service client on this connection, e.g. `client.service(RoutingServiceClient)`. */
  service<C extends Client>(type: ServiceClientConstructor<C>): C {
    return new type(this.address, this.#credentials, {
      channelOverride: this.#channel,
      interceptors: [this.#interceptor],
    });
  }

  /**
   * Waits up to `options.timeoutMs` for `operation` (or the operation of that name) to
   * end; see `waitOperation`.
   */
  waitOperation<T>(operation: Operation | string, options: WaitForOptions<T>): Promise<T>;
  waitOperation(operation: Operation | string, options: WaitOptions): Promise<Any>;
  waitOperation<T>(operation: Operation | string, options: WaitOptions & Partial<WaitForOptions<T>>): Promise<T | Any> {
    return waitFor(this.operations, operation, options);
  }

  /** Closes the connection (every service client of it). */
  close(): void {
    this.#channel.close();
  }

  toString(): string {
    return `FerryClient(${this.address}, token=<redacted>)`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Connects to the gateway at `address` (host:port) with `token`. */
export function connect(address: string, token: string, options: ConnectOptions = {}): FerryClient {
  return new FerryClient(address, token, options);
}

/** The request type of a generated unary method (its last, fullest overload). */
export type RequestOf<M> = M extends (
  request: infer Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  callback: (error: ServiceError | null, response: any) => void,
) => ClientUnaryCall
  ? Req
  : never;

/** The response type of a generated unary method. */
export type ResponseOf<M> = M extends (
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: infer Res) => void,
) => ClientUnaryCall
  ? Res
  : never;

/** The names of a client's unary methods. */
export type UnaryMethodName<C> = {
  [K in keyof C]: [RequestOf<C[K]>] extends [never] ? never : K;
}[keyof C];

/**
 * Calls the unary method `method` of a generated client and resolves to its response;
 * a failed call rejects with the grpc-js `ServiceError` (its `code` is the status).
 */
export function unary<C, K extends UnaryMethodName<C>>(
  client: C,
  method: K,
  request: RequestOf<C[K]>,
  settings: CallSettings = {},
): Promise<ResponseOf<C[K]>> {
  const options: Partial<CallOptions> = {};
  if (settings.timeoutMs !== undefined) {
    options.deadline = new Date(Date.now() + settings.timeoutMs);
  }
  const call = client[method] as unknown as (
    request: RequestOf<C[K]>,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: ResponseOf<C[K]>) => void,
  ) => ClientUnaryCall;
  return new Promise((resolve, reject) => {
    call.call(client, request, settings.metadata ?? new Metadata(), options, (error, response) => {
      if (error) {
        reject(error);
      } else {
        resolve(response);
      }
    });
  });
}

/**
 * Unpacks `packed` into `type`; throws, naming both types, when the Any holds another
 * message.
 */
export function unpack<T>(packed: Any, type: MessageType<T>): T {
  const held = packed.typeUrl.slice(packed.typeUrl.lastIndexOf("/") + 1);
  if (held !== type.$type) {
    throw new Error(`the Any holds ${packed.typeUrl}, not ${type.$type}`);
  }
  return type.decode(packed.value);
}

/**
 * Waits up to `options.timeoutMs` for `operation` (or the operation of that name) to
 * end, asking ferry.common.v1.OperationsService.WaitOperation, and returns its
 * response: unpacked into `options.responseType` when given, else the Any itself.
 * An operation that is already done (e.g. the answer to a `validate_only` request,
 * which has no name) is not fetched again.
 *
 * Rejects with `OperationFailedError` when the operation ended with an error, with
 * `OperationTimeoutError` when it is still running after the timeout, and with the
 * call's `ServiceError` when waiting fails (e.g. NOT_FOUND).
 */
export function waitOperation<T>(
  operations: OperationsServiceClient,
  operation: Operation | string,
  options: WaitForOptions<T>,
): Promise<T>;
export function waitOperation(
  operations: OperationsServiceClient,
  operation: Operation | string,
  options: WaitOptions,
): Promise<Any>;
export function waitOperation<T>(
  operations: OperationsServiceClient,
  operation: Operation | string,
  options: WaitOptions & Partial<WaitForOptions<T>>,
): Promise<T | Any> {
  return waitFor(operations, operation, options);
}

async function waitFor<T>(
  operations: OperationsServiceClient,
  operation: Operation | string,
  options: WaitOptions & Partial<WaitForOptions<T>>,
): Promise<T | Any> {
  const { timeoutMs, responseType } = options;
  if (!(timeoutMs > 0)) {
    throw new Error("timeoutMs must be positive");
  }
  const deadline = Date.now() + timeoutMs;
  let current = typeof operation === "string" ? Operation.fromPartial({ name: operation }) : operation;
  while (!current.done) {
    if (!current.name) {
      throw new Error("the operation is not done and has no name to wait on");
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new OperationTimeoutError(current, timeoutMs);
    }
    const wait = Math.min(left, MAX_WAIT_MS);
    const request = WaitOperationRequest.fromPartial({
      name: current.name,
      timeout: { seconds: Math.floor(wait / 1000), nanos: (wait % 1000) * 1_000_000 },
    });
    current = await unary(operations, "waitOperation", request, { timeoutMs: wait + CALL_SLACK_MS });
  }
  if (current.error) {
    throw new OperationFailedError(current);
  }
  if (!current.response) {
    throw new Error(`operation ${current.name} is done without a response`);
  }
  return responseType ? unpack(current.response, responseType) : current.response;
}
