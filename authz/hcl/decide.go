package hcl

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// deciderCost is what one owner's forbid of a deciding path costs, in
// unless terms, before its own unless clause.
const deciderCost = 4

// chooseDeciders picks the (path, step) pairs that enforce their
// priority with forbids: those named by more permits' unless clauses
// than their forbids (one per owner, each naming the path's own
// overriders) would cost.
func (c *compiler) chooseDeciders(force func(string) bool) {
	named := map[stepKey]int{}
	for _, name := range slices.Sorted(maps.Keys(c.policies)) {
		for i := range c.policies[name].Rules {
			r := &c.policies[name].Rules[i]
			if r.caps&capDeny != 0 || len(opsOf(r.caps)) == 0 {
				continue
			}
			k := c.keys[r.Path]
			for _, s := range r.steps() {
				for _, t := range c.named(name, r, k, s, false) {
					named[stepKey{t.q.pat.text, t.how}]++
				}
			}
		}
	}
	for sk, n := range named {
		q := c.keys[sk.key]
		if force != nil {
			c.decides[sk] = force(sk.key)
		} else if n > len(q.owners)*(deciderCost+len(c.overriders(q, sk.s))) {
			c.decides[sk] = true
		}
	}
}

// writeDeciders writes the forbids of policy pol's rule r for the steps
// at which its path enforces its priority itself (c.decides). A deny
// rule needs none: its forbid already denies wherever it decides.
func (c *compiler) writeDeciders(b *strings.Builder, pol string, r *Rule) {
	if r.caps&capDeny != 0 {
		return
	}
	k := c.keys[r.Path]
	for _, s := range []step{stepExact, stepExactList, stepMatch, stepMatchList} {
		if c.decides[stepKey{r.Path, s}] {
			c.writeDecider(b, pol, k, s)
		}
	}
}

// writeDecider writes "path k decides at step s for the held policies
// having it, and they do not grant the request".
func (c *compiler) writeDecider(b *strings.Builder, pol string, k *keyInfo, s step) {
	list := s == stepExactList || s == stepMatchList
	id := "hcl:" + pol + ":decides"
	b.WriteString("// this path decides for the held policies having it: it denies what they do\n" +
		"// not grant, so that lower-priority paths need not name it\n")
	if list {
		id += "-list"
		b.WriteString("// list fallback: a list of the path with a trailing \"/\"\n")
	}
	fmt.Fprintf(b, "@id(%s)\n@veto(\"acl\")\nforbid (\n  principal,\n  action,\n  %s\n)\n", quote(id+":"+k.pat.text), scope(k.pat, s))
	when := []string{"principal.policies.contains(" + quote(pol) + ")"}
	if list {
		when = append(when, `context.operation == "list"`)
	}
	when = append(when, stepExpr(k.pat, s)...)
	if g := grantsExpr(k, list); g != "" {
		when = append(when, "!("+g+")")
	}
	b.WriteString("when {\n  " + strings.Join(when, " &&\n  ") + "\n}")
	var terms []term
	for _, t := range c.overriders(k, s) {
		if !t.q.decidesAlike(true, 0, false) { // a deny-only path denies anyway
			terms = append(terms, t)
		}
	}
	if unless := renderTerms(pol, terms, list); len(unless) > 0 {
		b.WriteString("\nunless {\n  // a higher-priority path of a held policy decides instead\n  " +
			strings.Join(unless, " ||\n  ") + "\n}")
	}
	b.WriteString(";\n")
}

// grantsExpr is "the held owners of k grant the request": some grants
// its operation (list only, at a list step) and, on a sudo route, some
// grants sudo. "" when none grants any operation. A held owner that
// denies is left to its own forbid.
func grantsExpr(k *keyInfo, list bool) string {
	var ops []string
	byOwners := map[string][]string{}
	owners := map[string][]string{}
	for _, o := range operations {
		if list && o.bit != capList {
			continue
		}
		var who []string
		for _, name := range k.owners {
			if c := k.caps[name]; c&capDeny == 0 && c&o.bit != 0 {
				who = append(who, name)
			}
		}
		if len(who) == 0 {
			continue
		}
		key := strings.Join(who, "\x00")
		if _, ok := byOwners[key]; !ok {
			ops = append(ops, key)
			owners[key] = who
		}
		byOwners[key] = append(byOwners[key], o.op)
	}
	if len(ops) == 0 {
		return ""
	}
	var alts []string
	for _, key := range ops {
		e := holds(owners[key])
		if !list {
			e = opCondition(byOwners[key]) + " && " + e
		}
		alts = append(alts, e)
	}
	g := strings.Join(alts, " || ")
	if len(alts) > 1 {
		g = "(" + g + ")"
	}
	return g + " && " + sudoCondition(k.sudo)
}
