package kv_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestDataWriteAndReadVersions(t *testing.T) {
	h := newHarness(t)
	resp := h.must(logical.CreateOperation, "data/app/db", map[string]any{"data": map[string]any{"user": "a", "port": float64(5432)}})
	wantMeta := map[string]any{
		"created_time": "2024-05-01T12:00:00.123456789Z", "custom_metadata": map[string]string(nil),
		"deletion_time": "", "destroyed": false, "version": 1,
	}
	if !reflect.DeepEqual(resp.Data, wantMeta) {
		t.Fatalf("write response = %#v, want %#v", resp.Data, wantMeta)
	}
	h.clock.Advance(time.Second)
	if v := h.put("app/db", map[string]any{"user": "b"}); v != 2 {
		t.Fatalf("second write made version %d", v)
	}

	tests := []struct {
		name        string
		data        map[string]any
		wantData    map[string]any
		wantVersion int
		wantErr     error
	}{
		{"latest", nil, map[string]any{"user": "b"}, 2, nil},
		{"version 0 is latest", map[string]any{"version": "0"}, map[string]any{"user": "b"}, 2, nil},
		{"query string version", map[string]any{"version": "1"}, map[string]any{"user": "a", "port": json.Number("5432")}, 1, nil},
		{"numeric version", map[string]any{"version": float64(2)}, map[string]any{"user": "b"}, 2, nil},
		{"future version", map[string]any{"version": "3"}, nil, 0, logical.ErrNotFound},
		{"negative version", map[string]any{"version": "-1"}, nil, 0, logical.ErrInvalidRequest},
		{"garbage version", map[string]any{"version": "two"}, nil, 0, logical.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.do(logical.ReadOperation, "data/app/db", tc.data)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.Data["data"], tc.wantData) {
				t.Fatalf("data = %#v, want %#v", resp.Data["data"], tc.wantData)
			}
			meta := resp.Data["metadata"].(map[string]any)
			if meta["version"] != tc.wantVersion {
				t.Fatalf("metadata.version = %v, want %d", meta["version"], tc.wantVersion)
			}
		})
	}
	if _, err := h.do(logical.ReadOperation, "data/missing", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read of missing key: %v", err)
	}
}

func TestVersionsAreImmutable(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"v": "one"})
	h.put("k", map[string]any{"v": "two"})
	resp := h.must(logical.ReadOperation, "data/k", map[string]any{"version": 1})
	if got := resp.Data["data"].(map[string]any)["v"]; got != "one" {
		t.Fatalf("version 1 now holds %v", got)
	}
}

func TestCheckAndSet(t *testing.T) {
	tests := []struct {
		name       string
		mountCAS   bool
		keyCAS     bool
		existing   int // versions written before the test write
		options    map[string]any
		wantErr    error
		wantMsg    string
		wantResult int
	}{
		{name: "no cas, not required", existing: 1, wantResult: 2},
		{name: "cas matches", existing: 2, options: map[string]any{"cas": float64(2)}, wantResult: 3},
		{name: "cas as string", existing: 1, options: map[string]any{"cas": "1"}, wantResult: 2},
		{name: "cas mismatch", existing: 2, options: map[string]any{"cas": 1}, wantErr: logical.ErrInvalidRequest, wantMsg: "check-and-set parameter did not match the current version"},
		{name: "cas 0 on new key", options: map[string]any{"cas": 0}, wantResult: 1},
		{name: "cas 0 on existing key", existing: 1, options: map[string]any{"cas": 0}, wantErr: logical.ErrInvalidRequest, wantMsg: "did not match"},
		{name: "mount requires cas", mountCAS: true, existing: 1, wantErr: logical.ErrInvalidRequest, wantMsg: "check-and-set parameter required for this call"},
		{name: "mount requires cas, given", mountCAS: true, existing: 1, options: map[string]any{"cas": 1}, wantResult: 2},
		{name: "key requires cas", keyCAS: true, existing: 1, wantErr: logical.ErrInvalidRequest, wantMsg: "check-and-set parameter required"},
		{name: "key requires cas, given", keyCAS: true, existing: 1, options: map[string]any{"cas": 1}, wantResult: 2},
		{name: "cas wrong type", existing: 1, options: map[string]any{"cas": "one"}, wantErr: logical.ErrInvalidRequest, wantMsg: "options.cas"},
		{name: "cas negative", existing: 1, options: map[string]any{"cas": -1}, wantErr: logical.ErrInvalidRequest, wantMsg: "options.cas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tc.mountCAS {
				h.must(logical.UpdateOperation, "config", map[string]any{"cas_required": true})
			}
			if tc.keyCAS {
				h.must(logical.UpdateOperation, "metadata/k", map[string]any{"cas_required": true})
			}
			for i := 0; i < tc.existing; i++ {
				h.must(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"i": i}, "options": map[string]any{"cas": i}})
			}
			resp, err := h.do(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"x": "y"}, "options": tc.options})
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, tc.wantMsg)
				if got := currentVersion(h, "k"); got != tc.existing {
					t.Fatalf("failed write changed current_version to %d", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Data["version"] != tc.wantResult {
				t.Fatalf("version = %v, want %d", resp.Data["version"], tc.wantResult)
			}
		})
	}
}

func currentVersion(h *harness, key string) int {
	resp, err := h.do(logical.ReadOperation, "metadata/"+key, nil)
	if errors.Is(err, logical.ErrNotFound) {
		return 0
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Data["current_version"].(int)
}

func TestSoftDeleteUndeleteDestroy(t *testing.T) {
	h := newHarness(t)
	for i := 1; i <= 4; i++ {
		h.put("k", map[string]any{"i": i})
	}
	readable := func(v int) error {
		_, err := h.do(logical.ReadOperation, "data/k", map[string]any{"version": v})
		return err
	}
	steps := []struct {
		name     string
		op       logical.Operation
		path     string
		data     map[string]any
		deleted  []int // versions unreadable after the step
		wantErr  error
		destroys []int // versions whose data must be gone from storage
	}{
		{name: "delete latest", op: logical.DeleteOperation, path: "data/k", deleted: []int{4}},
		{name: "delete listed", op: logical.UpdateOperation, path: "delete/k", data: map[string]any{"versions": []any{float64(1), float64(2)}}, deleted: []int{1, 2, 4}},
		{name: "undelete one", op: logical.UpdateOperation, path: "undelete/k", data: map[string]any{"versions": "1,4"}, deleted: []int{2}},
		{name: "destroy", op: logical.UpdateOperation, path: "destroy/k", data: map[string]any{"versions": []any{2, 3}}, deleted: []int{2, 3}, destroys: []int{2, 3}},
		{name: "undelete destroyed is a no-op", op: logical.UpdateOperation, path: "undelete/k", data: map[string]any{"versions": []any{3}}, deleted: []int{2, 3}},
		{name: "unknown versions ignored", op: logical.UpdateOperation, path: "delete/k", data: map[string]any{"versions": []any{99}}, deleted: []int{2, 3}},
		{name: "missing key is a no-op", op: logical.UpdateOperation, path: "destroy/nope", data: map[string]any{"versions": []any{1}}, deleted: []int{2, 3}},
		{name: "no versions", op: logical.UpdateOperation, path: "delete/k", data: map[string]any{}, wantErr: logical.ErrInvalidRequest, deleted: []int{2, 3}},
		{name: "empty versions", op: logical.UpdateOperation, path: "undelete/k", data: map[string]any{"versions": []any{}}, wantErr: logical.ErrInvalidRequest, deleted: []int{2, 3}},
		{name: "zero version", op: logical.UpdateOperation, path: "destroy/k", data: map[string]any{"versions": []any{0}}, wantErr: logical.ErrInvalidRequest, deleted: []int{2, 3}},
		{name: "versions wrong type", op: logical.UpdateOperation, path: "destroy/k", data: map[string]any{"versions": map[string]any{}}, wantErr: logical.ErrInvalidRequest, deleted: []int{2, 3}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			_, err := h.do(st.op, st.path, st.data)
			if st.wantErr != nil {
				wantErr(t, err, st.wantErr, "")
			} else if err != nil {
				t.Fatal(err)
			}
			for v := 1; v <= 4; v++ {
				isDeleted := false
				for _, d := range st.deleted {
					isDeleted = isDeleted || d == v
				}
				err := readable(v)
				if isDeleted != (err != nil) {
					t.Fatalf("version %d: read err = %v, want deleted=%v", v, err, isDeleted)
				}
				if isDeleted {
					wantErr(t, err, logical.ErrNotFound, "")
				}
			}
		})
	}
	// The deleted read carries Vault's 404 body: data null plus metadata.
	_, err := h.do(logical.ReadOperation, "data/k", map[string]any{"version": 2})
	var vde *kv.VersionDeletedError
	if !errors.As(err, &vde) || vde.Version != 2 {
		t.Fatalf("err = %v, want VersionDeletedError for version 2", err)
	}
	body := vde.ResponseData()
	if body["data"] != nil || body["metadata"].(map[string]any)["deletion_time"] == "" {
		t.Fatalf("deleted-version body = %#v", body)
	}
	_, err = h.do(logical.ReadOperation, "data/k", map[string]any{"version": 3})
	if !errors.As(err, &vde) || vde.Metadata["destroyed"] != true {
		t.Fatalf("destroyed version error = %v", err)
	}
	versions := h.metadata("k")["versions"].(map[string]any)
	if v3 := versions["3"].(map[string]any); v3["destroyed"] != true {
		t.Fatalf("metadata of version 3 = %v", v3)
	}
	if n := countVersionEntries(t, h); n != 2 {
		t.Fatalf("storage holds %d version entries, want 2 (versions 2 and 3 destroyed)", n)
	}
}

func TestDeleteVersionAfter(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "config", map[string]any{"delete_version_after": "1h"})
	h.put("mount", map[string]any{"a": "b"})
	h.must(logical.UpdateOperation, "metadata/key", map[string]any{"delete_version_after": float64(60)})
	h.put("key", map[string]any{"a": "b"})

	resp := h.must(logical.ReadOperation, "data/key", nil)
	if got := resp.Data["metadata"].(map[string]any)["deletion_time"]; got != "2024-05-01T12:01:00.123456789Z" {
		t.Fatalf("deletion_time = %v, want one minute after creation", got)
	}
	h.clock.Advance(2 * time.Minute)
	if _, err := h.do(logical.ReadOperation, "data/key", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read past the key's delete_version_after: %v", err)
	}
	h.must(logical.ReadOperation, "data/mount", nil) // mount's 1h not yet passed
	h.clock.Advance(time.Hour)
	if _, err := h.do(logical.ReadOperation, "data/mount", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read past the mount's delete_version_after: %v", err)
	}
	h.must(logical.UpdateOperation, "undelete/mount", map[string]any{"versions": []any{1}})
	h.must(logical.ReadOperation, "data/mount", nil)
}

func TestPatchData(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"a": "1", "b": "2", "nested": map[string]any{"x": "1", "y": "2"}})
	resp := h.must(logical.PatchOperation, "data/k", map[string]any{
		"data": map[string]any{"b": nil, "c": "3", "nested": map[string]any{"y": nil, "z": "3"}},
	})
	if resp.Data["version"] != 2 {
		t.Fatalf("patch made version %v", resp.Data["version"])
	}
	got := h.must(logical.ReadOperation, "data/k", nil).Data["data"]
	want := map[string]any{"a": "1", "c": "3", "nested": map[string]any{"x": "1", "z": "3"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patched data = %#v, want %#v", got, want)
	}
	tests := []struct {
		name    string
		path    string
		data    map[string]any
		wantErr error
		wantMsg string
	}{
		{"missing key", "data/nope", map[string]any{"data": map[string]any{"a": "b"}}, logical.ErrNotFound, ""},
		{"cas mismatch", "data/k", map[string]any{"data": map[string]any{"a": "b"}, "options": map[string]any{"cas": 1}}, logical.ErrInvalidRequest, "did not match"},
		{"no data", "data/k", map[string]any{}, logical.ErrInvalidRequest, "no data provided"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(logical.PatchOperation, tc.path, tc.data)
			wantErr(t, err, tc.wantErr, tc.wantMsg)
		})
	}
	h.must(logical.DeleteOperation, "data/k", nil)
	_, err := h.do(logical.PatchOperation, "data/k", map[string]any{"data": map[string]any{"a": "b"}})
	wantErr(t, err, logical.ErrNotFound, "")
}

func TestSubkeys(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"a": "1", "b": map[string]any{"c": "2", "d": map[string]any{"e": "3"}}})
	h.put("k", map[string]any{"only": "v2"})
	tests := []struct {
		name    string
		data    map[string]any
		want    map[string]any
		wantErr error
	}{
		{"latest", nil, map[string]any{"only": nil}, nil},
		{"all depths", map[string]any{"version": "1"}, map[string]any{"a": nil, "b": map[string]any{"c": nil, "d": map[string]any{"e": nil}}}, nil},
		{"depth 1", map[string]any{"version": "1", "depth": "1"}, map[string]any{"a": nil, "b": nil}, nil},
		{"depth 2", map[string]any{"version": 1, "depth": 2}, map[string]any{"a": nil, "b": map[string]any{"c": nil, "d": nil}}, nil},
		{"negative depth", map[string]any{"depth": -1}, nil, logical.ErrInvalidRequest},
		{"missing version", map[string]any{"version": 9}, nil, logical.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.do(logical.ReadOperation, "subkeys/k", tc.data)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.Data["subkeys"], tc.want) {
				t.Fatalf("subkeys = %#v, want %#v", resp.Data["subkeys"], tc.want)
			}
		})
	}
}
