package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// listMax is the page size of the List* calls revocation makes (as
// Vault's).
const listMax = 1000

// createIAMUser creates an IAM user for a role with the role's policies,
// groups and tags, and an access key, answered under a renewable
// "access_keys" lease bounded by config/lease.
//
// A pending-user record (wal/user/<name>) is stored before the user is
// created and deleted once the key is handed out; a failure deletes what
// was made, and what a failure or a crash leaves behind is deleted by
// Periodic once the record is older than walMinAge (as Vault's WAL
// rollback).
func (b *Backend) createIAMUser(ctx context.Context, s logical.Storage, roleName string, r *role) (*logical.Response, error) {
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, s)
	if err != nil {
		return nil, err
	}
	username, err := b.iamUsername(roleName)
	if err != nil {
		return nil, err
	}
	in := &iam.CreateUserInput{UserName: awssdk.String(username), Path: awssdk.String("/")}
	if r.UserPath != "" {
		in.Path = awssdk.String(r.UserPath)
	}
	if r.PermissionsBoundaryARN != "" {
		in.PermissionsBoundary = awssdk.String(r.PermissionsBoundaryARN)
	}
	if err := putJSON(ctx, s, walPrefix+username, &walUser{UserName: username, Created: b.now().UTC()}); err != nil {
		return nil, err
	}
	u, err := c.iam.CreateUser(ctx, in)
	var key *types.AccessKey
	if err != nil {
		err = awsError("creating IAM user", err)
	} else {
		key, err = provisionUser(ctx, c.iam, username, roleName, r)
	}
	if err != nil {
		b.rollbackUser(ctx, s, c, username)
		return nil, err
	}
	if err := s.Delete(ctx, walPrefix+username); err != nil {
		// The user will be rolled back: its key must not be handed out.
		return nil, fmt.Errorf("aws: commit the creation of IAM user %q: %w", username, err)
	}
	lease, err := loadLease(ctx, s)
	if err != nil || lease == nil {
		lease = &leaseConfig{}
	}
	arn := ""
	if u.User != nil {
		arn = awssdk.ToString(u.User.Arn)
	}
	b.log.InfoContext(ctx, "aws: IAM user created", "role", roleName, "username", username, "access_key", awssdk.ToString(key.AccessKeyId))
	return &logical.Response{
		Data: map[string]any{
			"access_key": awssdk.ToString(key.AccessKeyId), "secret_key": awssdk.ToString(key.SecretAccessKey),
			"security_token": nil, "arn": arn,
		},
		Secret: &logical.Secret{
			Type: SecretAccessKeysType, TTL: lease.Lease, MaxTTL: lease.LeaseMax, Renewable: true,
			InternalData: map[string]any{
				"username": username, "policy": roleName, "is_sts": false,
				"access_key": awssdk.ToString(key.AccessKeyId),
			},
		},
	}, nil
}

// rollbackUser deletes a user whose creation failed, and its
// pending-user record once it is gone (else Periodic retries).
func (b *Backend) rollbackUser(ctx context.Context, s logical.Storage, c *clients, username string) {
	if err := deleteUser(ctx, c.iam, username); err != nil {
		b.log.WarnContext(ctx, "aws: could not remove a partly created IAM user; will retry", "username", username, "error", err)
		return
	}
	if err := s.Delete(ctx, walPrefix+username); err != nil {
		b.log.WarnContext(ctx, "aws: could not delete a pending-user record", "username", username, "error", err)
	}
}

// provisionUser gives a new user the role's policies, groups and tags,
// in Vault's order, and an access key.
func provisionUser(ctx context.Context, c *iam.Client, username, roleName string, r *role) (*types.AccessKey, error) {
	user := awssdk.String(username)
	for _, arn := range r.PolicyArns {
		if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: awssdk.String(arn)}); err != nil {
			return nil, awsError("attaching user policy", err)
		}
	}
	if r.PolicyDocument != "" {
		in := &iam.PutUserPolicyInput{UserName: user, PolicyName: awssdk.String(roleName), PolicyDocument: awssdk.String(r.PolicyDocument)}
		if _, err := c.PutUserPolicy(ctx, in); err != nil {
			return nil, awsError("putting user policy", err)
		}
	}
	for _, g := range r.IAMGroups {
		if _, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: user, GroupName: awssdk.String(g)}); err != nil {
			return nil, awsError("adding user to group", err)
		}
	}
	if len(r.IAMTags) > 0 {
		tags := make([]types.Tag, 0, len(r.IAMTags))
		for _, k := range sortedKeys(r.IAMTags) {
			tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(r.IAMTags[k])})
		}
		if _, err := c.TagUser(ctx, &iam.TagUserInput{UserName: user, Tags: tags}); err != nil {
			return nil, awsError("adding tags to user", err)
		}
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		return nil, awsError("creating access keys", err)
	}
	if out.AccessKey == nil || out.AccessKey.AccessKeyId == nil || out.AccessKey.SecretAccessKey == nil {
		return nil, errors.New("aws: CreateAccessKey answered no key")
	}
	return out.AccessKey, nil
}

// deleteUser removes an IAM user with its access keys, attached and
// inline policies and group memberships. Parts already gone, or the
// whole user, are fine.
func deleteUser(ctx context.Context, c *iam.Client, username string) error {
	user := awssdk.String(username)
	groups, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: user, MaxItems: awssdk.Int32(listMax)})
	if notFound(err) {
		return nil
	}
	if err != nil {
		return awsError("listing groups of user", err)
	}
	inline, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: user, MaxItems: awssdk.Int32(listMax)})
	if err != nil && !notFound(err) {
		return awsError("listing user policies", err)
	}
	attached, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: user, MaxItems: awssdk.Int32(listMax)})
	if err != nil && !notFound(err) {
		return awsError("listing attached user policies", err)
	}
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user, MaxItems: awssdk.Int32(listMax)})
	if err != nil && !notFound(err) {
		return awsError("listing access keys", err)
	}
	var steps []func() error
	if keys != nil {
		for _, k := range keys.AccessKeyMetadata {
			steps = append(steps, func() error {
				_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: k.AccessKeyId})
				return wrapStep("deleting access key", err)
			})
		}
	}
	if attached != nil {
		for _, p := range attached.AttachedPolicies {
			steps = append(steps, func() error {
				_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: p.PolicyArn})
				return wrapStep("detaching user policy", err)
			})
		}
	}
	if inline != nil {
		for _, name := range inline.PolicyNames {
			steps = append(steps, func() error {
				_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user, PolicyName: awssdk.String(name)})
				return wrapStep("deleting user policy", err)
			})
		}
	}
	for _, g := range groups.Groups {
		steps = append(steps, func() error {
			_, err := c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: user, GroupName: g.GroupName})
			return wrapStep("removing user from group", err)
		})
	}
	steps = append(steps, func() error {
		_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
		return wrapStep("deleting IAM user", err)
	})
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// wrapStep is nil for success and for NoSuchEntity (already gone).
func wrapStep(what string, err error) error {
	if err == nil || notFound(err) {
		return nil
	}
	return awsError(what, err)
}

func (b *Backend) secretAccessKeys() *framework.Secret {
	return &framework.Secret{Type: SecretAccessKeysType, Renew: b.handleRenew, Revoke: b.handleRevoke}
}

// leaseOf reads a lease's internal data: the IAM username and whether
// it is an STS lease.
func leaseOf(sec *logical.Secret) (username string, isSTS bool, err error) {
	if raw, ok := sec.InternalData["is_sts"]; ok {
		if isSTS, ok = raw.(bool); !ok {
			return "", false, logical.InvalidRequest("", "secret has is_sts but value could not be understood")
		}
	}
	username, _ = sec.InternalData["username"].(string)
	if username == "" && !isSTS {
		return "", false, logical.InvalidRequest("", "secret is missing username internal data")
	}
	return username, isSTS, nil
}

// handleRenew extends an iam_user lease by the requested increment
// (absent or 0: config/lease's lease, else the mount's default), capped
// so that it ends by its issue time plus lease_max (else the mount's
// maximum). STS credentials cannot be renewed.
func (b *Backend) handleRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	_, isSTS, err := leaseOf(req.Secret)
	if err != nil {
		return nil, err
	}
	if isSTS {
		return nil, logical.InvalidRequest("", "STS credentials cannot be renewed")
	}
	lease, err := loadLease(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if lease == nil {
		lease = &leaseConfig{}
	}
	inc, err := framework.ParseDuration(req.Data["increment"])
	if err != nil {
		return nil, logical.InvalidRequest("increment", "%s", err.Error())
	}
	def, max := b.mountTTLs()
	if lease.Lease > 0 {
		def = lease.Lease
	}
	if lease.LeaseMax > 0 {
		max = lease.LeaseMax
	}
	if inc <= 0 {
		inc = def
	}
	ttl := min(inc, max)
	if !req.Secret.IssueTime.IsZero() {
		left := req.Secret.IssueTime.Add(max).Sub(b.now()).Truncate(time.Second)
		if left <= 0 {
			return nil, logical.InvalidRequest("", "past the max TTL, cannot renew")
		}
		ttl = min(ttl, left)
	}
	out := *req.Secret
	out.TTL, out.MaxTTL, out.Renewable = ttl, lease.LeaseMax, true
	return &logical.Response{Secret: &out}, nil
}

// handleRevoke deletes an iam_user lease's IAM user with everything it
// holds; a user already gone is success. STS credentials cannot be
// revoked (they expire), as in Vault.
func (b *Backend) handleRevoke(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	username, isSTS, err := leaseOf(req.Secret)
	if err != nil || isSTS {
		return nil, err
	}
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := deleteUser(ctx, c.iam, username); err != nil {
		return nil, fmt.Errorf("aws: revoke IAM user %q: %w", username, err)
	}
	b.log.InfoContext(ctx, "aws: IAM user revoked", "username", username)
	return nil, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
