package transit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// signItemSchema is the schema of one sign/verify/hmac item.
var signItemSchema = map[string]*framework.FieldSchema{
	"input":     {Type: framework.TypeString, Description: "Base64 input."},
	"context":   {Type: framework.TypeString, Description: "Base64 context of a derived key."},
	"signature": {Type: framework.TypeString, Description: "A vault:v<N>: signature to verify."},
	"hmac":      {Type: framework.TypeString, Description: "A vault:v<N>: HMAC to verify."},
	"reference": {Type: framework.TypeString, Description: "Echoed in the batch result."},
}

// signItem is one decoded item.
type signItem struct {
	Input     string `json:"input"`
	Context   string `json:"context"`
	Signature string `json:"signature"`
	HMAC      string `json:"hmac"`
}

func signFields() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"name":                 {Type: framework.TypeString},
		"urlalgorithm":         {Type: framework.TypeString},
		"key_version":          {Type: framework.TypeInt, Description: "Version to sign with (0: latest)."},
		"hash_algorithm":       {Type: framework.TypeString, Description: "sha2-224/256/384/512, sha3-224/256/384/512, or none (default sha2-256)."},
		"algorithm":            {Type: framework.TypeString, Description: "Deprecated alias of hash_algorithm."},
		"prehashed":            {Type: framework.TypeBool, Description: "The input is already a digest."},
		"signature_algorithm":  {Type: framework.TypeString, Description: "RSA: pss (default) or pkcs1v15."},
		"marshaling_algorithm": {Type: framework.TypeString, Default: "asn1", Description: "ECDSA: asn1 (default) or jws."},
		"salt_length":          {Type: framework.TypeString, Default: "auto", Description: "RSA PSS salt length: only auto."},
	}
	for n, s := range signItemSchema {
		f[n] = s
	}
	return f
}

func (b *Backend) pathSign() *framework.Path {
	return &framework.Path{
		Pattern:      `sign/` + nameRe + `(/(?P<urlalgorithm>[^/]+))?`,
		Fields:       signFields(),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSign},
		HelpSynopsis: "Sign an input, or a batch of them, with a named key.",
	}
}

func (b *Backend) pathVerify() *framework.Path {
	return &framework.Path{
		Pattern:      `verify/` + nameRe + `(/(?P<urlalgorithm>[^/]+))?`,
		Fields:       signFields(),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleVerify},
		Actions:      readActions,
		HelpSynopsis: "Verify a signature or HMAC, or a batch of them, with a named key.",
	}
}

// signParams are a sign or verify request's parameters.
type signParams struct {
	URLAlgorithm  string `json:"urlalgorithm"`
	HashAlgorithm string `json:"hash_algorithm"`
	Algorithm     string `json:"algorithm"`
	KeyVersion    int    `json:"key_version"`
	Prehashed     bool   `json:"prehashed"`
	SigAlgorithm  string `json:"signature_algorithm"`
	Marshaling    string `json:"marshaling_algorithm"`
	SaltLength    string `json:"salt_length"`
}

// hashName is the requested hash algorithm: URL, field, alias, default.
func (p *signParams) hashName() string {
	for _, s := range []string{p.URLAlgorithm, p.HashAlgorithm, p.Algorithm} {
		if s != "" {
			return s
		}
	}
	return "sha2-256"
}

// opts validates the parameters.
func (p *signParams) opts() (signOpts, error) {
	o := signOpts{rsaPSS: true}
	switch p.SigAlgorithm {
	case "", "pss":
	case "pkcs1v15":
		o.rsaPSS = false
	default:
		return o, logical.InvalidRequest("signature_algorithm", "unsupported rsa signature algorithm %s", p.SigAlgorithm)
	}
	switch p.Marshaling {
	case "", "asn1":
	case "jws":
		o.marshalJWS = true
	default:
		return o, logical.InvalidRequest("marshaling_algorithm", "invalid marshaling type %q", p.Marshaling)
	}
	if p.SaltLength != "" && p.SaltLength != "auto" {
		return o, logical.InvalidRequest("salt_length", "only salt_length auto is supported")
	}
	name := p.hashName()
	if name == "none" {
		if !p.Prehashed || o.rsaPSS {
			return o, logical.InvalidRequest("hash_algorithm", "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15")
		}
		return o, nil
	}
	h, ok := hashes[name]
	if !ok {
		return o, logical.InvalidRequest("hash_algorithm", "invalid hash algorithm %q", name)
	}
	o.hash = h
	return o, nil
}

// signInput decodes an item's input and, for keys that sign a digest,
// hashes it unless it is prehashed.
func signInput(k *key, in *signItem, p *signParams, o signOpts) (input, context []byte, err error) {
	input, err = base64.StdEncoding.DecodeString(in.Input)
	if err != nil {
		return nil, nil, logical.InvalidRequest("input", "unable to decode input as base64")
	}
	if context, err = decodeB64("context", in.Context); err != nil {
		return nil, nil, err
	}
	if k.p.Type.hashesInput() && !p.Prehashed && o.hash != 0 {
		h := o.hash.New()
		h.Write(input)
		input = h.Sum(nil)
	}
	return input, context, nil
}

// signSetup decodes the parameters and finds the key.
func (b *Backend) signSetup(ctx context.Context, req *logical.Request, d *framework.FieldData) (*key, *signParams, signOpts, error) {
	var p signParams
	if err := d.Decode(&p); err != nil {
		return nil, nil, signOpts{}, err
	}
	o, err := p.opts()
	if err != nil {
		return nil, nil, o, err
	}
	k, err := b.mustKey(ctx, req.Storage, d.String("name"), "signing")
	return k, &p, o, err
}

func (b *Backend) handleSign(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	k, p, o, err := b.signSetup(ctx, req, d)
	if err != nil {
		return nil, err
	}
	if !k.p.Type.signing() {
		return nil, logical.InvalidRequest("name", "key type %s does not support signing", k.p.Type)
	}
	return runBatch(d, signItemSchema, func(in *signItem) (map[string]any, error) {
		input, context, err := signInput(k, in, p, o)
		if err != nil {
			return nil, err
		}
		sig, n, pub, err := k.sign(b.rand, p.KeyVersion, context, input, o)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"signature": sig, "key_version": n}
		if k.p.Derived {
			out["public_key"] = base64.StdEncoding.EncodeToString(pub.(ed25519.PublicKey))
		}
		return out, nil
	})
}

func (b *Backend) handleVerify(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	k, p, o, err := b.signSetup(ctx, req, d)
	if err != nil {
		return nil, err
	}
	return runBatch(d, signItemSchema, func(in *signItem) (map[string]any, error) {
		var valid bool
		switch {
		case in.Signature != "" && in.HMAC != "":
			return nil, logical.InvalidRequest("signature", "provide one of 'signature' or 'hmac'")
		case in.HMAC != "":
			input, err := base64.StdEncoding.DecodeString(in.Input)
			if err != nil {
				return nil, logical.InvalidRequest("input", "unable to decode input as base64")
			}
			if o.hash == 0 {
				return nil, logical.InvalidRequest("hash_algorithm", "unsupported algorithm %q", p.hashName())
			}
			valid, err = k.verifyHMAC(o.hash, input, in.HMAC)
			if err != nil {
				return nil, err
			}
		case in.Signature != "":
			input, context, err := signInput(k, in, p, o)
			if err != nil {
				return nil, err
			}
			if valid, err = k.verify(context, input, in.Signature, o); err != nil {
				return nil, err
			}
		default:
			return nil, logical.InvalidRequest("signature", "neither a 'signature' nor an 'hmac' were given to verify")
		}
		return map[string]any{"valid": valid}, nil
	})
}

func (b *Backend) pathHMAC() *framework.Path {
	return &framework.Path{
		Pattern:      `hmac/` + nameRe + `(/(?P<urlalgorithm>[^/]+))?`,
		Fields:       hmacFields(),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleHMAC},
		HelpSynopsis: "HMAC an input, or a batch of them, with a named key's HMAC key.",
	}
}

func hmacFields() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"name":         {Type: framework.TypeString},
		"urlalgorithm": {Type: framework.TypeString},
		"algorithm":    {Type: framework.TypeString, Default: "sha2-256", Description: "Hash algorithm of the HMAC."},
		"key_version":  {Type: framework.TypeInt, Description: "Version whose HMAC key is used (0: latest)."},
	}
	for n, s := range signItemSchema {
		f[n] = s
	}
	return f
}

type hmacParams struct {
	URLAlgorithm string `json:"urlalgorithm"`
	Algorithm    string `json:"algorithm"`
	KeyVersion   int    `json:"key_version"`
}

func (b *Backend) handleHMAC(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var p hmacParams
	if err := d.Decode(&p); err != nil {
		return nil, err
	}
	h, err := hashOf("algorithm", p.URLAlgorithm, p.Algorithm)
	if err != nil {
		return nil, err
	}
	k, err := b.mustKey(ctx, req.Storage, d.String("name"), "encryption")
	if err != nil {
		return nil, err
	}
	return runBatch(d, signItemSchema, func(in *signItem) (map[string]any, error) {
		input, err := base64.StdEncoding.DecodeString(in.Input)
		if err != nil {
			return nil, logical.InvalidRequest("input", "unable to decode input as base64")
		}
		mac, n, err := k.hmac(p.KeyVersion, h, input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"hmac": mac, "key_version": n}, nil
	})
}
