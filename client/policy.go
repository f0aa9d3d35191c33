package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Policy kinds, as they appear in PolicyKind and in the CLI's -type flag.
const (
	// PolicyCedar is a Cedar policy document (sys/policies/cedar/:name).
	PolicyCedar = "cedar"
	// PolicyACL is a Vault HCL ACL policy (sys/policies/acl/:name), which
	// the server compiles to Cedar.
	PolicyACL = "acl"
)

// CedarPolicy is a stored Cedar policy document.
type CedarPolicy struct {
	// Name is the policy's name.
	Name string `json:"name"`
	// Policy is the Cedar text as written.
	Policy string `json:"policy"`
}

// ACLPolicy is a stored Vault HCL ACL policy.
type ACLPolicy struct {
	// Name is the policy's name.
	Name string `json:"name"`
	// Policy is the HCL text as written.
	Policy string `json:"policy"`
	// Cedar is the Cedar text the server compiled the policy to (empty when
	// the server does not say).
	Cedar string `json:"cedar,omitempty"`
}

// PolicyError is returned when the server refuses a policy document as
// invalid (400). It wraps the *ResponseError, so errors.Is(err,
// ErrInvalidRequest) holds. Line and Column are the first position the
// server named ("line L, column C"), 0 when it named none.
type PolicyError struct {
	// Kind is PolicyCedar or PolicyACL, Name the policy written.
	Kind, Name string
	// Line and Column locate the first error in the document (1-based).
	Line, Column int
	// Errors is the server's error list.
	Errors []string
	// Err is the underlying *ResponseError.
	Err error
}

// Error implements error. The message is the server's; callers that wrap
// it name the policy ("write cedar policy NAME: invalid policy: ...").
func (e *PolicyError) Error() string {
	msg := strings.Join(e.Errors, "; ")
	if msg == "" {
		msg = "rejected by the server"
	}
	return "invalid policy: " + msg
}

// Unwrap returns the underlying *ResponseError.
func (e *PolicyError) Unwrap() error { return e.Err }

// PutCedarPolicy creates or replaces the Cedar policy name (PUT
// sys/policies/cedar/:name). A document the server cannot parse or
// validate is a *PolicyError.
func (s *Sys) PutCedarPolicy(ctx context.Context, name, text string) error {
	return s.putPolicy(ctx, PolicyCedar, "sys/policies/cedar/", name, text)
}

// GetCedarPolicy returns the Cedar policy name (GET
// sys/policies/cedar/:name); a missing policy matches ErrNotFound.
func (s *Sys) GetCedarPolicy(ctx context.Context, name string) (*CedarPolicy, error) {
	var out CedarPolicy
	if err := s.getPolicy(ctx, PolicyCedar, "sys/policies/cedar/", name, &out); err != nil {
		return nil, err
	}
	out.Name = cmp.Or(out.Name, name)
	return &out, nil
}

// DeleteCedarPolicy deletes the Cedar policy name (DELETE
// sys/policies/cedar/:name).
func (s *Sys) DeleteCedarPolicy(ctx context.Context, name string) error {
	return s.deletePolicy(ctx, PolicyCedar, "sys/policies/cedar/", name)
}

// ListCedarPolicies returns the names of the Cedar policies (LIST
// sys/policies/cedar); none is an empty slice, not an error.
func (s *Sys) ListCedarPolicies(ctx context.Context) ([]string, error) {
	return s.listPolicies(ctx, PolicyCedar, "sys/policies/cedar")
}

// CedarSchema returns the Cedar schema the server validates policies
// against (GET sys/policies/cedar-schema), in Cedar's schema syntax.
func (s *Sys) CedarSchema(ctx context.Context) (string, error) {
	var out struct {
		Schema string `json:"schema"`
	}
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/policies/cedar-schema"}, &out); err != nil {
		return "", fmt.Errorf("read cedar schema: %w", err)
	}
	return out.Schema, nil
}

// PutACLPolicy creates or replaces the HCL ACL policy name (PUT
// sys/policies/acl/:name). A document the server cannot parse or compile
// is a *PolicyError.
func (s *Sys) PutACLPolicy(ctx context.Context, name, text string) error {
	return s.putPolicy(ctx, PolicyACL, "sys/policies/acl/", name, text)
}

// GetACLPolicy returns the HCL ACL policy name with its compiled Cedar
// (GET sys/policies/acl/:name); a missing policy matches ErrNotFound.
func (s *Sys) GetACLPolicy(ctx context.Context, name string) (*ACLPolicy, error) {
	var out ACLPolicy
	if err := s.getPolicy(ctx, PolicyACL, "sys/policies/acl/", name, &out); err != nil {
		return nil, err
	}
	out.Name = cmp.Or(out.Name, name)
	return &out, nil
}

// DeleteACLPolicy deletes the HCL ACL policy name (DELETE
// sys/policies/acl/:name).
func (s *Sys) DeleteACLPolicy(ctx context.Context, name string) error {
	return s.deletePolicy(ctx, PolicyACL, "sys/policies/acl/", name)
}

// ListACLPolicies returns the names of the HCL ACL policies (LIST
// sys/policies/acl); none is an empty slice, not an error.
func (s *Sys) ListACLPolicies(ctx context.Context) ([]string, error) {
	return s.listPolicies(ctx, PolicyACL, "sys/policies/acl")
}

// ListPolicies returns the ACL policy names from the legacy endpoint GET
// sys/policy ({"policies": [...], "keys": [...]}), as old Vault clients
// read them.
func (s *Sys) ListPolicies(ctx context.Context) ([]string, error) {
	var out struct {
		Policies []string `json:"policies"`
		Keys     []string `json:"keys"`
	}
	if err := s.c.raw(ctx, request{method: http.MethodGet, path: "sys/policy"}, &out); err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	if out.Policies != nil {
		return out.Policies, nil
	}
	if out.Keys == nil {
		return []string{}, nil
	}
	return out.Keys, nil
}

// getPolicy decodes the policy name of kind, stored under prefix, into out.
func (s *Sys) getPolicy(ctx context.Context, kind, prefix, name string, out any) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	if err := s.c.data(ctx, request{method: http.MethodGet, path: prefix + name}, out); err != nil {
		return fmt.Errorf("read %s policy %s: %w", kind, name, err)
	}
	return nil
}

func (s *Sys) putPolicy(ctx context.Context, kind, prefix, name, text string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return invalidArg("%s policy %q is empty", kind, name)
	}
	body := map[string]any{"policy": text}
	err := s.c.send(ctx, request{method: http.MethodPut, path: prefix + name, body: body})
	if err != nil {
		return fmt.Errorf("write %s policy %s: %w", kind, name, policyError(kind, name, err))
	}
	return nil
}

func (s *Sys) deletePolicy(ctx context.Context, kind, prefix, name string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	if err := s.c.send(ctx, request{method: http.MethodDelete, path: prefix + name}); err != nil {
		return fmt.Errorf("delete %s policy %s: %w", kind, name, err)
	}
	return nil
}

func (s *Sys) listPolicies(ctx context.Context, kind, path string) ([]string, error) {
	sec, err := s.c.List(ctx, path)
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s policies: %w", kind, err)
	}
	keys := sec.Keys()
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// checkPolicyName refuses names that would not address one policy.
func checkPolicyName(name string) error {
	if name == "" || strings.TrimSpace(name) != name {
		return invalidArg("policy name %q must be non-empty without surrounding spaces", name)
	}
	if strings.ContainsAny(name, "/?#") || name == "." || name == ".." {
		return invalidArg("policy name %q must not contain /, ? or # or be . or ..", name)
	}
	return nil
}

// positionRE finds "line L, column C" (also "line L col C", "L:C" after
// "line") in a server message.
var positionRE = regexp.MustCompile(`(?i)line\s+(\d+)\s*(?:,\s*|\s+)col(?:umn)?\s+(\d+)`)

// policyError turns a 400 answer into a *PolicyError with its position.
func policyError(kind, name string, err error) error {
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return err
	}
	pe := &PolicyError{Kind: kind, Name: name, Errors: re.Errors, Err: re}
	for _, msg := range re.Errors {
		if m := positionRE.FindStringSubmatch(msg); m != nil {
			pe.Line, _ = strconv.Atoi(m[1])
			pe.Column, _ = strconv.Atoi(m[2])
			break
		}
	}
	return pe
}
