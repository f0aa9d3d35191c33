package kv_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// countVersionEntries counts version data entries in the mount's storage.
func countVersionEntries(t testing.TB, h *harness) int {
	t.Helper()
	ctx := context.Background()
	dirs, err := h.store.List(ctx, "versions/")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		entries, err := h.store.List(ctx, "versions/"+dir)
		if err != nil {
			t.Fatal(err)
		}
		n += len(entries)
	}
	return n
}

func TestConfig(t *testing.T) {
	h := newHarness(t)
	steps := []struct {
		name  string
		write map[string]any
		want  map[string]any
	}{
		{"defaults report effective max_versions", nil, map[string]any{"max_versions": 10, "cas_required": false, "delete_version_after": "0s"}},
		{"set all", map[string]any{"max_versions": "5", "cas_required": "true", "delete_version_after": "90m"}, map[string]any{"max_versions": 5, "cas_required": true, "delete_version_after": "1h30m0s"}},
		{"partial update keeps the rest", map[string]any{"cas_required": false}, map[string]any{"max_versions": 5, "cas_required": false, "delete_version_after": "1h30m0s"}},
		{"zero means default", map[string]any{"max_versions": 0, "delete_version_after": 0}, map[string]any{"max_versions": 10, "cas_required": false, "delete_version_after": "0s"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.write != nil {
				if resp := h.must(logical.UpdateOperation, "config", st.write); resp != nil {
					t.Fatalf("config write answered %v, want no content", resp)
				}
			}
			if got := h.must(logical.ReadOperation, "config", nil).Data; !reflect.DeepEqual(got, st.want) {
				t.Fatalf("config = %#v, want %#v", got, st.want)
			}
		})
	}
	bad := []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"negative max_versions", map[string]any{"max_versions": -1}, "max_versions"},
		{"max_versions wrong type", map[string]any{"max_versions": "lots"}, "max_versions"},
		{"cas_required wrong type", map[string]any{"cas_required": map[string]any{}}, "cas_required"},
		{"negative delete_version_after", map[string]any{"delete_version_after": "-1h"}, "delete_version_after"},
		{"bad duration", map[string]any{"delete_version_after": "a while"}, "delete_version_after"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, "config", tc.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tc.field {
				t.Fatalf("err = %v, want InvalidRequest on %s", err, tc.field)
			}
		})
	}
}

func TestMaxVersionsTrimming(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": 3})
	for i := 1; i <= 5; i++ {
		h.put("k", map[string]any{"i": i})
	}
	meta := h.metadata("k")
	if meta["current_version"] != 5 || meta["oldest_version"] != 3 || meta["max_versions"] != 3 {
		t.Fatalf("metadata = %v", meta)
	}
	if keys := sortedKeys(meta["versions"].(map[string]any)); !slices.Equal(keys, []string{"3", "4", "5"}) {
		t.Fatalf("versions = %v, want 3..5", keys)
	}
	if _, err := h.do(logical.ReadOperation, "data/k", map[string]any{"version": 2}); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("trimmed version readable: %v", err)
	}
	if n := countVersionEntries(t, h); n != 3 {
		t.Fatalf("storage holds %d version entries, want 3", n)
	}
	// A key-level limit overrides the mount's and trims at once.
	h.must(logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": 2})
	if keys := sortedKeys(h.metadata("k")["versions"].(map[string]any)); !slices.Equal(keys, []string{"4", "5"}) {
		t.Fatalf("versions after lowering max_versions = %v", keys)
	}
	if n := countVersionEntries(t, h); n != 2 {
		t.Fatalf("storage holds %d version entries, want 2", n)
	}
	// Unset everywhere, the default of 10 applies and is reported.
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": 0})
	for i := 0; i < 12; i++ {
		h.put("other", map[string]any{"i": i})
	}
	meta = h.metadata("other")
	if meta["max_versions"] != 10 || len(meta["versions"].(map[string]any)) != 10 || meta["oldest_version"] != 3 {
		t.Fatalf("default trimming: max_versions=%v versions=%d oldest=%v", meta["max_versions"], len(meta["versions"].(map[string]any)), meta["oldest_version"])
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return keys
}

func TestMetadataReadWrite(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"a": "b"})
	h.clock.Advance(time.Minute)
	h.must(logical.UpdateOperation, "metadata/k", map[string]any{
		"max_versions": 7, "cas_required": true, "delete_version_after": "3h25m19s",
		"custom_metadata": map[string]any{"owner": "team-a", "tier": "1"},
	})
	got := h.metadata("k")
	want := map[string]any{
		"cas_required": true, "created_time": "2024-05-01T12:00:00.123456789Z", "current_version": 1,
		"custom_metadata": map[string]string{"owner": "team-a", "tier": "1"}, "delete_version_after": "3h25m19s",
		"max_versions": 7, "oldest_version": 0, "updated_time": "2024-05-01T12:01:00.123456789Z",
		"versions": map[string]any{"1": map[string]any{"created_time": "2024-05-01T12:00:00.123456789Z", "deletion_time": "", "destroyed": false}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("metadata =\n%#v\nwant\n%#v", got, want)
	}
	// custom_metadata appears in data reads and writes.
	resp := h.must(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": "c"}, "options": map[string]any{"cas": 1}})
	if !reflect.DeepEqual(resp.Data["custom_metadata"], map[string]string{"owner": "team-a", "tier": "1"}) {
		t.Fatalf("write response custom_metadata = %v", resp.Data["custom_metadata"])
	}
	// A write replaces custom_metadata; a patch merges it (null deletes).
	h.must(logical.UpdateOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"owner": "team-b"}})
	if cm := h.metadata("k")["custom_metadata"]; !reflect.DeepEqual(cm, map[string]string{"owner": "team-b"}) {
		t.Fatalf("custom_metadata after write = %v", cm)
	}
	h.must(logical.PatchOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"owner": nil, "env": "prod"}, "max_versions": 4})
	got = h.metadata("k")
	if !reflect.DeepEqual(got["custom_metadata"], map[string]string{"env": "prod"}) || got["max_versions"] != 4 || got["cas_required"] != true {
		t.Fatalf("metadata after patch = %v", got)
	}
	// Metadata written before any data creates the key with no versions.
	h.must(logical.UpdateOperation, "metadata/fresh", map[string]any{"max_versions": 2})
	if meta := h.metadata("fresh"); meta["current_version"] != 0 || len(meta["versions"].(map[string]any)) != 0 {
		t.Fatalf("fresh metadata = %v", meta)
	}
	if _, err := h.do(logical.ReadOperation, "data/fresh", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("data read of a key without versions: %v", err)
	}
}

func TestMetadataBadInput(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"a": "b"})
	long := strings.Repeat("x", 600)
	many := map[string]any{}
	for i := 0; i < 65; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	tests := []struct {
		name  string
		op    logical.Operation
		data  map[string]any
		field string
	}{
		{"custom_metadata not an object", logical.UpdateOperation, map[string]any{"custom_metadata": "a=b"}, "custom_metadata"},
		{"custom_metadata non-string value", logical.UpdateOperation, map[string]any{"custom_metadata": map[string]any{"a": 1}}, "custom_metadata"},
		{"custom_metadata null in a write", logical.UpdateOperation, map[string]any{"custom_metadata": map[string]any{"a": nil}}, "custom_metadata"},
		{"custom_metadata value too long", logical.UpdateOperation, map[string]any{"custom_metadata": map[string]any{"a": long}}, "custom_metadata"},
		{"custom_metadata too many keys", logical.PatchOperation, map[string]any{"custom_metadata": many}, "custom_metadata"},
		{"custom_metadata empty key", logical.UpdateOperation, map[string]any{"custom_metadata": map[string]any{"": "v"}}, "custom_metadata"},
		{"negative max_versions", logical.UpdateOperation, map[string]any{"max_versions": -2}, "max_versions"},
		{"cas_required wrong type", logical.UpdateOperation, map[string]any{"cas_required": "sometimes"}, "cas_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(tc.op, "metadata/k", tc.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tc.field {
				t.Fatalf("err = %v, want InvalidRequest on %s", err, tc.field)
			}
		})
	}
	if _, err := h.do(logical.PatchOperation, "metadata/missing", map[string]any{"max_versions": 1}); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("patch of missing metadata: %v", err)
	}
	if cm, _ := h.metadata("k")["custom_metadata"].(map[string]string); len(cm) != 0 {
		t.Fatalf("rejected writes changed custom_metadata: %v", cm)
	}
}

func TestMetadataDelete(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.put("gone", map[string]any{"i": i})
	}
	h.put("kept", map[string]any{"i": 0})
	h.must(logical.UpdateOperation, "destroy/gone", map[string]any{"versions": []any{1}})
	if resp := h.must(logical.DeleteOperation, "metadata/gone", nil); resp != nil {
		t.Fatalf("delete answered %v", resp)
	}
	if _, err := h.do(logical.ReadOperation, "metadata/gone", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("metadata read after delete: %v", err)
	}
	if _, err := h.do(logical.ReadOperation, "data/gone", map[string]any{"version": 2}); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("data read after delete: %v", err)
	}
	if n := countVersionEntries(t, h); n != 1 {
		t.Fatalf("%d version entries remain, want 1 (the other key's)", n)
	}
	h.must(logical.DeleteOperation, "metadata/never-existed", nil)
	// The key starts over at version 1.
	if v := h.put("gone", map[string]any{"i": "new"}); v != 1 {
		t.Fatalf("rewrite after delete made version %d", v)
	}
}

func TestMetadataList(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"a", "b/c", "b/d/e", "b/d/f", "b0", "c/x/y/z"} {
		h.put(k, map[string]any{"k": k})
	}
	tests := []struct {
		name    string
		path    string
		want    []string
		wantErr error
	}{
		{"root", "metadata/", []string{"a", "b/", "b0", "c/"}, nil},
		{"root without slash", "metadata", []string{"a", "b/", "b0", "c/"}, nil},
		{"dir", "metadata/b/", []string{"c", "d/"}, nil},
		{"dir without slash", "metadata/b", []string{"c", "d/"}, nil},
		{"nested", "metadata/b/d/", []string{"e", "f"}, nil},
		{"deep dirs only", "metadata/c/", []string{"x/"}, nil},
		{"missing", "metadata/zzz/", nil, logical.ErrNotFound},
		{"a key is not a dir", "metadata/a/", nil, logical.ErrNotFound},
		{"dotdot", "metadata/../", nil, logical.ErrInvalidRequest},
		{"double slash", "metadata/b//", nil, logical.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.do(logical.ListOperation, tc.path, nil)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Data["keys"].([]string); !slices.Equal(got, tc.want) {
				t.Fatalf("keys = %q, want %q", got, tc.want)
			}
		})
	}
	empty := newHarness(t)
	if _, err := empty.do(logical.ListOperation, "metadata/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("list of empty mount: %v", err)
	}
}
