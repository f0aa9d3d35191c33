package authz

import (
	"iter"
	"math/bits"
	"sync"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// The index narrows a request to the policies whose scope can match it.
// A policy whose scope does not match evaluates to false without error
// (Cedar evaluates the scope before the conditions and && short-cuts), so
// evaluating only the candidates gives the same decision, reasons and
// errors as evaluating the whole set.
//
// Each dimension maps a key to the set of policies (a bitset over the
// policy slice) it admits:
//   - principal: any (no scope, or only "is T"), == uid, in uid (a match
//     when uid is the principal or one of its groups; "is T in uid" is
//     indexed as in uid);
//   - action: any, == uid, in uid or in [uids] (a match when one is the
//     action or one of its groups);
//   - resource: any, == uid, in uid (a match when uid is the resource or
//     one of its path prefixes);
//   - binding: a Cedar document's policies apply to everyone; an ACL
//     document's only to tokens holding the policy it was compiled from
//     (Load checked the guard that makes it so).
//
// A scope form the index does not know is indexed as any in its
// dimension, so such a policy is always evaluated.
type index struct {
	words int

	principalAny, actionAny, resourceAny, unbound bitset

	principalEq, principalIn map[types.EntityUID]bitset
	actionEq, actionIn       map[types.EntityUID]bitset
	resourceEq, resourceIn   map[types.EntityUID]bitset
	acl                      map[string]bitset
	// actions are the action dimension of each of the model's actions.
	actions map[types.EntityUID]bitset
}

// bitset is a set of policy positions.
type bitset []uint64

func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }

// or adds every member of o to b (o may be nil).
func (b bitset) or(o bitset) {
	for i := range o {
		b[i] |= o[i]
	}
}

// and keeps the members of b also in o.
func (b bitset) and(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}

// newIndex indexes policies (their positions are their bits).
func newIndex(policies []*compiled) *index {
	w := (len(policies) + 63) / 64
	ix := &index{
		words:        w,
		principalAny: make(bitset, w), actionAny: make(bitset, w), resourceAny: make(bitset, w), unbound: make(bitset, w),
		principalEq: map[types.EntityUID]bitset{}, principalIn: map[types.EntityUID]bitset{},
		actionEq: map[types.EntityUID]bitset{}, actionIn: map[types.EntityUID]bitset{},
		resourceEq: map[types.EntityUID]bitset{}, resourceIn: map[types.EntityUID]bitset{},
		acl: map[string]bitset{},
	}
	for i, p := range policies {
		ix.add(i, p)
	}
	ix.actions = make(map[types.EntityUID]bitset, len(actions))
	for _, a := range actions {
		ix.actions[a.entity.UID] = ix.actionDim(a.entity.UID, a.groups)
	}
	return ix
}

func (ix *index) bits(m map[types.EntityUID]bitset, uid types.EntityUID) bitset {
	b, ok := m[uid]
	if !ok {
		b = make(bitset, ix.words)
		m[uid] = b
	}
	return b
}

func (ix *index) add(i int, p *compiled) {
	a := (*xast.Policy)(p.policy.AST())
	switch s := a.Principal.(type) {
	case xast.ScopeTypeEq:
		ix.bits(ix.principalEq, s.Entity).set(i)
	case xast.ScopeTypeIn:
		ix.bits(ix.principalIn, s.Entity).set(i)
	case xast.ScopeTypeIsIn:
		ix.bits(ix.principalIn, s.Entity).set(i)
	default: // all, is T, or a form the index does not know
		ix.principalAny.set(i)
	}
	switch s := a.Action.(type) {
	case xast.ScopeTypeEq:
		ix.bits(ix.actionEq, s.Entity).set(i)
	case xast.ScopeTypeIn:
		ix.bits(ix.actionIn, s.Entity).set(i)
	case xast.ScopeTypeInSet:
		for _, e := range s.Entities {
			ix.bits(ix.actionIn, e).set(i)
		}
	default:
		ix.actionAny.set(i)
	}
	switch s := a.Resource.(type) {
	case xast.ScopeTypeEq:
		ix.bits(ix.resourceEq, s.Entity).set(i)
	case xast.ScopeTypeIn:
		ix.bits(ix.resourceIn, s.Entity).set(i)
	case xast.ScopeTypeIsIn:
		ix.bits(ix.resourceIn, s.Entity).set(i)
	default:
		ix.resourceAny.set(i)
	}
	if p.acl == "" {
		ix.unbound.set(i)
	} else {
		b, ok := ix.acl[p.acl]
		if !ok {
			b = make(bitset, ix.words)
			ix.acl[p.acl] = b
		}
		b.set(i)
	}
}

// intersect sets out to a ∧ b ∧ c (all of the index's length).
func intersect(out, a, b, c bitset) {
	for i := range out {
		out[i] = a[i] & b[i] & c[i]
	}
}

// principalBits are the policies whose principal scope and binding can
// match principal, in groups, holding policies: a function of the
// principal alone, which the cache keeps with its entities.
func (ix *index) principalBits(principal types.EntityUID, groups []types.EntityUID, policies []string) bitset {
	buf := make(bitset, 2*ix.words)
	acc, dim := buf[:ix.words], buf[ix.words:]
	acc.or(ix.principalAny)
	acc.or(ix.principalEq[principal])
	acc.or(ix.principalIn[principal])
	for _, g := range groups {
		acc.or(ix.principalIn[g])
	}
	dim.or(ix.unbound)
	for _, n := range policies {
		dim.or(ix.acl[n])
	}
	acc.and(dim)
	return acc[:ix.words:ix.words]
}

// actionBits are the policies whose action scope can match s's action:
// made at newIndex for the model's actions.
func (ix *index) actionBits(s *shape) bitset {
	if b, ok := ix.actions[s.action]; ok {
		return b
	}
	return ix.actionDim(s.action, s.actionGroups)
}

func (ix *index) actionDim(action types.EntityUID, groups []types.EntityUID) bitset {
	dim := make(bitset, ix.words)
	dim.or(ix.actionAny)
	dim.or(ix.actionEq[action])
	dim.or(ix.actionIn[action])
	for _, g := range groups {
		dim.or(ix.actionIn[g])
	}
	return dim
}

// resourceBits are the policies whose resource scope can match
// Secret::"<id>": a function of the path, which the cache keeps with the
// resource's entity.
func (ix *index) resourceBits(id types.String) bitset {
	dim := make(bitset, ix.words)
	uid := types.NewEntityUID(TypeSecret, id)
	dim.or(ix.resourceAny)
	dim.or(ix.resourceEq[uid])
	dim.or(ix.resourceIn[uid])
	for i := len(id) - 1; i > 0; i-- {
		if id[i] == '/' {
			dim.or(ix.resourceIn[types.NewEntityUID(TypeSecret, id[:i])])
		}
	}
	return dim
}

// selection is the candidate policies of one request, in policy order:
// the PolicyIterator handed to cedar.Authorize.
type selection struct {
	policies []*compiled
	bits     bitset
}

var _ cedar.PolicyIterator = selection{}

// All implements cedar.PolicyIterator.
func (s selection) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return s.each }

func (s selection) each(yield func(cedar.PolicyID, *cedar.Policy) bool) {
	for w, word := range s.bits {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if !yield(s.policies[i].id, s.policies[i].eval) {
				return
			}
		}
	}
}

// run is the scratch of one Authorize, pooled: its entities, its
// candidates and its iterator (bound once, so that handing it to
// cedar.Authorize allocates nothing). cedar.Authorize keeps none of it
// once it returns.
type run struct {
	es  entities
	sel selection
	all iter.Seq2[cedar.PolicyID, *cedar.Policy]
}

var _ cedar.PolicyIterator = (*run)(nil)

// All implements cedar.PolicyIterator.
func (r *run) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return r.all }

var runs = sync.Pool{New: func() any {
	r := &run{}
	r.all = func(yield func(cedar.PolicyID, *cedar.Policy) bool) { r.sel.each(yield) }
	return r
}}

// getRun is a run whose bits have words words.
func getRun(words int) *run {
	r := runs.Get().(*run)
	if cap(r.sel.bits) < words {
		r.sel.bits = make(bitset, words)
	}
	r.sel.bits = r.sel.bits[:words]
	return r
}

// putRun returns r to the pool, holding no entity or policy.
func putRun(r *run) {
	r.es, r.sel.policies = entities{}, nil
	runs.Put(r)
}

// count is the number of candidates.
func (s selection) count() int {
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return n
}
