package authz

import (
	"iter"
	"math/bits"

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

func (b bitset) clear() {
	for i := range b {
		b[i] = 0
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

// candidates returns the positions of the policies whose scope and
// binding can match the request.
func (ix *index) candidates(s *shape, policies []string) bitset {
	buf := make(bitset, 2*ix.words)
	acc, dim := buf[:ix.words], buf[ix.words:]

	dim.or(ix.principalAny)
	dim.or(ix.principalEq[s.principal])
	dim.or(ix.principalIn[s.principal])
	for _, g := range s.groups {
		dim.or(ix.principalIn[g])
	}
	copy(acc, dim)

	dim.clear()
	dim.or(ix.actionAny)
	dim.or(ix.actionEq[s.action])
	dim.or(ix.actionIn[s.action])
	for _, g := range s.actionGroups {
		dim.or(ix.actionIn[g])
	}
	acc.and(dim)

	dim.clear()
	dim.or(ix.resourceAny)
	dim.or(ix.resourceEq[s.resource])
	dim.or(ix.resourceIn[s.resource])
	for id, i := s.resource.ID, len(s.resource.ID)-1; i > 0; i-- {
		if id[i] == '/' {
			dim.or(ix.resourceIn[types.NewEntityUID(TypeSecret, id[:i])])
		}
	}
	acc.and(dim)

	dim.clear()
	dim.or(ix.unbound)
	for _, n := range policies {
		dim.or(ix.acl[n])
	}
	acc.and(dim)
	return acc
}

// selection is the candidate policies of one request, in policy order:
// the PolicyIterator handed to cedar.Authorize.
type selection struct {
	policies []*compiled
	bits     bitset
}

var _ cedar.PolicyIterator = selection{}

// All implements cedar.PolicyIterator.
func (s selection) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for w, word := range s.bits {
			for word != 0 {
				i := w*64 + bits.TrailingZeros64(word)
				word &= word - 1
				if !yield(s.policies[i].id, s.policies[i].policy) {
					return
				}
			}
		}
	}
}

// count is the number of candidates.
func (s selection) count() int {
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return n
}
