package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/audit"
)

// run is one start of a device: opened with floor, n entries, then
// closed (or crashed).
type run struct {
	floor uint64
	n     int
	crash bool
}

// writeRuns writes the runs into the log at path.
func writeRuns(t *testing.T, path string, o audit.FileOptions, runs ...run) {
	t.Helper()
	for _, r := range runs {
		o.Floor = r.floor
		d := openFile(t, path, o)
		logN(t, d, r.n)
		if r.crash {
			d.Crash()
			continue
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runStarts returns the seq and generation of each open checkpoint.
func runStarts(t *testing.T, lines [][]byte) (seqs, gens []float64) {
	t.Helper()
	for _, l := range lines {
		if m := decode(t, l); m["reason"] == "open" {
			seqs, gens = append(seqs, m["seq"].(float64)), append(gens, m["hmac_key_gen"].(float64))
		}
	}
	return seqs, gens
}

func TestFloorAndRestart(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name   string
		runs   []run
		starts []float64 // seq (= generation) of each open checkpoint
		gaps   int
		last   uint64
	}{
		{"no floor", []run{{0, 3, false}, {0, 2, false}}, []float64{1, 6}, 0, 9},
		{"floor jumps forward", []run{{0, 3, false}, {100, 2, false}}, []float64{1, 100}, 1, 103},
		{"floor below the log", []run{{0, 3, false}, {100, 2, false}, {50, 1, false}}, []float64{1, 100, 104}, 1, 106},
		{"first start above a floor", []run{{40, 2, false}, {0, 1, false}}, []float64{40, 44}, 1, 46},
		{"empty runs", []run{{0, 0, false}, {10, 0, false}}, []float64{1, 10}, 1, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempLog(t)
			writeRuns(t, path, k.opts(), tt.runs...)
			seqs, gens := runStarts(t, readLines(t, path))
			if len(seqs) != len(tt.starts) {
				t.Fatalf("open checkpoints at %v, want %v", seqs, tt.starts)
			}
			for i := range seqs {
				if seqs[i] != tt.starts[i] || gens[i] != tt.starts[i] {
					t.Fatalf("open checkpoints at seqs %v gens %v, want %v", seqs, gens, tt.starts)
				}
			}
			rep := mustVerify(t, k.pub, path)
			if rep.Segments != len(tt.runs) || rep.Gaps != tt.gaps || rep.LastSeq != tt.last || rep.UncleanStops != 0 {
				t.Fatalf("got %+v", rep)
			}
		})
	}
}

func TestDeviceGenerationAndKey(t *testing.T) {
	k := newKeys(t)
	o := k.opts()
	o.Floor, o.RatchetEvery = 70, 2
	d := openFile(t, tempLog(t), o)
	defer d.Close()
	if !d.PublicKey().Equal(k.pub) {
		t.Fatal("PublicKey is not the signing key's")
	}
	tests := []struct {
		entries int // logged before the check
		gen     uint64
	}{{0, 70}, {1, 70}, {1, 71}, {2, 72}}
	for _, tt := range tests {
		logN(t, d, tt.entries)
		if g := d.Generation(); g != tt.gen {
			t.Fatalf("generation %d, want %d", g, tt.gen)
		}
	}
}

// jumpLog is a closed log of two runs, the second above a floor:
// open 1, entries 2..3, close 4, open 100, entries 101..102, close 103.
func jumpLog(t *testing.T, k keys) [][]byte {
	t.Helper()
	path := tempLog(t)
	writeRuns(t, path, k.opts(), run{0, 2, false}, run{100, 2, false})
	lines := readLines(t, path)
	if len(lines) != 8 {
		t.Fatalf("got %d lines", len(lines))
	}
	return lines
}

// setReason rewrites a checkpoint's reason and, with priv, re-signs it.
func setReason(t *testing.T, line []byte, from, to string, priv ed25519.PrivateKey, keyID string) []byte {
	t.Helper()
	line = bytes.Replace(line, []byte(`"reason":"`+from+`"`), []byte(`"reason":"`+to+`"`), 1)
	if priv == nil {
		return line
	}
	return resign(t, line, priv, keyID)
}

// TestJumpOnlyAtSignedOpenCheckpoint: seq may jump forward only at an
// open checkpoint whose signature verifies (or is not checked).
func TestJumpOnlyAtSignedOpenCheckpoint(t *testing.T) {
	k := newKeys(t)
	otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	devID := audit.KeyID(k.pub)
	tests := []struct {
		name   string
		pub    ed25519.PublicKey
		tamper func([][]byte) [][]byte
		line   int // 0: OK
		seq    uint64
		reason audit.Reason
	}{
		{name: "untouched", pub: k.pub, tamper: func(l [][]byte) [][]byte { return l }},
		{name: "untouched, no key", tamper: func(l [][]byte) [][]byte { return l }},
		{name: "open checkpoint deleted", pub: k.pub, tamper: func(l [][]byte) [][]byte { return append(l[:4], l[5:]...) },
			line: 5, seq: 101, reason: audit.ReasonDropped},
		{name: "jump at a signed interval checkpoint", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[4] = setReason(t, l[4], "open", "interval", k.priv, devID)
			return l
		}, line: 5, seq: 100, reason: audit.ReasonDropped},
		{name: "jump at an interval checkpoint, no key", tamper: func(l [][]byte) [][]byte {
			l[4] = setReason(t, l[4], "open", "interval", nil, "")
			return l
		}, line: 5, seq: 100, reason: audit.ReasonDropped},
		{name: "reason made open, not re-signed", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[4] = setReason(t, l[4], "open", "interval", k.priv, devID)
			l[4] = setReason(t, l[4], "interval", "open", nil, "")
			return l
		}, line: 5, seq: 100, reason: audit.ReasonEdited},
		{name: "open checkpoint forged by another key", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[4] = resign(t, l[4], otherPriv, audit.KeyID(otherPub))
			return l
		}, line: 5, seq: 100, reason: audit.ReasonUnsigned},
		{name: "open checkpoint forged naming the device key", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[4] = resign(t, l[4], otherPriv, devID)
			return l
		}, line: 5, seq: 100, reason: audit.ReasonEdited},
		{name: "open checkpoint jumping back", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[4] = resign(t, bytes.Replace(l[4], []byte(`"seq":100`), []byte(`"seq":3`), 1), k.priv, devID)
			return l
		}, line: 5, seq: 3, reason: audit.ReasonReordered},
		{name: "entry after the jump moved", pub: k.pub, tamper: func(l [][]byte) [][]byte {
			l[5] = bytes.Replace(l[5], []byte(`"seq":101`), []byte(`"seq":150`), 1)
			return l
		}, line: 6, seq: 150, reason: audit.ReasonDropped},
		{name: "closing checkpoint before the jump deleted", pub: k.pub, tamper: func(l [][]byte) [][]byte { return append(l[:3], l[4:]...) },
			line: 4, seq: 100, reason: audit.ReasonDropped},
	}
	clean := jumpLog(t, k)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := make([][]byte, len(clean))
			for i, l := range clean {
				lines[i] = bytes.Clone(l)
			}
			data := append(bytes.Join(tt.tamper(lines), []byte("\n")), '\n')
			rep, err := audit.VerifySources(tt.pub, audit.VerifyOptions{}, audit.Source{Name: "audit.log", R: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.line == 0 {
				if !rep.OK || rep.Segments != 2 || rep.Gaps != 1 || rep.Entries != 4 || rep.Checkpoints+rep.Unchecked != 4 {
					t.Fatalf("got %+v", rep)
				}
				return
			}
			p := rep.Problem
			if rep.OK || p.Line != tt.line || p.Seq != tt.seq || p.Reason != tt.reason {
				t.Fatalf("got %+v, want %s at line %d seq %d", p, tt.reason, tt.line, tt.seq)
			}
		})
	}
}

// TestUncleanStop: a device that stopped without its close checkpoint
// (a crash) is reported at the next start, in the same file or across a
// rotation, unless AllowUncleanStop.
func TestUncleanStop(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name  string
		write func(t *testing.T, dir string) []string // the files, oldest first
		file  string                                  // base name of the file reported
		line  int
		seq   uint64
	}{
		{"crash, restart in the same file", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "audit.log")
			writeRuns(t, p, k.opts(), run{0, 3, true}, run{0, 2, false})
			return []string{p}
		}, "audit.log", 4, 4},
		{"crash before any entry", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "audit.log")
			writeRuns(t, p, k.opts(), run{0, 0, true}, run{0, 2, false})
			return []string{p}
		}, "audit.log", 1, 1},
		{"crash, restart above a floor", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "audit.log")
			writeRuns(t, p, k.opts(), run{0, 2, false}, run{10, 3, true}, run{500, 1, false})
			return []string{p}
		}, "audit.log", 8, 13},
		{"crash, file rotated while down", func(t *testing.T, dir string) []string {
			old, cur := filepath.Join(dir, "audit.log.1"), filepath.Join(dir, "audit.log")
			writeRuns(t, old, k.opts(), run{0, 3, true})
			pos, err := audit.ReadPosition(old)
			if err != nil {
				t.Fatal(err)
			}
			o := k.opts()
			o.Resume = &pos
			writeRuns(t, cur, o, run{0, 2, false})
			return []string{old, cur}
		}, "audit.log.1", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.write(t, t.TempDir())
			rep, err := audit.Verify(k.pub, files...)
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Problem
			if rep.OK || p.Reason != audit.ReasonTruncated || filepath.Base(p.File) != tt.file || p.Line != tt.line || p.Seq != tt.seq ||
				!strings.Contains(p.Detail, "stopped without a closing checkpoint") || !strings.Contains(p.Detail, "may be lost") {
				t.Fatalf("got %+v", p)
			}
			srcs := make([]audit.Source, len(files))
			for i, f := range files {
				srcs[i] = source(t, f)
			}
			rep, err = audit.VerifySources(k.pub, audit.VerifyOptions{AllowUncleanStop: true}, srcs...)
			if err != nil || !rep.OK || rep.UncleanStops != 1 {
				t.Fatalf("allowed: %+v %v", rep, err)
			}
		})
	}
}

// TestPrefix: every line starts with the prefix, which the chain covers.
func TestPrefix(t *testing.T) {
	k := newKeys(t)
	const prefix = "vault-audit: "
	path := tempLog(t)
	o := k.opts()
	o.Prefix = prefix
	writeRuns(t, path, o, run{0, 3, false}, run{0, 2, false}) // the restart reads the prefixed last line
	lines := readLines(t, path)
	for i, l := range lines {
		if !bytes.HasPrefix(l, []byte(prefix+`{"time":`)) {
			t.Fatalf("line %d does not start with the prefix: %.40s", i+1, l)
		}
		decode(t, l[len(prefix):])
	}
	if pos, err := audit.ReadPositionPrefix(path, prefix); err != nil || pos.Seq != 9 || pos.PrevHash != audit.LineHash(lines[8]) {
		t.Fatalf("position %+v %v", pos, err)
	}
	if _, err := audit.ReadPosition(path); err == nil {
		t.Fatal("ReadPosition without the prefix read a prefixed log")
	}
	plain := k.opts()
	if d, err := audit.OpenFile(path, plain); err == nil {
		d.Close()
		t.Fatal("OpenFile without the prefix continued a prefixed log")
	}
	tests := []struct {
		name   string
		tamper func([][]byte) [][]byte
		prefix string
		line   int // 0: OK
		detail string
	}{
		{name: "round trip", prefix: prefix},
		{name: "verified without the prefix", line: 1, detail: "not an audit entry"},
		{name: "other prefix", prefix: "vault-audit; ", line: 1, detail: "does not start with the prefix"},
		{name: "prefix edited on an entry", prefix: prefix, tamper: func(l [][]byte) [][]byte {
			l[2][0] = 'V'
			return l
		}, line: 3, detail: "does not start with the prefix"},
		{name: "prefix extended on an entry", prefix: prefix, tamper: func(l [][]byte) [][]byte {
			l[2] = append([]byte(prefix), l[2]...)
			return l
		}, line: 3, detail: "not an audit entry"},
		{name: "prefix removed from the close checkpoint", prefix: prefix, tamper: func(l [][]byte) [][]byte {
			l[8] = l[8][len(prefix):]
			return l
		}, line: 9, detail: "does not start with the prefix"},
		{name: "prefix stripped from every line: the signatures cover it", prefix: "", tamper: func(l [][]byte) [][]byte {
			for i := range l {
				l[i] = l[i][len(prefix):]
			}
			return l
		}, line: 1, detail: "checkpoint signature does not verify over its content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := make([][]byte, len(lines))
			for i, l := range lines {
				ls[i] = bytes.Clone(l)
			}
			if tt.tamper != nil {
				ls = tt.tamper(ls)
			}
			data := append(bytes.Join(ls, []byte("\n")), '\n')
			rep, err := audit.VerifySources(k.pub, audit.VerifyOptions{Prefix: tt.prefix}, audit.Source{Name: "audit.log", R: bytes.NewReader(data)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.line == 0 {
				if !rep.OK || rep.Entries != 5 || rep.Segments != 2 {
					t.Fatalf("got %+v", rep)
				}
				return
			}
			if rep.OK || rep.Problem.Line != tt.line || rep.Problem.Reason != audit.ReasonEdited || !strings.Contains(rep.Problem.Detail, tt.detail) {
				t.Fatalf("got %+v", rep.Problem)
			}
		})
	}
}

// TestDevFull: a device on /dev/full opens (an empty log), fails every
// write with an error naming the device, and closes without hanging.
func TestDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("/dev/full is required: %v", err)
	}
	k := newKeys(t)
	d := openFile(t, "/dev/full", k.opts())
	for i := range 3 {
		err := d.LogRequest(t.Context(), sampleEntry(i))
		if err == nil || !strings.Contains(err.Error(), "/dev/full") {
			t.Fatalf("write %d: %v", i, err)
		}
		if strings.Contains(err.Error(), "torn") {
			t.Fatalf("write %d broke the device: %v", i, err)
		}
	}
	if p := d.Position(); p.Seq != 0 {
		t.Fatalf("position moved: %+v", p)
	}
	if err := d.Close(); err == nil || !strings.Contains(err.Error(), "/dev/full") {
		t.Fatalf("close: %v", err)
	}
}
