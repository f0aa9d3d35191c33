package jwt

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	glob "github.com/ryanuber/go-glob"
)

// getClaim returns the claim named by claim: a JSON pointer (RFC 6901)
// when it starts with "/", else a top-level claim name; nil when absent.
// A single-string aud is returned as a list, as Vault does.
func getClaim(claims map[string]any, claim string) any {
	var v any
	if strings.HasPrefix(claim, "/") {
		v = pointer(claims, claim)
	} else {
		v = claims[claim]
	}
	if s, ok := v.(string); ok && claim == "aud" {
		return []any{s}
	}
	return v
}

// pointer resolves a JSON pointer into decoded JSON; nil when any step
// is missing.
func pointer(doc any, ptr string) any {
	cur := doc
	for _, tok := range strings.Split(ptr, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[tok]
			if !ok {
				return nil
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) || tok != strconv.Itoa(i) {
				return nil
			}
			cur = node[i]
		default:
			return nil
		}
	}
	return cur
}

// normalizeList turns a scalar claim into a one-element list; ok=false
// for anything but a string, bool, number or list.
func normalizeList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case string, bool, json.Number:
		return []any{x}, true
	}
	return nil, false
}

// validateBoundClaims checks that every bound claim is present and that
// one of its values matches one of the role's values for it (exactly, or
// as a glob with bound_claims_type "glob"). Messages name the claim,
// never its value.
func validateBoundClaims(boundType string, bound, claims map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(bound)) {
		want := bound[name]
		got := getClaim(claims, name)
		if got == nil {
			return fmt.Errorf("claim %q is missing", name)
		}
		gotVals, ok := normalizeList(got)
		if !ok {
			return fmt.Errorf("claim %q is not a string, bool, number or list", name)
		}
		wantVals, ok := normalizeList(want)
		if !ok {
			return fmt.Errorf("bound claim %q is not a string, bool, number or list", name)
		}
		if !matchFound(wantVals, gotVals, boundType == boundClaimsGlob) {
			return fmt.Errorf("claim %q does not match any associated bound claim values", name)
		}
	}
	return nil
}

func matchFound(want, got []any, globs bool) bool {
	for _, w := range want {
		for _, g := range got {
			if globs {
				ws, wok := w.(string)
				gs, gok := g.(string)
				if wok && gok && glob.Glob(ws, gs) {
					return true
				}
				continue
			}
			if w == g {
				return true
			}
		}
	}
	return false
}

// userName returns the user_claim value (a string).
func userName(claims map[string]any, r *role) (string, error) {
	var raw any
	if r.UserClaimPointer {
		raw = getClaim(claims, r.UserClaim)
	} else {
		raw = claims[r.UserClaim]
	}
	if raw == nil {
		return "", fmt.Errorf("claim %q not found in token", r.UserClaim)
	}
	s, ok := raw.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("claim %q could not be converted to string", r.UserClaim)
	}
	return s, nil
}

// groupNames returns the groups_claim values (a string or a list of
// strings; empty names are skipped); nil when the role has no
// groups_claim.
func groupNames(claims map[string]any, r *role) ([]string, error) {
	if r.GroupsClaim == "" {
		return nil, nil
	}
	raw := getClaim(claims, r.GroupsClaim)
	if raw == nil {
		return nil, fmt.Errorf("%q claim not found in token", r.GroupsClaim)
	}
	list, ok := normalizeList(raw)
	if !ok {
		return nil, fmt.Errorf("%q claim could not be converted to string list", r.GroupsClaim)
	}
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, g := range list {
		s, ok := g.(string)
		if !ok {
			return nil, fmt.Errorf("value in %q claim could not be parsed as string", r.GroupsClaim)
		}
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// extractMetadata maps claims to metadata keys per claim_mappings;
// absent claims are skipped, non-string ones are an error.
func extractMetadata(claims map[string]any, mappings map[string]string) (map[string]string, error) {
	md := make(map[string]string, len(mappings)+1)
	for source, target := range mappings {
		v := getClaim(claims, source)
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("error converting claim '%s' to string", source)
		}
		md[target] = s
	}
	return md, nil
}
