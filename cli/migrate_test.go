package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestFlattenSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    string
		prefix string
		want   map[string]string
		err    string
	}{
		{name: "yaml nested", doc: "db:\n  password: pw\n  port: 5432\nlist: [1, two]\nflag: true\n", prefix: "app/",
			want: map[string]string{"app/db/password": "pw", "app/db/port": "5432", "app/list": `[1,"two"]`, "app/flag": "true"}},
		{name: "json", doc: `{"a": "x", "b": {"c": null}}`,
			want: map[string]string{"a": "x", "b/c": "null"}},
		{name: "empty map kept as json", doc: `{"a": {}}`, want: map[string]string{"a": "{}"}},
		{name: "not a map", doc: "- a\n- b\n", err: "not a map"},
		{name: "nothing", doc: "{}", err: "no keys"},
		{name: "bad name", doc: `{"a/../b": "x"}`, err: `key "a/../b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := flattenSecrets([]byte(tt.doc), tt.prefix)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("flattenSecrets = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestSOPSFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, flag, want, err string }{
		{"a.enc.yaml", "", "yaml", ""},
		{"a.YML", "", "yaml", ""},
		{"a.json", "", "json", ""},
		{"a.txt", "", "", "extension"},
		{"a.txt", "JSON", "json", ""},
		{"a.yaml", "ini", "", "want yaml or json"},
	}
	for _, tt := range tests {
		got, err := sopsFormat(tt.file, tt.flag)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("sopsFormat(%q, %q) err = %v", tt.file, tt.flag, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("sopsFormat(%q, %q) = %q, %v", tt.file, tt.flag, got, err)
		}
	}
}
