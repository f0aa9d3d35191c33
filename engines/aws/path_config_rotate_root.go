package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathConfigRotateRoot() *framework.Path {
	return &framework.Path{
		Pattern:      `config/rotate-root`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRotateRoot},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "rotate"},
		HelpSynopsis: "Rotate the AWS credentials used by this mount.",
	}
}

// handleRotateRoot replaces the root access key and answers the new
// key's id (never its secret).
func (b *Backend) handleRotateRoot(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	id, _, err := b.rotateRoot(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"access_key": id}}, nil
}

// rotateRoot creates a new access key for the root key's IAM user
// (found with GetUser, as Vault), stores it, and deletes the old key
// with the old key itself (a new IAM key may take a moment to be
// accepted everywhere). A failure to delete the old key is reported,
// with the new key already in use, as Vault does.
func (b *Backend) rotateRoot(ctx context.Context, s logical.Storage) (string, time.Time, error) {
	b.root.Lock()
	defer b.root.Unlock()
	c, err := b.clientsFor(ctx, s)
	if err != nil {
		return "", time.Time{}, err
	}
	cfg := c.cfg
	u, err := c.iam.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		return "", time.Time{}, b.rotateFailed(ctx, awsError("calling GetUser", err))
	}
	if u.User == nil || u.User.UserName == nil {
		return "", time.Time{}, b.rotateFailed(ctx, errors.New("aws: GetUser answered no user name"))
	}
	userName := *u.User.UserName
	k, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: awssdk.String(userName)})
	if err != nil {
		return "", time.Time{}, b.rotateFailed(ctx, awsError("calling CreateAccessKey", err))
	}
	if k.AccessKey == nil || k.AccessKey.AccessKeyId == nil || k.AccessKey.SecretAccessKey == nil {
		return "", time.Time{}, b.rotateFailed(ctx, errors.New("aws: CreateAccessKey answered no key"))
	}
	oldID := cfg.AccessKey
	cfg.AccessKey, cfg.SecretKey = *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
	cfg.LastRotated = b.now().UTC()
	if err := putJSON(ctx, s, rootConfigKey, &cfg); err != nil {
		// The new key is unknown to anyone: remove it again.
		if _, derr := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: k.AccessKey.AccessKeyId, UserName: awssdk.String(userName)}); derr != nil {
			b.log.WarnContext(ctx, "aws: could not delete the unsaved new root key", "access_key", cfg.AccessKey, "error", derr)
		}
		return "", time.Time{}, b.rotateFailed(ctx, err)
	}
	b.dropClients()
	_, err = c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: awssdk.String(oldID), UserName: awssdk.String(userName)})
	if err != nil && !notFound(err) {
		return "", time.Time{}, b.rotateFailed(ctx, awsError("deleting old access key", err))
	}
	b.log.InfoContext(ctx, "aws: root credentials rotated", "user", userName, "old_access_key", oldID, "access_key", cfg.AccessKey)
	return cfg.AccessKey, cfg.LastRotated, nil
}

func (b *Backend) rotateFailed(ctx context.Context, err error) error {
	b.log.WarnContext(ctx, "aws: root rotation failed", "error", err)
	return err
}

// verifyRoot signs an STS GetCallerIdentity with the stored root key.
// AWS refusing the key (InvalidClientTokenId, SignatureDoesNotMatch) is
// logical.ErrDrift.
func (b *Backend) verifyRoot(ctx context.Context, s logical.Storage) error {
	b.root.RLock()
	defer b.root.RUnlock()
	c, err := b.clientsFor(ctx, s)
	if err != nil {
		return err
	}
	_, err = c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	switch code := awsCode(err); code {
	case "":
		if err != nil {
			return fmt.Errorf("aws: verify %s: %w", rootConfigKey, err)
		}
		return nil
	case "InvalidClientTokenId", "SignatureDoesNotMatch":
		return fmt.Errorf("aws: verify %s: AWS refuses access key %s (%s): %w", rootConfigKey, c.cfg.AccessKey, code, logical.ErrDrift)
	default:
		return fmt.Errorf("aws: verify %s: %w", rootConfigKey, err)
	}
}
