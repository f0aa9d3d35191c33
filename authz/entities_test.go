package authz

import (
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

func mustSet(t *testing.T, text string) *policySet {
	t.Helper()
	list, err := compileDoc(docCedar, "t", text)
	if err != nil {
		t.Fatal(err)
	}
	return newPolicySet(list)
}

// TestNeeds: attributes no policy reads are not built; read ones are
// built as the contract says.
func TestNeeds(t *testing.T) {
	req := &Request{Principal: Principal{Accessor: "a", Policies: []string{"p"}, Metadata: map[string]string{"k": "v"}},
		Operation: "read", Path: "a/b/c", MountType: "kv", RemoteAddr: "10.0.0.1"}
	tests := []struct {
		name         string
		policy       string
		resource     []string // attributes of the resource entity
		context      int      // attributes of the context
		tags, wholeC bool
	}{
		{"nothing read", `permit(principal, action, resource);`, nil, 0, false, false},
		{"path only", `permit(principal, action, resource) when { resource.path == "x" };`, []string{"path"}, 0, false, false},
		{"seg", `permit(principal, action, resource) when { resource.seg has s1 && resource.seg.s1 == "b" };`, []string{"seg"}, 0, false, false},
		{"rest and depth", `permit(principal, action, resource) when { resource.depth == 3 && resource.rest.r1 == "b/c" };`, []string{"depth", "rest"}, 0, false, false},
		{"tags and sudo", `permit(principal, action, resource) when { principal.hasTag("k") && context.sudo };`, nil, 1, true, false},
		{"the context as a value", `permit(principal, action, resource) when { {"c": context}.c.sudo };`, nil, 5, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := mustSet(t, tt.policy)
			if ps.needs.context != tt.wholeC {
				t.Fatalf("whole context = %v", ps.needs.context)
			}
			creq, es, s, _, err := buildRequest(builder{needs: ps.needs, caches: ps.caches, index: ps.index}, req)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := es.Get(s.resource)
			var got []string
			for k := range r.Attributes.All() {
				got = append(got, string(k))
			}
			if !sameSet(got, tt.resource) || creq.Context.Len() != tt.context || (es.part.entity.Tags.Len() > 0) != tt.tags {
				t.Fatalf("resource %v, context %v, tags %v", got, creq.Context, es.part.entity.Tags)
			}
			if seg, ok := r.Attributes.Get("seg"); ok {
				if s1, _ := seg.(types.Record).Get("s1"); s1 != types.String("b") {
					t.Fatalf("seg %v", seg)
				}
			}
			if _, ok := es.Get(cedar.NewEntityUID(TypeSecret, "a")); !ok {
				t.Fatal("the prefix a is not an entity")
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

// buildRequest is what Authorize builds for req with b: the Cedar
// request, its entities, its shape and its candidate policies.
func buildRequest(b builder, req *Request) (cedar.Request, *entities, shape, bitset, error) {
	part := b.principal(&req.Principal)
	s := newShape(req, part)
	es := &entities{}
	bits := make(bitset, b.index.words)
	creq, err := b.request(req, &s, part, es, bits)
	return creq, es, s, bits, err
}
