package transit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// maxRandomBytes is Vault's bound on random/.
const maxRandomBytes = 128 * 1024

func (b *Backend) pathRandom() *framework.Path {
	return &framework.Path{
		Pattern: `random(/(?P<source>platform|seal|all))?(/(?P<urlbytes>[0-9]+))?(/(?P<urlformat>hex|base64))?`,
		Fields: map[string]*framework.FieldSchema{
			"source":    {Type: framework.TypeString, Description: "platform (default), seal or all: all read the platform's source."},
			"urlbytes":  {Type: framework.TypeString},
			"urlformat": {Type: framework.TypeString},
			"bytes":     {Type: framework.TypeInt, Default: 32, Description: "Number of bytes."},
			"format":    {Type: framework.TypeString, Default: "base64", Description: "base64 or hex."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRandom},
		HelpSynopsis: "Generate random bytes.",
	}
}

type randomInput struct {
	URLBytes  string `json:"urlbytes"`
	URLFormat string `json:"urlformat"`
	Bytes     int    `json:"bytes"`
	Format    string `json:"format"`
}

func (b *Backend) handleRandom(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in randomInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.URLBytes != "" {
		n, err := strconv.Atoi(in.URLBytes)
		if err != nil {
			return nil, logical.InvalidRequest("bytes", "error parsing url-set byte count: %v", err)
		}
		in.Bytes = n
	}
	if in.URLFormat != "" {
		in.Format = in.URLFormat
	}
	switch {
	case in.Bytes < 1:
		return nil, logical.InvalidRequest("bytes", "bytes must be positive")
	case in.Bytes > maxRandomBytes:
		return nil, logical.InvalidRequest("bytes", "exceeded maximum number of bytes (%d)", maxRandomBytes)
	}
	buf := make([]byte, in.Bytes)
	if _, err := io.ReadFull(b.rand, buf); err != nil {
		return nil, fmt.Errorf("%w: random: %w", ErrInternal, err)
	}
	out, err := encodeAs("format", in.Format, buf)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"random_bytes": out}}, nil
}

// encodeAs renders buf as hex or base64.
func encodeAs(field, format string, buf []byte) (string, error) {
	switch format {
	case "hex":
		return hex.EncodeToString(buf), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(buf), nil
	}
	return "", logical.InvalidRequest(field, "unsupported encoding format %s; must be \"hex\" or \"base64\"", format)
}

func (b *Backend) pathHash() *framework.Path {
	return &framework.Path{
		Pattern: `hash(/(?P<urlalgorithm>[^/]+))?`,
		Fields: map[string]*framework.FieldSchema{
			"urlalgorithm": {Type: framework.TypeString},
			"input":        {Type: framework.TypeString, Required: true, Description: "Base64 input."},
			"algorithm":    {Type: framework.TypeString, Default: "sha2-256", Description: "sha2-224/256/384/512 or sha3-224/256/384/512."},
			"format":       {Type: framework.TypeString, Default: "hex", Description: "hex or base64."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleHash},
		HelpSynopsis: "Hash an input.",
	}
}

type hashInput struct {
	URLAlgorithm string `json:"urlalgorithm"`
	Input        string `json:"input"`
	Algorithm    string `json:"algorithm"`
	Format       string `json:"format"`
}

func (b *Backend) handleHash(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in hashInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	input, err := base64.StdEncoding.DecodeString(in.Input)
	if err != nil {
		return nil, logical.InvalidRequest("input", "unable to decode input as base64")
	}
	h, err := hashOf("algorithm", in.URLAlgorithm, in.Algorithm)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(input)
	sum, err := encodeAs("format", in.Format, hh.Sum(nil))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"sum": sum}}, nil
}
