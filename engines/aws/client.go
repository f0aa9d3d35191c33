package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// defaultRegion is the region when neither config/root nor the
// environment (AWS_REGION, AWS_DEFAULT_REGION) names one, as Vault's.
const defaultRegion = "us-east-1"

// clients are the AWS clients of one config/root.
type clients struct {
	// cfg is the config they were built from (LastRotated cleared).
	cfg rootConfig
	iam *iam.Client
	sts *sts.Client
}

// region is the config's region, else the environment's, else
// us-east-1.
func (c *rootConfig) region() string {
	for _, r := range []string{c.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")} {
		if r != "" {
			return r
		}
	}
	return defaultRegion
}

// newClients builds the IAM and STS clients of cfg.
func (b *Backend) newClients(cfg rootConfig) *clients {
	creds := credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	attempts := 0 // the SDK's default
	if cfg.MaxRetries >= 0 {
		attempts = cfg.MaxRetries + 1
	}
	io := iam.Options{Region: cfg.region(), Credentials: creds, RetryMaxAttempts: attempts}
	so := sts.Options{Region: cfg.region(), Credentials: creds, RetryMaxAttempts: attempts}
	if cfg.IAMEndpoint != "" {
		io.BaseEndpoint = awssdk.String(cfg.IAMEndpoint)
	}
	if cfg.STSEndpoint != "" {
		so.BaseEndpoint = awssdk.String(cfg.STSEndpoint)
	}
	if b.http != nil {
		io.HTTPClient, so.HTTPClient = b.http, b.http
	}
	return &clients{cfg: cfg, iam: iam.New(io), sts: sts.New(so)}
}

// clientsFor returns the clients of the stored config/root, reusing the
// cached pair while the config is unchanged. The caller holds b.root
// (shared or exclusive). No config is a 400.
func (b *Backend) clientsFor(ctx context.Context, s logical.Storage) (*clients, error) {
	cfg, err := loadRoot(ctx, s)
	if err != nil {
		return nil, err
	}
	if cfg == nil || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, logical.InvalidRequest("", "%s", ErrNotConfigured.Error())
	}
	want := *cfg
	want.LastRotated = time.Time{}
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if b.cached != nil && b.cached.cfg == want {
		return b.cached, nil
	}
	b.cached = b.newClients(want)
	return b.cached, nil
}

// dropClients forgets the cached clients.
func (b *Backend) dropClients() {
	b.cmu.Lock()
	b.cached = nil
	b.cmu.Unlock()
}

// awsCode is the AWS error code of err ("" when err is no AWS answer).
func awsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notFound reports whether err is IAM's NoSuchEntity.
func notFound(err error) bool { return awsCode(err) == "NoSuchEntity" }

// awsError reports a failed AWS call as Vault does: an AWS answer is the
// client's 400 ("Error creating IAM user: <AWS error>"), anything else
// (the network) a server error. AWS errors hold no secret.
func awsError(what string, err error) error {
	if awsCode(err) != "" {
		return logical.InvalidRequest("", "Error %s: %s", what, err.Error())
	}
	return fmt.Errorf("aws: %s: %w", what, err)
}
