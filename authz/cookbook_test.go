package authz_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/framework"
)

// cookbookFile is the documented cookbook this test keeps honest.
const cookbookFile = "../docs/cedar-cookbook.md"

// recipe is one "### N." section: its Cedar and its request lines.
type recipe struct {
	title    string
	cedar    string
	requests []string
}

var fence = regexp.MustCompile("(?s)```(cedar|requests)\n(.*?)```")

// parseCookbook splits the cookbook into recipes.
func parseCookbook(t *testing.T) []recipe {
	t.Helper()
	b, err := os.ReadFile(cookbookFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []recipe
	for _, sec := range strings.Split(string(b), "\n### ")[1:] {
		r := recipe{title: strings.SplitN(sec, "\n", 2)[0]}
		for _, m := range fence.FindAllStringSubmatch(sec, -1) {
			if m[1] == "cedar" {
				r.cedar += m[2]
				continue
			}
			for _, line := range strings.Split(strings.TrimSpace(m[2]), "\n") {
				r.requests = append(r.requests, strings.TrimSpace(line))
			}
		}
		out = append(out, r)
	}
	return out
}

// parseRequest turns "allow principal=User:alice groups=a,b>c op=read
// path=..." into the expected verdict and the request.
func parseRequest(line string) (bool, authz.Request, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 || (fields[0] != "allow" && fields[0] != "deny") {
		return false, authz.Request{}, fmt.Errorf("want allow|deny and key=value pairs")
	}
	req := authz.Request{Time: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	p := &req.Principal
	p.Accessor = "acc-cookbook"
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return false, req, fmt.Errorf("%q is not key=value", f)
		}
		var err error
		switch k {
		case "principal":
			err = setPrincipal(p, v)
		case "groups":
			p.Groups = map[string][]string{}
			for _, g := range strings.Split(v, ",") {
				child, parent, nested := strings.Cut(g, ">")
				if nested {
					p.Groups[child] = []string{parent}
					p.Groups[parent] = nil
				} else {
					p.Groups[child] = nil
				}
			}
		case "tags":
			p.Metadata = map[string]string{}
			for _, kv := range strings.Split(v, ";") {
				tk, tv, _ := strings.Cut(kv, ":")
				p.Metadata[tk] = tv
			}
		case "policies":
			p.Policies = strings.Split(v, ",")
		case "op":
			req.Operation = v
		case "action":
			req.Action = v
			req.Sudo = v == "sudo"
		case "path":
			req.Path = v
		case "mount":
			req.MountType = v
		case "kv":
			req.KVPath = v
		case "ttl":
			req.TTL, err = framework.ParseDuration(v)
			req.HasTTL = true
		case "addr":
			req.RemoteAddr = v
		case "time":
			req.Time, err = time.Parse(time.RFC3339, v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return false, req, err
		}
	}
	if req.MountType == "" {
		req.MountType = strings.SplitN(req.Path, "/", 2)[0]
	}
	return fields[0] == "allow", req, nil
}

func setPrincipal(p *authz.Principal, v string) error {
	if v == "root" {
		p.Root, p.Policies = true, []string{"root"}
		return nil
	}
	typ, name, ok := strings.Cut(v, ":")
	switch {
	case !ok:
		return fmt.Errorf("principal %q: want Type:name", v)
	case typ == "Token":
		p.Accessor = name
	case typ == "User" || typ == "Service":
		p.EntityType, p.EntityName, p.EntityID = typ, name, "ent-"+name
	default:
		return fmt.Errorf("principal type %q", typ)
	}
	return nil
}

// TestCedarCookbook loads every recipe of docs/cedar-cookbook.md alone
// and checks each of its request lines against the real engine.
func TestCedarCookbook(t *testing.T) {
	recipes := parseCookbook(t)
	if len(recipes) != 20 {
		t.Fatalf("the cookbook has %d recipes, want 20", len(recipes))
	}
	for _, r := range recipes {
		t.Run(r.title, func(t *testing.T) {
			if r.cedar == "" || len(r.requests) < 2 {
				t.Fatalf("recipe %q needs a cedar block and at least two requests", r.title)
			}
			c := authz.NewCedar()
			if err := c.Load(authz.Documents{Cedar: map[string]string{"recipe": r.cedar}}); err != nil {
				t.Fatalf("the recipe's Cedar does not load: %v", err)
			}
			allows, denies := 0, 0
			for _, line := range r.requests {
				want, req, err := parseRequest(line)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				d, err := c.Authorize(context.Background(), &req)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				if d.Allowed != want {
					t.Errorf("%s: allowed = %v (policies %v, errors %v)", line, d.Allowed, d.PolicyIDs, d.Errors)
				}
				if want {
					allows++
				} else {
					denies++
				}
			}
			if allows == 0 || denies == 0 {
				t.Errorf("recipe %q shows only one side (%d allowed, %d denied)", r.title, allows, denies)
			}
		})
	}
}
