package authz

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cedar-policy/cedar-go"
	cedarast "github.com/cedar-policy/cedar-go/ast"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Cedar entity types and the action groups of the model
// (../shared/DESIGN.md): a principal is its entity (User, Service) or its
// token; a resource is Secret::"<full path>" inside every path prefix; an
// action may belong to a group (write ⊃ create, update, patch).
const (
	TypeUser    = "User"
	TypeService = "Service"
	TypeToken   = "Token"
	TypeGroup   = "Group"
	TypeSecret  = "Secret"
	TypeAction  = "Action"
)

// actionGroups maps an action to the groups it belongs to.
var actionGroups = map[string][]string{
	"create": {"write"}, "update": {"write"}, "patch": {"write"},
}

// ErrBadPolicy is wrapped by every error of Load, ValidateDocument and
// ValidateACLDocument about a document: it does not parse, does not
// validate against the schema, or breaks a rule of Load. The error is a
// *BadPolicyError naming the document and the position.
var ErrBadPolicy = errors.New("authz: bad policy")

// Documents are the policy documents Load compiles, by name.
type Documents struct {
	// Cedar are operators' Cedar documents; they apply to every request
	// (each policy scopes itself).
	Cedar map[string]string
	// ACL are Cedar documents compiled from Vault HCL policies
	// (authz/hcl). ACL document N applies only to tokens whose
	// Principal.Policies contain N: every policy in it must carry the
	// guard principal.policies.contains("N") in a when clause. A forbid
	// of an ACL document may be annotated @veto("acl"): see Cedar for
	// what it blocks.
	ACL map[string]string
}

// Cedar is the Authorizer of Cedar policies: default deny, forbid wins
// over permit, the root token bypasses. A veto, a forbid of an ACL
// document annotated @veto("acl") ("the deciding ACL path does not grant
// this"), blocks only the permits of ACL documents: a request is allowed
// iff (a Cedar document's permit matches, or an ACL document's permit
// matches and no veto does) and no other forbid matches. Its compiled policy set is swapped
// atomically by Load: a request sees the old set or the new one, never a
// mix. Safe for concurrent use.
//
// Each set keeps bounded caches of what Authorize builds (a principal's
// entities, a path's Secret entities, a context record without the time),
// each entry compared in full with the request before use: a Principal
// whose maps change between requests is decided on its new content.
type Cedar struct {
	set atomic.Pointer[policySet]
}

var _ Authorizer = (*Cedar)(nil)

// NewCedar returns a Cedar authorizer with no policies (everything but
// the root token is denied).
func NewCedar() *Cedar {
	c := &Cedar{}
	c.set.Store(newPolicySet(nil))
	return c
}

// Load compiles docs into one policy set and makes it current. Every
// policy must parse and validate against Schema(). A policy's id is, in a
// Cedar document, its @id("...") annotation, else "<document>.<index>";
// in ACL document N, "acl:N:<@id or index>". An id used twice is an
// error, and so is a @veto annotation other than @veto("acl") on a forbid
// of an ACL document. On any error (wrapping ErrBadPolicy) nothing changes.
func (c *Cedar) Load(docs Documents) error {
	var all []*compiled
	for _, d := range []struct {
		kind docKind
		m    map[string]string
	}{{docCedar, docs.Cedar}, {docACL, docs.ACL}} {
		for _, name := range slices.Sorted(maps.Keys(d.m)) {
			list, err := compileDoc(d.kind, name, d.m[name])
			if err != nil {
				return err
			}
			all = append(all, list...)
		}
	}
	seen := make(map[cedar.PolicyID]*compiled, len(all))
	for _, p := range all {
		if q, ok := seen[p.id]; ok {
			return &BadPolicyError{Kind: p.kind.String(), Doc: p.doc, Line: p.line, Column: p.column,
				Message: fmt.Sprintf("policy id %q is also used in %s %q", p.id, q.kind, q.doc)}
		}
		seen[p.id] = p
	}
	c.set.Store(newPolicySet(all))
	return nil
}

// Policy returns the Cedar text of the policy id of the current set.
func (c *Cedar) Policy(id string) (text string, ok bool) {
	p, ok := c.set.Load().byID[cedar.PolicyID(id)]
	if !ok {
		return "", false
	}
	return p.text, true
}

// Authorize implements Authorizer. It evaluates only the policies the
// index admits for the request; the decision, the deciding policy ids and
// the errors are those of evaluating the whole set (PolicyIDs and Errors
// sorted).
func (c *Cedar) Authorize(_ context.Context, req *Request) (Decision, error) {
	if req.Principal.Root {
		return Decision{Allowed: true}, nil
	}
	ps := c.set.Load()
	b := builder{needs: ps.needs, caches: ps.caches, index: ps.index}
	part := b.principal(&req.Principal)
	s := newShape(req, part)
	r := getRun(ps.index.words)
	creq, err := b.request(req, &s, part, &r.es, r.sel.bits)
	if err != nil {
		putRun(r)
		return Decision{}, err
	}
	r.sel.policies = ps.policies
	d := ps.decide(cedar.Authorize(r, &r.es, creq))
	putRun(r)
	return d, nil
}

// decide turns cedar-go's answer over (some of) the set's policies, each
// veto evaluated as a permit (compiled.eval), into a Decision: the
// ordinary forbids that matched deny (Reasons are then only forbids);
// else, among the matching "permits", a veto blocks the ACL permits.
// PolicyIDs name what decided: the ordinary forbids of a denial, else the
// vetoes of a denial they caused (no Cedar document's permit matched),
// else the permits that count of an allowance.
func (ps *policySet) decide(ok cedar.Decision, diag cedar.Diagnostic) Decision {
	d := Decision{Allowed: bool(ok)}
	if d.Allowed && ps.vetoes {
		d = ps.split(diag.Reasons)
	} else {
		for _, r := range diag.Reasons {
			d.PolicyIDs = append(d.PolicyIDs, string(r.PolicyID))
		}
	}
	for _, e := range diag.Errors {
		d.Errors = append(d.Errors, e.String())
	}
	slices.Sort(d.PolicyIDs)
	slices.Sort(d.Errors)
	if !d.Allowed {
		d.Reason = "permission denied"
		if len(d.PolicyIDs) > 0 {
			d.Reason = "forbidden by " + strings.Join(d.PolicyIDs, ", ")
		}
	}
	return d
}

// split decides from the matching permits and vetoes (no ordinary forbid
// matched).
func (ps *policySet) split(reasons []cedar.DiagnosticReason) Decision {
	var cedarDoc, vetoes int
	for _, r := range reasons {
		switch p := ps.byID[r.PolicyID]; {
		case p.veto:
			vetoes++
		case p.kind == docCedar:
			cedarDoc++
		}
	}
	if vetoes == 0 {
		return ps.pick(reasons, func(*compiled) bool { return true }, true)
	}
	if cedarDoc > 0 {
		return ps.pick(reasons, func(p *compiled) bool { return p.kind == docCedar }, true)
	}
	return ps.pick(reasons, func(p *compiled) bool { return p.veto }, false)
}

// pick is the Decision allowed naming the reasons' policies keep admits.
func (ps *policySet) pick(reasons []cedar.DiagnosticReason, keep func(*compiled) bool, allowed bool) Decision {
	d := Decision{Allowed: allowed, PolicyIDs: make([]string, 0, len(reasons))}
	for _, r := range reasons {
		if keep(ps.byID[r.PolicyID]) {
			d.PolicyIDs = append(d.PolicyIDs, string(r.PolicyID))
		}
	}
	return d
}

// docKind tells an operator's Cedar document from an ACL document.
type docKind int

const (
	docCedar docKind = iota
	docACL
)

func (k docKind) String() string {
	if k == docACL {
		return "acl"
	}
	return "doc"
}

// compiled is one policy of a set.
type compiled struct {
	id     cedar.PolicyID
	policy *cedar.Policy
	// eval is what cedar.Authorize evaluates: policy, or for a veto a
	// permit of its scope and conditions, so that one evaluation tells
	// which vetoes and which permits match when no other forbid does.
	eval *cedar.Policy
	// veto marks a forbid of an ACL document annotated @veto("acl").
	veto bool
	kind docKind
	doc  string
	// acl is the HCL policy an ACL document's policy is bound to ("" for
	// a Cedar document's).
	acl          string
	line, column int
	// text is the policy in Cedar's canonical form.
	text string
}

// policySet is one compiled, indexed, immutable set.
type policySet struct {
	policies []*compiled // sorted by id
	byID     map[cedar.PolicyID]*compiled
	index    *index
	needs    needs
	// caches keep what Authorize built for the set's needs.
	caches *caches
	// vetoes reports that some policy is a veto.
	vetoes bool
}

func newPolicySet(all []*compiled) *policySet {
	slices.SortFunc(all, func(a, b *compiled) int { return strings.Compare(string(a.id), string(b.id)) })
	ps := &policySet{policies: all, byID: make(map[cedar.PolicyID]*compiled, len(all)), index: newIndex(all), needs: scan(all), caches: newCaches()}
	for _, p := range all {
		ps.byID[p.id] = p
		ps.vetoes = ps.vetoes || p.veto
	}
	return ps
}

// full is the whole set as a cedar.PolicySet of what cedar.Authorize
// evaluates (for full evaluation, decided by ps.decide).
func (ps *policySet) full() *cedar.PolicySet {
	s := cedar.NewPolicySet()
	for _, p := range ps.policies {
		s.Add(p.id, p.eval)
	}
	return s
}

// compileDoc parses and validates one document and names its policies.
func compileDoc(kind docKind, name, text string) ([]*compiled, error) {
	v, err := loadValidators()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSchema, err)
	}
	list, err := cedar.NewPolicyListFromBytes(name, []byte(text))
	if err != nil {
		return nil, parseError(kind.String(), name, err)
	}
	out := make([]*compiled, 0, len(list))
	ids := make(map[cedar.PolicyID]bool, len(list))
	for i, p := range list {
		end := len(text)
		if i+1 < len(list) {
			end = list[i+1].Position().Offset
		}
		if e := validatePolicy(v, kind.String(), name, text, p, end); e != nil {
			return nil, e
		}
		pos := p.Position()
		cp := &compiled{policy: p, eval: p, kind: kind, doc: name, line: pos.Line, column: pos.Column, text: string(p.MarshalCedar())}
		if e := markVeto(cp); e != nil {
			return nil, e
		}
		cp.id = policyID(kind, name, i, p)
		if kind == docACL {
			if !hasGuard(p, name) {
				return nil, &BadPolicyError{Kind: kind.String(), Doc: name, Line: pos.Line, Column: pos.Column,
					Message: fmt.Sprintf("policy lacks the guard principal.policies.contains(%q) in a when clause", name)}
			}
			cp.acl = name
		}
		if ids[cp.id] {
			return nil, &BadPolicyError{Kind: kind.String(), Doc: name, Line: pos.Line, Column: pos.Column,
				Message: fmt.Sprintf("policy id %q is used twice", cp.id)}
		}
		ids[cp.id] = true
		out = append(out, cp)
	}
	return out, nil
}

// policyID names policy i of a document.
func policyID(kind docKind, doc string, i int, p *cedar.Policy) cedar.PolicyID {
	v, named := p.Annotations()["id"]
	named = named && v != ""
	switch {
	case kind == docACL && named:
		return cedar.PolicyID("acl:" + doc + ":" + string(v))
	case kind == docACL:
		return cedar.PolicyID(fmt.Sprintf("acl:%s:%d", doc, i))
	case named:
		return cedar.PolicyID(v)
	}
	return cedar.PolicyID(fmt.Sprintf("%s.%d", doc, i))
}

// markVeto checks p's @veto annotation, if any, and makes a veto's eval
// policy: only a forbid of an ACL document may be a veto, only @veto("acl").
func markVeto(p *compiled) *BadPolicyError {
	v, ok := p.policy.Annotations()["veto"]
	if !ok {
		return nil
	}
	bad := func(msg string) *BadPolicyError {
		return &BadPolicyError{Kind: p.kind.String(), Doc: p.doc, Line: p.line, Column: p.column, Message: msg}
	}
	switch {
	case p.kind != docACL:
		return bad("@veto is allowed only in ACL documents")
	case v != "acl":
		return bad(fmt.Sprintf("@veto(%q): the only veto is @veto(\"acl\")", v))
	case p.policy.Effect() != cedar.Forbid:
		return bad("@veto(\"acl\") is allowed only on a forbid")
	}
	a := *(*xast.Policy)(p.policy.AST())
	a.Effect = xast.EffectPermit
	p.eval, p.veto = cedar.NewPolicyFromAST((*cedarast.Policy)(&a)), true
	return nil
}
