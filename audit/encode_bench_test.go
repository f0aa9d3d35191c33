package audit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkEncode is the encode half of an entry alone: HMAC of every
// secret, JSON, chain fields and hash.
func BenchmarkEncode(b *testing.B) {
	x := newEntryEncoder(0, make([]byte, RootKeySize), encoding{})
	e := benchEntry()
	var body, line []byte
	var h, zero hashHex
	copy(zero[:], ZeroHash)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		body, err = x.appendEntry(body[:0], TypeRequest, e)
		if err != nil {
			b.Fatal(err)
		}
		line = chainLine(line[:0], "", body, 1, zero[:])
		h.set(line)
	}
}

// BenchmarkEncodeReference is BenchmarkEncode with the reference encoder
// (encoding/json over an HMAC'd copy), for comparison.
func BenchmarkEncodeReference(b *testing.B) {
	h := newHasher(make([]byte, RootKeySize))
	e := benchEntry()
	b.ReportAllocs()
	for b.Loop() {
		body, err := refEntryBody(TypeRequest, e, h, 0, encoding{})
		if err != nil {
			b.Fatal(err)
		}
		_ = lineHash(chainLine(nil, "", body, 1, []byte(ZeroHash)))
	}
}

// BenchmarkRawWrite is the write(2) of a 600-byte line to a file on this
// machine, the floor under BenchmarkLogRequest/never/serial.
func BenchmarkRawWrite(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := make([]byte, 600)
	for b.Loop() {
		if _, err := f.Write(line); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEntry is the entry the encode benchmarks encode.
func benchEntry() *Entry {
	return &Entry{
		Time: time.Now(), RequestID: "req-id", Operation: "update", Path: "secret/data/app", MountType: "kv",
		Auth:        Auth{ClientToken: "t", Accessor: "a", DisplayName: "token", Policies: []string{"default"}},
		RequestData: map[string]any{"password": "pw", "nested": map[string]any{"list": []any{"x", 42, true}}},
	}
}
