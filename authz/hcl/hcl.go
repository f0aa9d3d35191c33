// Package hcl compiles Vault HCL ACL policies into Cedar, so that Vault
// users' policies keep working under SecretumVault's Cedar authorizer.
//
// Parse reads one policy (HCL, or JSON as Vault also accepts); Compile
// turns the whole set of stored policies into one Cedar document per HCL
// policy; the server loads document N as an ACL document that applies to
// tokens whose policies include N. Convert is Parse and Compile of one
// file alone, for `vaultctl policy convert`.
//
// The compiled Cedar reproduces Vault's ACL semantics (OpenBao
// internal/vault/policy/acl.go) for every subset of policies a token may
// hold:
//
//   - a rule on a path applies when the token holds its policy, and rules
//     on the identical path in several held policies merge (their
//     capabilities add up; a deny among them denies);
//   - of the different paths matching a request, one alone decides: an
//     exact path first, then (for list) the exact path without the
//     trailing "/", then the highest-priority glob (a later first
//     wildcard, not a prefix, fewer "+", longer, lexically greater), then
//     (for list) a "+" glob matching the path without its trailing "/";
//   - the deciding path must grant the operation's capability, and sudo
//     as well when the route is a sudo path (context.sudo).
//
// Each rule becomes a permit (or, for deny, a forbid) whose when clause
// says "the token holds this policy and this path matches" and whose
// unless clause lists the higher-priority paths of other policies that
// would decide instead. A path that many permits would name instead gets
// its own forbid annotated @veto("acl") ("it decides and the held
// policies having it do not grant the request"), which the permits then
// leave out; authz's Cedar authorizer lets such a veto block only ACL
// permits, so a Cedar-native permit still allows what a deciding ACL path
// merely does not grant (an HCL deny, an ordinary forbid, blocks every
// permit). Options.UnlessOnly names every higher path in unless clauses
// instead. Only features Cedar evaluates are accepted:
// parameter constraints, wrapping TTLs, control groups, MFA, templated
// paths and capabilities we do not enforce are errors, never ignored.
//
// Everything here is pure and safe for concurrent use.
package hcl

import (
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// ErrBadPolicy is wrapped by every error of Parse, Compile and Convert:
// the input policy is malformed or uses a feature we do not enforce.
// errors.Is also matches it against authz.ErrBadPolicy and
// logical.ErrInvalidRequest (HTTP 400).
var ErrBadPolicy error = badPolicy{}

type badPolicy struct{}

func (badPolicy) Error() string { return "hcl: bad policy" }

func (badPolicy) Is(target error) bool {
	return target == authz.ErrBadPolicy || target == logical.ErrInvalidRequest
}

func badf(name, format string, args ...any) error {
	return fmt.Errorf("%w: policy %q: %s", ErrBadPolicy, name, fmt.Sprintf(format, args...))
}

// Policy is one parsed HCL ACL policy.
type Policy struct {
	// Name is the policy's name, as given to Parse.
	Name string
	// Rules are its path rules in source order, one per distinct path
	// (a path written twice is merged, as Vault does).
	Rules []Rule
}

// Rule is one `path "..." { ... }` block.
type Rule struct {
	// Path is the path as written, without a leading "/".
	Path string
	// Capabilities are the rule's capabilities in Vault's order (create,
	// read, update, patch, delete, list, sudo), or just "deny"; the
	// legacy policy = "..." form is expanded. Empty is valid: the path
	// still decides, granting nothing.
	Capabilities []string
	// Line is the line of the block in the source.
	Line int

	caps capSet
	pat  *pattern
}

// Parse parses the HCL (or JSON) text of the policy name. Errors wrap
// ErrBadPolicy and name the offending key, path and line.
func Parse(name, text string) (*Policy, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a policy needs a name", ErrBadPolicy)
	}
	if strings.EqualFold(name, "root") {
		return nil, badf(name, "the root policy cannot be written")
	}
	return parsePolicy(name, text)
}

// Compile compiles a set of policies (name → policy) into Cedar: one
// document per policy, keyed by its name, to be loaded as ACL documents.
// A map key must equal its policy's Name. The result depends only on the
// set given: compile it again whenever any policy changes, since a rule's
// unless clause names the other policies' higher-priority paths.
func Compile(policies map[string]*Policy) (map[string]string, error) {
	return CompileWith(policies, Options{})
}

// Options tune CompileWith. The zero value is Compile's: a path that
// many other policies' rules would name in their unless clauses enforces
// its priority itself whenever that emits less Cedar: each of its
// owners' documents gets a forbid annotated @veto("acl") saying "this
// path decides for the held policies having it, and they do not grant the
// request", and the lower permits no longer name it. Load the documents
// into an authorizer honouring @veto("acl") (authz.Cedar does): an
// authorizer treating the veto as an ordinary forbid would also block
// Cedar-native permits where a deciding ACL path grants less.
type Options struct {
	// UnlessOnly makes every permit name all the higher-priority paths
	// that would decide instead, with no veto: the same ACL decisions in
	// much larger Cedar (1,000 policies, one in ten with a broad glob:
	// about 6 times the text and authz's Load time).
	UnlessOnly bool

	// force, when set (by tests), replaces the cost rule: every path some
	// permit would name enforces its priority itself iff force(path).
	force func(path string) bool
}

// CompileWith is Compile with options.
func CompileWith(policies map[string]*Policy, opts Options) (map[string]string, error) {
	for name, p := range policies {
		switch {
		case p == nil:
			return nil, badf(name, "nil policy")
		case p.Name != name:
			return nil, badf(name, "the policy is named %q", p.Name)
		}
		for _, r := range p.Rules {
			if r.pat == nil {
				return nil, badf(name, "path %q was not made by Parse", r.Path)
			}
		}
	}
	return newCompiler(policies, opts).documents(), nil
}

// Convert parses the policy name and compiles it alone: the Cedar text a
// `vaultctl policy convert FILE.hcl` prints.
func Convert(name, text string) (string, error) {
	p, err := Parse(name, text)
	if err != nil {
		return "", err
	}
	// Unless-only: the text stands alone (no @veto forbids, which only
	// ACL documents may hold), so it can be pasted into a Cedar document.
	docs, err := CompileWith(map[string]*Policy{name: p}, Options{UnlessOnly: true})
	if err != nil {
		return "", err
	}
	return docs[name], nil
}
