package api

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// Forwarding, standby side. A standby answers only the requests about the
// node itself (localSysPaths, localGRPCMethods); it sends every other one
// to the active node over the cluster port:
//
//   - REST requests, after the size limit, as one Forwarding.Forward call
//     that runs them through the active node's REST stack (forwardREST);
//   - gRPC calls method for method on the same connection (forward_grpc.go).
//
// The active node serves both with ForwardingServer (forward_server.go).

// Request metadata of a gRPC call proxied by a standby. Only the cluster
// port reads them; on the API listener they are ordinary, ignored headers.
const (
	mdForwardedRequestID = "x-secretum-forwarded-request-id"
	mdForwardedFor       = "x-secretum-forwarded-for"
)

const (
	// forwardChunkSize is the largest body chunk of one ForwardedResponse
	// or ForwardedRequest.
	forwardChunkSize = 64 << 10
	// forwardWindow is the flow-control window of the cluster port's
	// forwarding server.
	forwardWindow = 1 << 20
	// forwardOverhead is what a forwarded request may carry beyond the body
	// limit (headers, URL).
	forwardOverhead = 2 << 20
	// forwardConnectTimeout bounds one attempt to reach the active node, so
	// an unreachable active node yields 503 rather than a hang.
	forwardConnectTimeout = 5 * time.Second
)

// localSysPaths are the REST paths (after /v1/) a standby answers itself:
// they describe or change this node, not the cluster's data.
var localSysPaths = map[string]bool{
	"sys/health":                 true,
	"sys/seal-status":            true,
	"sys/unseal":                 true,
	"sys/init":                   true,
	"sys/leader":                 true,
	"sys/metrics":                true,
	"sys/storage/raft/join":      true,
	"sys/storage/raft/bootstrap": true,
}

// localGRPCMethods are the gRPC methods a standby answers itself.
var localGRPCMethods = map[string]bool{
	pb.Sys_InitStatus_FullMethodName: true,
	pb.Sys_Init_FullMethodName:       true,
	pb.Sys_Unseal_FullMethodName:     true,
	pb.Sys_SealStatus_FullMethodName: true,
	pb.Sys_Health_FullMethodName:     true,
	pb.Sys_Leader_FullMethodName:     true,
}

// restIsLocal reports whether a standby answers the REST path itself:
// the node-local sys paths, sys/storage/raft/bootstrap/*, and anything
// outside /v1/ (answered 404 locally).
func restIsLocal(urlPath string) bool {
	p, ok := strings.CutPrefix(urlPath, "/v1/")
	if !ok {
		return true
	}
	p = strings.Trim(p, "/")
	return localSysPaths[p] || strings.HasPrefix(p, "sys/storage/raft/bootstrap/")
}

// forwarded is what the active node learns about a request from the
// standby that forwarded it. It lives in the request context and is set
// only by the cluster-port handlers, never from what a client sends.
type forwarded struct {
	requestID  string
	remoteAddr string
	// peerCerts is the client's TLS chain as the standby received it.
	peerCerts []*x509.Certificate
}

type forwardedKey struct{}

func withForwarded(ctx context.Context, f *forwarded) context.Context {
	return context.WithValue(ctx, forwardedKey{}, f)
}

func forwardedFrom(ctx context.Context) *forwarded {
	f, _ := ctx.Value(forwardedKey{}).(*forwarded)
	return f
}

// requestIDFor is the id of a new logical request: the call's (see
// callInfo), which for a forwarded request is the one the standby chose
// (so the client, the standby and the active node's audit and logs
// agree), otherwise a fresh one.
func requestIDFor(ctx context.Context) string {
	if c := callFrom(ctx); c != nil && c.requestID != "" {
		return c.requestID
	}
	if f := forwardedFrom(ctx); f != nil && f.requestID != "" {
		return f.requestID
	}
	return logical.MustUUID()
}

// forwardTarget reports whether a request arriving with ctx must be
// forwarded, and where: only on a standby, and never a request that was
// itself forwarded (no loops when leadership moves under it).
func (s *Server) forwardTarget(ctx context.Context) (addr string, ok bool) {
	if s.opts.Cluster == nil || forwardedFrom(ctx) != nil {
		return "", false
	}
	standby, addr := s.opts.Cluster.Standby()
	return addr, standby
}

// errForwardDisabled reports a standby built without Options.ForwardDial.
var errForwardDisabled = errors.New("api: request forwarding is not configured (no ForwardDial)")

// forwarder holds one gRPC connection to the active node, replaced when
// the active node's address changes. Safe for concurrent use.
type forwarder struct {
	dial    func(ctx context.Context, addr string) (net.Conn, error)
	creds   credentials.TransportCredentials
	maxSend int

	mu   sync.Mutex
	addr string
	conn *grpc.ClientConn
}

func newForwarder(opts Options) *forwarder {
	creds := opts.ForwardCredentials
	if creds == nil {
		// ForwardDial's connections are already mutually authenticated
		// TLS with the cluster CA: gRPC adds no second layer.
		creds = insecure.NewCredentials()
	}
	return &forwarder{dial: opts.ForwardDial, creds: creds, maxSend: int(opts.MaxRequestSize) + forwardOverhead}
}

// client returns the connection to addr, creating it (and closing the one
// to a former active node) when addr is new. Connecting is lazy: failures
// surface on the first call.
func (f *forwarder) client(addr string) (*grpc.ClientConn, error) {
	if f.dial == nil {
		return nil, errForwardDisabled
	}
	f.mu.Lock()
	if f.conn != nil && f.addr == addr {
		conn := f.conn
		f.mu.Unlock()
		return conn, nil
	}
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(f.creds),
		grpc.WithContextDialer(f.dial),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: forwardConnectTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(f.maxSend)),
	)
	if err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("api: connect to active node %s: %w", addr, err)
	}
	old := f.conn
	f.conn, f.addr = conn, addr
	f.mu.Unlock()
	if old != nil {
		// Calls still in flight to the former active node fail with
		// Canceled; that node is no longer active and would refuse them.
		_ = old.Close()
	}
	return conn, nil
}

// close drops the connection; a later call connects again.
func (f *forwarder) close() error {
	f.mu.Lock()
	conn := f.conn
	f.conn, f.addr = nil, ""
	f.mu.Unlock()
	if conn == nil {
		return nil
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("api: close connection to active node: %w", err)
	}
	return nil
}

// forwardFailure is what a client sees when the active node could not
// answer: the request context's own error, or 503 "no active node".
func (s *Server) forwardFailure(ctx context.Context, addr string, err error) *statusError {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return toStatusError(ctxErr)
	}
	if status.Code(err) == codes.ResourceExhausted {
		return newStatusError(http.StatusRequestEntityTooLarge, err, msgTooLarge)
	}
	if addr == "" {
		// Normal during an election: not worth a log line per request.
		return newStatusError(http.StatusServiceUnavailable, err, "no active node: the cluster has no leader")
	}
	s.log.WarnContext(ctx, "api: forwarding to the active node failed", "request_id", requestIDFor(ctx), "active", addr, "error", err)
	reason := "cannot reach the active node at " + addr
	if errors.Is(err, errForwardDisabled) {
		reason = "request forwarding is not configured"
	}
	return newStatusError(http.StatusServiceUnavailable, err, "no active node: "+reason)
}

// forwardREST sends a REST request to the active node when this node is a
// standby and the path is not node-local. It reports whether it answered.
// The body has already passed the size limit (limitedBody); it is streamed
// to the active node in chunks as the active node reads it, never held
// whole.
func (s *Server) forwardREST(w *statusRecorder, r *http.Request, call *callInfo) bool {
	if restIsLocal(r.URL.Path) {
		return false
	}
	addr, ok := s.forwardTarget(r.Context())
	if !ok {
		return false
	}
	req := &pb.ForwardedRequest{
		Method:             r.Method,
		Url:                r.URL.RequestURI(),
		Host:               r.Host,
		Headers:            headersToProto(r.Header),
		RemoteAddr:         call.rest.remoteAddr,
		RequestId:          call.requestID,
		ClientCertificates: certsDER(call.rest.peerCerts),
	}
	result := "aborted"
	defer func() { s.metrics.forwarded("http", result) }()
	s.relayForward(r.Context(), w, addr, req, r.Body, call.rest.tooLarge.Load)
	result = strconv.Itoa(w.code())
	return true
}

// relayForward runs req with body on the active node and copies the
// answer to w. If the answer breaks off after its status was sent, the
// client's response is aborted (http.ErrAbortHandler) so that it cannot
// mistake a truncated body for a complete one.
func (s *Server) relayForward(ctx context.Context, w *statusRecorder, addr string, req *pb.ForwardedRequest, body io.Reader, tooLarge func() bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream, and with it the body pump
	first, stream, err := s.openForward(ctx, cancel, addr, req, body)
	if err != nil {
		if tooLarge != nil && tooLarge() {
			writeError(w, newStatusError(http.StatusRequestEntityTooLarge, err, msgTooLarge))
			return
		}
		writeError(w, s.forwardFailure(ctx, addr, err))
		return
	}
	if first.GetStatus() < 100 || first.GetStatus() > 599 {
		s.log.ErrorContext(ctx, "api: invalid status from the active node", "request_id", req.GetRequestId(), "active", addr, "status", first.GetStatus())
		writeError(w, newStatusError(http.StatusBadGateway, nil, "invalid answer from the active node"))
		return
	}
	headersFromProto(w.Header(), first.GetHeaders())
	w.WriteHeader(int(first.GetStatus()))
	if _, err := w.Write(first.GetBody()); err != nil {
		return // the client went away
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.log.WarnContext(ctx, "api: forwarded answer broke off", "request_id", req.GetRequestId(), "active", addr, "error", err)
			panic(http.ErrAbortHandler)
		}
		if _, err := w.Write(msg.GetBody()); err != nil {
			return
		}
		w.Flush()
	}
}

// openForward starts the Forward call and reads the answer's first
// message (status and headers). The body is streamed, in the background,
// only when the active node asks for it (send_body); cancel ends the call
// (the pump uses it when the body cannot be read).
func (s *Server) openForward(ctx context.Context, cancel context.CancelFunc, addr string, req *pb.ForwardedRequest, body io.Reader) (*pb.ForwardedResponse, grpc.BidiStreamingClient[pb.ForwardedRequest, pb.ForwardedResponse], error) {
	if addr == "" {
		return nil, nil, errors.New("api: no active node known")
	}
	conn, err := s.fwd.client(addr)
	if err != nil {
		return nil, nil, err
	}
	// A body of at most one chunk travels with the request line (no round
	// trip); a larger one waits until the active node asks for it.
	first, rest, err := peekBody(body)
	if err != nil {
		return nil, nil, fmt.Errorf("api: read request body: %w", err)
	}
	if rest == nil {
		req.Body, req.BodyComplete = first, true
	}
	stream, err := pb.NewForwardingClient(conn).Forward(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("api: forward to %s: %w", addr, err)
	}
	if err := stream.Send(req); err != nil {
		return nil, nil, fmt.Errorf("api: forward to %s: %w", addr, err)
	}
	// With the whole body sent, the request side ends at once (one frame,
	// like a unary call); the active node never asks for more.
	pumping := rest == nil
	if pumping {
		_ = stream.CloseSend()
	} else {
		body = rest
	}
	for {
		first, err := stream.Recv()
		if err != nil {
			return nil, nil, fmt.Errorf("api: forward to %s: %w", addr, err)
		}
		if !first.GetSendBody() {
			return first, stream, nil
		}
		if !pumping {
			pumping = true
			go pumpBody(stream, cancel, body)
		}
	}
}

// peekBody reads up to one chunk of body. When that is all of it, rest is
// nil and first the whole body; otherwise rest reads the whole body again
// (the chunk already read, then the remainder).
func peekBody(body io.Reader) (first []byte, rest io.Reader, err error) {
	if body == nil || body == http.NoBody {
		return nil, nil, nil
	}
	// ReadAll grows its buffer with what arrives: a small body costs a
	// small allocation, not a whole chunk.
	buf, err := io.ReadAll(io.LimitReader(body, forwardChunkSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(buf) <= forwardChunkSize {
		return buf, nil, nil
	}
	return nil, io.MultiReader(bytes.NewReader(buf), body), nil
}

// pumpBody sends body in chunks, then closes the sending side. It stops
// as soon as the stream ends (the call finished or was cancelled). A body
// that fails to read (the size limit, a client that went away) cancels
// the call, so the active node never takes a truncated body for a whole
// one.
func pumpBody(stream grpc.BidiStreamingClient[pb.ForwardedRequest, pb.ForwardedResponse], cancel context.CancelFunc, body io.Reader) {
	if body == nil {
		body = http.NoBody
	}
	buf := make([]byte, forwardChunkSize)
	for {
		n, err := io.ReadFull(body, buf)
		last := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !last {
			cancel()
			return
		}
		// Send serialises the message before it returns: buf can be reused.
		if n > 0 && stream.Send(&pb.ForwardedRequest{Body: buf[:n]}) != nil {
			return
		}
		if last {
			break
		}
	}
	_ = stream.CloseSend()
}

// hopHeaders are not forwarded in either direction: they describe one
// connection, or (Content-Length) are recomputed by the next hop.
var hopHeaders = map[string]bool{
	"Connection":          true,
	"Content-Length":      true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

func headersToProto(h http.Header) []*pb.HTTPHeader {
	out := make([]*pb.HTTPHeader, 0, len(h))
	for name, values := range h {
		if hopHeaders[http.CanonicalHeaderKey(name)] {
			continue
		}
		out = append(out, &pb.HTTPHeader{Name: name, Values: values})
	}
	return out
}

func headersFromProto(dst http.Header, hs []*pb.HTTPHeader) {
	for _, h := range hs {
		name := http.CanonicalHeaderKey(h.GetName())
		if name == "" || hopHeaders[name] {
			continue
		}
		for _, v := range h.GetValues() {
			dst.Add(name, v)
		}
	}
}
