package token

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// createRequest is the body of auth/token/create and create-orphan,
// decoded against createFields (fields in the order they are checked).
type createRequest struct {
	ID              string            `json:"id"`
	Policies        []string          `json:"policies"`
	NoParent        bool              `json:"no_parent"`
	NoDefaultPolicy bool              `json:"no_default_policy"`
	Renewable       *bool             `json:"renewable"`
	TTL             time.Duration     `json:"ttl"`
	ExplicitMaxTTL  time.Duration     `json:"explicit_max_ttl"`
	Period          time.Duration     `json:"period"`
	DisplayName     string            `json:"display_name"`
	NumUses         int               `json:"num_uses"`
	Type            string            `json:"type"`
	Meta            map[string]string `json:"meta"`
	Metadata        map[string]string `json:"metadata"`
}

// createFields is the schema of create and create-orphan: the fields of
// Vault's auth/token/create that the store implements.
var createFields = map[string]*framework.FieldSchema{
	"id":                {Type: framework.TypeString, Description: "Value of the token (root only); generated when empty."},
	"policies":          {Type: framework.TypeStringSlice, Description: "Policies of the token; the parent's when empty."},
	"no_parent":         {Type: framework.TypeBool, Description: "Create an orphan token (root only)."},
	"no_default_policy": {Type: framework.TypeBool, Description: "Do not attach the default policy."},
	"renewable":         {Type: framework.TypeBool, Description: "Whether the token may be renewed (default true)."},
	"ttl":               {Type: framework.TypeDuration, Description: "Initial TTL of the token."},
	"explicit_max_ttl":  {Type: framework.TypeDuration, Description: "Hard limit on the token's lifetime, renewals included."},
	"period":            {Type: framework.TypeDuration, Description: "Make a periodic token renewed for this long each time (root only)."},
	"display_name":      {Type: framework.TypeString, Description: "Name shown for the token, prefixed with \"token-\"."},
	"num_uses":          {Type: framework.TypeInt, Description: "Number of uses before the token is revoked; 0 is unlimited."},
	"type":              {Type: framework.TypeString, Description: "Token type; only \"service\" is supported."},
	"meta":              {Type: framework.TypeStringMap, Description: "Metadata attached to the token."},
	"metadata":          {Type: framework.TypeStringMap, Description: "Alias of meta, used when meta is absent."},
}

var displayNameSanitize = regexp.MustCompile("[^a-zA-Z0-9-]")

func decodeCreate(d *framework.FieldData) (*createRequest, error) {
	c := &createRequest{}
	if err := d.Decode(c); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"ttl", c.TTL}, {"explicit_max_ttl", c.ExplicitMaxTTL}, {"period", c.Period}} {
		if err := nonNegative(f.name, f.v); err != nil {
			return nil, err
		}
	}
	// Vault reads "meta"; its schema documents "metadata": accept both.
	if _, ok := d.Raw["meta"]; !ok {
		c.Meta = c.Metadata
	}
	return c, nil
}

func (s *Store) handleCreate(ctx context.Context, req *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error) {
	return s.createToken(ctx, req, d, caller, false)
}

// handleCreateOrphan is create with no parent; as in Vault, access to this
// path is controlled by policy rather than by requiring root.
func (s *Store) handleCreateOrphan(ctx context.Context, req *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error) {
	return s.createToken(ctx, req, d, caller, true)
}

func (s *Store) createToken(ctx context.Context, req *logical.Request, d *framework.FieldData, parent *Entry, orphan bool) (*logical.Response, error) {
	if parent.limited {
		return nil, badRequest("restricted use token cannot generate child tokens")
	}
	c, err := decodeCreate(d)
	if err != nil {
		return nil, err
	}
	e, err := s.newChild(c, req.Path, parent, orphan, privilegeCheck(ctx, parent))
	if err != nil {
		return nil, err
	}
	warnings, err := s.applyTTL(e, c.TTL, c.ExplicitMaxTTL, parent)
	if err != nil {
		return nil, err
	}
	raw, err := s.mint(ctx, e, c.ID)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Auth: authBlock(e, raw), Warnings: warnings}, nil
}

// newChild validates c against its parent and returns the entry to mint
// (without TTL, id or accessor).
func (s *Store) newChild(c *createRequest, path string, parent *Entry, orphan bool, privileged func() bool) (*Entry, error) {
	needs := c.NoParent || c.Period > 0 || c.ID != "" ||
		len(c.Policies) > 0 && !subset(sanitizePolicies(parent.Policies, false), sanitizePolicies(c.Policies, false))
	root := parent.IsRoot() || needs && privileged()
	switch {
	case c.Type != "" && c.Type != TypeService:
		return nil, logical.InvalidRequest("type", "only service tokens are supported")
	case c.NumUses < 0:
		return nil, badRequest("number of uses cannot be negative")
	case c.NoParent && !root:
		return nil, badRequest("root or sudo privileges required to create orphan token")
	case c.Period > 0 && !root:
		return nil, badRequest("root or sudo privileges required to create periodic token")
	case c.ID != "" && !root:
		return nil, badRequest("root or sudo privileges required to specify token id")
	case c.ID != "" && strings.Contains(c.ID, "."):
		return nil, badRequest("token IDs can not contain a period")
	}
	policies, err := childPolicies(c, parent, root)
	if err != nil {
		return nil, err
	}
	e := &Entry{
		Policies:    policies,
		DisplayName: "token",
		Meta:        c.Meta,
		NumUses:     c.NumUses,
		limited:     c.NumUses > 0,
		Renewable:   c.Renewable == nil || *c.Renewable,
		Period:      c.Period,
		Path:        "auth/token/" + path,
	}
	if c.DisplayName != "" {
		e.DisplayName = strings.TrimSuffix(displayNameSanitize.ReplaceAllString("token-"+c.DisplayName, "-"), "-")
	}
	if !orphan && !c.NoParent {
		e.parent = parent.id
		e.EntityID = parent.EntityID
	}
	return e, nil
}

// childPolicies applies Vault's rules: no policies given inherits the
// parent's; a non-root parent may only grant a subset of its own (and
// passes "default" on only if it has it); a root parent may grant any and
// adds "default" (so may a parent with sudo on the path, privileged);
// no_default_policy strips "default"; only a root parent may create a
// root token.
func childPolicies(c *createRequest, parent *Entry, privileged bool) ([]string, error) {
	root := parent.IsRoot()
	addDefault := false
	requested := c.Policies
	switch {
	case len(requested) == 0:
		requested = parent.Policies
	case !privileged:
		if !subset(sanitizePolicies(parent.Policies, false), sanitizePolicies(requested, false)) {
			return nil, badRequest("child policies must be subset of parent")
		}
		addDefault = !c.NoDefaultPolicy && slices.Contains(parent.Policies, DefaultPolicy)
	default:
		addDefault = !c.NoDefaultPolicy
	}
	policies := sanitizePolicies(requested, addDefault)
	if c.NoDefaultPolicy {
		policies = slices.DeleteFunc(policies, func(p string) bool { return p == DefaultPolicy })
	}
	if slices.Contains(policies, RootPolicy) && !root {
		return nil, badRequest("root tokens may not be created without parent token being root")
	}
	return policies, nil
}

// authBlock renders e as the auth block of a create or renew response.
func authBlock(e *Entry, raw string) *logical.Auth {
	return &logical.Auth{
		ClientToken:   raw,
		Accessor:      e.Accessor,
		Policies:      e.Policies,
		TokenPolicies: e.Policies,
		Metadata:      e.Meta,
		LeaseDuration: int(e.TTL / time.Second),
		Renewable:     e.Renewable,
		EntityID:      e.EntityID,
		TokenType:     TypeService,
		Orphan:        e.Orphan,
		NumUses:       e.NumUses,
	}
}
