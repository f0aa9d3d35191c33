package transit_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/transit"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source (testutil.Clock).
type clock = testutil.Clock

// recorder is core's EventRecorder.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) GeneratePassword(context.Context, string) (string, error) { return "", nil }
func (r *recorder) MountTTLs() (def, max time.Duration)                      { return time.Hour, time.Hour }
func (r *recorder) RecordEvent(_ context.Context, op logical.Operation, path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(op) + " " + path
	if err != nil {
		s += " error"
	}
	r.events = append(r.events, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// syncBuffer is a log sink safe for concurrent writes (testutil.SyncBuffer).
type syncBuffer = testutil.SyncBuffer

// harness is one transit mount over an inmem store, seen through a
// view as core mounts it.
type harness struct {
	t     testing.TB
	b     *transit.Backend
	store logical.Storage
	clock *clock
	rec   *recorder
	logs  *syncBuffer
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{
		t: t, store: storage.NewView(inmem.New(), "logical/transit-test/"),
		clock: testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		rec:   &recorder{}, logs: &syncBuffer{},
	}
	h.b = h.mount()
	return h
}

// mount builds a Backend over the harness's storage (a second call is
// another node's instance after a failover).
func (h *harness) mount() *transit.Backend {
	h.t.Helper()
	b, err := transit.New(context.Background(), &logical.BackendConfig{
		MountPoint: "transit/", Storage: h.store, System: h.rec,
	}, transit.WithClock(h.clock.Now),
		transit.WithLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: "transit/", MountType: transit.Type,
	})
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func (h *harness) write(path string, data map[string]any) *logical.Response {
	h.t.Helper()
	return h.must(logical.UpdateOperation, path, data)
}

// encrypt returns the ciphertext of plaintext under key name.
func (h *harness) encrypt(name string, plaintext []byte, extra map[string]any) string {
	h.t.Helper()
	data := map[string]any{"plaintext": b64(plaintext)}
	for k, v := range extra {
		data[k] = v
	}
	return h.write("encrypt/"+name, data).Data["ciphertext"].(string)
}

// decrypt returns the plaintext of ciphertext under key name.
func (h *harness) decrypt(name, ciphertext string, extra map[string]any) []byte {
	h.t.Helper()
	data := map[string]any{"ciphertext": ciphertext}
	for k, v := range extra {
		data[k] = v
	}
	return unb64(h.t, h.write("decrypt/"+name, data).Data["plaintext"].(string))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// wantField fails unless err is a 400 naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	var ire *logical.InvalidRequestError
	if !errors.As(err, &ire) || ire.Field != field {
		t.Fatalf("err = %v, want an invalid request naming %q", err, field)
	}
}

// wantErr fails unless err matches target and mentions msg.
func wantErr(t testing.TB, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %q, want it to mention %q", err, msg)
	}
}
