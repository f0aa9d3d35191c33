package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ExplainRequest is the body of POST sys/authz/explain: the request to
// explain. Without Token, Accessor, EntityID or EntityName the server
// explains the decision for the caller's own token.
type ExplainRequest struct {
	// Path is the API path, e.g. "secret/data/app/db".
	Path string `json:"path"`
	// Operation is read, list, create, update, patch or delete.
	Operation string `json:"operation"`
	// Action overrides the Cedar action the operation maps to ("read",
	// "generate", "sudo" ...); empty lets the server derive it.
	Action string `json:"action,omitempty"`
	// Token, Accessor, EntityID and EntityName choose the principal; at
	// most one is normally set.
	Token      string `json:"token,omitempty"`
	Accessor   string `json:"accessor,omitempty"`
	EntityID   string `json:"entity_id,omitempty"`
	EntityName string `json:"entity_name,omitempty"`
	// RemoteAddr is the client address the context carries (an IP).
	RemoteAddr string `json:"remote_addr,omitempty"`
	// TTL is the requested TTL in the context, a duration such as "1h".
	TTL string `json:"ttl,omitempty"`
}

// ExplainedPolicy is one policy that took part in a decision.
type ExplainedPolicy struct {
	// ID is the policy id (its @id annotation or name).
	ID string `json:"id"`
	// Text is the policy's Cedar source.
	Text string `json:"text"`
}

// Explanation is the answer of sys/authz/explain: the Cedar decision for
// the request and everything it was made from.
type Explanation struct {
	// Allowed is the verdict.
	Allowed bool `json:"allowed"`
	// Reason says in a sentence why.
	Reason string `json:"reason"`
	// PolicyIDs names the policies that decided: the permits that allowed,
	// or the forbids that denied (empty for a default deny).
	PolicyIDs []string `json:"policy_ids"`
	// Policies holds the text of the deciding policies.
	Policies []ExplainedPolicy `json:"policies"`
	// Principal, Groups, Action and Resource are the Cedar request, e.g.
	// User::"alice", [Group::"dev"], read, Secret::"secret/data/app".
	Principal string   `json:"principal"`
	Groups    []string `json:"groups"`
	Action    string   `json:"action"`
	Resource  string   `json:"resource"`
	// Context is the Cedar context record (remote_addr, ttl, operation ...).
	Context map[string]any `json:"context"`
	// Errors are policy evaluation errors; a policy that errs is skipped.
	Errors []string `json:"errors"`
	// Considered is how many policies were evaluated.
	Considered int `json:"considered"`
}

// Explain asks the server why a request would be allowed or denied (POST
// sys/authz/explain). A denial is an Explanation with Allowed false, not an
// error.
func (s *Sys) Explain(ctx context.Context, req *ExplainRequest) (*Explanation, error) {
	if req == nil || strings.Trim(req.Path, "/") == "" {
		return nil, invalidArg("explain needs a path")
	}
	if req.Operation == "" {
		return nil, invalidArg("explain needs an operation")
	}
	var out Explanation
	if err := s.c.data(ctx, request{method: http.MethodPost, path: "sys/authz/explain", body: req}, &out); err != nil {
		return nil, fmt.Errorf("explain %s %s: %w", req.Operation, req.Path, err)
	}
	return &out, nil
}

// Capabilities returns the capabilities token has on each path (POST
// sys/capabilities), keyed by path as given.
func (s *Sys) Capabilities(ctx context.Context, token string, paths ...string) (map[string][]string, error) {
	if token == "" {
		return nil, invalidArg("capabilities needs a token")
	}
	return s.capabilities(ctx, "sys/capabilities", map[string]any{"token": token}, paths)
}

// CapabilitiesSelf returns the capabilities of the client's own token on
// each path (POST sys/capabilities-self).
func (s *Sys) CapabilitiesSelf(ctx context.Context, paths ...string) (map[string][]string, error) {
	return s.capabilities(ctx, "sys/capabilities-self", map[string]any{}, paths)
}

// CapabilitiesAccessor returns the capabilities of the token with accessor
// on each path (POST sys/capabilities-accessor).
func (s *Sys) CapabilitiesAccessor(ctx context.Context, accessor string, paths ...string) (map[string][]string, error) {
	if accessor == "" {
		return nil, invalidArg("capabilities needs an accessor")
	}
	return s.capabilities(ctx, "sys/capabilities-accessor", map[string]any{"accessor": accessor}, paths)
}

// capabilities posts body plus paths to endpoint and reads Vault's answer:
// each path's list under its own key, in "data" or at the top level, and
// for a single path possibly only under "capabilities".
func (s *Sys) capabilities(ctx context.Context, endpoint string, body map[string]any, paths []string) (map[string][]string, error) {
	if len(paths) == 0 {
		return nil, invalidArg("capabilities needs at least one path")
	}
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return nil, invalidArg("capabilities: empty path")
		}
	}
	body["paths"] = paths
	var raw map[string]json.RawMessage
	if err := s.c.raw(ctx, request{method: http.MethodPost, path: endpoint, body: body}, &raw); err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	if d := raw["data"]; len(d) > 0 && d[0] == '{' {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(d, &inner); err == nil {
			raw = inner
		}
	}
	out := make(map[string][]string, len(paths))
	for _, p := range paths {
		caps, err := capsAt(raw, p)
		if err != nil {
			return nil, fmt.Errorf("capabilities of %s: %w", p, err)
		}
		if caps == nil && len(paths) == 1 {
			if caps, err = capsAt(raw, "capabilities"); err != nil {
				return nil, fmt.Errorf("capabilities of %s: %w", p, err)
			}
		}
		if caps == nil {
			caps = []string{}
		}
		out[p] = caps
	}
	return out, nil
}

// capsAt decodes the string list under key (also tried without a leading
// slash); a missing key is nil.
func capsAt(raw map[string]json.RawMessage, key string) ([]string, error) {
	v, ok := raw[key]
	if !ok {
		v, ok = raw[strings.TrimPrefix(key, "/")]
	}
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var caps []string
	if err := json.Unmarshal(v, &caps); err != nil {
		return nil, fmt.Errorf("client: decode capabilities: %w", err)
	}
	return caps, nil
}
