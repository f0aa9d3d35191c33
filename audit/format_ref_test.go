package audit

// The entry encoder as it was before encode.go: the wire structs marshalled
// by encoding/json after an HMAC'd copy of the data was built. It is kept
// as the reference the append encoder must match byte for byte.

import (
	"encoding/json"
	"fmt"
)

// wireAuth is Vault's "auth" object.
type wireAuth struct {
	ClientToken string            `json:"client_token,omitempty"`
	Accessor    string            `json:"accessor,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Policies    []string          `json:"policies,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	EntityID    string            `json:"entity_id,omitempty"`
}

// wireRequest is Vault's "request" object.
type wireRequest struct {
	ID              string         `json:"id,omitempty"`
	Operation       string         `json:"operation,omitempty"`
	MountType       string         `json:"mount_type,omitempty"`
	Path            string         `json:"path,omitempty"`
	Data            map[string]any `json:"data,omitempty"`
	RemoteAddr      string         `json:"remote_address,omitempty"`
	Unauthenticated bool           `json:"unauthenticated,omitempty"`
}

// wireSecret is Vault's "response.secret" object.
type wireSecret struct {
	LeaseID string `json:"lease_id,omitempty"`
}

// wireResponse is Vault's "response" object.
type wireResponse struct {
	Secret     *wireSecret    `json:"secret,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	StatusCode int            `json:"status_code,omitempty"`
}

// wireCedar is our authorization record.
type wireCedar struct {
	Decision  string   `json:"decision"`
	PolicyIDs []string `json:"policy_ids,omitempty"`
}

// wireEntry is one request or response line.
type wireEntry struct {
	Time       string        `json:"time"`
	Type       string        `json:"type"`
	Auth       *wireAuth     `json:"auth"`
	Request    *wireRequest  `json:"request"`
	Response   *wireResponse `json:"response,omitempty"`
	Error      string        `json:"error,omitempty"`
	Cedar      *wireCedar    `json:"cedar"`
	HMACKeyGen uint64        `json:"hmac_key_gen"`
	// seq and prev_hash follow, appended by chainLine.
}

// refEntryBody encodes an entry as the body of a line: the whole line but
// its prefix and chain fields (see chainLine), HMAC'ing its secrets with
// h, the hasher of generation gen, unless enc says otherwise. It only
// reads e.
func refEntryBody(typ string, e *Entry, h *hasher, gen uint64, enc encoding) ([]byte, error) {
	w := wireEntry{
		Time: formatTime(e.Time), Type: typ, Error: e.Error,
		Auth: &wireAuth{
			ClientToken: e.Auth.ClientToken, Accessor: e.Auth.Accessor,
			DisplayName: e.Auth.DisplayName, Policies: e.Auth.Policies,
			Metadata: e.Auth.Metadata, EntityID: e.Auth.EntityID,
		},
		Request: &wireRequest{
			ID: e.RequestID, Operation: e.Operation, MountType: e.MountType, Path: e.Path,
			RemoteAddr: e.RemoteAddr, Unauthenticated: e.Unauthenticated, Data: e.RequestData,
		},
		Cedar:      &wireCedar{Decision: decision(e.Decision.Allowed), PolicyIDs: e.Decision.PolicyIDs},
		HMACKeyGen: gen,
	}
	if typ == TypeResponse {
		w.Response = &wireResponse{Data: e.ResponseData, StatusCode: e.Status}
		if e.LeaseID != "" {
			w.Response.Secret = &wireSecret{LeaseID: e.LeaseID}
		}
	}
	if !enc.raw {
		refHMACSecrets(&w, h, enc)
	}
	body, err := marshalLine(&w)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %s entry: %w", typ, err)
	}
	return body, nil
}

// refHMACSecrets replaces the secrets of w, still the caller's values, by
// their HMACs.
func refHMACSecrets(w *wireEntry, h *hasher, enc encoding) {
	if w.Auth.ClientToken != "" {
		w.Auth.ClientToken = h.hmacString(w.Auth.ClientToken)
	}
	if w.Auth.Accessor != "" && !enc.plainAccessor {
		w.Auth.Accessor = h.hmacString(w.Auth.Accessor)
	}
	w.Request.Data = refHMACMap(h, w.Request.Data)
	if w.Response != nil {
		w.Response.Data = refHMACMap(h, w.Response.Data)
	}
}

// refHMACValue returns a copy of a data tree with every leaf replaced by its
// HMAC: maps and lists keep their keys and shape, a string leaf is HMAC'd
// as is, any other leaf as its JSON encoding, nil stays nil. The input is
// only read.
func refHMACValue(h *hasher, v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return refHMACMap(h, t)
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = refHMACValue(h, x)
		}
		return l
	case []string:
		l := make([]string, len(t))
		for i, x := range t {
			l[i] = h.hmacString(x)
		}
		return l
	case map[string]string:
		m := make(map[string]string, len(t))
		for k, x := range t {
			m[k] = h.hmacString(x)
		}
		return m
	case string:
		return h.hmacString(t)
	case json.Number:
		return h.hmacString(t.String())
	default:
		b, err := json.Marshal(t)
		if err != nil {
			// An unencodable value is still recorded, without content.
			b = []byte(fmt.Sprintf("%T", t))
		}
		return h.hmacString(string(b))
	}
}

// refHMACMap is hmacValue for a map (nil stays nil).
func refHMACMap(h *hasher, m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = refHMACValue(h, x)
	}
	return out
}
