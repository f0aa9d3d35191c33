package transit

import (
	"context"
	"strconv"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathKeyRotate() *framework.Path {
	return &framework.Path{
		Pattern:      `keys/` + nameRe + `/rotate/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleKeyRotate},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "rotate", logical.CreateOperation: "rotate"},
		HelpSynopsis: "Add a new version to a key and make it the latest.",
	}
}

func (b *Backend) pathKeyConfig() *framework.Path {
	return &framework.Path{
		Pattern: `keys/` + nameRe + `/config/?`,
		// Configuration writes are sudo, as the PKI and SSH engines' config/*.
		Sudo: true,
		Fields: map[string]*framework.FieldSchema{
			"name":                   {Type: framework.TypeString},
			"min_decryption_version": {Type: framework.TypeInt, Description: "Oldest version that still decrypts and verifies."},
			"min_encryption_version": {Type: framework.TypeInt, Description: "Oldest version that may encrypt and sign (0: any)."},
			"deletion_allowed":       {Type: framework.TypeBool, Description: "Allow the key to be deleted."},
			"exportable":             {Type: framework.TypeBool, Description: "Allow export (cannot be undone)."},
			"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Allow a plaintext backup (cannot be undone)."},
			"auto_rotate_period":     {Type: framework.TypeDuration, Description: "Rotate this long after the latest version (0: never; at least 1h)."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleKeyConfig},
		HelpSynopsis: "Configure a named key.",
	}
}

func (b *Backend) pathKeyTrim() *framework.Path {
	return &framework.Path{
		Pattern: `keys/` + nameRe + `/trim/?`,
		Fields: map[string]*framework.FieldSchema{
			"name":                  {Type: framework.TypeString},
			"min_available_version": {Type: framework.TypeInt, Required: true, Description: "Versions below this one are deleted for good."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleKeyTrim},
		HelpSynopsis: "Delete the versions of a key below a version.",
	}
}

// noKey is Vault's 400 for configuring a key that does not exist.
func noKey(name string) error {
	return logical.InvalidRequest("name", "no existing key named %s could be found", name)
}

func (b *Backend) handleKeyRotate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	k, err := b.update(ctx, req.Storage, name, func(p *policy) (*policy, error) {
		if p == nil {
			return nil, noKey(name)
		}
		return p, b.rotate(p)
	})
	if err != nil {
		return nil, err
	}
	return k.infoResponse(nil)
}

// configInput is a key config write; nil means "not sent".
type configInput struct {
	MinDecryptionVersion *int           `json:"min_decryption_version"`
	MinEncryptionVersion *int           `json:"min_encryption_version"`
	DeletionAllowed      *bool          `json:"deletion_allowed"`
	Exportable           *bool          `json:"exportable"`
	AllowPlaintextBackup *bool          `json:"allow_plaintext_backup"`
	AutoRotatePeriod     *time.Duration `json:"auto_rotate_period"`
}

// apply changes p as in asks, with Vault's checks.
func (in *configInput) apply(p *policy) error {
	if v := in.MinDecryptionVersion; v != nil {
		switch {
		case *v < 0:
			return logical.InvalidRequest("min_decryption_version", "min decryption version cannot be negative")
		case *v > p.LatestVersion:
			return logical.InvalidRequest("min_decryption_version", "cannot set min decryption version of %d, latest key version is %d", *v, p.LatestVersion)
		case *v < p.MinAvailableVersion:
			return logical.InvalidRequest("min_decryption_version", "min decryption version should not be less then min available version")
		}
		p.MinDecryptionVersion = max(*v, 1)
	}
	if v := in.MinEncryptionVersion; v != nil {
		switch {
		case *v < 0:
			return logical.InvalidRequest("min_encryption_version", "min encryption version cannot be negative")
		case *v > p.LatestVersion:
			return logical.InvalidRequest("min_encryption_version", "cannot set min encryption version of %d, latest key version is %d", *v, p.LatestVersion)
		case *v != 0 && *v < p.MinAvailableVersion:
			return logical.InvalidRequest("min_encryption_version", "min encryption version should not be less than min available version")
		}
		p.MinEncryptionVersion = *v
	}
	if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion < p.MinDecryptionVersion {
		return logical.InvalidRequest("min_encryption_version", "cannot set min encryption/decryption values; min encryption version of %d must be greater than or equal to min decryption version of %d", p.MinEncryptionVersion, p.MinDecryptionVersion)
	}
	if v := in.DeletionAllowed; v != nil {
		p.DeletionAllowed = *v
	}
	if v := in.Exportable; v != nil {
		if p.Exportable && !*v {
			return logical.InvalidRequest("exportable", "exportability cannot be disabled after enabling")
		}
		p.Exportable = *v
	}
	if v := in.AllowPlaintextBackup; v != nil {
		if p.AllowPlaintextBackup && !*v {
			return logical.InvalidRequest("allow_plaintext_backup", "plaintext backup cannot be disabled after enabling")
		}
		p.AllowPlaintextBackup = *v
	}
	if v := in.AutoRotatePeriod; v != nil {
		if err := checkRotatePeriod(*v); err != nil {
			return err
		}
		p.AutoRotatePeriod = *v
	}
	return nil
}

func (b *Backend) handleKeyConfig(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in configInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	name := d.String("name")
	k, err := b.update(ctx, req.Storage, name, func(p *policy) (*policy, error) {
		if p == nil {
			return nil, noKey(name)
		}
		return p, in.apply(p)
	})
	if err != nil {
		return nil, err
	}
	return k.infoResponse(nil)
}

// handleKeyTrim deletes the versions below min_available_version,
// which may not exceed min_decryption_version nor a set
// min_encryption_version, nor go back.
func (b *Backend) handleKeyTrim(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name, minAvail := d.String("name"), d.Int("min_available_version")
	const field = "min_available_version"
	_, err := b.update(ctx, req.Storage, name, func(p *policy) (*policy, error) {
		switch {
		case p == nil:
			return nil, noKey(name)
		case minAvail <= 0:
			return nil, logical.InvalidRequest(field, "minimum available version should be positive")
		case minAvail < p.MinAvailableVersion:
			return nil, logical.InvalidRequest(field, "minimum available version cannot be decremented")
		case minAvail > p.MinDecryptionVersion:
			return nil, logical.InvalidRequest(field, "minimum available version cannot be greater than minimum decryption version")
		case p.MinEncryptionVersion > 0 && minAvail > p.MinEncryptionVersion:
			return nil, logical.InvalidRequest(field, "minimum available version cannot be greater than minimum encryption version")
		}
		for n := range p.LatestVersion {
			if n+1 < minAvail {
				delete(p.Keys, strconv.Itoa(n+1))
			}
		}
		p.MinAvailableVersion = minAvail
		return p, nil
	})
	return nil, err
}
