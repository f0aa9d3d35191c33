package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressInterval is the least time between two progress updates.
const progressInterval = 500 * time.Millisecond

// progress shows a running byte count on one terminal line, rewritten at
// most every progressInterval, so only transfers that last longer than
// that show anything. A nil *progress is silent. Safe for concurrent use:
// an upload is read by the HTTP transport's goroutine.
type progress struct {
	w      io.Writer
	label  string
	now    func() time.Time
	render func(n int64) string

	mu    sync.Mutex
	n     int64
	last  time.Time
	shown bool
}

// newProgress returns a byte-count progress line drawn on a.stderr when
// both a.stdout and a.stderr are terminals (someone is watching), else nil.
func (a *app) newProgress(label string) *progress {
	if !isTerminal(a.stdout) || !isTerminal(a.stderr) {
		return nil
	}
	return newProgressClock(a.stderr, label, time.Now)
}

// newCountProgress is newProgress counting items, "12/40", out of total.
func (a *app) newCountProgress(label string, total int) *progress {
	p := a.newProgress(label)
	if p != nil {
		p.render = countOf(total)
	}
	return p
}

// countOf renders an item count out of total.
func countOf(total int) func(int64) string {
	return func(n int64) string { return fmt.Sprintf("%d/%d", n, total) }
}

func newProgressClock(w io.Writer, label string, now func() time.Time) *progress {
	return &progress{w: w, label: label, now: now, last: now(), render: humanBytes}
}

// isTerminal reports whether w is a terminal device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// add counts n more bytes and redraws the line when it is due.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if t := p.now(); t.Sub(p.last) >= progressInterval {
		p.last = t
		p.shown = true
		fmt.Fprintf(p.w, "\r\x1b[K%s: %s", p.label, p.render(p.n))
	}
}

// inc counts one more item.
func (p *progress) inc() { p.add(1) }

// done erases the line if anything was shown.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// writer counts what is written to w.
func (p *progress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return progressWriter{w: w, p: p}
}

// reader counts what is read from r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return progressReader{r: r, p: p}
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(n)
	return n, err
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(n)
	return n, err
}

// humanBytes renders n as "512 B", "1.5 KiB", "12.3 MiB", ...
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
