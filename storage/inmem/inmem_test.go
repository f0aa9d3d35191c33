package inmem_test

import (
	"context"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func TestBackendContract(t *testing.T) {
	ctx := context.Background()
	b := inmem.New()
	for _, k := range []string{"a", "b/c", "b/d/e", "b/d/f", "c", "b0"} {
		if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		prefix string
		want   []string
	}{
		{"root", "", []string{"a", "b/", "b0", "c"}},
		{"dir", "b/", []string{"c", "d/"}},
		{"nested", "b/d/", []string{"e", "f"}},
		{"missing", "zz/", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	e, err := b.Get(ctx, "b/d/e")
	if err != nil || e == nil || string(e.Value) != "b/d/e" {
		t.Fatalf("Get = %v, %v", e, err)
	}
	if err := b.Delete(ctx, "b/d/e"); err != nil {
		t.Fatal(err)
	}
	if e, _ := b.Get(ctx, "b/d/e"); e != nil {
		t.Fatalf("deleted key still present: %q", e.Value)
	}
	if err := b.Put(ctx, &storage.Entry{Key: ""}); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestViewIsChrooted(t *testing.T) {
	ctx := context.Background()
	b := inmem.New()
	v := storage.NewView(b, "logical/abc/")
	if err := v.Put(ctx, &storage.Entry{Key: "x/y", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if e, _ := b.Get(ctx, "logical/abc/x/y"); e == nil {
		t.Fatal("view did not write under its prefix")
	}
	got, _ := v.List(ctx, "")
	if !slices.Equal(got, []string{"x/"}) {
		t.Fatalf("view List = %q", got)
	}
	other := storage.NewView(b, "logical/def/")
	if e, _ := other.Get(ctx, "x/y"); e != nil {
		t.Fatal("one view read another's key")
	}
}
