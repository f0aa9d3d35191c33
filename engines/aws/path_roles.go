package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// nameRe is Vault's framework.GenericNameWithAtRegex("name").
const nameRe = `(?P<name>\w(([\w-.@]+)?\w)?)`

var (
	// userPathRe is IAM's user path syntax, as Vault checks it.
	userPathRe = regexp.MustCompile(`^\/([\x21-\x7F]{0,510}\/)?$`)
	// policyARNRe is an IAM managed policy's ARN.
	policyARNRe = regexp.MustCompile(`^arn:aws[\w-]*:iam::(aws|\d{12}):policy/.+$`)
)

func roleFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                     {Type: framework.TypeString, Description: "Name of the role."},
		"credential_type":          {Type: framework.TypeString, Description: "iam_user, assumed_role or federation_token."},
		"role_arns":                {Type: framework.TypeStringSlice, Description: "ARNs of the AWS roles allowed to be assumed (assumed_role)."},
		"policy_arns":              {Type: framework.TypeStringSlice, Description: "ARNs of managed policies: attached to the IAM user (iam_user) or passed as PolicyArns (STS)."},
		"policy_document":          {Type: framework.TypeString, Description: "JSON IAM policy: the user's inline policy (iam_user) or the session policy (STS)."},
		"iam_groups":               {Type: framework.TypeStringSlice, Description: "IAM groups the generated users join (iam_user), or whose policies restrict STS credentials."},
		"iam_tags":                 {Type: framework.TypeStringMap, Description: "Tags of the generated IAM users (iam_user)."},
		"session_tags":             {Type: framework.TypeStringMap, Description: "Session tags of assumed roles (assumed_role)."},
		"external_id":              {Type: framework.TypeString, Description: "External id passed to AssumeRole (assumed_role)."},
		"default_sts_ttl":          {Type: framework.TypeDuration, Description: "Default TTL of STS credentials."},
		"max_sts_ttl":              {Type: framework.TypeDuration, Description: "Maximum TTL of STS credentials."},
		"user_path":                {Type: framework.TypeString, Description: "Path of the generated IAM users (iam_user)."},
		"permissions_boundary_arn": {Type: framework.TypeString, Description: "Managed policy set as the users' permissions boundary (iam_user)."},
	}
}

func (b *Backend) pathRoleList() *framework.Path {
	return &framework.Path{
		Pattern:      `roles/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleRoleList},
		HelpSynopsis: "List the roles.",
	}
}

func (b *Backend) pathRole() *framework.Path {
	return &framework.Path{
		Pattern: `roles/` + nameRe,
		Fields:  roleFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleRoleRead,
			logical.UpdateOperation: b.handleRoleWrite,
			logical.DeleteOperation: b.handleRoleDelete,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
			r, err := loadRole(ctx, req.Storage, d.String("name"))
			return r != nil, err
		},
		HelpSynopsis: "Read, write and delete the roles credentials are made for.",
	}
}

// roleInput is a role write; nil means "not sent" (the stored value
// stays, as Vault).
type roleInput struct {
	CredentialType         *string            `json:"credential_type"`
	RoleArns               *[]string          `json:"role_arns"`
	PolicyArns             *[]string          `json:"policy_arns"`
	PolicyDocument         *string            `json:"policy_document"`
	IAMGroups              *[]string          `json:"iam_groups"`
	IAMTags                *map[string]string `json:"iam_tags"`
	SessionTags            *map[string]string `json:"session_tags"`
	ExternalID             *string            `json:"external_id"`
	DefaultSTSTTL          *time.Duration     `json:"default_sts_ttl"`
	MaxSTSTTL              *time.Duration     `json:"max_sts_ttl"`
	UserPath               *string            `json:"user_path"`
	PermissionsBoundaryARN *string            `json:"permissions_boundary_arn"`
}

// apply sets the fields the request carries on r.
func (in *roleInput) apply(r *role) error {
	if in.CredentialType != nil {
		r.CredentialTypes = []string{*in.CredentialType}
	}
	if in.PolicyDocument != nil {
		doc := *in.PolicyDocument
		if doc != "" {
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(doc)); err != nil {
				return logical.InvalidRequest("policy_document", "cannot parse policy document: %q", doc)
			}
			doc = buf.String()
		}
		r.PolicyDocument = doc
	}
	set(&r.RoleArns, in.RoleArns)
	set(&r.PolicyArns, in.PolicyArns)
	set(&r.IAMGroups, in.IAMGroups)
	set(&r.IAMTags, in.IAMTags)
	set(&r.SessionTags, in.SessionTags)
	set(&r.ExternalID, in.ExternalID)
	set(&r.DefaultSTSTTL, in.DefaultSTSTTL)
	set(&r.MaxSTSTTL, in.MaxSTSTTL)
	set(&r.UserPath, in.UserPath)
	set(&r.PermissionsBoundaryARN, in.PermissionsBoundaryARN)
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// has reports whether the role allows a credential type.
func (r *role) has(t string) bool { return slices.Contains(r.CredentialTypes, t) }

// sts reports whether the role allows an STS credential type.
func (r *role) sts() bool { return r.has(assumedRoleCred) || r.has(federationTokenCred) }

// validate checks a role as Vault does, naming the offending field.
func (r *role) validate() error {
	if len(r.CredentialTypes) == 0 {
		return logical.InvalidRequest("credential_type", "did not supply credential_type")
	}
	for _, t := range r.CredentialTypes {
		if t != iamUserCred && t != assumedRoleCred && t != federationTokenCred {
			return logical.InvalidRequest("credential_type", "unrecognized credential type: %s", t)
		}
	}
	checks := []struct {
		bad        bool
		field, msg string
	}{
		{r.DefaultSTSTTL < 0, "default_sts_ttl", "must not be negative"},
		{r.MaxSTSTTL < 0, "max_sts_ttl", "must not be negative"},
		{r.DefaultSTSTTL != 0 && !r.sts(), "default_sts_ttl", "default_sts_ttl parameter only valid for assumed_role and federation_token credential types"},
		{r.MaxSTSTTL != 0 && !r.sts(), "max_sts_ttl", "max_sts_ttl parameter only valid for assumed_role and federation_token credential types"},
		{r.MaxSTSTTL > 0 && r.DefaultSTSTTL > r.MaxSTSTTL, "default_sts_ttl", `"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value`},
		{r.UserPath != "" && !r.has(iamUserCred), "user_path", "user_path parameter only valid for iam_user credential type"},
		{r.UserPath != "" && !userPathRe.MatchString(r.UserPath), "user_path", fmt.Sprintf("The specified value for user_path is invalid. It must match %q regexp", userPathRe.String())},
		{r.PermissionsBoundaryARN != "" && !r.has(iamUserCred), "permissions_boundary_arn", "cannot supply permissions_boundary_arn when credential_type isn't iam_user"},
		{r.PermissionsBoundaryARN != "" && !policyARNRe.MatchString(r.PermissionsBoundaryARN), "permissions_boundary_arn", "invalid permissions_boundary_arn parameter: expected an IAM policy ARN"},
		{len(r.RoleArns) > 0 && !r.has(assumedRoleCred), "role_arns", "cannot supply role_arns when credential_type isn't assumed_role"},
		{len(r.SessionTags) > 0 && !r.has(assumedRoleCred), "session_tags", "cannot supply session_tags when credential_type isn't assumed_role"},
		{r.ExternalID != "" && !r.has(assumedRoleCred), "external_id", "cannot supply external_id when credential_type isn't assumed_role"},
	}
	for _, c := range checks {
		if c.bad {
			return logical.InvalidRequest(c.field, "%s", c.msg)
		}
	}
	return nil
}

// response renders a role as Vault does.
func (r *role) response() map[string]any {
	return map[string]any{
		"credential_type":          strings.Join(r.CredentialTypes, ","),
		"policy_arns":              r.PolicyArns,
		"role_arns":                r.RoleArns,
		"policy_document":          r.PolicyDocument,
		"iam_groups":               r.IAMGroups,
		"iam_tags":                 r.IAMTags,
		"session_tags":             r.SessionTags,
		"external_id":              r.ExternalID,
		"default_sts_ttl":          int64(r.DefaultSTSTTL.Seconds()),
		"max_sts_ttl":              int64(r.MaxSTSTTL.Seconds()),
		"user_path":                r.UserPath,
		"permissions_boundary_arn": r.PermissionsBoundaryARN,
	}
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("aws: list %s: %w", rolePrefix, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("aws: no roles: %w", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

// mustRole loads a role; a missing one is logical.ErrNotFound.
func mustRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	r, err := loadRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("aws: role %q: %w", name, logical.ErrNotFound)
	}
	return r, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := mustRole(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: r.response()}, nil
}

// handleRoleWrite creates or updates a role: the fields sent replace the
// stored ones, and the result must validate.
func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	var in roleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{Version: 3}
	}
	if err := in.apply(r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, rolePrefix+name, r)
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	if err := req.Storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, fmt.Errorf("aws: delete role %q: %w", name, err)
	}
	return nil, nil
}

// kvPairs returns data with the named fields in Vault's TypeKVPairs
// forms ("k=v,k2=v2" or ["k=v", ...]) turned into objects, which the
// framework's TypeStringMap takes; data itself is not modified.
func kvPairs(data map[string]any, fields ...string) (map[string]any, error) {
	out, cloned := data, false
	for _, f := range fields {
		var pairs []string
		switch v := data[f].(type) {
		case string:
			if v != "" {
				pairs = strings.Split(v, ",")
			}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, logical.InvalidRequest(f, "expected key=value pairs")
				}
				pairs = append(pairs, s)
			}
		case []string:
			pairs = v
		default:
			continue
		}
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || k == "" {
				return nil, logical.InvalidRequest(f, "expected key=value pairs, got %q", p)
			}
			m[k] = v
		}
		if !cloned {
			out, cloned = maps.Clone(data), true
		}
		out[f] = m
	}
	return out, nil
}
