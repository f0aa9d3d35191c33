package core

import (
	"fmt"
	"maps"
	"slices"

	"github.com/secretumvault/secretumvault/authz/hcl"
)

// defaultACLPolicy is the built-in "default" policy: Vault's, plus our
// sys/authz/explain (a token may ask why it is allowed or denied; asking
// about others needs sudo, checked by the handler) and
// sys/internal/ui/mounts (Vault's are unauthenticated; their handlers
// answer only about mounts the token can use).
const defaultACLPolicy = hcl.DefaultPolicy + `
# Allow a token to ask why a request of its own would be allowed or denied
path "sys/authz/explain" {
    capabilities = ["update"]
}

# Allow a token to learn the mounts it can use (Vault serves these
# without a token and filters them by the token's access; the Vault CLI's
# kv commands ask for them first)
path "sys/internal/ui/mounts" {
    capabilities = ["read"]
}
path "sys/internal/ui/mounts/*" {
    capabilities = ["read"]
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
