package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// sampleSecret is a response with a lease, data of several types and warnings.
func sampleSecret() *client.Secret {
	return &client.Secret{
		RequestID: "req-1", LeaseID: "database/creds/ro/abc", LeaseDuration: 3600, Renewable: true,
		Data: map[string]any{
			"username": "v-ro-x1", "password": "A1a-secret", "port": json.Number("5432"),
			"ratio": json.Number("0.5"), "tags": []any{"a", "b"}, "opts": map[string]any{"ssl": true},
			"nothing": nil,
		},
		Warnings: []string{"be careful"},
	}
}

func sampleAuthSecret() *client.Secret {
	return &client.Secret{
		RequestID: "req-2",
		Auth: &client.SecretAuth{ClientToken: "s.child", Accessor: "acc1", Policies: []string{"default", "dev"},
			TokenPolicies: []string{"default", "dev"}, LeaseDuration: 2764800, Renewable: true,
			Metadata: map[string]string{"team": "infra"}},
	}
}

func sampleMounts() map[string]*client.MountOutput {
	return map[string]*client.MountOutput{
		"secret/": {Type: "kv", Accessor: "kv_1234", Description: "key/value secret storage",
			Options: map[string]string{"version": "2"}},
		"sys/":      {Type: "system", Accessor: "system_1", Description: "system endpoints"},
		"database/": {Type: "database", Accessor: "database_9", Config: client.MountConfigOutput{DefaultLeaseTTL: 3600, MaxLeaseTTL: 86400}},
	}
}

func sampleKVMetadata() *client.KVMetadata {
	t1 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return &client.KVMetadata{CreatedTime: t1, UpdatedTime: t1.Add(time.Hour), CurrentVersion: 2, OldestVersion: 1,
		DeleteVersionAfter: "0s",
		Versions: map[int]client.KVVersionMetadata{
			1: {Version: 1, CreatedTime: t1, Destroyed: true},
			2: {Version: 2, CreatedTime: t1.Add(time.Hour), DeletionTime: t1.Add(2 * time.Hour)},
		},
		Raw: &client.Secret{Data: map[string]any{"current_version": json.Number("2")}}}
}

func TestPrinterGolden(t *testing.T) {
	t.Parallel()
	docs := map[string]document{
		"secret":   secretDocument(sampleSecret()),
		"auth":     secretDocument(sampleAuthSecret()),
		"mounts":   mountsDocument(sampleMounts(), true),
		"keys":     keysDocument([]string{"app/", "db", "web.key"}),
		"seal":     sealStatusDocument(&client.SealStatus{Type: "shamir", Initialized: true, Sealed: true, T: 3, N: 5, Progress: 1, Version: "0.1.0", StorageType: "raft"}),
		"metadata": metadataDocument(kvTarget{"secret", "app/db"}, sampleKVMetadata()),
		"init": initDocument(&client.InitResponse{Keys: []string{"aa", "bb"}, KeysB64: []string{"qg==", "uw=="}, RootToken: "s.root"},
			2, 2),
	}
	for name, d := range docs {
		for _, format := range []string{formatTable, formatJSON, formatYAML} {
			t.Run(name+"_"+format, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				p, err := newPrinter(&buf, format)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.print(d); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, "print_"+name+"_"+format, buf.Bytes())
			})
		}
	}
}

func TestPrinterCSV(t *testing.T) {
	t.Parallel()
	d := document{Value: map[string]string{}, Sections: []section{{Header: []string{"name", "value"},
		Rows: [][]string{{"app/db.password", "hun,ter\"2"}, {"multi", "line1\nline2"}}}}}
	var buf bytes.Buffer
	p, err := newPrinter(&buf, "CSV", formatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.print(d); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "print_getall_csv", buf.Bytes())

	// Multi-section output cannot be CSV.
	if err := p.print(secretDocument(sampleSecret())); err != nil {
		// single section: fine
		t.Fatalf("single-section csv: %v", err)
	}
	if err := p.print(metadataDocument(kvTarget{"secret", "a"}, sampleKVMetadata())); err == nil {
		t.Error("multi-section document printed as csv")
	}
}

func TestNewPrinterFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		extra  []string
		want   string
		ok     bool
	}{
		{"", nil, formatTable, true},
		{" JSON ", nil, formatJSON, true},
		{"yaml", nil, formatYAML, true},
		{"csv", nil, "", false},
		{"csv", []string{formatCSV}, formatCSV, true},
		{"dotenv", []string{formatCSV}, "", false},
		{"dotenv", []string{formatCSV, formatDotenv}, formatDotenv, true},
		{"xml", []string{formatCSV}, "", false},
	}
	for _, tt := range tests {
		p, err := newPrinter(nil, tt.format, tt.extra...)
		if (err == nil) != tt.ok || (tt.ok && p.format != tt.want) {
			t.Errorf("newPrinter(%q, %v) = %v, %v", tt.format, tt.extra, p, err)
		}
	}
}

func TestYAMLNumbersAreNumbers(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, _ := newPrinter(&buf, formatYAML)
	if err := p.print(document{Value: map[string]any{"num": json.Number("5432"), "f": json.Number("0.5"), "s": "5432"}}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "f: 0.5\nnum: 5432\ns: \"5432\"\n" {
		t.Errorf("yaml = %q", got)
	}
}

func TestPrintField(t *testing.T) {
	t.Parallel()
	fields := secretFields(sampleSecret())
	tests := []struct{ name, want string }{
		{"password", "A1a-secret\n"},
		{"port", "5432\n"},
		{"tags", "[\"a\",\"b\"]\n"},
		{"lease_id", "database/creds/ro/abc\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := printField(&buf, fields, tt.name); err != nil || buf.String() != tt.want {
			t.Errorf("field %s = %q, %v; want %q", tt.name, buf.String(), err, tt.want)
		}
	}
	if err := printField(&bytes.Buffer{}, fields, "missing"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing field: %v", err)
	}
	var buf bytes.Buffer
	if err := printField(&buf, secretFields(sampleAuthSecret()), "token"); err != nil || buf.String() != "s.child\n" {
		t.Errorf("token field = %q, %v", buf.String(), err)
	}
}
