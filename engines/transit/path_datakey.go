package transit

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathDatakey() *framework.Path {
	return &framework.Path{
		Pattern: `datakey/(?P<plaintext>[^/]+)/` + nameRe + `(/(?P<urlbits>[^/]+))?`,
		Fields: map[string]*framework.FieldSchema{
			"name":        {Type: framework.TypeString},
			"plaintext":   {Type: framework.TypeString, Description: `"plaintext" returns the data key too, "wrapped" only its ciphertext.`},
			"urlbits":     {Type: framework.TypeString},
			"bits":        {Type: framework.TypeInt, Default: 256, Description: "Data key size: 128, 256 or 512."},
			"context":     {Type: framework.TypeString, Description: "Base64 context of a derived key."},
			"nonce":       {Type: framework.TypeString, Description: "Not supported (convergent encryption)."},
			"key_version": {Type: framework.TypeInt, Description: "Version to encrypt with (0: latest)."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleDatakey},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "generate", logical.CreateOperation: "generate"},
		HelpSynopsis: "Generate a data key encrypted with a named key.",
	}
}

type datakeyInput struct {
	Kind       string `json:"plaintext"`
	URLBits    string `json:"urlbits"`
	Bits       int    `json:"bits"`
	Context    string `json:"context"`
	KeyVersion int    `json:"key_version"`
}

func (in *datakeyInput) bits() (int, error) {
	if in.URLBits != "" {
		if _, err := fmt.Sscanf(in.URLBits, "%d", &in.Bits); err != nil {
			return 0, logical.InvalidRequest("bits", "invalid bits")
		}
	}
	switch in.Bits {
	case 128, 256, 512:
		return in.Bits, nil
	}
	return 0, logical.InvalidRequest("bits", "invalid bits")
}

func (b *Backend) handleDatakey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in datakeyInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.Kind != "plaintext" && in.Kind != "wrapped" {
		return nil, logical.InvalidRequest("plaintext", "invalid path: the type must be plaintext or wrapped")
	}
	bits, err := in.bits()
	if err != nil {
		return nil, err
	}
	context, err := decodeB64("context", in.Context)
	if err != nil {
		return nil, err
	}
	k, err := b.mustKey(ctx, req.Storage, d.String("name"), "encryption")
	if err != nil {
		return nil, err
	}
	dk := make([]byte, bits/8)
	if _, err := io.ReadFull(b.rand, dk); err != nil {
		return nil, fmt.Errorf("%w: random: %w", ErrInternal, err)
	}
	defer clear(dk)
	ct, n, err := k.encrypt(b.rand, in.KeyVersion, context, dk)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"ciphertext": ct, "key_version": n}
	if in.Kind == "plaintext" {
		data["plaintext"] = base64.StdEncoding.EncodeToString(dk)
	}
	return &logical.Response{Data: data, AuditClear: clearVersion}, nil
}
