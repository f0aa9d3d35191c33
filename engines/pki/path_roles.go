package pki

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// role is a stored role (role/<name>): what issue/ and sign/ may put in
// a certificate.
type role struct {
	AllowedDomains            []string      `json:"allowed_domains"`
	AllowSubdomains           bool          `json:"allow_subdomains"`
	AllowBareDomains          bool          `json:"allow_bare_domains"`
	AllowGlobDomains          bool          `json:"allow_glob_domains"`
	AllowAnyName              bool          `json:"allow_any_name"`
	AllowIPSANs               bool          `json:"allow_ip_sans"`
	AllowLocalhost            bool          `json:"allow_localhost"`
	AllowWildcardCertificates bool          `json:"allow_wildcard_certificates"`
	EnforceHostnames          bool          `json:"enforce_hostnames"`
	ServerFlag                bool          `json:"server_flag"`
	ClientFlag                bool          `json:"client_flag"`
	KeyType                   string        `json:"key_type"`
	KeyBits                   int           `json:"key_bits"`
	TTL                       time.Duration `json:"ttl"`
	MaxTTL                    time.Duration `json:"max_ttl"`
	NoStore                   bool          `json:"no_store"`
	KeyUsage                  []string      `json:"key_usage"`
	ExtKeyUsage               []string      `json:"ext_key_usage"`
	IssuerRef                 string        `json:"issuer_ref"`
	GenerateLease             bool          `json:"generate_lease"`
	RequireCN                 bool          `json:"require_cn"`
	UseCSRCommonName          bool          `json:"use_csr_common_name"`
	UseCSRSANs                bool          `json:"use_csr_sans"`
	Organization              []string      `json:"organization"`
	OU                        []string      `json:"ou"`
}

// defaultRole is a role with Vault's defaults.
func defaultRole() *role {
	return &role{
		AllowIPSANs: true, AllowLocalhost: true, AllowWildcardCertificates: true, EnforceHostnames: true,
		ServerFlag: true, ClientFlag: true, KeyType: "rsa", KeyBits: 2048,
		KeyUsage:  []string{"DigitalSignature", "KeyAgreement", "KeyEncipherment"},
		IssuerRef: defaultRef, RequireCN: true, UseCSRCommonName: true, UseCSRSANs: true,
	}
}

// roleInput is a role write; nil means "not sent" (a new role takes
// Vault's default).
type roleInput struct {
	AllowedDomains            *[]string      `json:"allowed_domains"`
	AllowSubdomains           *bool          `json:"allow_subdomains"`
	AllowBareDomains          *bool          `json:"allow_bare_domains"`
	AllowGlobDomains          *bool          `json:"allow_glob_domains"`
	AllowAnyName              *bool          `json:"allow_any_name"`
	AllowIPSANs               *bool          `json:"allow_ip_sans"`
	AllowLocalhost            *bool          `json:"allow_localhost"`
	AllowWildcardCertificates *bool          `json:"allow_wildcard_certificates"`
	EnforceHostnames          *bool          `json:"enforce_hostnames"`
	ServerFlag                *bool          `json:"server_flag"`
	ClientFlag                *bool          `json:"client_flag"`
	KeyType                   *string        `json:"key_type"`
	KeyBits                   *int           `json:"key_bits"`
	TTL                       *time.Duration `json:"ttl"`
	MaxTTL                    *time.Duration `json:"max_ttl"`
	NoStore                   *bool          `json:"no_store"`
	KeyUsage                  *[]string      `json:"key_usage"`
	ExtKeyUsage               *[]string      `json:"ext_key_usage"`
	IssuerRef                 *string        `json:"issuer_ref"`
	GenerateLease             *bool          `json:"generate_lease"`
	RequireCN                 *bool          `json:"require_cn"`
	UseCSRCommonName          *bool          `json:"use_csr_common_name"`
	UseCSRSANs                *bool          `json:"use_csr_sans"`
	Organization              *[]string      `json:"organization"`
	OU                        *[]string      `json:"ou"`
}

func (in *roleInput) apply(r *role) {
	set(&r.AllowedDomains, in.AllowedDomains)
	set(&r.AllowSubdomains, in.AllowSubdomains)
	set(&r.AllowBareDomains, in.AllowBareDomains)
	set(&r.AllowGlobDomains, in.AllowGlobDomains)
	set(&r.AllowAnyName, in.AllowAnyName)
	set(&r.AllowIPSANs, in.AllowIPSANs)
	set(&r.AllowLocalhost, in.AllowLocalhost)
	set(&r.AllowWildcardCertificates, in.AllowWildcardCertificates)
	set(&r.EnforceHostnames, in.EnforceHostnames)
	set(&r.ServerFlag, in.ServerFlag)
	set(&r.ClientFlag, in.ClientFlag)
	set(&r.KeyType, in.KeyType)
	set(&r.KeyBits, in.KeyBits)
	set(&r.TTL, in.TTL)
	set(&r.MaxTTL, in.MaxTTL)
	set(&r.NoStore, in.NoStore)
	set(&r.KeyUsage, in.KeyUsage)
	set(&r.ExtKeyUsage, in.ExtKeyUsage)
	set(&r.IssuerRef, in.IssuerRef)
	set(&r.GenerateLease, in.GenerateLease)
	set(&r.RequireCN, in.RequireCN)
	set(&r.UseCSRCommonName, in.UseCSRCommonName)
	set(&r.UseCSRSANs, in.UseCSRSANs)
	set(&r.Organization, in.Organization)
	set(&r.OU, in.OU)
}

// validate checks a role and fills its key size default.
// resetBits drops a size that belonged to the previous key type.
func (r *role) validate(resetBits bool) error {
	if r.IssuerRef == "" {
		r.IssuerRef = defaultRef
	}
	bits := r.KeyBits
	if resetBits {
		bits = 0
	}
	spec, err := resolveKeySpec(r.KeyType, bits, true)
	if err != nil {
		return err
	}
	r.KeyBits = spec.Bits
	switch {
	case r.TTL < 0:
		return logical.InvalidRequest("ttl", "must not be negative")
	case r.MaxTTL < 0:
		return logical.InvalidRequest("max_ttl", "must not be negative")
	case r.MaxTTL > 0 && r.TTL > r.MaxTTL:
		return logical.InvalidRequest("ttl", "ttl cannot be larger than max_ttl")
	}
	if _, err := keyUsages(r.KeyUsage); err != nil {
		return err
	}
	_, err = extKeyUsages(r.ExtKeyUsage, false, false)
	return err
}

// data is Vault's role read response.
func (r *role) data() map[string]any {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"allowed_domains": nz(r.AllowedDomains), "allow_subdomains": r.AllowSubdomains,
		"allow_bare_domains": r.AllowBareDomains, "allow_glob_domains": r.AllowGlobDomains,
		"allow_any_name": r.AllowAnyName, "allow_ip_sans": r.AllowIPSANs, "allow_localhost": r.AllowLocalhost,
		"allow_wildcard_certificates": r.AllowWildcardCertificates, "enforce_hostnames": r.EnforceHostnames,
		"server_flag": r.ServerFlag, "client_flag": r.ClientFlag, "key_type": r.KeyType, "key_bits": r.KeyBits,
		"ttl": int64(r.TTL.Seconds()), "max_ttl": int64(r.MaxTTL.Seconds()), "no_store": r.NoStore,
		"key_usage": nz(r.KeyUsage), "ext_key_usage": nz(r.ExtKeyUsage), "issuer_ref": r.IssuerRef,
		"generate_lease": r.GenerateLease, "require_cn": r.RequireCN,
		"use_csr_common_name": r.UseCSRCommonName, "use_csr_sans": r.UseCSRSANs,
		"organization": nz(r.Organization), "ou": nz(r.OU), "not_before_duration": int64(notBeforeSkew.Seconds()),
	}
}

func roleFields() fields {
	b := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeBool, Description: desc}
	}
	l := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeStringSlice, Description: desc}
	}
	return fields{
		"name":                        {Type: framework.TypeString},
		"allowed_domains":             l("Domains the role may issue for."),
		"allow_subdomains":            b("Allow subdomains of allowed_domains."),
		"allow_bare_domains":          b("Allow the allowed_domains themselves."),
		"allow_glob_domains":          b("Treat allowed_domains with '*' as globs."),
		"allow_any_name":              b("Allow any name."),
		"allow_ip_sans":               b("Allow IP SANs (default true)."),
		"allow_localhost":             b("Allow localhost and localdomain (default true)."),
		"allow_wildcard_certificates": b("Allow wildcard names (default true)."),
		"enforce_hostnames":           b("Require names to be valid hostnames (default true)."),
		"server_flag":                 b("Add the serverAuth extended key usage (default true)."),
		"client_flag":                 b("Add the clientAuth extended key usage (default true)."),
		"key_type":                    {Type: framework.TypeString, Description: `"rsa", "ec", "ed25519" or "any" (sign only).`},
		"key_bits":                    {Type: framework.TypeInt, Description: "Key size (rsa 2048, ec 256 by default)."},
		"ttl":                         {Type: framework.TypeDuration, Description: "Default certificate TTL (0: the mount's)."},
		"max_ttl":                     {Type: framework.TypeDuration, Description: "Maximum certificate TTL (0: the mount's)."},
		"no_store":                    b("Do not store issued certificates (they cannot be revoked)."),
		"key_usage":                   l("Key usages (default DigitalSignature, KeyAgreement, KeyEncipherment)."),
		"ext_key_usage":               l("Extra extended key usages."),
		"issuer_ref":                  {Type: framework.TypeString, Description: "The issuer that signs (default: the mount's default)."},
		"generate_lease":              b("Issue certificates under a lease revoked at its end."),
		"require_cn":                  b("Require a common name (default true)."),
		"use_csr_common_name":         b("sign/: take the CSR's common name when none is sent (default true)."),
		"use_csr_sans":                b("sign/: take the CSR's SANs (default true)."),
		"organization":                l("O values of issued certificates."),
		"ou":                          l("OU values of issued certificates."),
	}
}

func (b *Backend) rolePaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern:      `roles/?`,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleRoleList},
			HelpSynopsis: "List the roles.",
		},
		{
			Pattern: `roles/` + nameRe, Fields: roleFields(),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: b.handleRoleRead, logical.UpdateOperation: b.handleRoleWrite,
				logical.DeleteOperation: b.handleRoleDelete,
			},
			ExistenceCheck: func(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
				r, err := loadRole(ctx, req.Storage, d.String("name"))
				return r != nil, err
			},
			HelpSynopsis: "Manage the roles certificates are issued for.",
		},
	}
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := listKeys(ctx, req.Storage, rolePrefix)
	if err != nil {
		return nil, err
	}
	return listResponse(keys, "roles")
}

// mustRole loads a role; a missing one is a 400 naming the role, as
// Vault's "unknown role".
func mustRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	r, err := loadRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("role", "unknown role: %s", name)
	}
	return r, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := loadRole(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("pki: role %s: %w", d.String("name"), logical.ErrNotFound)
	}
	return &logical.Response{Data: r.data()}, nil
}

func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in roleInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	name := d.String("name")
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = defaultRole()
	}
	in.apply(r)
	if err := r.validate(in.KeyType != nil && in.KeyBits == nil); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, rolePrefix+name, r); err != nil {
		return nil, err
	}
	return &logical.Response{Data: r.data()}, nil
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return nil, deleteKey(ctx, req.Storage, rolePrefix+d.String("name"))
}
