package api

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// callInfo is what one request's layers tell each other: the service
// fills operation and mount (metric labels) and status (for gRPC); the REST
// front end fills the HTTP facts the service cannot get from the gateway.
// It lives in the request context; gRPC clients cannot set it.
type callInfo struct {
	// requestID is the call's id: the request_id of its answer, of its
	// logical request (audit) and of the log lines about it. A standby
	// sends it with a forwarded request, and the active node keeps it.
	requestID string
	operation string
	mount     string
	status    int
	rest      *restCall
}

// restCall describes the HTTP request behind a REST call.
type restCall struct {
	method     string
	query      url.Values
	remoteAddr string
	// peerCerts is the client's TLS chain as presented (see peercerts.go).
	peerCerts []*x509.Certificate
	tooLarge  atomic.Bool
	// body is the unread request body of a Logical call, handed to core.
	body io.Reader
}

// maxSysBody limits the bodies of the typed sys endpoints the gateway
// decodes itself (init, unseal: unauthenticated, a few KiB at most).
const maxSysBody = 1 << 20

type callKey struct{}

func withCall(ctx context.Context, c *callInfo) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callFrom(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callKey{}).(*callInfo)
	return c
}

// connection is the logical.Connection of the REST call.
func (rc *restCall) connection() *logical.Connection {
	return &logical.Connection{RemoteAddr: rc.remoteAddr, PeerCertificates: rc.peerCerts}
}

func restCallFrom(ctx context.Context) *restCall {
	if c := callFrom(ctx); c != nil {
		return c.rest
	}
	return nil
}

// noteCall records the metric labels of the call in progress.
func noteCall(ctx context.Context, operation, mount string) {
	if c := callFrom(ctx); c != nil {
		c.operation, c.mount = operation, mount
	}
}

func noteStatus(ctx context.Context, status int) {
	if c := callFrom(ctx); c != nil {
		c.status = status
	}
}

// buildHandler assembles UI (when enabled) -> dispatch -> REST front
// end -> gateway.
func (s *Server) buildHandler() http.Handler {
	rest := s.restHandler()
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			s.grpc.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	}))
	if s.opts.UI {
		h = withUI(h)
	}
	return h
}

// restHandler wraps the gateway with what it cannot do itself: the LIST
// method, the body size limit, request facts for the service, forwarding
// from a standby, the metrics endpoint, panic recovery and request
// metrics.
func (s *Server) restHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		call := &callInfo{requestID: requestIDFor(r.Context()), rest: &restCall{remoteAddr: remoteHost(r.RemoteAddr), peerCerts: tlsPeerCerts(r.TLS)}}
		if f := forwardedFrom(r.Context()); f != nil {
			call.rest.remoteAddr, call.rest.peerCerts = f.remoteAddr, f.peerCerts
		}
		rec := &statusRecorder{ResponseWriter: w, head: r.Method == http.MethodHead, requestID: call.requestID}
		r = r.WithContext(withCall(r.Context(), call))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "api: panic serving request", "request_id", call.requestID, "path", r.URL.Path, "panic", p)
				if !rec.wroteHeader {
					writeError(rec, newStatusError(http.StatusInternalServerError, nil, msgInternal))
				}
			}
			logFailure(r.Context(), s.log, rec.failure, call.requestID, "method", r.Method, "path", r.URL.Path)
			s.metrics.observe(call.operation, call.mount, rec.code(), time.Since(start))
		}()
		if r.Method == "LIST" {
			r = listAsGet(r)
		}
		call.rest.method, call.rest.query = r.Method, r.URL.Query()
		call.operation = operationOfMethod(r.Method, call.rest.query)
		// Snapshots are spooled to disk and checksummed, not decoded: they
		// may be larger than any JSON body.
		if !isSnapshotUpload(r) && r.ContentLength > s.opts.MaxRequestSize {
			writeError(rec, newStatusError(http.StatusRequestEntityTooLarge, nil, msgTooLarge))
			return
		}
		allowed, typedSys := s.sysMethods[r.URL.Path]
		if r.Body != nil && r.Body != http.NoBody && !isSnapshotUpload(r) {
			limit := s.opts.MaxRequestSize
			if typedSys {
				// init and unseal: unauthenticated, a few KiB at most.
				limit = min(limit, maxSysBody)
			}
			r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(rec, r.Body, limit), flag: &call.rest.tooLarge}
		}
		if typedSys && !allowed[r.Method] {
			writeError(rec, newStatusError(http.StatusMethodNotAllowed, nil))
			return
		}
		if listenerFrom(r.Context()).disabledPath(r.URL.Path) {
			writeError(rec, newStatusError(http.StatusNotFound, nil))
			return
		}
		if s.forwardREST(rec, r, call) {
			return
		}
		if s.serveSnapshot(rec, r, call) {
			return
		}
		if isPrometheusScrape(r) {
			s.serveMetrics(rec, r, call)
			return
		}
		if !typedSys && r.Body != nil && r.Body != http.NoBody {
			// The gateway must not read a Logical body: core reads it once
			// the token is authenticated (Request.Body).
			call.rest.body, r.Body = r.Body, http.NoBody
		}
		s.gateway.ServeHTTP(rec, r)
	})
}

// listAsGet turns Vault's LIST method into GET ?list=true, which the
// gateway (which knows only standard methods) routes to Logical.
func listAsGet(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Set("list", "true")
	r2.Method = http.MethodGet
	r2.URL.RawQuery = q.Encode()
	return r2
}

// operationOfMethod is the provisional metric label before the service
// knows the logical operation.
func operationOfMethod(method string, q url.Values) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		if q.Get("list") == "true" {
			return "list"
		}
		return "read"
	case http.MethodPut, http.MethodPost:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "unknown"
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// limitedBody flags that the size limit was hit, so the error handler can
// answer 413 whatever error the decoder wrapped it in.
type limitedBody struct {
	io.ReadCloser
	flag *atomic.Bool
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		b.flag.Store(true)
		err = fmt.Errorf("%w: %w", logical.ErrRequestTooLarge, err)
	}
	return n, err
}

// statusRecorder remembers the status for metrics and drops body writes
// where HTTP forbids a body (204, 304, HEAD). writeError reads the
// request id from it and leaves the failure for logFailure.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	noBody      bool
	head        bool
	requestID   string
	failure     *statusError
}

// WriteHeader implements http.ResponseWriter.
func (r *statusRecorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader, r.status = true, code
	r.noBody = r.head || code == http.StatusNoContent || code == http.StatusNotModified
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *statusRecorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.noBody {
		return len(p), nil
	}
	return r.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) code() int {
	if !r.wroteHeader {
		return http.StatusOK
	}
	return r.status
}
