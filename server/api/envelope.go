package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// envelope is Vault's response body, field for field and in Vault's order.
type envelope struct {
	RequestID     string         `json:"request_id"`
	LeaseID       string         `json:"lease_id"`
	Renewable     bool           `json:"renewable"`
	LeaseDuration int            `json:"lease_duration"`
	Data          map[string]any `json:"data"`
	WrapInfo      any            `json:"wrap_info"`
	Warnings      []string       `json:"warnings"`
	Auth          *logical.Auth  `json:"auth"`
	MountType     string         `json:"mount_type"`
}

// renderLogical renders a core answer as Vault does: nil means 204 (404
// {"errors":[]} for reads and lists), a list without keys is a 404 too,
// Raw replaces the envelope. op is the operation the client asked for.
func renderLogical(requestID string, op logical.Operation, mountType string, resp *logical.Response) ([]byte, int, error) {
	if resp == nil {
		if op == logical.ReadOperation || op == logical.ListOperation {
			return nil, 0, newStatusError(http.StatusNotFound, nil)
		}
		return nil, http.StatusNoContent, nil
	}
	if op == logical.ListOperation && emptyList(resp) {
		return nil, 0, newStatusError(http.StatusNotFound, nil)
	}
	var body any = resp.Raw
	if resp.Raw == nil {
		env := envelope{
			RequestID: requestID,
			Data:      resp.Data,
			Warnings:  resp.Warnings,
			Auth:      resp.Auth,
			MountType: mountType,
		}
		if resp.Secret != nil {
			env.LeaseID = resp.Secret.LeaseID
			env.Renewable = resp.Secret.Renewable
			env.LeaseDuration = int(resp.Secret.TTL.Seconds())
		}
		body = env
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(body); err != nil {
		return nil, 0, fmt.Errorf("api: render response: %w", err)
	}
	return buf.Bytes(), http.StatusOK, nil
}

// emptyList follows Vault's RespondErrorCommon: a list answer with no data,
// or whose "keys" is empty, is a 404; other data is returned as is.
func emptyList(resp *logical.Response) bool {
	if len(resp.Data) == 0 {
		return len(resp.Warnings) == 0
	}
	raw, ok := resp.Data["keys"]
	if !ok || raw == nil {
		return false
	}
	switch keys := raw.(type) {
	case []string:
		return len(keys) == 0
	case []any:
		return len(keys) == 0
	}
	return false
}
