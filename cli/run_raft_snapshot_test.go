package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// snapshotData is deterministic pseudo-random snapshot content.
func snapshotData(n int) []byte {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// serveSnapshot streams b in flushed 64 KiB chunks, as vaultd does.
func serveSnapshot(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	for len(b) > 0 {
		n := min(64<<10, len(b))
		_, _ = w.Write(b[:n])
		w.(http.Flusher).Flush()
		b = b[n:]
	}
}

// runAgainst runs vaultctl args against handler h with ctx.
func runAgainst(t *testing.T, ctx context.Context, h http.HandlerFunc, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	env := map[string]string{"VAULT_ADDR": hs.URL, "VAULT_TOKEN": "s.roottoken"}
	var out, errOut bytes.Buffer
	code = Run(ctx, args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRunRaftSnapshotSave(t *testing.T) {
	t.Parallel()
	snap := snapshotData(8<<20 + 5)
	old := []byte("previous backup\n")
	tests := []struct {
		name      string
		handler   func(w http.ResponseWriter, r *http.Request, cancel context.CancelFunc)
		args      []string // before FILE
		existing  []byte   // FILE content before the save
		staleTmp  bool     // FILE.tmp exists before the save
		code      int
		stdout    string // "%N" is replaced by the snapshot size, "%F" by FILE
		stderr    string
		wantFiles []string
	}{
		{name: "saves the whole stream", code: 0, stdout: "Saved %N bytes to %F\n", wantFiles: []string{"backup.snap"},
			handler: func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) { serveSnapshot(w, snap) }},
		{name: "json output", args: []string{"-format=json"}, stdout: "{\n  \"bytes\": %N,\n  \"file\": \"%F\"\n}\n",
			wantFiles: []string{"backup.snap"},
			handler:   func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) { serveSnapshot(w, snap) }},
		{name: "replaces an older file", existing: old, stdout: "Saved %N bytes to %F\n", wantFiles: []string{"backup.snap"},
			handler: func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) { serveSnapshot(w, snap) }},
		{name: "server aborts mid-stream", code: 1, stderr: "client: incomplete stream after", wantFiles: nil,
			handler: func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) {
				serveSnapshot(w, snap[:3<<20])
				panic(http.ErrAbortHandler)
			}},
		{name: "aborted save keeps the older file", existing: old, code: 1, stderr: "unexpected EOF", wantFiles: []string{"backup.snap"},
			handler: func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) {
				serveSnapshot(w, snap[:1<<20])
				panic(http.ErrAbortHandler)
			}},
		{name: "interrupted", code: 1, stderr: "context canceled", wantFiles: nil,
			handler: func(w http.ResponseWriter, r *http.Request, cancel context.CancelFunc) {
				serveSnapshot(w, snap[:1<<20])
				cancel() // as Ctrl-C does
				<-r.Context().Done()
			}},
		{name: "forbidden", code: 1, stderr: "403 Forbidden: permission denied", wantFiles: nil,
			handler: func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errors":["permission denied"]}`)
			}},
		{name: "another save in progress", staleTmp: true, code: 1, stderr: "backup.snap.tmp exists",
			wantFiles: []string{"backup.snap.tmp"},
			handler:   func(w http.ResponseWriter, _ *http.Request, _ context.CancelFunc) { serveSnapshot(w, snap) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "backup.snap")
			if tt.existing != nil {
				if err := os.WriteFile(file, tt.existing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.staleTmp {
				if err := os.WriteFile(file+".tmp", []byte("in progress"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/v1/sys/storage/raft/snapshot" || r.Header.Get("X-Vault-Token") != "s.roottoken" {
					http.Error(w, "unexpected request", http.StatusTeapot)
					return
				}
				tt.handler(w, r, cancel)
			}
			args := append(append(tt.args, "operator", "raft", "snapshot", "save"), file)
			code, stdout, stderr := runAgainst(t, ctx, h, args...)
			if code != tt.code {
				t.Fatalf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			wantOut := strings.NewReplacer("%N", strconv.Itoa(len(snap)), "%F", file).Replace(tt.stdout)
			if stdout != wantOut {
				t.Errorf("stdout = %q, want %q", stdout, wantOut)
			}
			if !strings.Contains(stderr, tt.stderr) || tt.stderr == "" && stderr != "" {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderr)
			}
			if got := dirEntries(t, dir); strings.Join(got, ",") != strings.Join(tt.wantFiles, ",") {
				t.Fatalf("files left = %q, want %q", got, tt.wantFiles)
			}
			checkSavedFile(t, file, tt.code, tt.existing, snap)
		})
	}
}

// checkSavedFile checks FILE after a save: the whole snapshot with mode
// 0600 on success, the older content (or nothing) on failure.
func checkSavedFile(t *testing.T, file string, code int, existing, snap []byte) {
	t.Helper()
	got, err := os.ReadFile(file)
	switch {
	case code == 0:
		if err != nil || sha256.Sum256(got) != sha256.Sum256(snap) {
			t.Fatalf("saved file: %d bytes, err %v; want the %d-byte snapshot", len(got), err, len(snap))
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("saved file mode: %v, %v; want 0600", fi.Mode(), err)
		}
	case existing != nil:
		if !bytes.Equal(got, existing) {
			t.Fatalf("older file now holds %d bytes, want it untouched", len(got))
		}
	default:
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("FILE exists after a failed save (err %v)", err)
		}
	}
}

func TestRunRaftSnapshotSaveBadDirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "missing", "backup.snap")
	h := func(w http.ResponseWriter, _ *http.Request) { serveSnapshot(w, []byte("x")) }
	code, _, stderr := runAgainst(t, context.Background(), h, "operator", "raft", "snapshot", "save", file)
	if code != 1 || !strings.Contains(stderr, "create temporary file") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestRunRaftSnapshotRestore(t *testing.T) {
	t.Parallel()
	snap := snapshotData(6<<20 + 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")
	if err := os.WriteFile(file, snap, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		status   int
		reply    string
		code     int
		stdout   string
		stderr   string
		wantPath string // "" : no request expected
	}{
		{name: "restore", args: []string{file}, status: 204, stdout: "Success! Snapshot restored from " + file + ".\n",
			wantPath: "/v1/sys/storage/raft/snapshot"},
		{name: "force", args: []string{"-force", file}, status: 204, stdout: "Success! Snapshot restored from " + file + ".\n",
			wantPath: "/v1/sys/storage/raft/snapshot-force"},
		{name: "refused", args: []string{file}, status: 400, reply: `{"errors":["raft: snapshot checksum mismatch"]}`, code: 1,
			stderr: "400 Bad Request: raft: snapshot checksum mismatch", wantPath: "/v1/sys/storage/raft/snapshot"},
		{name: "missing file", args: []string{filepath.Join(dir, "none.snap")}, code: 1, stderr: "no such file"},
		{name: "needs a file", args: nil, code: 2, stderr: "expected 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotPath, gotType string
			var gotSum [32]byte
			h := func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotPath, gotType, gotSum = r.URL.Path, r.Header.Get("Content-Type"), sha256.Sum256(b)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.reply)
			}
			code, stdout, stderr := runAgainst(t, context.Background(), h,
				append([]string{"operator", "raft", "snapshot", "restore"}, tt.args...)...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.stderr) || tt.stderr == "" && stderr != "" {
				t.Fatalf("code %d stdout %q stderr %q; want %d %q %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			if gotPath != tt.wantPath {
				t.Fatalf("request path %q, want %q", gotPath, tt.wantPath)
			}
			if tt.wantPath != "" && (gotType != "application/octet-stream" || gotSum != sha256.Sum256(snap)) {
				t.Fatalf("server got content type %q and other bytes than the file", gotType)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := start
	var out bytes.Buffer
	p := newProgressClock(&out, "Saving snapshot", func() time.Time { return clock })
	steps := []struct {
		at   time.Duration
		add  int
		want string // appended to the output by this step
	}{
		{at: 100 * time.Millisecond, add: 1 << 20, want: ""},
		{at: 499 * time.Millisecond, add: 1 << 20, want: ""},
		{at: 500 * time.Millisecond, add: 512 << 10, want: "\r\x1b[KSaving snapshot: 2.5 MiB"},
		{at: 900 * time.Millisecond, add: 1 << 20, want: ""},
		{at: 1100 * time.Millisecond, add: 10, want: "\r\x1b[KSaving snapshot: 3.5 MiB"},
	}
	for _, s := range steps {
		clock = start.Add(s.at)
		before := out.Len()
		p.add(s.add)
		if got := out.String()[before:]; got != s.want {
			t.Fatalf("at %v: printed %q, want %q", s.at, got, s.want)
		}
	}
	before := out.Len()
	p.done()
	if got := out.String()[before:]; got != "\r\x1b[K" {
		t.Fatalf("done printed %q, want the line erased", got)
	}

	var quiet bytes.Buffer
	q := newProgressClock(&quiet, "x", func() time.Time { return start })
	q.add(1 << 30)
	q.done()
	if quiet.Len() != 0 {
		t.Fatalf("a transfer shorter than the interval printed %q", quiet.String())
	}
	var none *progress
	none.add(1)
	none.done()
	if (&app{stdout: &out, stderr: &out}).newProgress("x") != nil {
		t.Fatal("progress shown on a buffer, which is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file is not a terminal")
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}, {1 << 62, "4.0 EiB"}} {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := humanBytes(tt.n); got != tt.want {
				t.Fatalf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}
