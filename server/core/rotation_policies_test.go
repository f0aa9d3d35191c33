package core_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// kvRotationCore is a core with kv v2 at secret/ and a secret app/api
// whose custom metadata asks for 24 hex characters per key.
func kvRotationCore(t *testing.T) (*core.Core, string) {
	t.Helper()
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), RotationCheckInterval: 50 * time.Millisecond})
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustDo(t, c, root, logical.UpdateOperation, "secret/data/app/api", map[string]any{"data": map[string]any{"key": "initial", "other": "x"}})
	mustDo(t, c, root, logical.UpdateOperation, "secret/metadata/app/api", map[string]any{
		"custom_metadata": map[string]any{"rotate_length": "24", "rotate_charset": "hex", "env": "prod"}})
	return c, root
}

func kvVersion(t *testing.T, c *core.Core, tok string) (int, map[string]any) {
	t.Helper()
	resp := mustDo(t, c, tok, logical.ReadOperation, "secret/data/app/api", nil)
	meta := resp.Data["metadata"].(map[string]any)
	return toInt(meta["version"]), resp.Data["data"].(map[string]any)
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

// A KV secret under a per-second policy gets new versions with fresh
// values on schedule, each audited with the policy.
func TestRotationPolicyRotatesKVOnSchedule(t *testing.T) {
	c, root := kvRotationCore(t)
	mustDo(t, c, root, logical.UpdateOperation, "sys/rotation/policies/kv-fast", map[string]any{
		"match": "secret/data/app/*", "schedule": "* * * * * *", "tags": map[string]any{"env": "prod"}})
	eventually(t, "two scheduled rotations", 15*time.Second, func() bool { v, _ := kvVersion(t, c, root); return v >= 3 })
	_, data := kvVersion(t, c, root)
	if k, _ := data["key"].(string); len(k) != 24 || k == "initial" || strings.Trim(k, "0123456789abcdef") != "" {
		t.Fatalf("rotated value %q is not 24 hex characters", k)
	}
	hist := mustDo(t, c, root, logical.ReadOperation, "sys/rotation/policies/kv-fast/history", nil).Data["runs"].([]any)
	first := hist[0].(map[string]any)
	if first["result"] != "success" || first["reason"] != "scheduled" || first["path"] != "secret/data/app/api" {
		t.Fatalf("history[0] = %v", first)
	}
	pol := mustDo(t, c, root, logical.ReadOperation, "sys/rotation/policies/kv-fast", nil).Data
	if pol["schedule"] != "* * * * * *" || pol["enforce"] != "rotate" || pol["source"] != "api" {
		t.Fatalf("policy read = %v", pol)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/rotation/policies/bad", map[string]any{"match": "secret/*", "schedule": "at noon"}); !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), "schedule") {
		t.Fatalf("invalid cron: %v, want a 400 naming schedule", err)
	}
}

// An overdue secret under quarantine answers 403 naming the policy to
// the root token too; a rotation by hand lifts it; status shows it.
func TestRotationQuarantineThroughThePipeline(t *testing.T) {
	c, root := kvRotationCore(t)
	mustDo(t, c, root, logical.UpdateOperation, "sys/rotation/policies/strict", map[string]any{
		"match": "secret/data/app/*", "max_age": "2s", "enforce": "quarantine"})
	var err error
	eventually(t, "quarantine", 15*time.Second, func() bool {
		_, err = do(t, c, root, logical.ReadOperation, "secret/data/app/api", nil)
		return err != nil
	})
	var coded *logical.CodedError
	if !errors.As(err, &coded) || coded.Status != http.StatusForbidden || !strings.Contains(coded.Message, `"strict"`) {
		t.Fatalf("read of an overdue secret: %v, want a 403 naming the policy", err)
	}
	st := mustDo(t, c, root, logical.ReadOperation, "sys/rotation/status", nil).Data
	if toInt(st["quarantined"]) != 1 {
		t.Fatalf("status = %v", st)
	}
	rot := mustDo(t, c, root, logical.UpdateOperation, "sys/rotation/rotate", map[string]any{"path": "secret/data/app/api"})
	if rot.Data["version"] != "2" {
		t.Fatalf("rotate answered %v", rot.Data)
	}
	if v, _ := kvVersion(t, c, root); v != 2 {
		t.Fatalf("after the rotation by hand the secret is at version %d", v)
	}
}

// A KV rotate_webhook may call only the hosts the server configuration
// lists: none by default.
func TestRotationWebhookHosts(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"data":{"key":"from-hook","other":"y"}}`)
	}))
	defer hook.Close()
	for _, tc := range []struct {
		hosts []string
		ok    bool
	}{{nil, false}, {[]string{"hooks.example.com"}, false}, {[]string{"127.0.0.1"}, true}, {[]string{"*"}, true}} {
		c, res := newCoreWith(t, core.Config{Physical: inmem.New(), RotationWebhookHosts: tc.hosts})
		root := res.RootToken
		mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		mustDo(t, c, root, logical.UpdateOperation, "secret/data/app/api", map[string]any{"data": map[string]any{"key": "initial", "other": "x"}})
		mustDo(t, c, root, logical.UpdateOperation, "secret/metadata/app/api", map[string]any{"custom_metadata": map[string]any{"rotate_webhook": hook.URL}})
		_, err := do(t, c, root, logical.UpdateOperation, "sys/rotation/rotate", map[string]any{"path": "secret/data/app/api"})
		switch {
		case tc.ok && err != nil:
			t.Fatalf("hosts %v: rotation refused: %v", tc.hosts, err)
		case !tc.ok && (!errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), "rotation_webhook_hosts")):
			t.Fatalf("hosts %v: %v, want a 400 naming rotation_webhook_hosts", tc.hosts, err)
		}
		if _, data := kvVersion(t, c, root); tc.ok != (data["key"] == "from-hook") {
			t.Fatalf("hosts %v: data after the rotation = %v", tc.hosts, data)
		}
	}
}
