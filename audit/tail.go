package audit

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// A live tail of a device's log, for operators (the web UI's audit
// screen): the lines exactly as written — HMAC'd fields as they are —
// kept in memory only while someone is reading them. A device copies its
// lines into the ring only within tailIdle of the last Tail call, so the
// request path pays nothing when nobody tails.

// Tailer is the optional power of a Sink that can show its recent lines.
type Tailer interface {
	// Tail returns the lines written after cursor (0: from now on; the
	// first call starts the tail and returns none) and the cursor of the
	// last line returned. Lines older than the ring's capacity are lost;
	// a caller finds out by a returned cursor jump. Safe for concurrent
	// use.
	Tail(after uint64) (lines []string, cursor uint64)
}

var _ Tailer = (*Device)(nil)

const (
	// tailKeep bounds the lines kept.
	tailKeep = 1000
	// tailIdle ends the copying after this long without a Tail call.
	tailIdle = 2 * time.Minute
)

// tailRing is a device's recent lines.
type tailRing struct {
	lastUse atomic.Int64 // unix nanoseconds of the last Tail call; 0: never
	mu      sync.Mutex
	lines   []string // at most tailKeep, oldest first
	end     uint64   // cursor of the last line in lines
}

// active reports whether lines should be kept now.
func (t *tailRing) active(now time.Time) bool {
	last := t.lastUse.Load()
	return last != 0 && now.UnixNano()-last < int64(tailIdle)
}

// add keeps the lines of buf (newline-terminated lines).
func (t *tailRing) add(buf []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			i = len(buf) - 1
		}
		t.lines = append(t.lines, string(buf[:i+1]))
		t.end++
		buf = buf[i+1:]
	}
	if n := len(t.lines) - tailKeep; n > 0 {
		t.lines = append(t.lines[:0:0], t.lines[n:]...)
	}
}

// since returns the lines after cursor.
func (t *tailRing) since(after uint64) ([]string, uint64) {
	t.lastUse.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.end == 0 {
		t.end = 1 // cursors start at 1: 0 asks to start
	}
	if after == 0 || after >= t.end {
		return nil, t.end
	}
	first := t.end - uint64(len(t.lines)) // cursor before lines[0]
	if after < first {
		after = first
	}
	return append([]string(nil), t.lines[after-first:]...), t.end
}

// Tail implements Tailer.
func (d *Device) Tail(after uint64) ([]string, uint64) { return d.tail.since(after) }
