package transit

import (
	"crypto"
	_ "crypto/sha256" // registers SHA-224 and SHA-256
	_ "crypto/sha3"   // registers SHA3-*
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// hashes are the hash algorithms of hmac/, sign/, verify/ and hash/,
// by Vault's names.
var hashes = map[string]crypto.Hash{
	"sha2-224": crypto.SHA224, "sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384, "sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224, "sha3-256": crypto.SHA3_256,
	"sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}

// hashOf resolves a hash algorithm name (field names it in the error);
// the URL segment wins over the body field.
func hashOf(field, url, body string) (crypto.Hash, error) {
	name := url
	if name == "" {
		name = body
	}
	if name == "" {
		name = "sha2-256"
	}
	h, ok := hashes[name]
	if !ok {
		return 0, logical.InvalidRequest(field, "unsupported algorithm %q", name)
	}
	return h, nil
}

// batchInput returns the request's batch_input items, or ok=false when
// it sends none. Items are decoded one by one (runBatch), so that a
// bad item fails only itself.
func batchInput(d *framework.FieldData) (items []map[string]any, ok bool, err error) {
	raw, sent := d.Raw["batch_input"]
	if !sent || raw == nil {
		return nil, false, nil
	}
	list, isList := raw.([]any)
	if !isList {
		return nil, true, logical.InvalidRequest("batch_input", "failed to parse batch input: not a list")
	}
	if len(list) == 0 {
		return nil, true, logical.InvalidRequest("batch_input", "missing batch input to process")
	}
	items = make([]map[string]any, len(list))
	for i, it := range list {
		m, isMap := it.(map[string]any)
		if !isMap {
			return nil, true, logical.InvalidRequest("batch_input", "failed to parse batch input: item %d is not an object", i)
		}
		items[i] = m
	}
	return items, true, nil
}

// runBatch serves the request's items with fn, which returns an item's
// result fields: batch_input's items, each decoded by schema and failing
// alone into its result's "error" (Vault's batch_results), or else the
// request's own fields, whose failure is the request's.
func runBatch[T any](d *framework.FieldData, schema map[string]*framework.FieldSchema, fn func(in *T) (map[string]any, error)) (*logical.Response, error) {
	items, batch, err := batchInput(d)
	if err != nil {
		return nil, err
	}
	if !batch {
		var in T
		if err := d.Decode(&in); err != nil {
			return nil, err
		}
		out, err := fn(&in)
		if err != nil {
			return nil, err
		}
		return &logical.Response{Data: out, AuditClear: clearVersion}, nil
	}
	results := make([]any, len(items))
	failed := 0
	for i, it := range items {
		var in T
		var out map[string]any
		err := framework.DecodeData(it, schema, &in)
		if err == nil {
			out, err = fn(&in)
		}
		if err != nil {
			out = map[string]any{"error": itemError(err)}
			failed++
		}
		out["reference"] = reference(it)
		results[i] = out
	}
	resp := &logical.Response{Data: map[string]any{"batch_results": results}}
	if failed > 0 {
		resp.Status = partialFailureStatus(d, failed == len(items))
	}
	return resp, nil
}

// itemError is the "error" of a failed batch item: Vault's message of
// a client error, else the error's text (which holds no secret).
func itemError(err error) string {
	var ire *logical.InvalidRequestError
	if errors.As(err, &ire) {
		return ire.Message
	}
	return err.Error()
}

// reference echoes an item's reference field, as Vault does.
func reference(item map[string]any) string {
	s, _ := item["reference"].(string)
	return s
}

// partialFailureStatus is the status of a batch with failed items, as
// Vault: 400, or the request's partial_failure_response_code when some
// items succeeded.
func partialFailureStatus(d *framework.FieldData, allFailed bool) int {
	if allFailed {
		return 400
	}
	if v, ok := d.Raw["partial_failure_response_code"]; ok {
		if code, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v))); err == nil && code >= 200 && code < 600 {
			return code
		}
	}
	return 400
}
