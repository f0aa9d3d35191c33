package raft

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	hraft "github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/storage"
)

func newTestFSM(t *testing.T) *fsm {
	t.Helper()
	f, err := openFSM(filepath.Join(t.TempDir(), fsmFile), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.close() })
	return f
}

func putLog(index uint64, kv ...string) *hraft.Log {
	var ops []*storage.Op
	for i := 0; i+1 < len(kv); i += 2 {
		ops = append(ops, &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: kv[i], Value: []byte(kv[i+1])}})
	}
	return &hraft.Log{Index: index, Term: 1, Type: hraft.LogCommand, Data: encodeBatch(ops)}
}

func mustGet(t *testing.T, f *fsm, key string) string {
	t.Helper()
	v, ok, err := f.get(key)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "<missing>"
	}
	return string(v)
}

func TestFSMApplyBatch(t *testing.T) {
	f := newTestFSM(t)
	bad := encodeBatch([]*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "bad1", Value: []byte("x")}},
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: ""}}, // invalid: whole command must fail
	})
	logs := []*hraft.Log{
		putLog(1, "a", "1"),
		{Index: 2, Term: 1, Type: hraft.LogCommand, Data: bad},
		{Index: 3, Term: 1, Type: hraft.LogCommand, Data: []byte{99}},
		{Index: 4, Term: 1, Type: hraft.LogConfiguration},
		putLog(5, "b", "2", "a", "3"),
	}
	resps := f.ApplyBatch(logs)
	wantErr := []error{nil, storage.ErrInvalidKey, errBadCommand, nil, nil}
	for i, want := range wantErr {
		got, _ := resps[i].(error)
		if (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
			t.Fatalf("response %d = %v, want %v", i, resps[i], want)
		}
	}
	if got := mustGet(t, f, "a"); got != "3" {
		t.Fatalf("a = %s, want 3 (later op wins)", got)
	}
	if got := mustGet(t, f, "bad1"); got != "<missing>" {
		t.Fatalf("op of a rejected command was applied: bad1 = %s", got)
	}
	if f.appliedIndex() != 5 {
		t.Fatalf("applied index = %d, want 5", f.appliedIndex())
	}

	// Replay after restart: entries at or below the applied index are skipped.
	if resp := f.Apply(putLog(5, "a", "replayed")); resp != nil {
		t.Fatalf("replayed Apply = %v", resp)
	}
	if got := mustGet(t, f, "a"); got != "3" {
		t.Fatalf("replayed entry re-applied: a = %s", got)
	}
}

func TestFSMApplyMulti(t *testing.T) {
	f := newTestFSM(t)
	good := encodeBatch([]*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "m1", Value: []byte("1")}}})
	bad := encodeBatch([]*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "m2", Value: []byte("2")}},
		{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "bad\x00key"}},
	})
	data := encodeMulti([][]byte{good, bad, {commandVersion, 42}})
	resp := f.Apply(&hraft.Log{Index: 1, Term: 1, Type: hraft.LogCommand, Data: data})
	errs, ok := resp.([]error)
	if !ok || len(errs) != 3 {
		t.Fatalf("multi response = %#v", resp)
	}
	if errs[0] != nil || !errors.Is(errs[1], storage.ErrInvalidKey) || !errors.Is(errs[2], errBadCommand) {
		t.Fatalf("multi errors = %v", errs)
	}
	if mustGet(t, f, "m1") != "1" || mustGet(t, f, "m2") != "<missing>" {
		t.Fatalf("m1=%s m2=%s", mustGet(t, f, "m1"), mustGet(t, f, "m2"))
	}
	// A broken group frame fails the whole entry.
	if resp := f.Apply(&hraft.Log{Index: 2, Term: 1, Type: hraft.LogCommand, Data: data[:len(data)-1]}); !errors.Is(resp.(error), errBadCommand) {
		t.Fatalf("truncated multi = %v", resp)
	}
}

func TestFSMAppliedIndexSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), fsmFile)
	f, err := openFSM(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f.ApplyBatch([]*hraft.Log{putLog(7, "k", "v")})
	if err := f.close(); err != nil {
		t.Fatal(err)
	}
	f, err = openFSM(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if f.appliedIndex() != 7 || mustGet(t, f, "k") != "v" {
		t.Fatalf("after reopen: index %d, k=%s", f.appliedIndex(), mustGet(t, f, "k"))
	}
}

// memSink is an in-memory raft.SnapshotSink.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestFSMSnapshotRestore(t *testing.T) {
	src := newTestFSM(t)
	for i := range 50 {
		src.Apply(putLog(uint64(i+1), fmt.Sprintf("d/%02d", i), fmt.Sprint(i)))
	}
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes applied while the snapshot persists (as raft does, from
	// another goroutine) must not leak into it.
	applied := make(chan any)
	go func() { applied <- src.Apply(putLog(51, "d/late", "x")) }()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if resp := <-applied; resp != nil {
		t.Fatalf("apply during snapshot: %v", resp)
	}
	if got := mustGet(t, src, "d/late"); got != "x" {
		t.Fatalf("d/late = %s", got)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}

	dst := newTestFSM(t)
	dst.Apply(putLog(1, "stale", "gone after restore"))
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if dst.appliedIndex() != 50 {
		t.Fatalf("restored applied index = %d, want 50", dst.appliedIndex())
	}
	keys, err := dst.list("d/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 50 || slices.Contains(keys, "late") {
		t.Fatalf("restored keys = %q", keys)
	}
	if got := mustGet(t, dst, "stale"); got != "<missing>" {
		t.Fatalf("pre-restore key survived: %s", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dst.path), fsmRestoreFile)); !os.IsNotExist(err) {
		t.Fatalf("temp restore file left behind: %v", err)
	}
}

func TestFSMRestoreRejectsGarbage(t *testing.T) {
	f := newTestFSM(t)
	f.Apply(putLog(1, "keep", "me"))
	err := f.Restore(io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("junk"), 2000))))
	if err == nil {
		t.Fatal("garbage snapshot restored")
	}
	if got := mustGet(t, f, "keep"); got != "me" {
		t.Fatalf("failed restore damaged the live file: keep = %s", got)
	}
	if f.failure() != nil {
		t.Fatalf("rejected snapshot latched a failure: %v", f.failure())
	}
}
