package core

import (
	"fmt"
	"maps"
	"slices"

	"github.com/secretumvault/secretumvault/authz/hcl"
)

// defaultACLPolicy is the built-in "default" policy: Vault's, plus our
// sys/authz/explain (a token may ask why it is allowed or denied; asking
// about others needs sudo, checked by the handler).
const defaultACLPolicy = hcl.DefaultPolicy + `
# Allow a token to ask why a request of its own would be allowed or denied
path "sys/authz/explain" {
    capabilities = ["update"]
}
`

// compileACL compiles the whole set of Vault HCL policies into one Cedar
// document per policy (Vault's precedence spans every policy a token may
// hold, so the set is compiled together).
func compileACL(acl map[string]string) (map[string]string, error) {
	parsed := make(map[string]*hcl.Policy, len(acl))
	for _, name := range slices.Sorted(maps.Keys(acl)) {
		p, err := hcl.Parse(name, acl[name])
		if err != nil {
			return nil, err
		}
		parsed[name] = p
	}
	out, err := hcl.Compile(parsed)
	if err != nil {
		return nil, fmt.Errorf("compile ACL policies: %w", err)
	}
	return out, nil
}
