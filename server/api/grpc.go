package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// newGRPCServer registers the services and server reflection (so grpcurl
// can list and call them) on a gRPC server served through Handler. proxy
// runs after the metrics interceptor: it sends a standby's calls to the
// active node.
func newGRPCServer(svc *service, opts Options, m *Metrics, proxy grpc.UnaryServerInterceptor) *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(opts.MaxRequestSize)),
		grpc.ChainUnaryInterceptor(unaryInterceptor(opts.Logger, m), proxy),
	)
	pb.RegisterSysServer(srv, svc)
	pb.RegisterLogicalServer(srv, svc)
	reflection.Register(srv)
	return srv
}

// unaryInterceptor gives each call its callInfo, records its metrics and
// turns a panic into a 500 instead of a dead server.
func unaryInterceptor(log *slog.Logger, m *Metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		call := &callInfo{requestID: requestIDFor(ctx)}
		ctx = withCall(ctx, call)
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "api: panic serving gRPC call", "request_id", call.requestID, "method", info.FullMethod, "panic", p)
				resp, err = nil, newStatusError(http.StatusInternalServerError, nil, msgInternal)
				call.status = http.StatusInternalServerError
			}
			var se *statusError
			if errors.As(err, &se) {
				logFailure(ctx, log, se, call.requestID, "method", info.FullMethod)
			}
			status := call.status
			if status == 0 {
				status = http.StatusOK
				if err != nil {
					status = toStatusError(err).httpStatus
				}
			}
			m.observe(call.operation, call.mount, status, time.Since(start))
		}()
		return handler(ctx, req)
	}
}
