package hcl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/secretumvault/secretumvault/authz"
)

// operations maps the capabilities granting an operation to the Cedar
// context.operation value.
var operations = []struct {
	bit capSet
	op  string
}{
	{capCreate, "create"}, {capRead, "read"}, {capUpdate, "update"},
	{capPatch, "patch"}, {capDelete, "delete"}, {capList, "list"},
}

// writeRule writes the Cedar policies of one rule: one per step at which
// it can decide.
func (c *compiler) writeRule(b *strings.Builder, pol string, r *Rule) {
	k := c.keys[r.Path]
	deny := r.caps&capDeny != 0
	ops := opsOf(r.caps)
	caps := strings.Join(r.Capabilities, ", ")
	if caps == "" {
		caps = "no capabilities"
	}
	fmt.Fprintf(b, "\n// path %s (line %d): %s\n", quote(r.Path), r.Line, caps)
	c.writeDeciders(b, pol, r)
	if !deny && len(ops) == 0 {
		b.WriteString("// It grants no operation; it still decides the paths it matches, so other\n" +
			"// policies' rules on lower-priority paths name it in their unless clauses\n" +
			"// (unless a forbid above says it decides).\n")
		return
	}
	for _, s := range r.steps() {
		c.writePolicy(b, pol, r, k, s, deny, ops)
	}
}

func (c *compiler) writePolicy(b *strings.Builder, pol string, r *Rule, k *keyInfo, s step, deny bool, ops []string) {
	list := s == stepExactList || s == stepMatchList
	effect := "permit"
	if deny {
		effect = "forbid"
	}
	id := "hcl:" + pol + ":" + effect
	if list {
		id += "-list"
		b.WriteString("// list fallback: a list of the path with a trailing \"/\"\n")
	}
	fmt.Fprintf(b, "@id(%s)\n%s (\n  principal,\n  action,\n  %s\n)\n", quote(id+":"+r.Path), effect, scope(k.pat, s))
	when := []string{"principal.policies.contains(" + quote(pol) + ")"}
	if list {
		when = append(when, `context.operation == "list"`)
	}
	when = append(when, stepExpr(k.pat, s)...)
	if !deny {
		if !list {
			when = append(when, opCondition(ops))
		}
		if k.caps[pol]&capSudo == 0 {
			when = append(when, sudoCondition(k.sudo))
		}
	}
	b.WriteString("when {\n  " + strings.Join(when, " &&\n  ") + "\n}")
	if unless := c.unless(pol, r, k, s, deny); len(unless) > 0 {
		b.WriteString("\nunless {\n  // a higher-priority path of a held policy decides instead\n  " +
			strings.Join(unless, " ||\n  ") + "\n}")
	}
	b.WriteString(";\n")
}

// stepExpr is the conjunction saying path p applies at step s.
func stepExpr(p *pattern, s step) []string {
	switch s {
	case stepExact:
		return []string{"resource.path == " + quote(p.text)}
	case stepExactList:
		return []string{"resource.path == " + quote(p.text+"/")}
	case stepMatchList:
		return matchExpr(p.withSlash())
	}
	return matchExpr(p)
}

// matchExpr is the Cedar condition for "p matches resource.path", as
// OpenBao's ACL matches it.
func matchExpr(p *pattern) []string {
	switch p.kind {
	case kindExact:
		return []string{"resource.path == " + quote(p.text)}
	case kindPrefix:
		return []string{"resource.path like " + likePattern(p.wcPath, true)}
	}
	n, first, last := len(p.parts), p.firstWild(), p.lastWild()
	if first == n { // a segment pattern whose "+" are literal ("a/+b")
		if p.prefix {
			return []string{"resource.path like " + likePattern(p.wcPath, true)}
		}
		return []string{"resource.path == " + quote(p.wcPath)}
	}
	if !p.prefix {
		return []string{"resource.depth == " + strconv.Itoa(n), "resource.path like " + segmentLike(p)}
	}
	out := []string{"resource.depth >= " + strconv.Itoa(n)}
	if first > 0 {
		out = append(out, "resource.path like "+likePattern(strings.Join(p.parts[:first], "/")+"/", true))
	}
	for i := first + 1; i < last; i++ {
		if !p.wild[i] {
			out = append(out, fmt.Sprintf("resource.seg has s%d && resource.seg.s%d == %s", i, i, quote(p.parts[i])))
		}
	}
	if last < n-1 {
		out = append(out, tailExpr(p, last+1))
	}
	return out
}

// segmentLike is the like pattern of a segment pattern without a
// trailing "*", each "+" a wildcard. With the depth fixed at len(parts),
// the pattern's literal "/" are all the path's "/", so no wildcard can
// span one: a "+" matches exactly one (possibly empty) segment, as in
// Vault. It reads neither resource.seg nor resource.rest, whose record
// types make validation costly.
func segmentLike(p *pattern) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, part := range p.parts {
		if i > 0 {
			b.WriteByte('/')
		}
		if p.wild[i] {
			b.WriteByte('*')
			continue
		}
		q := escape(part, true)
		b.WriteString(q[1 : len(q)-1])
	}
	b.WriteByte('"')
	return b.String()
}

// tailExpr checks the literal segments j.. after the last "+" of a
// pattern with a trailing "*" (checkDepth keeps j < MaxSegments) with
// resource.rest.
func tailExpr(p *pattern, j int) string {
	tail := strings.Join(p.parts[j:], "/")
	return fmt.Sprintf("resource.rest has r%d && resource.rest.r%d like %s", j, j, likePattern(tail, true))
}

// scope states the literal prefix every matching path has, when that is
// provably implied by the condition: the Secret uid is the path trimmed of
// slashes and sits inside every prefix ending before a "/".
func scope(p *pattern, s step) string {
	if s == stepExact || s == stepExactList {
		if id := strings.Trim(p.text, "/"); id != "" {
			return "resource == " + authz.TypeSecret + "::" + quote(id)
		}
		return "resource"
	}
	h := p.head()
	if s == stepMatchList {
		h = p.withSlash().head()
	}
	j := strings.LastIndexByte(h, '/')
	if h == "" || h[0] == '/' || j <= 0 || h[j-1] == '/' {
		return "resource"
	}
	return "resource in " + authz.TypeSecret + "::" + quote(h[:j])
}

func opsOf(c capSet) []string {
	if c&capDeny != 0 {
		return nil
	}
	var out []string
	for _, o := range operations {
		if c&o.bit != 0 {
			out = append(out, o.op)
		}
	}
	return out
}

func opCondition(ops []string) string {
	if len(ops) == 1 {
		return "context.operation == " + quote(ops[0])
	}
	return stringSet(ops) + ".contains(context.operation)"
}

// sudoCondition: on a sudo path, some held policy must grant sudo on
// this same path (capabilities merge across policies).
func sudoCondition(owners []string) string {
	if len(owners) == 0 {
		return "!context.sudo"
	}
	return "(!context.sudo || " + holds(owners) + ")"
}

func holds(owners []string) string {
	if len(owners) == 1 {
		return "principal.policies.contains(" + quote(owners[0]) + ")"
	}
	return "principal.policies.containsAny(" + stringSet(owners) + ")"
}

func stringSet(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// quote is a Cedar string literal.
func quote(s string) string { return escape(s, false) }

// likePattern is a Cedar like pattern matching s literally, followed by
// a wildcard when star.
func likePattern(s string, star bool) string {
	q := escape(s, true)
	if star {
		return q[:len(q)-1] + `*"`
	}
	return q
}

func escape(s string, like bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '*' && like:
			b.WriteString(`\*`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar || !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
