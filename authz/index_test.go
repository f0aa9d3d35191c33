package authz

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// The universe of the differential test: small, so that random scopes
// and random requests meet often.
var (
	uUsers    = []string{"alice", "bob", "carol"}
	uServices = []string{"ci", "backup"}
	uGroups   = []string{"g0", "g1", "g2", "g3", "g4", "g5"}
	uSegs     = []string{"secret", "data", "dev", "prod", "a"}
	uActions  = []string{"read", "list", "create", "update", "patch", "delete", "generate", "sudo"}
	uACLs     = []string{"p0", "p1", "p2", "p3"}
	uTeams    = []string{"pay", "ops"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randPath(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = pick(r, uSegs)
	}
	p := strings.Join(segs, "/")
	if r.IntN(8) == 0 {
		p += "/"
	}
	return p
}

func randPrincipalScope(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0, 1:
		return "principal"
	case 2:
		return fmt.Sprintf("principal == User::%q", pick(r, uUsers))
	case 3:
		return fmt.Sprintf("principal == Service::%q", pick(r, uServices))
	case 4, 5:
		return fmt.Sprintf("principal in Group::%q", pick(r, uGroups))
	case 6:
		return "principal is User"
	}
	return fmt.Sprintf("principal is Service in Group::%q", pick(r, uGroups))
}

func randActionScope(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return "action"
	case 1, 2:
		return fmt.Sprintf("action == Action::%q", pick(r, uActions))
	case 3:
		return `action in Action::"write"`
	}
	return fmt.Sprintf("action in [Action::%q, Action::%q]", pick(r, uActions), pick(r, uActions))
}

func randResourceScope(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return "resource"
	case 1:
		return fmt.Sprintf("resource == Secret::%q", strings.Trim(randPath(r), "/"))
	case 2, 3:
		return fmt.Sprintf("resource in Secret::%q", strings.Trim(randPath(r), "/"))
	case 4:
		return "resource is Secret"
	}
	return fmt.Sprintf("resource is Secret in Secret::%q", strings.Trim(randPath(r), "/"))
}

// randCondition is a when condition; the unguarded ones (which err when
// the attribute is absent) only go in permits, as validation demands.
func randCondition(r *rand.Rand, permit bool) string {
	if r.IntN(13) == 0 {
		// Two literal Secrets, the second often an ancestor of the first:
		// true only when the request's path makes them entities.
		p := strings.Trim(randPath(r), "/")
		q := p[:max(1, strings.LastIndexByte(p, '/'))]
		return fmt.Sprintf(`Secret::%q in Secret::%q`, p, q)
	}
	n := r.IntN(12)
	if !permit && n >= 9 {
		n -= 3
	}
	switch n {
	case 0, 1, 2:
		return ""
	case 3:
		return `context has ttl && context.ttl <= duration("30m")`
	case 4:
		return `context has remote_addr && context.remote_addr.isInRange(ip("10.0.0.0/8"))`
	case 5:
		return fmt.Sprintf(`principal.hasTag("team") && principal.getTag("team") == %q`, pick(r, uTeams))
	case 6:
		return `resource.seg has s1 && resource.seg.s1 == "dev"`
	case 7:
		return `resource.rest has r1 && resource.rest.r1 like "dev*"`
	case 8:
		if r.IntN(2) == 0 {
			return `{"c": context}.c.sudo` // the context as a whole value
		}
		return `resource.depth > 2 || context.sudo`
	case 9:
		return `context.ttl < duration("1h")`
	case 10:
		return `context.remote_addr.isInRange(ip("10.0.0.0/8"))`
	}
	return `resource.seg.s2 == "a"`
}

func randPolicy(r *rand.Rand, guard string) string {
	permit := r.IntN(3) != 0
	effect := "permit"
	if !permit {
		effect = "forbid"
	}
	var conds []string
	if guard != "" {
		conds = append(conds, fmt.Sprintf("principal.policies.contains(%q)", guard))
	}
	if c := randCondition(r, permit); c != "" {
		conds = append(conds, "("+c+")")
	}
	p := fmt.Sprintf("%s(%s, %s, %s)", effect, randPrincipalScope(r), randActionScope(r), randResourceScope(r))
	if !permit && guard != "" && r.IntN(2) == 0 {
		p = `@veto("acl") ` + p
	}
	if len(conds) > 0 {
		p += " when { " + strings.Join(conds, " && ") + " }"
	}
	return p + ";\n"
}

func randDocuments(r *rand.Rand) Documents {
	docs := Documents{Cedar: map[string]string{}, ACL: map[string]string{}}
	for i := range 1 + r.IntN(3) {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(randPolicy(r, ""))
		}
		if r.IntN(2) == 0 { // broad, to meet the vetoes often
			fmt.Fprintf(&b, "permit(principal, action, resource in Secret::%q);\n", pick(r, uSegs[:2]))
		}
		docs.Cedar[fmt.Sprintf("c%d", i)] = b.String()
	}
	for _, n := range uACLs {
		if r.IntN(3) == 0 {
			continue
		}
		var b strings.Builder
		for range 1 + r.IntN(5) {
			b.WriteString(randPolicy(r, n))
		}
		if r.IntN(3) != 0 { // a broad veto, as a deciding HCL glob's
			fmt.Fprintf(&b, "@veto(\"acl\") forbid(principal, %s, resource in Secret::%q) when { principal.policies.contains(%q) };\n",
				randActionScope(r), pick(r, uSegs[:2]), n)
		}
		docs.ACL[n] = b.String()
	}
	return docs
}

// randGroups nests a few groups up to three levels: each chosen group's
// parents are later groups of the universe.
func randGroups(r *rand.Rand) map[string][]string {
	if r.IntN(4) == 0 {
		return nil
	}
	m := map[string][]string{}
	g := r.IntN(3)
	for level := 0; level < 3 && g < len(uGroups); level++ {
		next := g + 1 + r.IntN(2)
		var up []string
		if next < len(uGroups) && level < 2 {
			up = []string{uGroups[next]}
		}
		m[uGroups[g]] = up
		g = next
	}
	return m
}

func randRequest(r *rand.Rand) Request {
	p := Principal{Accessor: fmt.Sprintf("acc%d", r.IntN(3)), DisplayName: "d", Policies: []string{"default"}}
	switch r.IntN(3) {
	case 0:
		p.EntityName, p.EntityType, p.EntityID = pick(r, uUsers), TypeUser, "e1"
	case 1:
		p.EntityName, p.EntityType, p.EntityID = pick(r, uServices), TypeService, "e2"
	}
	for _, n := range uACLs {
		if r.IntN(2) == 0 {
			p.Policies = append(p.Policies, n)
		}
	}
	p.Groups = randGroups(r)
	if r.IntN(2) == 0 {
		p.Metadata = map[string]string{"team": pick(r, uTeams)}
	}
	req := Request{Principal: p, Operation: pick(r, uActions), Path: randPath(r), MountType: "kv", Time: time.Unix(1700000000, 0)}
	if r.IntN(4) == 0 {
		req.Path = "/" + req.Path
	}
	if r.IntN(2) == 0 {
		req.TTL, req.HasTTL = time.Duration(r.IntN(90))*time.Minute, true
	}
	switch r.IntN(3) {
	case 0:
		req.RemoteAddr = "10.1.2.3"
	case 1:
		req.RemoteAddr = "192.0.2.1"
	}
	req.Sudo = r.IntN(5) == 0
	return req
}

// referenceEntities builds the request's entities as a plain EntityMap
// with every attribute, the way the authorizer did before the index and
// the caches: the principal's parents are its direct groups, each Secret
// entity's parent is the next prefix, nothing is shared between requests.
func referenceEntities(t *testing.T, req *Request) (cedar.Request, cedar.EntityMap) {
	t.Helper()
	p := &req.Principal
	ctx, err := contextRecord(req, allNeeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cedar.EntityMap{}
	var direct []types.EntityUID
	for g, up := range p.Groups {
		uid := types.NewEntityUID(TypeGroup, types.String(g))
		var ups []types.EntityUID
		for _, u := range up {
			ups = append(ups, types.NewEntityUID(TypeGroup, types.String(u)))
		}
		m[uid] = types.Entity{UID: uid, Parents: types.NewEntityUIDSet(ups...),
			Attributes: types.NewRecord(types.RecordMap{"name": types.String(g)}), Tags: tags(p.GroupMetadata[g])}
		direct = append(direct, uid)
	}
	puid := principalUID(p)
	m[puid] = types.Entity{UID: puid, Parents: types.NewEntityUIDSet(direct...), Attributes: principalAttributes(p, allNeeds), Tags: tags(p.Metadata)}
	act := req.Action
	if act == "" {
		act = req.Operation
	}
	a := lookupAction(act).entity
	m[a.UID] = a
	path := strings.TrimLeft(req.Path, "/")
	id := strings.Trim(path, "/")
	child := types.NewEntityUID(TypeSecret, types.String(id))
	resource := child
	attrs := secretAttributes(path, allNeeds)
	for i := len(id) - 1; i > 0; i-- {
		if id[i] == '/' {
			parent := types.NewEntityUID(TypeSecret, types.String(id[:i]))
			m[child] = types.Entity{UID: child, Parents: types.NewEntityUIDSet(parent), Attributes: attrs}
			attrs, child = types.Record{}, parent
		}
	}
	m[child] = types.Entity{UID: child, Attributes: attrs}
	return cedar.Request{Principal: puid, Action: a.UID, Resource: resource, Context: ctx}, m
}

// TestIndexDifferential: the indexed Authorize, which evaluates only the
// candidates and builds only the attributes the set reads, decides as
// cedar.Authorize over the whole set with every attribute built.
func TestIndexDifferential(t *testing.T) {
	const sets, requests = 300, 40
	var allowed, forbidden, errored, narrowed, vetoed, overVeto int
	for seed := range uint64(sets) {
		r := rand.New(rand.NewPCG(seed, 7))
		docs := randDocuments(r)
		c := NewCedar()
		if err := c.Load(docs); err != nil {
			t.Fatalf("seed %d: %v\n%v", seed, err, docs)
		}
		ps := c.set.Load()
		full := ps.full()
		ref := newOracle(ps)
		if seed%2 == 1 {
			ps.caches = tinyCaches() // every entry evicts the last
		}
		for i := range requests {
			req := randRequest(r)
			got := checkDifferential(t, fmt.Sprintf("seed %d request %d", seed, i), c, full, ref, &req)
			// The same Principal, its maps and slices changed in place:
			// decided on the new data, not on what the cache saw.
			mutatePrincipal(r, &req.Principal)
			checkDifferential(t, fmt.Sprintf("seed %d request %d changed", seed, i), c, full, ref, &req)
			_, _, _, bits, err := buildRequest(builder{needs: ps.needs, index: ps.index}, &req)
			if err != nil {
				t.Fatal(err)
			}
			if n := (selection{policies: ps.policies, bits: bits}).count(); n < len(ps.policies) {
				narrowed++
			}
			switch {
			case got.Allowed:
				allowed++
			case len(got.PolicyIDs) > 0:
				forbidden++
			}
			if len(got.Errors) > 0 {
				errored++
			}
			switch {
			case !got.Allowed && len(got.PolicyIDs) > 0 && ps.byID[cedar.PolicyID(got.PolicyIDs[0])].veto:
				vetoed++
			case got.Allowed && ref.vetoed:
				overVeto++ // a Cedar document's permit where a veto matched
			}
		}
	}
	t.Logf("%d cases (each also with its principal changed in place): %d allowed (%d despite a veto), %d forbidden (%d by veto), %d with errors, %d narrowed by the index",
		sets*requests, allowed, overVeto, forbidden, vetoed, errored, narrowed)
	// The test means something only if every outcome occurs often.
	for name, n := range map[string]int{"allowed": allowed, "forbidden": forbidden, "errored": errored, "narrowed": narrowed,
		"vetoed": vetoed, "allowed despite a veto": overVeto} {
		if n < sets*requests/50 {
			t.Errorf("only %d %s cases: the generator does not exercise it", n, name)
		}
	}
}

// checkDifferential decides req with c, as the whole set full over the
// reference entities, and by the oracle, and fails unless all agree.
func checkDifferential(t *testing.T, label string, c *Cedar, full *cedar.PolicySet, ref *oracle, req *Request) Decision {
	t.Helper()
	got, err := c.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	creq, ents := referenceEntities(t, req)
	same := func(a, b Decision) bool {
		return a.Allowed == b.Allowed && slices.Equal(a.PolicyIDs, b.PolicyIDs) && slices.Equal(a.Errors, b.Errors)
	}
	want := c.set.Load().decide(cedar.Authorize(full, ents, creq))
	if !same(got, want) {
		t.Fatalf("%s: %+v\nindexed %+v\nfull    %+v\npolicies:\n%v", label, *req, got, want, full)
	}
	if o := ref.decide(ents, creq); !same(got, o) {
		t.Fatalf("%s: %+v\nindexed %+v\noracle  %+v\npolicies:\n%v", label, *req, got, o, full)
	}
	return got
}

// oracle decides by the rule of Cedar's doc, evaluating each policy as
// written (a veto as the forbid it is) alone.
type oracle struct {
	policies []*compiled
	alone    []*cedar.PolicySet
	// vetoed reports that a veto matched the last request decided.
	vetoed bool
}

func newOracle(ps *policySet) *oracle {
	o := &oracle{policies: ps.policies}
	for _, p := range ps.policies {
		s := cedar.NewPolicySet()
		s.Add(p.id, p.policy)
		o.alone = append(o.alone, s)
	}
	return o
}

func (o *oracle) decide(ents cedar.EntityMap, creq cedar.Request) Decision {
	var forbids, vetoes, cedarPermits, aclPermits, errs []string
	for i, p := range o.policies {
		_, diag := cedar.Authorize(o.alone[i], ents, creq)
		for _, e := range diag.Errors {
			errs = append(errs, e.String())
		}
		if len(diag.Reasons) == 0 {
			continue
		}
		id := string(p.id)
		switch {
		case p.veto:
			vetoes = append(vetoes, id)
		case p.policy.Effect() == cedar.Forbid:
			forbids = append(forbids, id)
		case p.kind == docCedar:
			cedarPermits = append(cedarPermits, id)
		default:
			aclPermits = append(aclPermits, id)
		}
	}
	o.vetoed = len(vetoes) > 0
	d := Decision{Errors: errs}
	switch {
	case len(forbids) > 0:
		d.PolicyIDs = forbids
	case len(vetoes) == 0 && len(cedarPermits)+len(aclPermits) > 0:
		d.Allowed, d.PolicyIDs = true, append(cedarPermits, aclPermits...)
	case len(cedarPermits) > 0:
		d.Allowed, d.PolicyIDs = true, cedarPermits
	default:
		d.PolicyIDs = vetoes
	}
	slices.Sort(d.PolicyIDs)
	slices.Sort(d.Errors)
	return d
}

// mutatePrincipal changes p's groups, tags, policies and name in place,
// writing into the maps and the slice it already has.
func mutatePrincipal(r *rand.Rand, p *Principal) {
	if p.Groups != nil {
		clear(p.Groups)
		maps.Copy(p.Groups, randGroups(r))
	}
	if p.Metadata != nil {
		p.Metadata["team"] = pick(r, uTeams)
	}
	if len(p.Policies) > 1 {
		p.Policies[len(p.Policies)-1] = pick(r, uACLs)
	}
	if p.EntityName != "" && r.IntN(4) == 0 {
		p.EntityName = pick(r, uUsers)
	}
}
