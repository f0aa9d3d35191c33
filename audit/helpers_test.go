package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// keys is a device's key material for tests.
type keys struct {
	root []byte
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func newKeys(t testing.TB) keys {
	t.Helper()
	root := make([]byte, audit.RootKeySize)
	if _, err := rand.Read(root); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keys{root: root, priv: priv, pub: pub}
}

func (k keys) opts() audit.FileOptions {
	return audit.FileOptions{Options: audit.Options{RootKey: k.root, SigningKey: k.priv}}
}

func openFile(t testing.TB, path string, o audit.FileOptions) *audit.FileDevice {
	t.Helper()
	d, err := audit.OpenFile(path, o)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return d
}

// sampleEntry is an entry carrying plaintext sentinels in every secret
// field.
func sampleEntry(i int) *audit.Entry {
	return &audit.Entry{
		Time: time.Date(2026, 12, 1, 12, 0, 0, i, time.UTC), RequestID: "req-id",
		Operation: "update", Path: "secret/data/app", MountType: "kv", RemoteAddr: "10.0.0.1",
		Auth: audit.Auth{
			ClientToken: "SENTINEL-TOKEN", Accessor: "SENTINEL-ACCESSOR", EntityID: "ent-1",
			DisplayName: "token-app", Policies: []string{"default", "app"}, Metadata: map[string]string{"team": "core"},
		},
		Decision: audit.Decision{Allowed: true, PolicyIDs: []string{"p1"}},
		RequestData: map[string]any{
			"password": "SENTINEL-PW",
			"nested":   map[string]any{"list": []any{"SENTINEL-L0", 42, true, map[string]any{"deep": "SENTINEL-DEEP"}}},
		},
		ResponseData: map[string]any{"value": "SENTINEL-RESP"},
		LeaseID:      "lease/1",
	}
}

// logN writes n request/response pairs' worth of entries (n entries).
func logN(t testing.TB, d audit.Broker, n int) {
	t.Helper()
	for i := range n {
		var err error
		if i%2 == 0 {
			err = d.LogRequest(context.Background(), sampleEntry(i))
		} else {
			err = d.LogResponse(context.Background(), sampleEntry(i))
		}
		if err != nil {
			t.Fatalf("log entry %d: %v", i, err)
		}
	}
}

// readLines returns the lines of a file without newlines.
func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// decode parses a line into a generic map.
func decode(t testing.TB, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line is not JSON: %v", err)
	}
	return m
}

func tempLog(t testing.TB) string { return filepath.Join(t.TempDir(), "audit.log") }
