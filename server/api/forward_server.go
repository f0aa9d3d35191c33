package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// Forwarding, active side: the gRPC server of the cluster port.

// newForwardingServer builds the server returned by ForwardingServer:
// Forwarding for REST requests, Sys and Logical for proxied gRPC calls
// (clusterInterceptor takes their forwarded request id and address; no
// proxy interceptor, so nothing that arrives here is forwarded again).
func (s *Server) newForwardingServer(svc *service) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.opts.MaxRequestSize) + forwardOverhead),
		// A fixed window bounds what a standby may push ahead of the
		// handler reading it (a refused request's body is never read): at
		// most forwardWindow per stream, instead of the megabytes dynamic
		// window sizing would allow.
		grpc.InitialWindowSize(forwardWindow),
		grpc.InitialConnWindowSize(forwardWindow),
		// Standbys ping every 10 s (forwarder); allow it.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.trustUnary, clusterInterceptor, unaryInterceptor(s.log, s.metrics)),
		grpc.ChainStreamInterceptor(s.trustStream),
	}
	if s.opts.ForwardCredentials != nil {
		opts = append(opts, grpc.Creds(s.opts.ForwardCredentials))
	}
	srv := grpc.NewServer(opts...)
	pb.RegisterForwardingServer(srv, &forwardingService{server: s})
	pb.RegisterSysServer(srv, svc)
	pb.RegisterLogicalServer(srv, svc)
	return srv
}

// forwardingService implements pb.ForwardingServer.
type forwardingService struct {
	pb.UnimplementedForwardingServer
	server *Server
}

var _ pb.ForwardingServer = (*forwardingService)(nil)

// errAborted is returned when the REST stack aborted the answer midway.
var errAborted = status.Error(codes.Aborted, "api: forwarded request aborted")

// Forward implements pb.ForwardingServer: it runs the request through this
// node's REST stack in process, with the standby's request id and the
// client's address, and streams the answer back.
func (f *forwardingService) Forward(stream grpc.BidiStreamingServer[pb.ForwardedRequest, pb.ForwardedResponse]) (err error) {
	in, err := stream.Recv()
	if err != nil {
		return status.Error(codes.InvalidArgument, "api: forwarded request without its first message")
	}
	var body io.ReadCloser = &streamBody{stream: stream}
	if in.GetBodyComplete() {
		body = io.NopCloser(bytes.NewReader(in.GetBody()))
	}
	r, err := forwardedHTTPRequest(stream.Context(), in, body)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	w := &streamWriter{stream: stream, header: http.Header{}}
	defer func() {
		// The REST stack recovers panics itself and re-panics only
		// http.ErrAbortHandler: the answer is incomplete, say so.
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				f.server.log.ErrorContext(r.Context(), "api: panic serving forwarded request", "panic", p)
			}
			err = errAborted
		}
	}()
	f.server.rest.ServeHTTP(w, r)
	return w.finish()
}

// forwardedHTTPRequest rebuilds the client's request. Its context drops
// the Forward call's metadata (the standby's, not the client's) and
// carries the forwarded request id, client address and client chain.
func forwardedHTTPRequest(ctx context.Context, in *pb.ForwardedRequest, body io.ReadCloser) (*http.Request, error) {
	if !validMethod(in.GetMethod()) {
		return nil, fmt.Errorf("api: forwarded request: invalid method %q", in.GetMethod())
	}
	u, err := url.ParseRequestURI(in.GetUrl())
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, fmt.Errorf("api: forwarded request: invalid url %q", in.GetUrl())
	}
	certs, err := parseCertsDER(in.GetClientCertificates())
	if err != nil {
		return nil, err
	}
	f := &forwarded{remoteAddr: in.GetRemoteAddr(), peerCerts: certs}
	if validRequestID(in.GetRequestId()) {
		f.requestID = in.GetRequestId()
	}
	ctx = withForwarded(metadata.NewIncomingContext(ctx, metadata.MD{}), f)
	r := &http.Request{
		Method:        in.GetMethod(),
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Host:          in.GetHost(),
		RemoteAddr:    in.GetRemoteAddr(),
		RequestURI:    in.GetUrl(),
		ContentLength: -1,
		Body:          body,
	}
	headersFromProto(r.Header, in.GetHeaders())
	return r.WithContext(ctx), nil
}

// streamBody is a forwarded request's body, asked for (send_body) on the
// first read and then read from the Forward stream as the handler
// consumes it. Used by the handler's goroutine only, which is also the
// only one sending on the stream.
type streamBody struct {
	stream grpc.BidiStreamingServer[pb.ForwardedRequest, pb.ForwardedResponse]
	asked  bool
	buf    []byte
	err    error
}

// Read implements io.Reader.
func (b *streamBody) Read(p []byte) (int, error) {
	if !b.asked {
		b.asked = true
		if err := b.stream.Send(&pb.ForwardedResponse{SendBody: true}); err != nil {
			b.err = fmt.Errorf("api: ask for the forwarded body: %w", err)
		}
	}
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		msg, err := b.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				b.err = io.EOF
			} else {
				b.err = fmt.Errorf("api: forwarded body: %w", err)
			}
			continue
		}
		b.buf = msg.GetBody()
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// Close implements io.Closer; the stream ends with the call.
func (b *streamBody) Close() error { return nil }

// validMethod accepts an HTTP method token (RFC 9110 tchar, letters,
// digits and a few marks).
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// streamWriter is the http.ResponseWriter of a forwarded request: the
// first message carries status and headers, the body follows in chunks of
// at most forwardChunkSize. It is used by one goroutine (the handler's).
type streamWriter struct {
	stream grpc.ServerStreamingServer[pb.ForwardedResponse]
	header http.Header
	status int
	sent   bool // the first message is out
	buf    []byte
	err    error
}

// Header implements http.ResponseWriter.
func (w *streamWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; informational codes are
// not forwarded.
func (w *streamWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
}

// Write implements http.ResponseWriter.
func (w *streamWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.WriteHeader(http.StatusOK)
	n := len(p)
	for len(p) > 0 {
		room := forwardChunkSize - len(w.buf)
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == forwardChunkSize {
			if err := w.send(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// Flush implements http.Flusher: what is buffered goes out now.
func (w *streamWriter) Flush() {
	if w.err == nil && (len(w.buf) > 0 || !w.sent) {
		w.WriteHeader(http.StatusOK)
		_ = w.send()
	}
}

// finish sends what is left (at least the status) once the handler is done.
func (w *streamWriter) finish() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 || !w.sent {
		w.WriteHeader(http.StatusOK)
		return w.send()
	}
	return nil
}

func (w *streamWriter) send() error {
	msg := &pb.ForwardedResponse{Body: w.buf}
	if !w.sent {
		msg.Status = int32(w.status)
		msg.Headers = headersToProto(w.header)
	}
	// SendMsg serialises msg before it returns: the buffer can be reused.
	if err := w.stream.Send(msg); err != nil {
		w.err = fmt.Errorf("api: send forwarded answer: %w", err)
		return w.err
	}
	w.sent = true
	w.buf = w.buf[:0]
	return nil
}
