package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// httpCodeKey is the response header metadata carrying the HTTP status of
// an answer (204, 429, ...), read by the gateway and visible to gRPC clients.
const httpCodeKey = "x-http-code"

// tokenKey is the request metadata carrying the client token.
const tokenKey = "x-vault-token"

type runtimeHTTPStatus = runtime.HTTPStatusError

// newGateway builds the REST mux over the service implementation, called
// in-process (no loopback gRPC hop).
func newGateway(svc *service, log *slog.Logger) *runtime.ServeMux {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, vaultMarshaler{}),
		runtime.WithErrorHandler(gatewayErrorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithForwardResponseOption(forwardHTTPStatus),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(dropMetadata),
		runtime.WithOutgoingTrailerMatcher(dropMetadata),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	// The mux tries patterns of a method from the most recently registered
	// to the first, so Sys (sys/init, sys/health, ...) is registered after
	// Logical's /v1/{path=**} wildcard and wins over it. The Register*
	// functions of the in-process variant cannot fail.
	if err := pb.RegisterLogicalHandlerServer(context.Background(), mux, svc); err != nil {
		log.Error("api: register Logical REST routes", "error", err)
	}
	if err := pb.RegisterSysHandlerServer(context.Background(), mux, svc); err != nil {
		log.Error("api: register Sys REST routes", "error", err)
	}
	return mux
}

// incomingHeader forwards only the token header into request metadata
// (Authorization is always forwarded by the gateway).
func incomingHeader(key string) (string, bool) {
	if strings.EqualFold(key, tokenKey) {
		return tokenKey, true
	}
	return "", false
}

// dropMetadata keeps response metadata (x-http-code) out of HTTP headers.
func dropMetadata(string) (string, bool) { return "", false }

// forwardHTTPStatus writes the status the service put in x-http-code.
func forwardHTTPStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	vals := md.HeaderMD.Get(httpCodeKey)
	if len(vals) == 0 {
		return nil
	}
	code, err := strconv.Atoi(vals[0])
	if err != nil || code < 200 || code > 599 {
		return nil
	}
	w.WriteHeader(code)
	return nil
}

// gatewayErrorHandler renders every REST failure as {"errors":[...]}
// (the REST front end logs withheld causes: logFailure).
func gatewayErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	se := toStatusError(err)
	if call := restCallFrom(r.Context()); call != nil && call.tooLarge.Load() {
		se = newStatusError(http.StatusRequestEntityTooLarge, err, msgTooLarge)
	}
	writeError(w, se)
}

// routingErrorHandler answers unknown paths (404) and methods (405) as
// Vault does: the status with an empty error list.
func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, httpStatus int) {
	writeError(w, newStatusError(httpStatus, nil))
}

// setHTTPStatus records the HTTP status of an answer in the response
// header metadata. Outside an RPC (direct calls in tests) it does nothing.
func setHTTPStatus(ctx context.Context, code int) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(httpCodeKey, strconv.Itoa(code)))
}
