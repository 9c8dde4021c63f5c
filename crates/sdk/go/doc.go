// Package sdk is the root of Ferry's Go SDK.
//
// The generated packages mirror the proto packages (ferry.dev/sdk/go/ferry/deploy/v1 is
// ferry.deploy.v1, ...) and are written by deploy/dev/sdk.sh from proto/; never edit
// them by hand. Package ferryclient connects to a gateway with a token and waits for
// long-running operations.
package sdk
