package logical

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrBadJSON is the 400 for request data that is not one JSON object
// (Vault's wording, which clients see).
var ErrBadJSON = &InvalidRequestError{Message: "error parsing JSON"}

// DecodeData decodes request data the way Vault does: one JSON object,
// numbers kept as json.Number so that large integers survive; nothing
// (empty, blank or null, which Vault's CLI sends for `write -f`) is nil
// data. Anything else is ErrBadJSON.
func DecodeData(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, ErrBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, ErrBadJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrBadJSON
	}
	return out, nil
}
