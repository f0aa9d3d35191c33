package framework_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

var errCorrupt = errors.New("eng: corrupt storage entry")

func TestJSONStore(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	js := framework.JSONStore{Engine: "eng", Corrupt: errCorrupt}
	type v struct{ A string }
	if err := js.Put(ctx, s, "k/1", v{A: "x"}); err != nil {
		t.Fatal(err)
	}
	var got v
	if found, err := js.Get(ctx, s, "k/1", &got); !found || err != nil || got.A != "x" {
		t.Fatalf("Get = %v %v %+v", found, err, got)
	}
	if found, err := js.Get(ctx, s, "k/absent", &got); found || err != nil {
		t.Fatalf("Get(absent) = %v %v", found, err)
	}
	if l, err := framework.Load[v](ctx, js, s, "k/1"); err != nil || l == nil || l.A != "x" {
		t.Fatalf("Load = %+v %v", l, err)
	}
	if l, err := framework.Load[v](ctx, js, s, "k/absent"); err != nil || l != nil {
		t.Fatalf("Load(absent) = %+v %v, want nil, nil", l, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k/bad", Value: []byte("{not json s3cr3t")}); err != nil {
		t.Fatal(err)
	}
	_, err := js.Get(ctx, s, "k/bad", &got)
	if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), "k/bad") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Get(corrupt) = %v, want the engine's sentinel, the key, never the value", err)
	}
	keys, err := js.List(ctx, s, "k/")
	if err != nil || len(keys) != 2 {
		t.Fatalf("List = %v %v", keys, err)
	}
	if err := js.Delete(ctx, s, "k/1"); err != nil {
		t.Fatal(err)
	}
	if found, _ := js.Get(ctx, s, "k/1", &got); found {
		t.Fatal("deleted entry still found")
	}
	var st framework.Stripes
	first, again := st.Of("a"), st.Of("a")
	if first != again {
		t.Fatal("one name, two locks")
	}
}
