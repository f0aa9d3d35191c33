package hcl

import (
	"strings"
)

// unless renders the disjuncts of the unless clause of rule r of policy
// pol at step s: the paths named (see named), grouped by the policies
// owning them so that each group checks the token's policies once.
func (c *compiler) unless(pol string, r *Rule, k *keyInfo, s step, deny bool) []string {
	return renderTerms(pol, c.named(pol, r, k, s, deny), s == stepExactList || s == stepMatchList)
}

// named are the overriders of rule r of policy pol at step s that its
// unless clause must name: less those that would decide as r does
// anyway, and, for a permit, those enforcing their priority with their
// own forbids (c.decides).
func (c *compiler) named(pol string, r *Rule, k *keyInfo, s step, deny bool) []term {
	list := s == stepExactList || s == stepMatchList
	ops := r.caps &^ (capSudo | capDeny)
	if list {
		ops &= capList
	}
	sudo := len(k.sudo) > 0
	var out []term
	for _, t := range c.overriders(k, s) {
		switch {
		case t.how == stepExactList && !deny && !list && r.caps&capList == 0:
			continue // that path decides only lists, which r does not grant
		case t.q.decidesAlike(deny, ops, sudo):
			continue
		case !deny && c.decides[stepKey{t.q.pat.text, t.how}]:
			continue
		}
		out = append(out, t)
	}
	return out
}

// renderTerms renders terms as unless disjuncts in a document of policy
// pol (whose own paths need no check of the token's policies); inList
// says the clause already requires a list operation.
func renderTerms(pol string, terms []term, inList bool) []string {
	var groups []*termGroup
	byOwners := map[string]*termGroup{}
	for _, t := range terms {
		owners := ""
		if !t.q.owns(pol) { // pol is held: the when clause says so
			owners = strings.Join(t.q.owners, "\x00")
		}
		g := byOwners[owners]
		if g == nil {
			g = &termGroup{owners: t.q.owners, held: owners == ""}
			byOwners[owners] = g
			groups = append(groups, g)
		}
		g.add(t, inList)
	}
	var out []string
	for _, g := range groups {
		out = append(out, g.render()...)
	}
	return out
}

// termGroup is the overriders owned by one set of policies.
type termGroup struct {
	owners []string
	held   bool // the rule's own policy is among them
	// exact and exactList are exact paths applying as such or (for list)
	// with a trailing "/"; other are the other conditions.
	exact, exactList []string
	listGuard        bool // exactList needs context.operation == "list"
	other            []string
}

func (g *termGroup) add(t term, inList bool) {
	switch t.how {
	case stepExact:
		g.exact = append(g.exact, t.q.pat.text)
	case stepExactList:
		g.exactList = append(g.exactList, t.q.pat.text+"/")
		g.listGuard = !inList
	default:
		g.other = append(g.other, strings.Join(stepExpr(t.q.pat, t.how), " && "))
	}
}

// render is the group's disjuncts: one per condition for the rule's own
// policy, else one conjunction of the owners check and the conditions.
func (g *termGroup) render() []string {
	var conds []string
	if len(g.exact) > 0 {
		conds = append(conds, pathIn(g.exact))
	}
	if len(g.exactList) > 0 {
		e := pathIn(g.exactList)
		if g.listGuard {
			e = `context.operation == "list" && ` + e
		}
		conds = append(conds, e)
	}
	conds = append(conds, g.other...)
	if g.held {
		for i, c := range conds {
			if strings.Contains(c, "&&") {
				conds[i] = "(" + c + ")"
			}
		}
		return conds
	}
	for i, c := range conds {
		if len(conds) > 1 && strings.Contains(c, "&&") {
			conds[i] = "(" + c + ")"
		}
	}
	body := strings.Join(conds, " ||\n    ")
	if len(conds) > 1 {
		body = "(\n    " + body + ")"
	}
	return []string{"(" + holds(g.owners) + " && " + body + ")"}
}

// pathIn is "resource.path is one of paths".
func pathIn(paths []string) string {
	if len(paths) == 1 {
		return "resource.path == " + quote(paths[0])
	}
	return stringSet(paths) + ".contains(resource.path)"
}
