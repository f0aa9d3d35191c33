package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// proxyMethods maps every unary Sys and Logical method a standby forwards
// to its response type, read from the proto descriptors so that a new RPC
// is forwarded without further code.
var proxyMethods = buildProxyMethods()

func buildProxyMethods() map[string]protoreflect.MessageType {
	out := map[string]protoreflect.MessageType{}
	for _, fd := range []protoreflect.FileDescriptor{pb.File_secretumvault_v1_sys_proto, pb.File_secretumvault_v1_logical_proto} {
		services := fd.Services()
		for i := range services.Len() {
			sd := services.Get(i)
			methods := sd.Methods()
			for j := range methods.Len() {
				md := methods.Get(j)
				full := "/" + string(sd.FullName()) + "/" + string(md.Name())
				if localGRPCMethods[full] || md.IsStreamingClient() || md.IsStreamingServer() {
					continue
				}
				// The generated packages register every message type they use.
				if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName()); err == nil {
					out[full] = mt
				}
			}
		}
	}
	return out
}

// proxyInterceptor forwards a standby's gRPC calls to the active node,
// method for method: the same request message, the client's metadata
// (token included), and the request id and client address in
// mdForwardedRequestID and mdForwardedFor. The active node's answer,
// error, header and trailer metadata (x-http-code) reach the client as
// they are. Node-local methods, and every call on a node that is not a
// standby, run locally.
func (s *Server) proxyInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mt, ok := proxyMethods[info.FullMethod]
		if !ok {
			return handler(ctx, req)
		}
		addr, standby := s.forwardTarget(ctx)
		if !standby {
			return handler(ctx, req)
		}
		return s.proxyCall(ctx, addr, info.FullMethod, req, mt)
	}
}

func (s *Server) proxyCall(ctx context.Context, addr, method string, req any, mt protoreflect.MessageType) (any, error) {
	if lr, ok := req.(*pb.LogicalRequest); ok {
		noteCall(ctx, strings.ToLower(lr.GetOperation()), "")
	}
	fail := func(err error) error {
		se := s.forwardFailure(ctx, addr, err)
		noteStatus(ctx, se.httpStatus)
		s.metrics.forwarded("grpc", strconv.Itoa(se.httpStatus))
		return se
	}
	if addr == "" {
		return nil, fail(status.Error(codes.Unavailable, "no active node known"))
	}
	conn, err := s.fwd.client(addr)
	if err != nil {
		return nil, fail(err)
	}
	reply := mt.New().Interface()
	var header, trailer metadata.MD
	err = conn.Invoke(metadata.NewOutgoingContext(ctx, forwardMetadata(ctx)), method, req, reply,
		grpc.Header(&header), grpc.Trailer(&trailer))
	code, answered := answerStatus(header, trailer)
	if err != nil && !answered && noAnswer(err) {
		return nil, fail(err)
	}
	if md := relayable(header); len(md) > 0 {
		_ = grpc.SetHeader(ctx, md)
	}
	if md := relayable(trailer); len(md) > 0 {
		_ = grpc.SetTrailer(ctx, md)
	}
	if !answered {
		code = http.StatusOK
		if err != nil {
			code = httpStatusFromGRPC(status.Code(err))
		}
	}
	noteStatus(ctx, code)
	s.metrics.forwarded("grpc", strconv.Itoa(code))
	if err != nil {
		return nil, err // the active node's answer, as it sent it
	}
	return reply, nil
}

// noAnswer tells transport failures (the active node never answered)
// from errors the active node returned.
func noAnswer(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// answerStatus reads the HTTP status the active node's service recorded
// (x-http-code, in the header or, for errors, the trailer).
func answerStatus(header, trailer metadata.MD) (int, bool) {
	for _, md := range []metadata.MD{header, trailer} {
		if v := md.Get(httpCodeKey); len(v) > 0 {
			if code, err := strconv.Atoi(v[0]); err == nil && code >= 100 && code <= 599 {
				return code, true
			}
		}
	}
	return 0, false
}

// forwardMetadata is the outgoing metadata of a proxied call: the client's
// own (minus transport headers), then the request id, client address and
// client chain, which replace anything the client sent under those keys.
func forwardMetadata(ctx context.Context) metadata.MD {
	in, _ := metadata.FromIncomingContext(ctx)
	out := relayable(in)
	if out == nil {
		out = metadata.MD{}
	}
	out.Set(mdForwardedRequestID, requestIDFor(ctx))
	c := connection(ctx)
	if c != nil {
		out.Set(mdForwardedFor, c.RemoteAddr)
		setForwardedCerts(out, c.PeerCertificates)
	} else {
		out.Delete(mdForwardedFor)
		setForwardedCerts(out, nil)
	}
	return out
}

// relayable copies md without pseudo-headers and the headers gRPC's
// transport sets itself.
func relayable(md metadata.MD) metadata.MD {
	var out metadata.MD
	for k, v := range md {
		switch {
		case strings.HasPrefix(k, ":"), strings.HasPrefix(k, "grpc-"),
			k == "content-type", k == "user-agent", k == "te":
			continue
		}
		if out == nil {
			out = metadata.MD{}
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// clusterInterceptor runs first on the cluster port's gRPC server: it
// takes the request id, client address and client chain a standby sent
// with a proxied call. The cluster port is mutually authenticated, so only nodes send
// them; the API listener never reads them.
func clusterInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f := &forwarded{}
	if v := md.Get(mdForwardedRequestID); len(v) > 0 && validRequestID(v[0]) {
		f.requestID = v[0]
	}
	if v := md.Get(mdForwardedFor); len(v) > 0 {
		f.remoteAddr = v[0]
	}
	certs, err := forwardedCertsFrom(md)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	f.peerCerts = certs
	return handler(withForwarded(ctx, f), req)
}

// validRequestID accepts what newRequestID makes and other short printable
// ids; anything else is replaced by a fresh id.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
