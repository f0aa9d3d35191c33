package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// Explanation is how a request was decided, for an operator: every field
// is a name, a path or a request attribute, never secret data (a Request
// carries none).
type Explanation struct {
	// Allowed is the verdict, as Authorize gives it.
	Allowed bool
	// PolicyIDs are the determining policies, as Authorize names them:
	// the forbids of a denial (the vetoes of a denial by veto), else the
	// permits that count of an allowance (sorted; empty for a default
	// deny and for the root token).
	PolicyIDs []string
	// Principal is the Cedar principal, e.g. User::"alice".
	Principal string
	// Groups are every group the principal is in, directly or not, as
	// Cedar uids (Group::"ops"), sorted.
	Groups []string
	// Action and Resource are the Cedar action and resource uids.
	Action   string
	Resource string
	// Context is the Cedar context: strings, booleans and numbers as
	// themselves, other values (time, ipaddr, duration) in Cedar's
	// rendering.
	Context map[string]any
	// Errors are the policies that could not be evaluated, and why.
	Errors []string
	// Considered is how many policies the index left to evaluate.
	Considered int
	// Reason is a sentence: who permitted or forbade, or why nothing did.
	Reason string
}

// Explain decides req as Authorize does and says how. The context shown
// has every attribute of the model, whatever the policies read.
func (c *Cedar) Explain(_ context.Context, req *Request) (Explanation, error) {
	ps := c.set.Load()
	b := builder{needs: ps.needs, caches: ps.caches, index: ps.index}
	part := b.principal(&req.Principal)
	s := newShape(req, part)
	x := Explanation{Action: uidString(s.action), Resource: uidString(s.resource)}
	if req.Principal.Root {
		x.Allowed, x.Principal, x.Reason = true, "root", "root token"
		return x, nil
	}
	var es entities
	sel := selection{policies: ps.policies, bits: make(bitset, ps.index.words)}
	creq, err := b.request(req, &s, part, &es, sel.bits)
	if err != nil {
		return Explanation{}, err
	}
	full, err := contextRecord(req, allNeeds, nil)
	if err != nil {
		return Explanation{}, err
	}
	d := ps.decide(cedar.Authorize(sel, &es, creq))
	x.Allowed, x.PolicyIDs, x.Errors, x.Considered = d.Allowed, d.PolicyIDs, d.Errors, sel.count()
	x.Principal = uidString(s.principal)
	for _, g := range s.groups {
		x.Groups = append(x.Groups, uidString(g))
	}
	slices.Sort(x.Groups)
	x.Context = renderRecord(full)
	x.Reason = explainReason(d)
	return x, nil
}

// uidString is uid.String() without its rune-by-rune escaping when the
// id is printable ASCII that Cedar does not escape.
func uidString(uid types.EntityUID) string {
	for i := 0; i < len(uid.ID); i++ {
		if c := uid.ID[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\'' || c == '\\' {
			return uid.String()
		}
	}
	return string(uid.Type) + "::\"" + string(uid.ID) + "\""
}

func explainReason(d Decision) string {
	var r string
	switch {
	case d.Allowed:
		r = "permitted by " + strings.Join(d.PolicyIDs, ", ")
	case len(d.PolicyIDs) > 0:
		r = "forbidden by " + strings.Join(d.PolicyIDs, ", ")
	default:
		r = "no policy permits this request (default deny)"
	}
	if n := len(d.Errors); n > 0 {
		r += fmt.Sprintf("; %d policies could not be evaluated and were skipped", n)
	}
	return r
}

// renderRecord renders a Cedar record for JSON.
func renderRecord(r types.Record) map[string]any {
	out := make(map[string]any, r.Len())
	for k, v := range r.All() {
		switch v := v.(type) {
		case types.String:
			out[string(k)] = string(v)
		case types.Boolean:
			out[string(k)] = bool(v)
		case types.Long:
			out[string(k)] = int64(v)
		case types.Datetime:
			out[string(k)] = v.Time().UTC().Format("2006-01-02T15:04:05.000Z07:00")
		default:
			out[string(k)] = v.String()
		}
	}
	return out
}
