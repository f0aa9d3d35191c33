package pki

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) issuerPaths() []*framework.Path {
	refField := fields{"issuer_ref": {Type: framework.TypeString}}
	return []*framework.Path{
		{
			Pattern: `issuers/?`, Unauthenticated: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleIssuerList},
			HelpSynopsis: "List the mount's issuers.",
		},
		{
			Pattern: `issuer/` + refRe + `/(?P<kind>pem|der)`, Fields: refField, Unauthenticated: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleIssuerRaw},
			HelpSynopsis: "An issuer's certificate, PEM or DER.",
		},
		{
			Pattern: `issuer/` + refRe + `/json`, Fields: refField, Unauthenticated: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleIssuerJSON},
			HelpSynopsis: "An issuer's certificate and chain.",
		},
		{
			Pattern: `issuer/` + refRe,
			Fields: fields{
				"issuer_ref":              {Type: framework.TypeString},
				"issuer_name":             {Type: framework.TypeString, Description: "New name of the issuer."},
				"leaf_not_after_behavior": {Type: framework.TypeString, Description: `What to do with a leaf outliving the issuer: "err", "truncate" or "permit".`},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   b.handleIssuerRead,
				logical.UpdateOperation: b.handleIssuerWrite,
				logical.DeleteOperation: b.handleIssuerDelete,
			},
			HelpSynopsis: "Read, rename or delete an issuer.",
		},
	}
}

func (b *Backend) handleIssuerList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	all, err := allIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("pki: no issuers: %w", logical.ErrNotFound)
	}
	cfg, err := loadIssuersConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	keys, info := make([]string, 0, len(all)), map[string]any{}
	for _, is := range all {
		keys = append(keys, is.ID)
		info[is.ID] = map[string]any{"issuer_name": is.Name, "is_default": is.ID == cfg.Default, "key_id": is.KeyID, "serial_number": is.SerialNumber}
	}
	return &logical.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

// issuerData is Vault's issuer read response.
func issuerData(is *issuerEntry) map[string]any {
	return map[string]any{
		"issuer_id": is.ID, "issuer_name": is.Name, "key_id": is.KeyID,
		"certificate": is.Certificate, "ca_chain": is.CAChain, "manual_chain": nil,
		"serial_number": is.SerialNumber, "leaf_not_after_behavior": is.LeafNotAfterBehavior,
		"usage": "crl-signing,issuing-certificates,ocsp-signing,read-only", "revoked": false,
		"revocation_signature_algorithm": "",
		"issuing_certificates":           []string{}, "crl_distribution_points": []string{}, "ocsp_servers": []string{},
		"enable_aia_url_templating": false,
	}
}

var issuerAuditClear = []string{"issuer_id", "issuer_name", "key_id", "certificate", "ca_chain", "serial_number"}

func (b *Backend) handleIssuerRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	is, err := resolveIssuer(ctx, req.Storage, d.String("issuer_ref"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: issuerData(is), AuditClear: issuerAuditClear}, nil
}

func (b *Backend) handleIssuerJSON(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	is, err := resolveIssuer(ctx, req.Storage, d.String("issuer_ref"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"issuer_id": is.ID, "issuer_name": is.Name, "certificate": is.Certificate, "ca_chain": is.CAChain,
	}, AuditClear: issuerAuditClear}, nil
}

func (b *Backend) handleIssuerRaw(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	is, err := resolveIssuer(ctx, req.Storage, d.String("issuer_ref"))
	if err != nil {
		return nil, err
	}
	if d.String("kind") == "pem" {
		return &logical.Response{Binary: &logical.Binary{ContentType: "application/pem-certificate-chain", Data: []byte(is.Certificate + "\n")}}, nil
	}
	cert, err := parseCertPEM(is.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
	}
	return &logical.Response{Binary: &logical.Binary{ContentType: "application/pkix-cert", Data: cert.Raw}}, nil
}

// issuerUpdate is an issuer/:ref write.
type issuerUpdate struct {
	Name     *string `json:"issuer_name"`
	Behavior *string `json:"leaf_not_after_behavior"`
}

func (b *Backend) handleIssuerWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in issuerUpdate
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	is, err := resolveIssuer(ctx, req.Storage, d.String("issuer_ref"))
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := checkName("issuer_name", *in.Name); err != nil {
			return nil, err
		}
		all, err := allIssuers(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		if nameTaken(all, *in.Name, is.ID) {
			return nil, logical.InvalidRequest("issuer_name", "issuer name already in use")
		}
		is.Name = *in.Name
	}
	if in.Behavior != nil {
		switch *in.Behavior {
		case "err", "truncate", "permit":
			is.LeafNotAfterBehavior = *in.Behavior
		default:
			return nil, logical.InvalidRequest("leaf_not_after_behavior", "unknown behavior %q (err, truncate or permit)", *in.Behavior)
		}
	}
	if err := putJSON(ctx, req.Storage, issuerPrefix+is.ID, is); err != nil {
		return nil, err
	}
	b.signers.drop(is.ID)
	return &logical.Response{Data: issuerData(is), AuditClear: issuerAuditClear}, nil
}

func (b *Backend) handleIssuerDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	is, err := resolveIssuer(ctx, req.Storage, d.String("issuer_ref"))
	if err != nil {
		if d.String("issuer_ref") != defaultRef && isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if err := deleteKey(ctx, req.Storage, issuerPrefix+is.ID); err != nil {
		return nil, err
	}
	b.signers.drop(is.ID)
	if err := deleteKey(ctx, req.Storage, crlPrefix+is.ID); err != nil {
		return nil, err
	}
	cfg, err := loadIssuersConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	var resp *logical.Response
	if cfg.Default == is.ID {
		cfg.Default = ""
		if err := putJSON(ctx, req.Storage, issuersConfigKey, cfg); err != nil {
			return nil, err
		}
		resp = &logical.Response{Warnings: []string{"Deleted issuer was the default; set another with config/issuers."}}
	}
	return resp, nil
}

// setDefaultIssuer points config/issuers at ref (follows nil: keep).
func (b *Backend) setDefaultIssuer(ctx context.Context, s logical.Storage, ref string, follows *bool) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg, err := loadIssuersConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if ref != "" {
		is, err := resolveIssuer(ctx, s, ref)
		if err != nil {
			return nil, logical.InvalidRequest("default", "%s", err.Error())
		}
		if is.KeyID == "" {
			return nil, logical.InvalidRequest("default", "issuer %s has no key: it cannot be the default", is.ID)
		}
		cfg.Default = is.ID
	}
	if follows != nil {
		cfg.DefaultFollowsLatestIssuer = *follows
	}
	if err := putJSON(ctx, s, issuersConfigKey, cfg); err != nil {
		return nil, err
	}
	return issuersConfigResponse(cfg), nil
}

func issuersConfigResponse(cfg *issuersConfig) *logical.Response {
	return &logical.Response{Data: map[string]any{
		"default": cfg.Default, "default_follows_latest_issuer": cfg.DefaultFollowsLatestIssuer,
	}, AuditClear: []string{"default", "default_follows_latest_issuer"}}
}
