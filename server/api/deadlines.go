package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// isStreaming reports the snapshot transfers, whose bodies have no size
// bound and which get progress-based deadlines (see ListenerConfig).
func isStreaming(urlPath string) bool {
	return isSnapshotPath(strings.TrimSuffix(urlPath, "/"))
}

// progressDeadlines wraps next so that on the streaming paths ReadTimeout
// and WriteTimeout measure the time without progress: the read deadline
// is moved ReadTimeout past the start of every body read, the write
// deadline WriteTimeout past the start of every write. Other requests
// keep net/http's whole-request deadlines. It works through
// http.ResponseController, so over HTTP/1.1 it moves the connection's
// deadlines and over HTTP/2 the stream's.
func progressDeadlines(next http.Handler, readTimeout, writeTimeout time.Duration) http.Handler {
	if readTimeout <= 0 && writeTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStreaming(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if readTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
			r.Body = &progressReader{ReadCloser: r.Body, rc: rc, timeout: readTimeout}
		}
		if writeTimeout > 0 {
			// Until the first write, the handler may spool a whole
			// snapshot: no deadline yet (each write sets one).
			_ = rc.SetWriteDeadline(time.Time{})
			w = &progressWriter{ResponseWriter: w, rc: rc, timeout: writeTimeout}
		}
		next.ServeHTTP(w, r)
	})
}

// progressReader moves the read deadline before every read of the body,
// until the body ends. After that it must not touch the deadline: over
// HTTP/1.1 net/http then reads the connection in the background (to see
// the client hang up) and cancels the request's context if that read
// times out, which would abort a restore in progress.
type progressReader struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	err     error // first error of the body (io.EOF at its end)
}

// Read implements io.Reader.
func (p *progressReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if err := p.rc.SetReadDeadline(time.Now().Add(p.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		p.err = err
		return 0, err
	}
	n, err := p.ReadCloser.Read(b)
	p.err = err
	return n, err
}

// progressWriter moves the write deadline before every write of the
// answer. It keeps the writer's Flush and, through Unwrap, every other
// ResponseController power.
type progressWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressWriter) extend() {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
}

// WriteHeader implements http.ResponseWriter.
func (p *progressWriter) WriteHeader(code int) {
	p.extend()
	p.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (p *progressWriter) Write(b []byte) (int, error) {
	p.extend()
	return p.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (p *progressWriter) Flush() {
	p.extend()
	_ = p.rc.Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
