package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Rotation is the rotation-policy API (sys/rotation/*).
type Rotation struct{ c *Client }

// Rotation returns the rotation-policy helpers.
func (c *Client) Rotation() *Rotation { return &Rotation{c: c} }

// RotationPolicy is a rotation policy as GET sys/rotation/policies/:name
// answers it; durations are in seconds.
type RotationPolicy struct {
	Name           string            `json:"name"`
	Match          string            `json:"match"`
	MountType      string            `json:"mount_type,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Schedule       string            `json:"schedule,omitempty"`
	MaxAge         int64             `json:"max_age,omitempty"`
	WarnAt         int64             `json:"warn_at,omitempty"`
	Enforce        string            `json:"enforce,omitempty"`
	OnFailure      string            `json:"on_failure,omitempty"`
	VerifyInterval int64             `json:"verify_interval,omitempty"`
	// Notify are the webhook URLs; NotifySecret (write only) keys their
	// HMAC-SHA256 signature; NotifySecretSet says whether one is set.
	Notify          []string `json:"notify,omitempty"`
	NotifySecret    string   `json:"notify_secret,omitempty"`
	NotifySecretSet bool     `json:"notify_secret_set,omitempty"`
	// Source is "api" or "config" (declared in the server configuration).
	Source string `json:"source,omitempty"`
}

// RotationRun is one entry of a policy's history.
type RotationRun struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Slot    string    `json:"slot,omitempty"`
	Policy  string    `json:"policy"`
	Path    string    `json:"path"`
	Reason  string    `json:"reason"`
	Result  string    `json:"result"`
	Version string    `json:"version,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// SecretRotationStatus is one matched secret's standing under a policy.
type SecretRotationStatus struct {
	Path   string `json:"path"`
	Policy string `json:"policy"`
	// State is ok, warn, overdue or quarantined.
	State        string `json:"state"`
	LastRotated  string `json:"last_rotated"`
	Age          int64  `json:"age"`
	MaxAge       int64  `json:"max_age,omitempty"`
	WarnAt       int64  `json:"warn_at,omitempty"`
	Due          string `json:"due,omitempty"`
	NextRotation string `json:"next_rotation,omitempty"`
}

// RotationStatus is GET sys/rotation/status.
type RotationStatus struct {
	Secrets     []SecretRotationStatus `json:"secrets"`
	OK          int                    `json:"ok"`
	Warn        int                    `json:"warn"`
	Overdue     int                    `json:"overdue"`
	Quarantined int                    `json:"quarantined"`
}

// RotationResult is the answer of a rotation by hand.
type RotationResult struct {
	Path      string `json:"path"`
	Version   string `json:"version"`
	RotatedAt string `json:"rotated_at"`
}

func policyPath(name string) (string, error) {
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("client: invalid rotation policy name %q", name)
	}
	return "sys/rotation/policies/" + url.PathEscape(name), nil
}

// ListPolicies returns the policy names (none: an empty list).
func (r *Rotation) ListPolicies(ctx context.Context) ([]string, error) {
	var out struct {
		Keys []string `json:"keys"`
	}
	err := r.c.data(ctx, request{method: "LIST", path: "sys/rotation/policies"}, &out)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out.Keys, err
}

// GetPolicy reads a policy.
func (r *Rotation) GetPolicy(ctx context.Context, name string) (*RotationPolicy, error) {
	p, err := policyPath(name)
	if err != nil {
		return nil, err
	}
	var out RotationPolicy
	if err := r.c.data(ctx, request{method: http.MethodGet, path: p}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutPolicy writes a policy. Durations are Vault's ("720h", "30d", or
// seconds).
func (r *Rotation) PutPolicy(ctx context.Context, name string, body map[string]any) error {
	p, err := policyPath(name)
	if err != nil {
		return err
	}
	return r.c.send(ctx, request{method: http.MethodPut, path: p, body: body})
}

// DeletePolicy removes a policy.
func (r *Rotation) DeletePolicy(ctx context.Context, name string) error {
	p, err := policyPath(name)
	if err != nil {
		return err
	}
	return r.c.send(ctx, request{method: http.MethodDelete, path: p})
}

// Run runs a policy now.
func (r *Rotation) Run(ctx context.Context, name string) error {
	p, err := policyPath(name)
	if err != nil {
		return err
	}
	return r.c.send(ctx, request{method: http.MethodPut, path: p + "/run"})
}

// History returns a policy's runs, oldest first.
func (r *Rotation) History(ctx context.Context, name string) ([]RotationRun, error) {
	p, err := policyPath(name)
	if err != nil {
		return nil, err
	}
	var out struct {
		Runs []RotationRun `json:"runs"`
	}
	if err := r.c.data(ctx, request{method: http.MethodGet, path: p + "/history"}, &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// Status returns every matched secret's standing.
func (r *Rotation) Status(ctx context.Context) (*RotationStatus, error) {
	var out RotationStatus
	if err := r.c.data(ctx, request{method: http.MethodGet, path: "sys/rotation/status"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Rotate rotates the secret at the full path now (audited).
func (r *Rotation) Rotate(ctx context.Context, path string) (*RotationResult, error) {
	var out RotationResult
	err := r.c.data(ctx, request{method: http.MethodPut, path: "sys/rotation/rotate", body: map[string]any{"path": strings.Trim(path, "/")}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
