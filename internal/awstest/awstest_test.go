package awstest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/secretumvault/secretumvault/internal/awstest"
)

const (
	rootKey    = "AKIAROOTROOTROOT0001"
	rootSecret = "root/secret/for/tests/only/0123456789ab"
)

func start(t *testing.T) *awstest.Server {
	t.Helper()
	s, err := awstest.New(awstest.Config{AccessKeyID: rootKey, SecretAccessKey: rootSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func creds(ak, sk, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(ak, sk, token)
}

func iamClient(s *awstest.Server, p aws.CredentialsProvider, hc *http.Client) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1, HTTPClient: httpClient(hc)})
}

func stsClient(s *awstest.Server, p aws.CredentialsProvider, hc *http.Client) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", Credentials: p, BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1, HTTPClient: httpClient(hc)})
}

func httpClient(hc *http.Client) *http.Client {
	if hc == nil {
		return http.DefaultClient
	}
	return hc
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// code is the AWS error code of err ("" for none).
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// tamper rewrites request bodies after they were signed.
type tamper struct{ from, to string }

func (tp tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body = bytes.ReplaceAll(body, []byte(tp.from), []byte(tp.to))
	r2 := r.Clone(r.Context())
	r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return http.DefaultTransport.RoundTrip(r2)
}

func TestSignatures(t *testing.T) {
	s := start(t)
	tests := []struct {
		name     string
		p        aws.CredentialsProvider
		hc       *http.Client
		wantCode string
	}{
		{"root key", creds(rootKey, rootSecret, ""), nil, ""},
		{"wrong secret", creds(rootKey, rootSecret+"x", ""), nil, "SignatureDoesNotMatch"},
		{"unknown key", creds("AKIAUNKNOWNUNKNOWN00", rootSecret, ""), nil, "InvalidClientTokenId"},
		{"token with a permanent key", creds(rootKey, rootSecret, "token"), nil, "InvalidClientTokenId"},
		{"body changed after signing", creds(rootKey, rootSecret, ""), &http.Client{Transport: tamper{"UserName=alice", "UserName=mallory"}}, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iamClient(s, tt.p, tt.hc).GetUser(ctx(t), &iam.GetUserInput{UserName: aws.String("alice")})
			if tt.wantCode == "" {
				if code(err) != "NoSuchEntity" {
					t.Fatalf("GetUser(alice) = %v, want NoSuchEntity (the signature is good)", err)
				}
				return
			}
			if code(err) != tt.wantCode {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
		})
	}
}

func TestUnsignedRequestRefused(t *testing.T) {
	s := start(t)
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	resp, err := http.Post(s.URL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

func TestUserLifecycle(t *testing.T) {
	s := start(t)
	s.CreateGroup("devs", nil)
	c := iamClient(s, creds(rootKey, rootSecret, ""), nil)
	steps := []func() error{
		func() error {
			_, err := c.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/vault/")})
			return err
		},
		func() error {
			_, err := c.PutUserPolicy(ctx(t), &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17"}`)})
			return err
		},
		func() error {
			_, err := c.AttachUserPolicy(ctx(t), &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		},
		func() error {
			_, err := c.AddUserToGroup(ctx(t), &iam.AddUserToGroupInput{UserName: aws.String("bob"), GroupName: aws.String("devs")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	key, err := c.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	bob := creds(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")
	id, err := stsClient(s, bob, nil).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:user/vault/bob" {
		t.Fatalf("GetCallerIdentity as bob = %v, %v", id, err)
	}
	if _, err := c.DeleteUser(ctx(t), &iam.DeleteUserInput{UserName: aws.String("bob")}); code(err) != "DeleteConflict" {
		t.Fatalf("DeleteUser with keys = %v, want DeleteConflict", err)
	}
	info, _ := s.User("bob")
	if len(info.AccessKeys) != 1 || len(info.InlinePolicies) != 1 || len(info.AttachedPolicies) != 1 || len(info.Groups) != 1 {
		t.Fatalf("bob = %+v", info)
	}
	if _, err := c.DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: key.AccessKey.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := stsClient(s, bob, nil).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{}); code(err) != "InvalidClientTokenId" {
		t.Fatalf("deleted key: err = %v, want InvalidClientTokenId", err)
	}
}

func TestTemporaryCredentials(t *testing.T) {
	s := start(t)
	arn := s.CreateRole("deploy", awstest.RoleOptions{ExternalID: "ext"})
	c := stsClient(s, creds(rootKey, rootSecret, ""), nil)
	if _, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1")}); code(err) != "AccessDenied" {
		t.Fatalf("AssumeRole without external id = %v, want AccessDenied", err)
	}
	out, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	for _, tt := range []struct {
		name, token, want string
	}{
		{"with its token", *cr.SessionToken, ""},
		{"without its token", "", "InvalidClientTokenId"},
		{"with another token", *cr.SessionToken + "x", "InvalidClientTokenId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := stsClient(s, creds(*cr.AccessKeyId, *cr.SecretAccessKey, tt.token), nil).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
			if code(err) != tt.want || (tt.want == "" && *id.Arn != "arn:aws:sts::123456789012:assumed-role/deploy/s1") {
				t.Fatalf("GetCallerIdentity = %v, %v; want code %q", id, err, tt.want)
			}
		})
	}
	fed, err := c.GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("fed1"), Policy: aws.String(`{}`)})
	if err != nil || *fed.FederatedUser.Arn != "arn:aws:sts::123456789012:federated-user/fed1" {
		t.Fatalf("GetFederationToken = %v, %v", fed, err)
	}
	if calls := s.STSCalls(); len(calls) != 2 || calls[0].ExternalID != "ext" || calls[1].Policy != "{}" {
		t.Fatalf("STS calls = %+v", calls)
	}
}
