package client

import (
	"encoding/json"
	"fmt"
)

// Secret is the Vault response envelope. Data values keep JSON numbers as
// json.Number so integers survive intact.
type Secret struct {
	// RequestID identifies the request in the server's audit log.
	RequestID string `json:"request_id"`
	// LeaseID, LeaseDuration (seconds) and Renewable describe the lease of a
	// dynamic secret; for static data LeaseDuration is a refresh hint.
	LeaseID       string `json:"lease_id"`
	LeaseDuration int    `json:"lease_duration"`
	Renewable     bool   `json:"renewable"`
	// Data is the answer's payload.
	Data map[string]any `json:"data"`
	// WrapInfo is set when the answer was response-wrapped.
	WrapInfo *SecretWrapInfo `json:"wrap_info"`
	// Warnings are non-fatal remarks of the server.
	Warnings []string `json:"warnings"`
	// Auth is set when the answer issued or describes a token.
	Auth *SecretAuth `json:"auth"`
	// MountType names the engine that answered, when the server says.
	MountType string `json:"mount_type,omitempty"`
}

// SecretAuth is the "auth" block of a response that issued or describes a token.
type SecretAuth struct {
	ClientToken      string            `json:"client_token"`
	Accessor         string            `json:"accessor"`
	Policies         []string          `json:"policies"`
	TokenPolicies    []string          `json:"token_policies"`
	IdentityPolicies []string          `json:"identity_policies"`
	Metadata         map[string]string `json:"metadata"`
	Orphan           bool              `json:"orphan"`
	EntityID         string            `json:"entity_id"`
	LeaseDuration    int               `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	TokenType        string            `json:"token_type"`
}

// SecretWrapInfo is the "wrap_info" block of a response-wrapped answer.
type SecretWrapInfo struct {
	Token           string `json:"token"`
	Accessor        string `json:"accessor"`
	TTL             int    `json:"ttl"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor"`
}

// Keys returns the string entries of Data["keys"], the shape of every LIST
// answer. It returns nil when s is nil or holds no keys.
func (s *Secret) Keys() []string {
	if s == nil || s.Data == nil {
		return nil
	}
	raw, ok := s.Data["keys"].([]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(raw))
	for _, k := range raw {
		if str, ok := k.(string); ok {
			keys = append(keys, str)
		}
	}
	return keys
}

// decodeData re-marshals s.Data into out, a pointer to a typed struct.
func (s *Secret) decodeData(out any) error {
	if s == nil || s.Data == nil {
		return fmt.Errorf("client: response carries no data")
	}
	raw, err := json.Marshal(s.Data)
	if err != nil {
		return fmt.Errorf("client: re-encode data: %w", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("client: decode data: %w", err)
	}
	return nil
}
