package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// streamRequest is a call whose request or answer body may be too large to
// hold in memory (raft snapshots).
type streamRequest struct {
	method      string
	path        string
	body        io.Reader // sent as is when non-nil
	contentType string
	accept      string
}

// watchdog cancels a streaming call when no byte has moved for d: the
// client timeout bounds inactivity rather than the whole transfer, which
// may legitimately last longer than any fixed timeout.
type watchdog struct {
	d      time.Duration
	timer  *time.Timer
	paused atomic.Bool
}

// errStalled is the cancellation cause of a stalled stream.
type errStalled struct{ d time.Duration }

func (e errStalled) Error() string { return fmt.Sprintf("no data moved for %s", e.d) }

// Unwrap makes a stall match context.DeadlineExceeded.
func (e errStalled) Unwrap() error { return context.DeadlineExceeded }

// newWatchdog derives a context cancelled after d of inactivity; d == 0
// disables the watchdog. The returned stop function must be called.
func newWatchdog(ctx context.Context, d time.Duration) (context.Context, *watchdog, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{d: d}
	if d > 0 {
		w.timer = time.AfterFunc(d, func() {
			if !w.paused.Load() {
				cancel(errStalled{d: d})
			}
		})
	}
	return ctx, w, func() {
		if w.timer != nil {
			w.timer.Stop()
		}
		cancel(context.Canceled)
	}
}

// kick records progress.
func (w *watchdog) kick() {
	if w.timer != nil {
		w.timer.Reset(w.d)
	}
}

// pause stops the watchdog for good (the caller then relies on ctx).
func (w *watchdog) pause() {
	w.paused.Store(true)
	if w.timer != nil {
		w.timer.Stop()
	}
}

// kickReader kicks the watchdog on every read and remembers the first
// error of the underlying reader, so a failing source is told apart from a
// failing network. onEOF runs once when the source is exhausted.
// The transport reads it on its own goroutine, hence the mutex.
type kickReader struct {
	r     io.Reader
	w     *watchdog
	onEOF func()

	mu  sync.Mutex
	err error
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.w.kick()
	if err != nil {
		k.mu.Lock()
		first := k.err == nil
		if first {
			k.err = err
		}
		k.mu.Unlock()
		if first && errors.Is(err, io.EOF) && k.onEOF != nil {
			k.onEOF()
		}
	}
	return n, err
}

// sourceErr returns the first error of the source other than io.EOF.
func (k *kickReader) sourceErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if errors.Is(k.err, io.EOF) {
		return nil
	}
	return k.err
}

// openStream sends req with the watchdog armed and returns the answer with
// its body unread; the caller must close it. ctx must come from the
// watchdog. A transport error is wrapped with the request and, when the
// watchdog fired, with its cause.
func (c *Client) openStream(ctx context.Context, req streamRequest) (*http.Response, error) {
	target, err := c.url(req.path, nil)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, req.body)
	if err != nil {
		return nil, fmt.Errorf("client: build %s %s: %w", req.method, req.path, err)
	}
	setHeaders(hreq, c.ClientToken(), false)
	if req.contentType != "" {
		hreq.Header.Set("Content-Type", req.contentType)
	}
	if req.accept != "" {
		hreq.Header.Set("Accept", req.accept)
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.method, displayPath(req.path), streamCause(ctx, scrubURLError(err)))
	}
	return hresp, nil
}

// streamCause adds the watchdog's cause to err when it fired.
func streamCause(ctx context.Context, err error) error {
	var st errStalled
	if cause := context.Cause(ctx); errors.As(cause, &st) && !errors.Is(err, st) {
		return fmt.Errorf("%w (%w)", st, err)
	}
	return err
}

// checkStream turns a status >= 400 into a *ResponseError, reading at most
// the client's response limit of the error body, and closes nothing.
func (c *Client) checkStream(req streamRequest, hresp *http.Response) error {
	if hresp.StatusCode < 400 {
		return nil
	}
	buf, _ := io.ReadAll(io.LimitReader(hresp.Body, min(c.maxBytes, 64<<10)))
	return c.check(request{method: req.method, path: req.path}, &response{status: hresp.StatusCode, body: buf})
}

// countingWriter counts the bytes written to w and remembers w's error, so
// a failing destination is told apart from a failing network.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	if err != nil && cw.err == nil {
		cw.err = err
	}
	return n, err
}
