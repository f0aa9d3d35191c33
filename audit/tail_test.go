package audit_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/audit"
)

// lockedBuffer is a bytes.Buffer safe for the device's writer and the
// test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTail: a tail starts empty, then returns exactly the lines written
// to the log since, HMAC'd as they are; nothing is kept before the first
// call, and the ring is bounded.
func TestTail(t *testing.T) {
	k := newKeys(t)
	var w lockedBuffer
	d, err := audit.NewWriterDevice(&w, audit.Options{RootKey: k.root, SigningKey: k.priv})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	e := sampleEntry(0)
	if err := d.LogRequest(ctx, e); err != nil { // before anyone tails
		t.Fatal(err)
	}
	lines, cur := d.Tail(0)
	if len(lines) != 0 {
		t.Fatalf("the first Tail returned %d lines, want none", len(lines))
	}
	before := w.String()
	for i := range 3 {
		if err := d.LogRequest(ctx, sampleEntry(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	lines, next := d.Tail(cur)
	if len(lines) != 3 || next != cur+3 {
		t.Fatalf("Tail = %d lines, cursor %d→%d; want 3", len(lines), cur, next)
	}
	if got := strings.Join(lines, ""); got != strings.TrimPrefix(w.String(), before) {
		t.Fatalf("the tail is not the log as written:\n%s\nvs\n%s", got, strings.TrimPrefix(w.String(), before))
	}
	if strings.Contains(strings.Join(lines, ""), "SENTINEL-TOKEN") {
		t.Fatal("a raw token reached the tail")
	}
	if again, c := d.Tail(next); len(again) != 0 || c != next {
		t.Fatalf("Tail at the end = %d lines, cursor %d", len(again), c)
	}
	for i := range 1500 {
		if err := d.LogRequest(ctx, sampleEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	many, last := d.Tail(next)
	if len(many) > 1000 || last < next+1500 {
		t.Fatalf("after 1,500 lines: %d returned (cursor %d → %d), want at most 1,000 and every line counted", len(many), next, last)
	}
}
