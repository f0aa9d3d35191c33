package aws_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/secretumvault/secretumvault/engines/aws"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/internal/awstest"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

const (
	rootKey    = "AKIAROOTROOTROOT0001"
	rootSecret = "root/secret/for/tests/only/0123456789ab"
	rootUser   = "vault-root"
)

// system gives fixed mount TTLs.
type system struct{ def, max time.Duration }

func (system) GeneratePassword(context.Context, string) (string, error) {
	return "", errors.New("not used")
}

func (s system) MountTTLs() (def, max time.Duration) { return s.def, s.max }

// syncBuffer is a log sink safe for concurrent writes (testutil.SyncBuffer).
type syncBuffer = testutil.SyncBuffer

// harness is one aws mount over an inmem store, seen through a view as
// core mounts it, talking to a fake AWS.
type harness struct {
	t     testing.TB
	b     *aws.Backend
	fake  *awstest.Server
	store logical.Storage
	logs  *syncBuffer
	// offset is added to the real time the Backend sees.
	mu     sync.Mutex
	offset time.Duration
	// secrets are the secret values seen, which no log may hold.
	secrets []string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	fake, err := awstest.New(awstest.Config{RootUser: rootUser, AccessKeyID: rootKey, SecretAccessKey: rootSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	h := &harness{
		t: t, fake: fake, store: storage.NewView(inmem.New(), "logical/aws-test/"),
		logs: &syncBuffer{}, secrets: []string{rootSecret},
	}
	h.b = h.mount()
	t.Cleanup(func() {
		h.b.Cleanup(context.Background())
		logs := h.logs.String()
		for _, s := range h.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret is in the logs:\n%s", logs)
			}
		}
	})
	return h
}

// mount builds a Backend over the harness's storage.
func (h *harness) mount() *aws.Backend {
	h.t.Helper()
	b, err := aws.New(context.Background(), &logical.BackendConfig{
		MountPoint: "aws/", Storage: h.store, System: system{def: time.Hour, max: 24 * time.Hour},
	}, aws.WithClock(h.now), aws.WithLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// now is the Backend's clock: real time (the fake checks signatures
// against it) plus an offset tests advance.
func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Now().Add(h.offset)
}

// advance moves the Backend's clock forward.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offset += d
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(h.ctx(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: "aws/", MountType: aws.Type,
	})
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// configure writes config/root with the fake's root key and endpoints.
func (h *harness) configure() {
	h.t.Helper()
	h.must(logical.UpdateOperation, "config/root", map[string]any{
		"access_key": rootKey, "secret_key": rootSecret, "region": "us-east-1",
		"iam_endpoint": h.fake.URL, "sts_endpoint": h.fake.URL, "max_retries": 0,
	})
}

// issued is one creds/sts answer.
type issued struct {
	accessKey, secretKey, token, arn string
	lease                            *logical.Secret
}

// creds reads path and returns the credentials, with the lease's
// IssueTime set as core sets it.
func (h *harness) creds(op logical.Operation, path string, data map[string]any) issued {
	h.t.Helper()
	resp := h.must(op, path, data)
	if resp.Secret == nil {
		h.t.Fatalf("%s: no lease", path)
	}
	sec := *resp.Secret
	sec.IssueTime = time.Now()
	out := issued{accessKey: resp.Data["access_key"].(string), secretKey: resp.Data["secret_key"].(string), lease: &sec}
	out.arn, _ = resp.Data["arn"].(string)
	if tok, ok := resp.Data["security_token"].(string); ok {
		out.token = tok
		h.secrets = append(h.secrets, tok)
	}
	h.secrets = append(h.secrets, out.secretKey)
	return out
}

// secretOp sends the expiration manager's renew or revoke of sec.
func (h *harness) secretOp(op logical.Operation, sec *logical.Secret, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(h.ctx(), &logical.Request{
		Operation: op, Path: "creds/x", Data: data, Secret: sec, Storage: h.store, MountPoint: "aws/", MountType: aws.Type,
	})
}

// callerArn signs an STS GetCallerIdentity with the given key through
// the real SDK and answers the ARN, or the AWS error code.
func (h *harness) callerArn(ak, sk, token string) (string, string) {
	h.t.Helper()
	c := sts.New(sts.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, token),
		BaseEndpoint: awssdk.String(h.fake.URL), RetryMaxAttempts: 1,
	})
	out, err := c.GetCallerIdentity(h.ctx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			h.t.Fatalf("GetCallerIdentity: %v", err)
		}
		return "", ae.ErrorCode()
	}
	return awssdk.ToString(out.Arn), ""
}

// wantErr fails unless err matches target and, for a non-empty msg,
// mentions it.
func wantErr(t testing.TB, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %q, want it to mention %q", err, msg)
	}
}

// wantField fails unless err is a 400 naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	var ire *logical.InvalidRequestError
	if !errors.As(err, &ire) || ire.Field != field {
		t.Fatalf("err = %v, want an invalid request naming %q", err, field)
	}
}
