package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestAuditTail: sys/audit/:path/tail starts a tail, then answers the
// lines written since, exactly as in the file (values HMAC'd).
func TestAuditTail(t *testing.T) {
	c, res := newCoreWith(t, core.Config{Physical: inmem.New()})
	root := res.RootToken
	file := filepath.Join(t.TempDir(), "audit.log")
	enableFileAudit(t, c, root, "file", file, nil)
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	start := mustDo(t, c, root, logical.ReadOperation, "sys/audit/file/tail", nil).Data
	if lines := start["lines"].([]string); len(lines) != 0 {
		t.Fatalf("a new tail answered %d lines", len(lines))
	}
	cursor := start["cursor"]
	mustDo(t, c, root, logical.UpdateOperation, "secret/data/tailed", map[string]any{"data": map[string]any{"pw": "plain-secret-value"}})
	got := mustDo(t, c, root, logical.ReadOperation, "sys/audit/file/tail", map[string]any{"after": cursor}).Data
	joined := strings.Join(got["lines"].([]string), "")
	if !strings.Contains(joined, `"path":"secret/data/tailed"`) || strings.Contains(joined, "plain-secret-value") || !strings.Contains(joined, "hmac-sha256:") {
		t.Fatalf("tail after the write:\n%s", joined)
	}
	for _, l := range strings.SplitAfter(joined, "\n") {
		if l != "" && !strings.Contains(fileText(t, file), l) {
			t.Fatalf("a tail line is not in the file as written: %s", l)
		}
	}
	if _, err := do(t, c, root, logical.ReadOperation, "sys/audit/none/tail", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("tail of a missing device: %v", err)
	}
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
