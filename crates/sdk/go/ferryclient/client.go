// Package ferryclient connects to a Ferry gateway: a gRPC connection that sends
// `authorization: Bearer <token>` with every call, typed service clients on it, and
// WaitOperation, which waits for a long-running operation and unpacks its response.
//
//	client, err := ferryclient.New("localhost:8080", token)
//	if err != nil { ... }
//	defer client.Close()
//	page, err := client.Namespaces().ListNamespaces(ctx, &deployv1.ListNamespacesRequest{})
package ferryclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	authv1 "ferry.dev/sdk/go/ferry/auth/v1"
	buildv1 "ferry.dev/sdk/go/ferry/build/v1"
	commonv1 "ferry.dev/sdk/go/ferry/common/v1"
	deployv1 "ferry.dev/sdk/go/ferry/deploy/v1"
)

// The most one WaitOperation call waits (the service caps it at 10 minutes).
const maxWait = 10 * time.Minute

// Client is a connection to a Ferry gateway that authenticates every call.
type Client struct {
	conn *grpc.ClientConn
}

// bearer is per-call credentials carrying the token. Its String never shows it.
type bearer struct {
	header string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.header}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

func (bearer) String() string { return "bearer(<redacted>)" }

// New connects to the gateway at address (host:port) with token. The connection is
// plaintext (a gateway on loopback or behind a TLS-terminating proxy) unless options
// include grpc.WithTransportCredentials, which then wins (later options override
// earlier ones); the token is sent either way.
func New(address, token string, options ...grpc.DialOption) (*Client, error) {
	if address == "" {
		return nil, errors.New("ferryclient: address is empty: pass the gateway's host:port")
	}
	if token == "" {
		return nil, errors.New("ferryclient: token is empty: pass a Ferry API token")
	}
	all := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearer{header: "Bearer " + token}),
	}, options...)
	conn, err := grpc.NewClient(address, all...)
	if err != nil {
		return nil, fmt.Errorf("ferryclient: connect to %s: %w", address, err)
	}
	return &Client{conn: conn}, nil
}

// Conn is the authenticated connection, for any generated client
// (routingv1.NewRoutingServiceClient(client.Conn()), ...).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Tokens is ferry.auth.v1.TokenService.
func (c *Client) Tokens() authv1.TokenServiceClient { return authv1.NewTokenServiceClient(c.conn) }

// Namespaces is ferry.deploy.v1.NamespaceService.
func (c *Client) Namespaces() deployv1.NamespaceServiceClient {
	return deployv1.NewNamespaceServiceClient(c.conn)
}

// Deployments is ferry.deploy.v1.DeploymentService.
func (c *Client) Deployments() deployv1.DeploymentServiceClient {
	return deployv1.NewDeploymentServiceClient(c.conn)
}

// Builds is ferry.build.v1.BuildService.
func (c *Client) Builds() buildv1.BuildServiceClient { return buildv1.NewBuildServiceClient(c.conn) }

// Operations is ferry.common.v1.OperationsService.
func (c *Client) Operations() commonv1.OperationsServiceClient {
	return commonv1.NewOperationsServiceClient(c.conn)
}

// OperationFailedError is returned when an operation ended with an error (failed or
// cancelled).
type OperationFailedError struct {
	// Operation is the operation as it ended.
	Operation *commonv1.Operation
}

func (e *OperationFailedError) Error() string {
	return fmt.Sprintf("operation %s failed: %v", e.Operation.GetName(), e.Status().Err())
}

// Status is the operation's error as a gRPC status, with its details.
func (e *OperationFailedError) Status() *status.Status {
	return status.FromProto(e.Operation.GetError())
}

// WaitOperation waits up to timeout for op to end and returns it as it ended. When
// response is not nil, the operation's response is unpacked into it (it must be the
// message type the operation returns). An operation that is already done (e.g. the
// answer to a validate_only request, which has no name) is not fetched again.
//
// It fails with *OperationFailedError when the operation ended with an error, with a
// context.DeadlineExceeded error when it is still running after timeout, and with the
// call's gRPC status when waiting fails (e.g. NotFound).
func (c *Client) WaitOperation(
	ctx context.Context, op *commonv1.Operation, timeout time.Duration, response proto.Message,
) (*commonv1.Operation, error) {
	if timeout <= 0 {
		return nil, errors.New("ferryclient: timeout must be positive")
	}
	deadline := time.Now().Add(timeout)
	current := op
	for !current.GetDone() {
		if current.GetName() == "" {
			return nil, errors.New("ferryclient: the operation is not done and has no name to wait on")
		}
		left := time.Until(deadline)
		if left <= 0 {
			return current, fmt.Errorf("ferryclient: operation %s not done after %v: %w",
				current.GetName(), timeout, context.DeadlineExceeded)
		}
		wait := min(left, maxWait)
		callCtx, cancel := context.WithTimeout(ctx, wait+5*time.Second)
		next, err := c.Operations().WaitOperation(callCtx, &commonv1.WaitOperationRequest{
			Name:    current.GetName(),
			Timeout: durationpb.New(wait),
		})
		cancel()
		if err != nil {
			return current, err
		}
		current = next
	}
	if current.GetError() != nil {
		return current, &OperationFailedError{Operation: current}
	}
	if current.GetResponse() == nil {
		return current, fmt.Errorf("ferryclient: operation %s is done without a response", current.GetName())
	}
	if response != nil {
		if err := Unpack(current.GetResponse(), response); err != nil {
			return current, err
		}
	}
	return current, nil
}

// Unpack unpacks packed into message, saying which types differ when they do.
func Unpack(packed *anypb.Any, message proto.Message) error {
	if err := packed.UnmarshalTo(message); err != nil {
		return fmt.Errorf("ferryclient: unpack %s into %s: %w",
			packed.GetTypeUrl(), message.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}
