package framework_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// echo answers with the handler's name and the fields it saw.
func echo(name string) framework.OperationHandler {
	return func(_ context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
		return &logical.Response{Data: map[string]any{
			"handler": name, "op": string(req.Operation), "path": d.String("path"), "n": d.Int("n"),
		}}, nil
	}
}

func testBackend() *framework.Backend {
	return &framework.Backend{Paths: []*framework.Path{
		{
			Pattern: "config",
			Fields:  map[string]*framework.FieldSchema{"n": {Type: framework.TypeInt}},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   echo("config-read"),
				logical.UpdateOperation: echo("config-update"),
			},
		},
		{
			Pattern: "data/special",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: echo("special"),
			},
		},
		{
			Pattern: "data/(?P<path>.+)",
			Fields:  map[string]*framework.FieldSchema{"n": {Type: framework.TypeInt, Default: 7}},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   echo("data-read"),
				logical.CreateOperation: echo("data-create"),
				logical.DeleteOperation: echo("data-delete"),
			},
			ExistenceCheck: func(_ context.Context, _ *logical.Request, d *framework.FieldData) (bool, error) {
				if d.String("path") == "broken" {
					return false, fmt.Errorf("storage on fire")
				}
				return d.String("path") == "exists", nil
			},
		},
		{
			Pattern: "^metadata/?(?P<path>.*)$",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: echo("meta-list"),
			},
		},
	}}
}

func TestBackendRouting(t *testing.T) {
	b := testBackend()
	tests := []struct {
		name        string
		op          logical.Operation
		path        string
		data        map[string]any
		wantHandler string
		wantPath    string
		wantN       int
		wantErr     error
		wantField   string
	}{
		{name: "literal", op: logical.ReadOperation, path: "config", wantHandler: "config-read"},
		{name: "literal is anchored", op: logical.ReadOperation, path: "config/x", wantErr: logical.ErrUnsupportedPath},
		{name: "anchored at start", op: logical.ReadOperation, path: "xconfig", wantErr: logical.ErrUnsupportedPath},
		{name: "capture", op: logical.ReadOperation, path: "data/a/b", wantHandler: "data-read", wantPath: "a/b", wantN: 7},
		{name: "first match wins", op: logical.ReadOperation, path: "data/special", wantHandler: "special"},
		{name: "capture overrides body", op: logical.DeleteOperation, path: "data/k", data: map[string]any{"path": "evil"}, wantHandler: "data-delete", wantPath: "k", wantN: 7},
		{name: "field from data", op: logical.UpdateOperation, path: "config", data: map[string]any{"n": "5"}, wantHandler: "config-update", wantN: 5},
		{name: "unknown fields ignored", op: logical.UpdateOperation, path: "config", data: map[string]any{"zzz": []any{}}, wantHandler: "config-update"},
		{name: "create falls back to update", op: logical.CreateOperation, path: "config", wantHandler: "config-update"},
		{name: "update falls back to create", op: logical.UpdateOperation, path: "data/x", wantHandler: "data-create", wantPath: "x", wantN: 7},
		{name: "empty capture", op: logical.ListOperation, path: "metadata/", wantHandler: "meta-list"},
		{name: "optional slash", op: logical.ListOperation, path: "metadata", wantHandler: "meta-list"},
		{name: "nested capture", op: logical.ListOperation, path: "metadata/a/b/", wantHandler: "meta-list", wantPath: "a/b/"},
		{name: "no route", op: logical.ReadOperation, path: "nope", wantErr: logical.ErrUnsupportedPath},
		{name: "empty path", op: logical.ReadOperation, path: "", wantErr: logical.ErrUnsupportedPath},
		{name: "unsupported op", op: logical.DeleteOperation, path: "config", wantErr: logical.ErrUnsupportedOperation},
		{name: "patch has no fallback", op: logical.PatchOperation, path: "data/x", wantErr: logical.ErrUnsupportedOperation},
		{name: "wrong type", op: logical.UpdateOperation, path: "config", data: map[string]any{"n": "many"}, wantErr: logical.ErrInvalidRequest, wantField: "n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := b.HandleRequest(context.Background(), &logical.Request{Operation: tc.op, Path: tc.path, Data: tc.data})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var ire *logical.InvalidRequestError
				if tc.wantField != "" && (!errors.As(err, &ire) || ire.Field != tc.wantField) {
					t.Fatalf("err = %v, want field %q", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Data
			if got["handler"] != tc.wantHandler || got["path"] != tc.wantPath || got["n"] != tc.wantN {
				t.Fatalf("got %v, want handler=%s path=%q n=%d", got, tc.wantHandler, tc.wantPath, tc.wantN)
			}
			if got["op"] != string(tc.op) {
				t.Fatalf("handler saw op %v, want %s", got["op"], tc.op)
			}
		})
	}
}

func TestBackendExistenceCheck(t *testing.T) {
	b := testBackend()
	tests := []struct {
		name       string
		path       string
		wantExists bool
		wantOK     bool
		wantErr    bool
	}{
		{"exists", "data/exists", true, true, false},
		{"missing", "data/other", false, true, false},
		{"check fails", "data/broken", false, false, true},
		{"no check", "config", false, false, false},
		{"no route", "zzz", false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exists, ok, err := b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: tc.path})
			if (err != nil) != tc.wantErr || exists != tc.wantExists || ok != tc.wantOK {
				t.Fatalf("ExistenceCheck = %v, %v, %v; want %v, %v, err=%v", exists, ok, err, tc.wantExists, tc.wantOK, tc.wantErr)
			}
		})
	}
}

func TestBackendBadPaths(t *testing.T) {
	tests := []struct {
		name  string
		paths []*framework.Path
	}{
		{"bad regexp", []*framework.Path{{Pattern: "data/(?P<path>"}}},
		{"nil path", []*framework.Path{nil}},
		{"field without type", []*framework.Path{{Pattern: "x", Fields: map[string]*framework.FieldSchema{"a": {}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &framework.Backend{Paths: tc.paths}
			if err := b.Init(); !errors.Is(err, framework.ErrBadPattern) {
				t.Fatalf("Init() = %v, want ErrBadPattern", err)
			}
			if _, err := b.HandleRequest(context.Background(), &logical.Request{Path: "x"}); !errors.Is(err, framework.ErrBadPattern) {
				t.Fatalf("HandleRequest() = %v, want ErrBadPattern", err)
			}
		})
	}
}
