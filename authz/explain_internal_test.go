package authz

import (
	"testing"

	"github.com/cedar-policy/cedar-go/types"
)

// TestUIDString: the fast rendering is Cedar's.
func TestUIDString(t *testing.T) {
	for _, id := range []string{"", "alice", "secret/data/a b", "~!@#$%^&*()_+-=[]{}|;:,.<>/?`", `q"uote`, "it's", `back\slash`,
		"tab\there", "nl\n", "del\x7f", "é", "日本", "\u00ad", "\x00"} {
		uid := types.NewEntityUID(TypeSecret, types.String(id))
		if got, want := uidString(uid), uid.String(); got != want {
			t.Errorf("%q: %s, want %s", id, got, want)
		}
	}
}
