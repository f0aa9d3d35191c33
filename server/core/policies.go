package core

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// policyKind tells Cedar policies (operator-written, they scope
// themselves) from Vault ACL policies (HCL, compiled to Cedar and bound
// to the tokens naming them).
type policyKind int

const (
	cedarPolicies policyKind = iota
	aclPolicies
)

func (k policyKind) prefix() string {
	if k == aclPolicies {
		return aclPolicyPrefix
	}
	return cedarPolicyPrefix
}

// Built-in policy names. "root" is not a stored policy: a token holding it
// bypasses authorization. "default" is Vault's default ACL policy: built
// in, replaceable, never deletable.
const (
	rootPolicyName    = "root"
	defaultPolicyName = "default"
)

// policyNameRE is what a policy name may hold (Vault lowercases names).
var policyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,127}$`)

// storedPolicy is the barrier-stored form of a policy.
type storedPolicy struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
}

// policyStore is the active node's policy set: the stored documents and
// the authorizer compiled from them. A change compiles a new authorizer
// from the whole set first, stores the document only when that
// succeeded, then swaps the authorizer in one atomic store: a request
// sees the old set or the new one, never a mix, and a bad document
// leaves the old set in force.
type policyStore struct {
	view storage.Backend

	// mu serialises changes; reads of the documents take it too.
	mu       sync.Mutex
	cedar    map[string]string // name → Cedar text
	acl      map[string]string // name → HCL text (default included)
	compiled map[string]string // ACL name → its Cedar text

	current atomic.Pointer[authz.Cedar]
}

var _ authz.Authorizer = (*policyStore)(nil)

// loadPolicyStore reads every stored policy and compiles the set.
func loadPolicyStore(ctx context.Context, view storage.Backend) (*policyStore, error) {
	p := &policyStore{view: view}
	var err error
	if p.cedar, err = readPolicies(ctx, view, cedarPolicies); err != nil {
		return nil, err
	}
	if p.acl, err = readPolicies(ctx, view, aclPolicies); err != nil {
		return nil, err
	}
	if _, ok := p.acl[defaultPolicyName]; !ok {
		p.acl[defaultPolicyName] = defaultACLPolicy
	}
	cz, compiled, err := compilePolicies(p.cedar, p.acl)
	if err != nil {
		return nil, fmt.Errorf("core: stored policies: %w", err)
	}
	p.compiled = compiled
	p.current.Store(cz)
	return p, nil
}

func readPolicies(ctx context.Context, view storage.Backend, kind policyKind) (map[string]string, error) {
	keys, err := view.List(ctx, kind.prefix())
	if err != nil {
		return nil, fmt.Errorf("core: list policies: %w", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		e, err := view.Get(ctx, kind.prefix()+k)
		if err != nil {
			return nil, fmt.Errorf("core: read policy %s: %w", k, err)
		}
		if e == nil {
			continue
		}
		var sp storedPolicy
		if err := json.Unmarshal(e.Value, &sp); err != nil {
			return nil, fmt.Errorf("core: decode policy %s: %w", k, err)
		}
		out[k] = sp.Policy
	}
	return out, nil
}

// compilePolicies builds an authorizer from the Cedar documents and the
// ACL (HCL) policies.
func compilePolicies(cedarDocs, acl map[string]string) (*authz.Cedar, map[string]string, error) {
	compiled, err := compileACL(acl)
	if err != nil {
		return nil, nil, err
	}
	cz := authz.NewCedar()
	if err := cz.Load(authz.Documents{Cedar: cedarDocs, ACL: compiled}); err != nil {
		return nil, nil, err
	}
	return cz, compiled, nil
}

// Authorize implements authz.Authorizer with the current set.
func (p *policyStore) Authorize(ctx context.Context, req *authz.Request) (authz.Decision, error) {
	return p.current.Load().Authorize(ctx, req)
}

// authorizer is the current compiled set (for explain).
func (p *policyStore) authorizer() *authz.Cedar { return p.current.Load() }

// checkName validates a policy name for a write or delete.
func checkPolicyName(kind policyKind, name string, deleting bool) error {
	if !policyNameRE.MatchString(name) {
		return logical.InvalidRequest("name", "policy names are 1-128 lowercase letters, digits and . _ @ - (got %q)", name)
	}
	if kind == aclPolicies && name == rootPolicyName {
		return logical.InvalidRequest("name", "cannot update the root policy")
	}
	if kind == aclPolicies && deleting && name == defaultPolicyName {
		return logical.InvalidRequest("name", "cannot delete the default policy")
	}
	return nil
}

// get returns a policy's text.
func (p *policyStore) get(kind policyKind, name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text, ok := p.docs(kind)[name]
	return text, ok
}

// compiledACL returns the Cedar text an ACL policy compiled to.
func (p *policyStore) compiledACL(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.compiled[name]
}

// names lists a kind's policy names.
func (p *policyStore) names(kind policyKind) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.docs(kind)))
}

func (p *policyStore) docs(kind policyKind) map[string]string {
	if kind == aclPolicies {
		return p.acl
	}
	return p.cedar
}

// put stores a policy after the whole set with it compiled.
func (p *policyStore) put(ctx context.Context, kind policyKind, name, text string) error {
	if err := checkPolicyName(kind, name, false); err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return logical.InvalidRequest("policy", "the policy is empty")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	next := maps.Clone(p.docs(kind))
	next[name] = text
	return p.install(ctx, kind, next, func() error {
		v, err := json.Marshal(storedPolicy{Name: name, Policy: text})
		if err != nil {
			return err
		}
		return p.view.Put(ctx, &storage.Entry{Key: kind.prefix() + name, Value: v})
	})
}

// remove deletes a policy; deleting one that does not exist is a no-op
// (Vault's behaviour). Deleting the stored "default" is refused.
func (p *policyStore) remove(ctx context.Context, kind policyKind, name string) error {
	if err := checkPolicyName(kind, name, true); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.docs(kind)[name]; !ok {
		return nil
	}
	next := maps.Clone(p.docs(kind))
	delete(next, name)
	return p.install(ctx, kind, next, func() error {
		return p.view.Delete(ctx, kind.prefix()+name)
	})
}

// install compiles the set with next as kind's documents, persists the
// change with write, and only then makes the new set current. The caller
// holds mu.
func (p *policyStore) install(ctx context.Context, kind policyKind, next map[string]string, write func() error) error {
	cedarDocs, acl := p.cedar, p.acl
	if kind == aclPolicies {
		acl = next
	} else {
		cedarDocs = next
	}
	cz, compiled, err := compilePolicies(cedarDocs, acl)
	if err != nil {
		return fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
	}
	if err := write(); err != nil {
		return fmt.Errorf("core: store policy: %w", err)
	}
	p.cedar, p.acl, p.compiled = cedarDocs, acl, compiled
	p.current.Store(cz)
	return nil
}
