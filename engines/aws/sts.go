package aws

import (
	"context"
	"errors"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// assumeRole answers AssumeRole credentials of roleArn under a
// non-renewable lease lasting as long as they do.
func (b *Backend) assumeRole(ctx context.Context, s logical.Storage, roleName string, r *role, roleArn, session string, ttl time.Duration) (*logical.Response, error) {
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, s)
	if err != nil {
		return nil, err
	}
	doc, arns, err := sessionPolicy(ctx, c.iam, r)
	if err != nil {
		return nil, err
	}
	in := &sts.AssumeRoleInput{
		RoleArn: awssdk.String(roleArn), RoleSessionName: awssdk.String(session),
		DurationSeconds: awssdk.Int32(int32(ttl / time.Second)),
		PolicyArns:      policyDescriptors(arns),
	}
	if doc != "" {
		in.Policy = awssdk.String(doc)
	}
	if r.ExternalID != "" {
		in.ExternalId = awssdk.String(r.ExternalID)
	}
	for _, k := range sortedKeys(r.SessionTags) {
		in.Tags = append(in.Tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(r.SessionTags[k])})
	}
	out, err := c.sts.AssumeRole(ctx, in)
	if err != nil {
		return nil, awsError("assuming role", err)
	}
	arn := ""
	if out.AssumedRoleUser != nil {
		arn = awssdk.ToString(out.AssumedRoleUser.Arn)
	}
	b.log.InfoContext(ctx, "aws: role assumed", "role", roleName, "role_arn", roleArn, "session", session)
	return b.stsResponse(out.Credentials, arn, map[string]any{"username": session, "policy": roleArn, "is_sts": true})
}

// federationToken answers GetFederationToken credentials restricted by
// the role's policies under a non-renewable lease.
func (b *Backend) federationToken(ctx context.Context, s logical.Storage, roleName string, r *role, ttl time.Duration) (*logical.Response, error) {
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, s)
	if err != nil {
		return nil, err
	}
	doc, arns, err := sessionPolicy(ctx, c.iam, r)
	if err != nil {
		return nil, err
	}
	if doc == "" && len(arns) == 0 {
		return nil, logical.InvalidRequest("policy_document", "must specify at least one of policy_arns or policy_document with %s credential_type", federationTokenCred)
	}
	name, err := b.stsName()
	if err != nil {
		return nil, err
	}
	in := &sts.GetFederationTokenInput{
		Name: awssdk.String(name), DurationSeconds: awssdk.Int32(int32(ttl / time.Second)),
		PolicyArns: policyDescriptors(arns),
	}
	if doc != "" {
		in.Policy = awssdk.String(doc)
	}
	out, err := c.sts.GetFederationToken(ctx, in)
	if err != nil {
		return nil, awsError("generating STS keys", err)
	}
	arn := ""
	if out.FederatedUser != nil {
		arn = awssdk.ToString(out.FederatedUser.Arn)
	}
	b.log.InfoContext(ctx, "aws: federation token issued", "role", roleName, "name", name)
	return b.stsResponse(out.Credentials, arn, map[string]any{"username": name, "policy": doc, "is_sts": true})
}

// stsResponse renders STS credentials as Vault does.
func (b *Backend) stsResponse(cr *types.Credentials, arn string, internal map[string]any) (*logical.Response, error) {
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil || cr.Expiration == nil {
		return nil, errors.New("aws: STS answered no credentials")
	}
	ttl := max(cr.Expiration.Sub(b.now()).Truncate(time.Second), 0)
	return &logical.Response{
		Data: map[string]any{
			"access_key": *cr.AccessKeyId, "secret_key": *cr.SecretAccessKey, "security_token": *cr.SessionToken,
			"arn": arn, "ttl": uint64(ttl / time.Second),
		},
		Secret: &logical.Secret{Type: SecretAccessKeysType, TTL: ttl, Renewable: false, InternalData: internal},
	}, nil
}

func policyDescriptors(arns []string) []types.PolicyDescriptorType {
	var out []types.PolicyDescriptorType
	for _, a := range arns {
		out = append(out, types.PolicyDescriptorType{Arn: awssdk.String(a)})
	}
	return out
}
