// The Go SDK against a running gateway. Needs FERRY_GATEWAY (host:port of a gateway
// with the deploy service behind it) and FERRY_TOKEN (an admin token); fails, naming
// the missing variable, without them. tests/tests/sdk.rs starts the platform and runs
// `go test ./...` here.
package ferryclient_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	authv1 "ferry.dev/sdk/go/ferry/auth/v1"
	commonv1 "ferry.dev/sdk/go/ferry/common/v1"
	deployv1 "ferry.dev/sdk/go/ferry/deploy/v1"
	"ferry.dev/sdk/go/ferryclient"
)

func env(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set: the SDK tests need a running gateway "+
			"(FERRY_GATEWAY=host:port, FERRY_TOKEN=an admin token)", name)
	}
	return value
}

func connect(t *testing.T, token string) *ferryclient.Client {
	t.Helper()
	client, err := ferryclient.New(env(t, "FERRY_GATEWAY"), token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func suffix(t *testing.T) string {
	t.Helper()
	bytes := make([]byte, 4)
	if _, err := rand.Read(bytes); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(bytes)
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("want %v, got %v", code, err)
	}
}

func TestCallsWithoutATokenAreRefused(t *testing.T) {
	conn, err := grpc.NewClient(env(t, "FERRY_GATEWAY"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = deployv1.NewNamespaceServiceClient(conn).
		ListNamespaces(ctx, &deployv1.ListNamespacesRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func TestNewRefusesEmptyArguments(t *testing.T) {
	if _, err := ferryclient.New("", "token"); err == nil {
		t.Fatal("an empty address was accepted")
	}
	if _, err := ferryclient.New("127.0.0.1:1", ""); err == nil {
		t.Fatal("an empty token was accepted")
	}
}

func TestSDKRoundTrip(t *testing.T) {
	client := connect(t, env(t, "FERRY_TOKEN"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := suffix(t)

	// A new token works on its own.
	created, err := client.Tokens().CreateToken(ctx, &authv1.CreateTokenRequest{
		TokenId: "go-sdk-" + id,
		Token:   &authv1.Token{DisplayName: "go sdk test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetToken().GetName() != "tokens/go-sdk-"+id || created.GetSecret() == "" {
		t.Fatalf("unexpected token %v", created.GetToken())
	}
	listed, err := connect(t, created.GetSecret()).Tokens().
		ListTokens(ctx, &authv1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(listed.GetTokens(), func(token *authv1.Token) bool {
		return token.GetName() == created.GetToken().GetName()
	}) {
		t.Fatalf("the new token does not list itself: %v", listed.GetTokens())
	}

	// Namespaces: the platform one exists; validate_only writes nothing.
	page, err := client.Namespaces().ListNamespaces(ctx, &deployv1.ListNamespacesRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(page.GetNamespaces(), func(namespace *deployv1.Namespace) bool {
		return namespace.GetName() == "namespaces/ferry-system"
	}) {
		t.Fatalf("no ferry-system in %v", page.GetNamespaces())
	}
	namespaceID := "go-" + id
	name := "namespaces/" + namespaceID
	planned, err := client.Namespaces().CreateNamespace(ctx, &deployv1.CreateNamespaceRequest{
		NamespaceId:  namespaceID,
		Namespace:    &deployv1.Namespace{Description: "go sdk"},
		ValidateOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if planned.GetName() != name {
		t.Fatalf("validate_only answered %q", planned.GetName())
	}
	_, err = client.Namespaces().GetNamespace(ctx, &deployv1.GetNamespaceRequest{Name: name})
	wantCode(t, err, codes.NotFound)

	namespace, err := client.Namespaces().CreateNamespace(ctx, &deployv1.CreateNamespaceRequest{
		NamespaceId: namespaceID,
		Namespace:   &deployv1.Namespace{Description: "go sdk"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := client.Namespaces().GetNamespace(ctx, &deployv1.GetNamespaceRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if fetched.GetUid() == "" || fetched.GetUid() != namespace.GetUid() || fetched.GetDescription() != "go sdk" {
		t.Fatalf("created %v, fetched %v", namespace, fetched)
	}

	// Deleting is a long-running operation: wait for it to end.
	op, err := client.Namespaces().DeleteNamespace(ctx, &deployv1.DeleteNamespaceRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(op.GetName(), "operations/") {
		t.Fatalf("operation name %q", op.GetName())
	}
	var empty emptypb.Empty
	done, err := client.WaitOperation(ctx, op, time.Minute, &empty)
	if err != nil {
		t.Fatal(err)
	}
	if !done.GetDone() || done.GetMetadata().GetState() != commonv1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("operation ended as %v", done)
	}
	got, err := client.Operations().GetOperation(ctx, &commonv1.GetOperationRequest{Name: op.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetDone() || got.GetResponse() == nil {
		t.Fatalf("GetOperation after the wait: %v", got)
	}
	// The response is Empty: unpacking it into another type fails with both names.
	err = ferryclient.Unpack(got.GetResponse(), &deployv1.Namespace{})
	if err == nil || !strings.Contains(err.Error(), "ferry.deploy.v1.Namespace") {
		t.Fatalf("unpacking Empty into a Namespace: %v", err)
	}
	_, err = client.Namespaces().GetNamespace(ctx, &deployv1.GetNamespaceRequest{Name: name})
	wantCode(t, err, codes.NotFound)

	// An operation name that does not exist is an error, not a hang.
	_, err = client.WaitOperation(ctx, &commonv1.Operation{Name: "operations/does-not-exist"}, 5*time.Second, nil)
	wantCode(t, err, codes.NotFound)
	var failed *ferryclient.OperationFailedError
	if errors.As(err, &failed) {
		t.Fatalf("a missing operation is no failed operation: %v", err)
	}
	fmt.Println("go sdk: token, namespaces and operation calls passed")
}
