package identity

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Vault's limits on metadata (identity/store_structs.go).
const (
	metaMaxPairs       = 64
	metaKeyMaxLength   = 128
	metaValueMaxLength = 512
	metaReservedPrefix = "vault-"
)

var metaKeyFormat = regexp.MustCompile(`^[a-zA-Z0-9=/+_-]+$`)

// validateMetadata applies Vault's metadata rules; field names the field
// in the error.
func validateMetadata(field string, md map[string]string) error {
	if len(md) > metaMaxPairs {
		return logical.InvalidRequest(field, "metadata cannot contain more than %d key/value pairs", metaMaxPairs)
	}
	for k, v := range md {
		switch {
		case k == "":
			return logical.InvalidRequest(field, "key cannot be blank")
		case !metaKeyFormat.MatchString(k):
			return logical.InvalidRequest(field, "key %q contains invalid characters", k)
		case len(k) > metaKeyMaxLength:
			return logical.InvalidRequest(field, "key %q is too long (limit: %d characters)", k, metaKeyMaxLength)
		case strings.HasPrefix(k, metaReservedPrefix):
			return logical.InvalidRequest(field, "key %q uses reserved prefix %q", k, metaReservedPrefix)
		case len(v) > metaValueMaxLength:
			return logical.InvalidRequest(field, "value of key %q is too long (limit: %d characters)", k, metaValueMaxLength)
		}
	}
	return nil
}

// normalisePolicies lower-cases, sorts and deduplicates policies, as
// Vault does, and refuses root.
func normalisePolicies(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if slices.Contains(out, "root") {
		return nil, logical.InvalidRequest("policies", "policies cannot contain root")
	}
	return out, nil
}

// cedarType validates an entity's cedar_type; "" means User.
func cedarType(t string) (string, error) {
	switch t {
	case "", TypeUser:
		return TypeUser, nil
	case TypeService:
		return TypeService, nil
	}
	return "", logical.InvalidRequest("cedar_type", "cedar_type must be %q or %q, not %q", TypeUser, TypeService, t)
}

// cedarUID renders a Cedar entity uid, e.g. User::"alice".
func cedarUID(typ, name string) string {
	return types.NewEntityUID(types.EntityType(typ), types.String(name)).String()
}

// generateName returns Vault's name for an unnamed object, e.g.
// "entity_1a2b3c4d", free in taken.
func generateName[T any](kind string, taken map[string]T) (string, error) {
	for {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("identity: generate %s name: %w", kind, err)
		}
		name := kind + "_" + hex.EncodeToString(b[:])
		if _, ok := taken[name]; !ok {
			return name, nil
		}
	}
}

// dedupe returns in sorted, without duplicates or empty strings.
func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// badRequest is a 400 with Vault's wording and no field prefix.
func badRequest(format string, args ...any) error {
	return &logical.InvalidRequestError{Message: fmt.Sprintf(format, args...)}
}
