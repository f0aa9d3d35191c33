package cert

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// nameRegex is Vault's framework.GenericNameRegex.
const nameRegex = `(?P<name>\w(([\w-.]+)?\w)?)`

// constraintFields maps each glob-list field to its place in a roleEntry.
var constraintFields = map[string]func(*roleEntry) *[]string{
	"allowed_names":                func(r *roleEntry) *[]string { return &r.AllowedNames },
	"allowed_common_names":         func(r *roleEntry) *[]string { return &r.AllowedCommonNames },
	"allowed_dns_sans":             func(r *roleEntry) *[]string { return &r.AllowedDNSSANs },
	"allowed_email_sans":           func(r *roleEntry) *[]string { return &r.AllowedEmailSANs },
	"allowed_uri_sans":             func(r *roleEntry) *[]string { return &r.AllowedURISANs },
	"allowed_organizational_units": func(r *roleEntry) *[]string { return &r.AllowedOrganizationalUnits },
	"required_extensions":          func(r *roleEntry) *[]string { return &r.RequiredExtensions },
}

func certFields() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"name":         {Type: framework.TypeString, Description: "The name of the trusted certificate (role)."},
		"certificate":  {Type: framework.TypeString, Description: "PEM of the trusted CA certificates and/or pinned leaf certificates."},
		"display_name": {Type: framework.TypeString, Description: "Display name of the tokens issued; defaults to the name."},
		"allowed_names": {Type: framework.TypeStringSlice,
			Description: "Globs; at least one must match the Common Name, a DNS SAN or an email SAN (deprecated in Vault)."},
		"allowed_common_names":         {Type: framework.TypeStringSlice, Description: "Globs; at least one must match the Common Name."},
		"allowed_dns_sans":             {Type: framework.TypeStringSlice, Description: "Globs; at least one must match a DNS SAN."},
		"allowed_email_sans":           {Type: framework.TypeStringSlice, Description: "Globs; at least one must match an email SAN."},
		"allowed_uri_sans":             {Type: framework.TypeStringSlice, Description: "Globs; at least one must match a URI SAN."},
		"allowed_organizational_units": {Type: framework.TypeStringSlice, Description: "Globs; at least one must match an OU of the subject."},
		"required_extensions": {Type: framework.TypeStringSlice,
			Description: `"oid:value" pairs, value a glob; the leaf must carry every one, as an ASN.1 string.`},
	}
	return tokenfields.WithBasic(f)
}

// certInput is the decoded body of a certs/<name> write; nil means "not
// sent". The glob lists are read through constraintFields.
type certInput struct {
	Certificate *string `json:"certificate"`
	DisplayName *string `json:"display_name"`
}

func (b *Backend) pathCertsList() *framework.Path {
	return &framework.Path{
		Pattern: "certs/?",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: b.handleCertsList,
		},
		HelpSynopsis: "List the trusted certificates.",
	}
}

func (b *Backend) pathCerts() *framework.Path {
	return &framework.Path{
		Pattern: "certs/" + nameRegex,
		Fields:  certFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleCertRead,
			logical.UpdateOperation: b.handleCertWrite,
			logical.DeleteOperation: b.handleCertDelete,
		},
		ExistenceCheck: b.certExists,
		HelpSynopsis:   "Manage one trusted certificate set and the constraints of its logins.",
	}
}

func (b *Backend) handleCertsList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := roleNames(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no trusted certificates", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (b *Backend) certExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := loadRole(ctx, req.Storage, d.String("name"))
	return r != nil, err
}

func (b *Backend) handleCertRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("name"))
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: certificate %q", logical.ErrNotFound, name)
	}
	data := map[string]any{
		"certificate":  r.Certificate,
		"display_name": r.DisplayName,
	}
	for field, get := range constraintFields {
		data[field] = nonNil(*get(r))
	}
	r.BasicResponseData(data)
	return &logical.Response{Data: data}, nil
}

func (b *Backend) handleCertDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if err := req.Storage.Delete(ctx, certKey(d.String("name"))); err != nil {
		return nil, fmt.Errorf("cert: delete %q: %w", d.String("name"), err)
	}
	return nil, nil
}

// handleCertWrite creates a role or updates the fields the request
// carries, as Vault does.
func (b *Backend) handleCertWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.String("name"))
	var in certInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &roleEntry{Name: name}
	}
	if err := applyCertInput(r, &in, d); err != nil {
		return nil, err
	}
	if _, err := parseTrust(r.Certificate); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, certKey(name), r); err != nil {
		return nil, err
	}
	return nil, nil
}

// applyCertInput sets on r what the request carries and validates it.
func applyCertInput(r *roleEntry, in *certInput, d *framework.FieldData) error {
	setIf(&r.Certificate, in.Certificate)
	setIf(&r.DisplayName, in.DisplayName)
	if r.DisplayName == "" {
		r.DisplayName = r.Name
	}
	for field, get := range constraintFields {
		if d.Has(field) {
			*get(r) = trimAll(d.StringSlice(field))
		}
	}
	if err := validateExtensions(r.RequiredExtensions); err != nil {
		return err
	}
	return parseTokenParams(&r.Params, d)
}

// parseTokenParams updates p from the token fields of d, keeps
// token_bound_cidrs as masked blocks and refuses a token_ttl above
// token_max_ttl with Vault's cert message.
func parseTokenParams(p *tokenfields.Params, d *framework.FieldData) error {
	if err := p.Update(d); err != nil {
		return err
	}
	p.BoundCIDRs = tokenfields.PrefixForm(p.BoundCIDRs)
	if p.MaxTTL > 0 && p.TTL > p.MaxTTL {
		return logical.InvalidRequest("", "ttl should be shorter than max_ttl")
	}
	return p.Validate()
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// validateExtensions checks the "oid:value" form of required_extensions
// (Vault panics on an entry without a colon; we refuse it).
func validateExtensions(exts []string) error {
	for _, e := range exts {
		oid, _, ok := strings.Cut(e, ":")
		if !ok || !validOID(oid) {
			return logical.InvalidRequest("required_extensions", `%q is not of the form "oid:value"`, e)
		}
	}
	return nil
}

func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return false
		}
		for _, c := range p {
			oid[i] = oid[i]*10 + int(c-'0')
		}
	}
	return oid.String() == s
}

func trimAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// hasClientAuth reports whether a leaf may authenticate TLS clients: no
// extended key usage at all, client auth, or any.
func hasClientAuth(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}
