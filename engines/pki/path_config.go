package pki

import (
	"context"
	"net/url"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) configPaths() []*framework.Path {
	strs := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeStringSlice, Description: desc}
	}
	ops := func(read, write framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
		return map[logical.Operation]framework.OperationHandler{logical.ReadOperation: read, logical.UpdateOperation: write}
	}
	return []*framework.Path{
		{
			Pattern: `config/urls`, Sudo: true,
			Fields: fields{
				"issuing_certificates":    strs("URLs of the issuing CA certificate (AIA caIssuers)."),
				"crl_distribution_points": strs("URLs of the CRL (CRL distribution points)."),
				"ocsp_servers":            strs("URLs of the OCSP responder (AIA OCSP)."),
				"enable_templating":       {Type: framework.TypeBool, Description: "Not supported; must be false."},
			},
			Operations:   ops(b.handleURLsRead, b.handleURLsWrite),
			HelpSynopsis: "The URLs put in issued certificates.",
		},
		{
			Pattern: `config/crl`, Sudo: true,
			Fields: fields{
				"expiry":       {Type: framework.TypeDuration, Description: "How long a CRL is valid (default 72h)."},
				"disable":      {Type: framework.TypeBool, Description: "Stop building CRLs."},
				"ocsp_disable": {Type: framework.TypeBool, Description: "Stop answering OCSP."},
				"ocsp_expiry":  {Type: framework.TypeDuration, Description: "How long an OCSP response is valid (default 12h)."},
				"auto_rebuild": {Type: framework.TypeBool, Description: "Accepted for compatibility: CRLs are always rebuilt before they lapse."},
			},
			Operations:   ops(b.handleCRLConfigRead, b.handleCRLConfigWrite),
			HelpSynopsis: "CRL and OCSP validity.",
		},
		{
			Pattern: `config/issuers`, Sudo: true,
			Fields: fields{
				"default":                       {Type: framework.TypeString, Description: "The default issuer (id or name)."},
				"default_follows_latest_issuer": {Type: framework.TypeBool, Description: "Make each new issuer the default."},
			},
			Operations:   ops(b.handleIssuersConfigRead, b.handleIssuersConfigWrite),
			HelpSynopsis: "The mount's default issuer.",
		},
	}
}

func urlsResponse(c *urlsConfig) *logical.Response {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return &logical.Response{Data: map[string]any{
		"issuing_certificates": nz(c.IssuingCertificates), "crl_distribution_points": nz(c.CRLDistributionPoints),
		"ocsp_servers": nz(c.OCSPServers), "enable_templating": false,
	}, AuditClear: []string{"issuing_certificates", "crl_distribution_points", "ocsp_servers", "enable_templating"}}
}

func (b *Backend) handleURLsRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := loadURLs(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return urlsResponse(c), nil
}

type urlsInput struct {
	IssuingCertificates   *[]string `json:"issuing_certificates"`
	CRLDistributionPoints *[]string `json:"crl_distribution_points"`
	OCSPServers           *[]string `json:"ocsp_servers"`
	EnableTemplating      bool      `json:"enable_templating"`
}

func (b *Backend) handleURLsWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in urlsInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.EnableTemplating {
		return nil, logical.InvalidRequest("enable_templating", "AIA URL templating is not supported")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := loadURLs(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		in   *[]string
		dst  *[]string
	}{
		{"issuing_certificates", in.IssuingCertificates, &c.IssuingCertificates},
		{"crl_distribution_points", in.CRLDistributionPoints, &c.CRLDistributionPoints},
		{"ocsp_servers", in.OCSPServers, &c.OCSPServers},
	} {
		if f.in == nil {
			continue
		}
		if err := checkURLs(f.name, *f.in); err != nil {
			return nil, err
		}
		*f.dst = *f.in
	}
	if err := putJSON(ctx, req.Storage, urlsConfigKey, c); err != nil {
		return nil, err
	}
	return urlsResponse(c), nil
}

func crlConfigResponse(c *crlConfig) *logical.Response {
	return &logical.Response{Data: map[string]any{
		"expiry": c.Expiry.String(), "disable": c.Disable, "ocsp_disable": c.OCSPDisable,
		"ocsp_expiry": c.OCSPExpiry.String(), "auto_rebuild": true, "enable_delta": false,
	}}
}

func (b *Backend) handleCRLConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := loadCRLConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return crlConfigResponse(c), nil
}

type crlConfigInput struct {
	Expiry      *time.Duration `json:"expiry"`
	Disable     *bool          `json:"disable"`
	OCSPDisable *bool          `json:"ocsp_disable"`
	OCSPExpiry  *time.Duration `json:"ocsp_expiry"`
}

func (b *Backend) handleCRLConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in crlConfigInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.Expiry != nil && *in.Expiry <= 0 {
		return nil, logical.InvalidRequest("expiry", "must be positive")
	}
	if in.OCSPExpiry != nil && *in.OCSPExpiry < 0 {
		return nil, logical.InvalidRequest("ocsp_expiry", "must not be negative")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := loadCRLConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	set(&c.Expiry, in.Expiry)
	set(&c.Disable, in.Disable)
	set(&c.OCSPDisable, in.OCSPDisable)
	set(&c.OCSPExpiry, in.OCSPExpiry)
	if err := putJSON(ctx, req.Storage, crlConfigKey, c); err != nil {
		return nil, err
	}
	// A new expiry applies to the CRLs now.
	if err := b.rebuildAllCRLs(ctx, req.Storage); err != nil {
		return nil, err
	}
	return crlConfigResponse(c), nil
}

func (b *Backend) handleIssuersConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := loadIssuersConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return issuersConfigResponse(c), nil
}

type issuersConfigInput struct {
	Default *string `json:"default"`
	Follows *bool   `json:"default_follows_latest_issuer"`
}

func (b *Backend) handleIssuersConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in issuersConfigInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	ref := ""
	if in.Default != nil {
		ref = *in.Default
		if ref == "" || ref == defaultRef {
			return nil, logical.InvalidRequest("default", "an issuer id or name is required")
		}
	}
	return b.setDefaultIssuer(ctx, req.Storage, ref, in.Follows)
}

// set copies *v into *dst when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// checkURLs refuses a URL list entry that is not an absolute URL.
func checkURLs(field string, urls []string) error {
	for _, u := range urls {
		if !validURL(u) {
			return logical.InvalidRequest(field, "invalid URL %q", u)
		}
	}
	return nil
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}
