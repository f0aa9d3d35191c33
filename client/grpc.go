package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// Metadata keys the server reads and writes (server/api's tokenKey and
// httpCodeKey).
const (
	grpcTokenKey    = "x-vault-token"
	grpcHTTPCodeKey = "x-http-code"
)

// grpcTransport sends calls through the server's gRPC services: the
// typed Sys RPCs for the paths they bind (sysRoutes), Logical.Handle,
// which carries the same Vault JSON as REST, for every other path.
type grpcTransport struct {
	conn     *grpc.ClientConn
	owned    bool
	logical  pb.LogicalClient
	sys      pb.SysClient
	maxBytes int64
}

// newGRPCTransport dials base's host (or uses s.grpcConn) with TLS for
// https and plaintext HTTP/2 for http.
func newGRPCTransport(s *settings, base *url.URL, hc *http.Client) (*grpcTransport, error) {
	t := &grpcTransport{conn: s.grpcConn, maxBytes: s.maxResponseBytes}
	if t.conn == nil {
		creds, err := grpcCredentials(s, base, hc)
		if err != nil {
			return nil, err
		}
		host := base.Host
		if base.Port() == "" {
			host = net.JoinHostPort(base.Hostname(), map[string]string{"http": "80", "https": "443"}[base.Scheme])
		}
		if t.conn, err = grpc.NewClient(host, grpc.WithTransportCredentials(creds)); err != nil {
			return nil, fmt.Errorf("client: grpc connection to %s: %w", host, err)
		}
		t.owned = true
	}
	t.logical, t.sys = pb.NewLogicalClient(t.conn), pb.NewSysClient(t.conn)
	return t, nil
}

// grpcCredentials is plaintext for http, else the TLS settings of s (or
// of the WithHTTPClient transport, when it is an *http.Transport).
func grpcCredentials(s *settings, base *url.URL, hc *http.Client) (credentials.TransportCredentials, error) {
	if base.Scheme == "http" {
		return insecure.NewCredentials(), nil
	}
	if s.httpClient != nil {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		return credentials.NewTLS(cfg), nil
	}
	cfg, err := tlsConfig(s)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

func (t *grpcTransport) close() error {
	if !t.owned {
		return nil
	}
	return t.conn.Close()
}

func (t *grpcTransport) roundTrip(ctx context.Context, token string, req request) (*response, error) {
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, grpcTokenKey, token)
	}
	path := strings.Trim(req.path, "/")
	var hdr metadata.MD
	opts := []grpc.CallOption{grpc.Header(&hdr), grpc.MaxCallRecvMsgSize(int(min(t.maxBytes+1024, 1<<31-1)))}
	if call := sysRoute(req.method, path, req); call != nil {
		body, err := call(ctx, t.sys, opts)
		return t.answer(ctx, req, hdr, body, err)
	}
	lr, err := logicalRequest(req.method, path, req)
	if err != nil {
		return nil, err
	}
	out, err := t.logical.Handle(ctx, lr, opts...)
	return t.answer(ctx, req, hdr, out.GetData(), err)
}

// answer turns a gRPC result into the HTTP answer REST would have given:
// the status is the x-http-code header the server sets (200 without it),
// an error status becomes Vault's {"errors":[...]} body. A failure the
// server did not answer (no x-http-code) is a transport error.
func (t *grpcTransport) answer(ctx context.Context, req request, hdr metadata.MD, body []byte, err error) (*response, error) {
	code := http.StatusOK
	if v := hdr.Get(grpcHTTPCodeKey); len(v) > 0 {
		if n, perr := strconv.Atoi(v[0]); perr == nil {
			code = n
		}
	}
	if err == nil {
		if int64(len(body)) > t.maxBytes {
			return nil, fmt.Errorf("%w: %s %s: more than %d bytes", ErrResponseTooLarge, req.method, displayPath(req.path), t.maxBytes)
		}
		return &response{status: code, body: body}, nil
	}
	st, ok := status.FromError(err)
	where := fmt.Sprintf("client: %s %s", req.method, displayPath(req.path))
	switch {
	case !ok:
		return nil, &transportError{err: fmt.Errorf("%s: %w", where, err)}
	case len(hdr.Get(grpcHTTPCodeKey)) > 0:
		return &response{status: code, body: errorBody(code, st.Message())}, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", where, ctx.Err())
	case st.Code() == codes.ResourceExhausted:
		return nil, fmt.Errorf("%w: %s: %s", ErrResponseTooLarge, where, st.Message())
	case st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled:
		return nil, &transportError{err: fmt.Errorf("%s: %w", where, errors.New(st.Message()))}
	}
	code = httpStatusOf(st.Code())
	return &response{status: code, body: errorBody(code, st.Message())}, nil
}

// errorBody is Vault's error envelope of a status message. The server
// sends the status text for an error without messages, which REST
// renders as an empty list.
func errorBody(code int, msg string) []byte {
	errs := []string{}
	if msg != "" && msg != http.StatusText(code) {
		errs = append(errs, msg)
	}
	body, _ := json.Marshal(map[string][]string{"errors": errs})
	return body
}

// httpStatusOf maps a gRPC code without x-http-code to an HTTP status.
func httpStatusOf(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.Unimplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// logicalRequest is the Logical.Handle message of a REST call: the
// operation of its method, its JSON body or, for reads, lists and
// deletes, its query parameters as REST's data (one value a string,
// several a list).
func logicalRequest(method, path string, req request) (*pb.LogicalRequest, error) {
	ops := map[string]string{http.MethodGet: "read", "LIST": "list", http.MethodPut: "update",
		http.MethodPost: "update", http.MethodPatch: "patch", http.MethodDelete: "delete"}
	op, ok := ops[method]
	if !ok {
		return nil, invalidArg("method %s has no gRPC operation", method)
	}
	var data any
	switch {
	case req.body != nil:
		data = req.body
	case len(req.query) > 0:
		q := map[string]any{}
		for k, v := range req.query {
			if len(v) == 1 {
				q[k] = v[0]
			} else if len(v) > 1 {
				q[k] = v
			}
		}
		data = q
	}
	lr := &pb.LogicalRequest{Path: path, Operation: op}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s body: %w", method, path, err)
		}
		lr.Data = raw
	}
	return lr, nil
}
