/**
 * @ferry/sdk: Ferry's gRPC API for Node.js. The hand-written client is re-exported
 * here; the generated messages and service clients are `@ferry/sdk/gen/<proto path>`
 * (e.g. `@ferry/sdk/gen/ferry/deploy/v1/namespace`), generated from proto/ by
 * deploy/dev/sdk.sh.
 */

export * from "./client";
