package core

import (
	"errors"
)

// TEMPORARY until authz.Documents and authz/hcl land (issue 7 slices).

const defaultACLPolicy = `path "auth/token/lookup-self" { capabilities = ["read"] }`

var errNoHCL = errors.New("HCL policies are not compiled yet")

func compileACL(acl map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for n := range acl {
		if n != defaultPolicyName {
			return nil, errNoHCL
		}
	}
	out[defaultPolicyName] = `permit(principal, action, resource) when { principal.policies.contains("default") &&
  !context.sudo && ["auth/token/lookup-self", "auth/token/renew-self", "auth/token/revoke-self", "sys/capabilities-self", "sys/authz/explain"].contains(resource.path) };`
	return out, nil
}
