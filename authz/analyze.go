package authz

import (
	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// hasGuard reports whether a when clause of p has
// principal.policies.contains("<name>") as one of its top-level
// conjuncts, which makes p false for a token not holding name.
func hasGuard(p *cedar.Policy, name string) bool {
	for _, c := range (*xast.Policy)(p.AST()).Conditions {
		if c.Condition != xast.ConditionWhen {
			continue
		}
		for _, n := range conjuncts(c.Body, nil) {
			if isGuard(n, name) {
				return true
			}
		}
	}
	return false
}

// conjuncts flattens a && b && ... into its operands.
func conjuncts(n xast.IsNode, out []xast.IsNode) []xast.IsNode {
	if a, ok := n.(xast.NodeTypeAnd); ok {
		return conjuncts(a.Right, conjuncts(a.Left, out))
	}
	return append(out, n)
}

func isGuard(n xast.IsNode, name string) bool {
	c, ok := n.(xast.NodeTypeContains)
	if !ok {
		return false
	}
	acc, ok := c.Left.(xast.NodeTypeAccess)
	if !ok || acc.Value != "policies" {
		return false
	}
	v, ok := acc.Arg.(xast.NodeTypeVariable)
	if !ok || v.Name != "principal" {
		return false
	}
	lit, ok := c.Right.(xast.NodeValue)
	return ok && lit.Value == types.String(name)
}

// scan finds which attributes any policy reads, whether any reads tags,
// and whether any uses the context record other than by attribute.
func scan(policies []*compiled) needs {
	n := needs{attrs: map[string]bool{}}
	var contexts, byAttribute int
	for _, p := range policies {
		for _, c := range (*xast.Policy)(p.policy.AST()).Conditions {
			xast.Inspect(xast.NewNode(c.Body), func(node xast.IsNode) bool {
				switch node := node.(type) {
				case xast.NodeTypeAccess:
					n.attrs[string(node.Value)] = true
					byAttribute += isContext(node.Arg)
				case xast.NodeTypeHas:
					n.attrs[string(node.Value)] = true
					byAttribute += isContext(node.Arg)
				case xast.NodeTypeHasTag, xast.NodeTypeGetTag:
					n.tags = true
				case xast.NodeTypeVariable:
					contexts += isContext(node)
				}
				return true
			})
		}
	}
	n.context = contexts != byAttribute
	return n.withContext()
}

func isContext(n xast.IsNode) int {
	if v, ok := n.(xast.NodeTypeVariable); ok && v.Name == "context" {
		return 1
	}
	return 0
}
