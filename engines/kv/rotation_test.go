package kv_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// policySystem is core's password generator as far as rotations use it:
// real policies (passwordpolicy) looked up by name.
type policySystem struct {
	mu       sync.Mutex
	policies map[string]*passwordpolicy.Policy
	asked    []string
}

func (s *policySystem) GeneratePassword(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	s.asked = append(s.asked, name)
	p := s.policies[name]
	s.mu.Unlock()
	if p == nil {
		return "", fmt.Errorf("password policy %q not found", name)
	}
	return p.Generate(ctx, rand.Reader)
}

func (s *policySystem) MountTTLs() (def, max time.Duration) { return 0, 0 }

// newRotationHarness is a harness whose mount has a SystemView with the
// policy "pin" (12 digits) and the given kv options.
func newRotationHarness(t testing.TB, opts ...kv.Option) (*harness, *policySystem) {
	t.Helper()
	pin, err := passwordpolicy.Parse(`length = 12
rule "charset" { charset = "0123456789" }`)
	if err != nil {
		t.Fatal(err)
	}
	sys := &policySystem{policies: map[string]*passwordpolicy.Policy{"pin": pin}}
	phys := inmem.New()
	store := storage.NewView(phys, "logical/kv-test/")
	c := testutil.NewClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	b, err := kv.New(context.Background(), &logical.BackendConfig{
		MountPoint: "secret/", Config: map[string]string{"version": "2"}, Storage: store, System: sys,
	}, append([]kv.Option{kv.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, phys: phys, store: store, clock: c}, sys
}

// putSpec writes data and custom_metadata to key.
func (h *harness) putSpec(key string, data map[string]any, custom map[string]any) {
	h.t.Helper()
	h.must(logical.UpdateOperation, "metadata/"+key, map[string]any{"custom_metadata": custom})
	h.put(key, data)
}

// read returns the current data of key.
func (h *harness) read(key string) map[string]any {
	h.t.Helper()
	return h.must(logical.ReadOperation, "data/"+key, nil).Data["data"].(map[string]any)
}

func (h *harness) rotate(path string) (logical.RotationResult, error) {
	return h.b.Rotate(context.Background(), h.store, path)
}

func TestRotationTargets(t *testing.T) {
	h, _ := newRotationHarness(t)
	h.putSpec("app/db", map[string]any{"password": "a"}, map[string]any{"team": "pay", "rotate_length": "20"})
	t0 := h.clock.Now()
	h.clock.Advance(time.Hour)
	h.put("app/api", map[string]any{"key": "b"})
	h.put("top", map[string]any{"k": "c"})
	h.put("app/deep/x", map[string]any{"k": "d"})
	h.put("gone", map[string]any{"k": "e"})
	h.must(logical.DeleteOperation, "data/gone", nil)
	h.must(logical.UpdateOperation, "metadata/only-meta", map[string]any{"max_versions": 3})
	h.clock.Advance(time.Hour)
	t2 := h.clock.Now()
	h.put("top", map[string]any{"k": "c2"}) // a write resets the age

	counting := &countingStore{inner: h.store}
	got, err := h.b.RotationTargets(context.Background(), counting)
	if err != nil {
		t.Fatal(err)
	}
	want := []logical.RotationTarget{
		{Path: "data/app/api", LastRotated: t0.Add(time.Hour), Guards: []string{"data/app/api"}},
		{Path: "data/app/db", LastRotated: t0, Tags: map[string]string{"team": "pay", "rotate_length": "20"}, Guards: []string{"data/app/db"}},
		{Path: "data/app/deep/x", LastRotated: t0.Add(time.Hour), Guards: []string{"data/app/deep/x"}},
		{Path: "data/top", LastRotated: t2, Guards: []string{"data/top"}},
	}
	if len(got) != len(want) {
		t.Fatalf("targets = %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Path != w.Path || !g.LastRotated.Equal(w.LastRotated) || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) ||
			!slices.Equal(g.Guards, w.Guards) || g.Verifiable {
			t.Errorf("target %d = %+v, want %+v", i, g, w)
		}
	}
	// One Get per key with metadata (6), none of a version's data.
	if n := counting.gets.Load(); n != 6 {
		t.Fatalf("%d storage reads for 6 keys' metadata", n)
	}
	// An empty mount has no targets.
	e, _ := newRotationHarness(t)
	if got, err := e.b.RotationTargets(context.Background(), e.store); err != nil || len(got) != 0 {
		t.Fatalf("empty mount: %v, %v", got, err)
	}
}

// inSet reports whether every character of s is in set.
func inSet(s, set string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(set, r) }) < 0
}

func TestRotateSpecs(t *testing.T) {
	const (
		upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower = "abcdefghijklmnopqrstuvwxyz"
		digit = "0123456789"
	)
	printable := ""
	for c := '!'; c <= '~'; c++ {
		printable += string(c)
	}
	for _, tc := range []struct {
		name   string
		custom map[string]any
		length int
		set    string
	}{
		{"length only", map[string]any{"rotate_length": "16"}, 16, upper + lower + digit},
		{"charset only", map[string]any{"rotate_charset": "hex"}, 32, "0123456789abcdef"},
		{"alphanumeric", map[string]any{"rotate_charset": "alphanumeric", "rotate_length": "40"}, 40, upper + lower + digit},
		{"alpha", map[string]any{"rotate_charset": "alpha", "rotate_length": "64"}, 64, upper + lower},
		{"numeric", map[string]any{"rotate_charset": "numeric", "rotate_length": "8"}, 8, digit},
		{"base64url", map[string]any{"rotate_charset": "base64url", "rotate_length": "1024"}, 1024, upper + lower + digit + "-_"},
		{"ascii-printable", map[string]any{"rotate_charset": "ascii-printable", "rotate_length": "200"}, 200, printable},
		{"literal", map[string]any{"rotate_charset": "xy", "rotate_length": "64"}, 64, "xy"},
		{"literal unicode", map[string]any{"rotate_charset": "αβγ", "rotate_length": "5"}, 5, "αβγ"},
		{"password policy", map[string]any{"password_policy": "pin"}, 12, digit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newRotationHarness(t)
			tc.custom["owner"] = "team-a"
			old := map[string]any{"password": "old-password-1", "n": 42, "nested": map[string]any{"a": "b"}}
			h.putSpec("app/db", old, tc.custom)
			h.clock.Advance(time.Minute)
			res, err := h.rotate("data/app/db")
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != "2" || !res.RotatedAt.Equal(h.clock.Now()) {
				t.Fatalf("result = %+v", res)
			}
			got := h.read("app/db")
			if len(got) != 3 {
				t.Fatalf("rotated keys = %v", slices.Collect(func(yield func(string) bool) {
					for k := range got {
						yield(k)
					}
				}))
			}
			for k := range old {
				v, ok := got[k].(string)
				if !ok || utf8.RuneCountInString(v) != tc.length || !inSet(v, tc.set) || v == "old-password-1" {
					t.Fatalf("%s: a value of %d characters not all from the set (or not new)", k, utf8.RuneCountInString(v))
				}
			}
			if got["password"] == got["n"] {
				t.Fatal("two keys got the same value")
			}
			// The old version is kept; custom_metadata too.
			v1 := h.must(logical.ReadOperation, "data/app/db", map[string]any{"version": 1}).Data["data"].(map[string]any)
			if v1["password"] != "old-password-1" {
				t.Fatal("the old version changed")
			}
			md := h.metadata("app/db")
			if md["current_version"] != 2 || md["custom_metadata"].(map[string]string)["owner"] != "team-a" {
				t.Fatalf("metadata = %v", md)
			}
			// The target's age restarts.
			ts, err := h.b.RotationTargets(context.Background(), h.store)
			if err != nil || len(ts) != 1 || !ts[0].LastRotated.Equal(res.RotatedAt) {
				t.Fatalf("targets after rotation = %+v, %v", ts, err)
			}
		})
	}
}

// hookBody is what a rotation webhook receives.
type hookBody struct {
	Path    string   `json:"path"`
	Mount   string   `json:"mount"`
	Version int      `json:"version"`
	Keys    []string `json:"keys"`
}

func TestRotateWebhook(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			var mu sync.Mutex
			var bodies []hookBody
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				var b hookBody
				err := json.Unmarshal(raw, &b)
				mu.Lock()
				if err == nil && r.Method == http.MethodPost && !strings.Contains(string(raw), "old-secret") {
					bodies = append(bodies, b)
				}
				mu.Unlock()
				_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
					"user": "svc", "password": "from-hook", "extra": "added"}})
			})
			srv := httptest.NewServer(handler)
			var opts []kv.Option
			if tlsOn {
				srv.Close()
				srv = httptest.NewTLSServer(handler)
				opts = append(opts, kv.WithWebhookClient(srv.Client()))
			}
			defer srv.Close()
			h, _ := newRotationHarness(t, opts...)
			h.putSpec("app/db", map[string]any{"user": "old-secret-u", "password": "old-secret-p"},
				map[string]any{"rotate_webhook": srv.URL + "/rotate"})
			res, err := h.rotate("data/app/db")
			if err != nil || res.Version != "2" {
				t.Fatalf("rotate = %+v, %v", res, err)
			}
			got := h.read("app/db")
			if got["user"] != "svc" || got["password"] != "from-hook" || got["extra"] != "added" {
				t.Fatalf("data = %v", got)
			}
			want := hookBody{Path: "app/db", Mount: "secret/", Version: 1, Keys: []string{"password", "user"}}
			if len(bodies) != 1 || fmt.Sprint(bodies[0]) != fmt.Sprint(want) {
				t.Fatalf("webhook got %+v (or a value), want %+v", bodies, want)
			}
		})
	}
}

func TestRotateWebhookErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter)
		msg   string
	}{
		{"status", func(w http.ResponseWriter) { http.Error(w, "old-secret-p", http.StatusInternalServerError) }, "status 500"},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:1/")
			w.WriteHeader(http.StatusFound)
		}, "status 302"},
		{"not json", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "old-secret-p") }, "not a JSON object"},
		{"no data", func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"other":{}}`) }, "not a JSON object"},
		{"missing key", func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"data":{"password":"x"}}`) }, `lacks key "user"`},
		{"not a string", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"data":{"password":"new-secret","user":7}}`)
		}, `value of "user" is not a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tc.serve(w) }))
			defer srv.Close()
			h, _ := newRotationHarness(t)
			hook := strings.Replace(srv.URL, "http://", "http://hookuser:hookpass@", 1)
			h.putSpec("app/db", map[string]any{"user": "u", "password": "old-secret-p"}, map[string]any{"rotate_webhook": hook})
			_, err := h.rotate("data/app/db")
			wantErr(t, err, kv.ErrWebhook, tc.msg)
			if msg := err.Error(); strings.Contains(msg, "old-secret-p") || strings.Contains(msg, "new-secret") || strings.Contains(msg, "hookpass") {
				t.Fatalf("the error shows a secret: %q", msg)
			}
			if v := h.metadata("app/db")["current_version"]; v != 1 {
				t.Fatalf("a failed rotation wrote version %v", v)
			}
		})
	}
	// An unreachable hook: an error, without the URL.
	h, _ := newRotationHarness(t)
	h.putSpec("k", map[string]any{"a": "b"}, map[string]any{"rotate_webhook": "http://u:hookpass@127.0.0.1:1/x"})
	_, err := h.rotate("data/k")
	wantErr(t, err, kv.ErrWebhook, "")
	if strings.Contains(err.Error(), "hookpass") {
		t.Fatalf("the error shows the URL: %q", err)
	}
}

func TestRotateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		custom map[string]any
		target error
		msg    string
	}{
		{"no spec", map[string]any{"owner": "x"}, kv.ErrNoRotationSpec, "rotate_length/rotate_charset, password_policy or rotate_webhook"},
		{"length zero", map[string]any{"rotate_length": "0"}, kv.ErrBadRotationSpec, "rotate_length"},
		{"length word", map[string]any{"rotate_length": "long"}, kv.ErrBadRotationSpec, "rotate_length"},
		{"length too big", map[string]any{"rotate_length": "1025"}, kv.ErrBadRotationSpec, "rotate_length"},
		{"charset of one", map[string]any{"rotate_charset": "aaaa"}, kv.ErrBadRotationSpec, "rotate_charset"},
		{"charset control", map[string]any{"rotate_charset": "ab\n"}, kv.ErrBadRotationSpec, "rotate_charset"},
		{"two specs", map[string]any{"rotate_length": "8", "password_policy": "pin"}, kv.ErrBadRotationSpec, "only one"},
		{"bad webhook", map[string]any{"rotate_webhook": "ftp://host/x"}, kv.ErrBadRotationSpec, "rotate_webhook"},
		{"unknown policy", map[string]any{"password_policy": "nope"}, nil, `"nope" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newRotationHarness(t)
			h.putSpec("app/db", map[string]any{"password": "old-secret"}, tc.custom)
			_, err := h.rotate("data/app/db")
			if tc.target == nil { // the SystemView's own error
				if err == nil || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.msg)
				}
			} else {
				wantErr(t, err, tc.target, tc.msg)
			}
			if strings.Contains(err.Error(), "old-secret") {
				t.Fatal("the error shows the value")
			}
			if h.metadata("app/db")["current_version"] != 1 || h.read("app/db")["password"] != "old-secret" {
				t.Fatal("a failed rotation wrote a version")
			}
		})
	}
}

func TestRotateNotTargets(t *testing.T) {
	h, _ := newRotationHarness(t)
	spec := map[string]any{"rotate_length": "8"}
	h.putSpec("deleted", map[string]any{"a": "b"}, spec)
	h.must(logical.DeleteOperation, "data/deleted", nil)
	h.putSpec("destroyed", map[string]any{"a": "b"}, spec)
	h.must(logical.UpdateOperation, "destroy/destroyed", map[string]any{"versions": []any{1}})
	h.must(logical.UpdateOperation, "metadata/meta-only", map[string]any{"custom_metadata": spec})
	for _, path := range []string{"data/missing", "data/deleted", "data/destroyed", "data/meta-only",
		"metadata/deleted", "data/", "data/a/../b", "deleted"} {
		_, err := h.rotate(path)
		wantErr(t, err, logical.ErrNotFound, "")
	}
	h.putSpec("empty", map[string]any{}, spec)
	_, err := h.rotate("data/empty")
	wantErr(t, err, kv.ErrNothingToRotate, "")
	// Without a SystemView, password_policy cannot be used.
	plain := newHarness(t)
	plain.must(logical.UpdateOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"password_policy": "pin"}})
	plain.put("k", map[string]any{"a": "b"})
	_, err = plain.b.Rotate(context.Background(), plain.store, "data/k")
	wantErr(t, err, kv.ErrBadRotationSpec, "password_policy")
	wantErr(t, h.b.Verify(context.Background(), h.store, "data/deleted"), logical.ErrUnsupportedOperation, "")
}

func TestRotateCASAndMaxVersions(t *testing.T) {
	h, _ := newRotationHarness(t)
	h.must(logical.UpdateOperation, "config", map[string]any{"cas_required": true})
	h.must(logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": 2, "custom_metadata": map[string]any{"rotate_length": "8"}})
	h.must(logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": "b"}, "options": map[string]any{"cas": 0}})
	for want := 2; want <= 4; want++ {
		res, err := h.rotate("data/k")
		if err != nil || res.Version != fmt.Sprint(want) {
			t.Fatalf("rotation %d = %+v, %v", want, res, err)
		}
	}
	md := h.metadata("k")
	if md["oldest_version"] != 3 || len(md["versions"].(map[string]any)) != 2 {
		t.Fatalf("max_versions not applied: %v", md)
	}

	// A write while the webhook answers wins; the rotation fails.
	var hh *harness
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hh.must(logical.UpdateOperation, "data/w", map[string]any{"data": map[string]any{"a": "written"}, "options": map[string]any{"cas": 1}})
		_, _ = io.WriteString(w, `{"data":{"a":"rotated"}}`)
	}))
	defer srv.Close()
	hh, _ = newRotationHarness(t)
	hh.putSpec("w", map[string]any{"a": "first"}, map[string]any{"rotate_webhook": srv.URL})
	_, err := hh.rotate("data/w")
	wantErr(t, err, logical.ErrInvalidRequest, "check-and-set parameter did not match")
	if got := hh.read("w")["a"]; got != "written" {
		t.Fatalf("current = %v, want the concurrent write", got)
	}
}
