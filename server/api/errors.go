package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Messages clients see for failures whose cause text is not theirs to read.
const (
	msgPermissionDenied = "permission denied"
	msgInternal         = "internal error"
	msgTooLarge         = "http: request body too large"
	msgBadJSON          = "error parsing JSON"
	msgTimedOut         = "request timed out"
	msgCanceled         = "request canceled"
)

// statusError is a failure as clients see it: an HTTP status, Vault's
// "errors" list, and (through GRPCStatus) the equivalent gRPC status. It is
// built only by toStatusError, the one place errors become status codes.
//
// A withheld error's cause (raft, network, storage detail) is not in its
// messages: the front end logs it with the request id (logFailure), and
// the client gets a short reason and, in the envelope, the request id.
type statusError struct {
	httpStatus int
	messages   []string
	cause      error
	withheld   bool
}

// Error implements error with the client-visible text.
func (e *statusError) Error() string {
	if len(e.messages) == 0 {
		return http.StatusText(e.httpStatus)
	}
	return strings.Join(e.messages, "; ")
}

// Unwrap exposes the cause for errors.Is/As.
func (e *statusError) Unwrap() error { return e.cause }

// GRPCStatus makes the error a gRPC status for grpc-go.
func (e *statusError) GRPCStatus() *status.Status {
	return status.New(grpcCode(e.httpStatus), e.Error())
}

// errorEnvelope is Vault's error body. Vault's has "errors" only; server
// failures (5xx) add the request id under the key of Vault's success
// envelope, so that a client can quote it and an operator find the log
// line with the cause. Vault clients ignore the extra key.
type errorEnvelope struct {
	Errors    []string `json:"errors"`
	RequestID string   `json:"request_id,omitempty"`
}

// body is the Vault error envelope without a request id.
func (e *statusError) body() errorEnvelope { return e.envelope("") }

// envelope is the Vault error envelope; requestID is shown for 5xx only.
func (e *statusError) envelope(requestID string) errorEnvelope {
	env := errorEnvelope{Errors: e.messages}
	if env.Errors == nil {
		env.Errors = []string{}
	}
	if e.httpStatus >= http.StatusInternalServerError {
		env.RequestID = requestID
	}
	return env
}

func newStatusError(code int, cause error, msgs ...string) *statusError {
	return &statusError{httpStatus: code, messages: msgs, cause: cause}
}

// withheldError is a server-side failure the client sees only as code and
// a short reason.
func withheldError(code int, cause error, reason string) *statusError {
	return &statusError{httpStatus: code, messages: []string{reason}, cause: cause, withheld: true}
}

// genericReason is the reason shown for a server-side failure whose
// cause is withheld.
func genericReason(code int) string {
	switch code {
	case http.StatusServiceUnavailable:
		return logical.ErrUnavailable.Error()
	case http.StatusGatewayTimeout:
		return msgTimedOut
	case http.StatusNotImplemented:
		return "not implemented"
	}
	return msgInternal
}

// writeError writes Vault's error envelope. Written to the REST front
// end's recorder, the envelope of a 5xx carries the request id, and the
// recorder keeps se for logFailure.
func writeError(w http.ResponseWriter, se *statusError) {
	var requestID string
	if rec, ok := w.(*statusRecorder); ok {
		rec.failure = se
		requestID = rec.requestID
	}
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(se.httpStatus)
	_ = json.NewEncoder(w).Encode(se.envelope(requestID))
}

// logFailure logs the cause of a withheld failure at the edge (REST
// front end, gRPC interceptor), which sees every failure whatever path
// produced it, with the request id the client saw: at error level for 500
// and 502, warning for 503 and 504 (a node between leaders, a slow
// backend). Other failures are not logged here: their text is the
// client's to read, or their producer logged them (forwarding failures).
func logFailure(ctx context.Context, log *slog.Logger, se *statusError, requestID string, attrs ...any) {
	if se == nil || !se.withheld {
		return
	}
	level := slog.LevelError
	if se.httpStatus == http.StatusServiceUnavailable || se.httpStatus == http.StatusGatewayTimeout {
		level = slog.LevelWarn
	}
	attrs = append([]any{"request_id", requestID}, attrs...)
	attrs = append(attrs, "status", se.httpStatus, "error", se.cause)
	log.Log(ctx, level, "api: request failed", attrs...)
}

// toStatusError maps any error from core, engines, the gateway or this
// package to what the client sees. The texts of server-side failures are
// never shown: unrecognised errors become 500 "internal error",
// ErrUnavailable 503 "service unavailable" (whatever raft or network
// detail it wraps), deadlines 504 "request timed out"; their causes are
// withheld for logFailure. Client errors (4xx) keep their text, and so do
// CodedError messages, which engines write for clients.
func toStatusError(err error) *statusError {
	var se *statusError
	var coded *logical.CodedError
	var invalid *logical.InvalidRequestError
	var gw *runtimeHTTPStatus
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.As(err, &coded):
		if coded.Status < 400 || coded.Status > 599 {
			return withheldError(http.StatusInternalServerError, err, msgInternal)
		}
		return newStatusError(coded.Status, err, coded.Message)
	case errors.Is(err, logical.ErrPermissionDenied):
		return newStatusError(http.StatusForbidden, err, msgPermissionDenied)
	case errors.Is(err, logical.ErrSealed):
		return newStatusError(http.StatusServiceUnavailable, err, logical.ErrSealed.Error())
	case errors.As(err, &invalid):
		return newStatusError(http.StatusBadRequest, err, invalid.Error())
	case errors.Is(err, logical.ErrInvalidRequest):
		return newStatusError(http.StatusBadRequest, err, err.Error())
	case errors.Is(err, logical.ErrUnsupportedPath):
		return newStatusError(http.StatusNotFound, err, err.Error())
	case errors.Is(err, logical.ErrNotFound):
		return newStatusError(http.StatusNotFound, err)
	case errors.Is(err, logical.ErrUnsupportedOperation):
		return newStatusError(http.StatusMethodNotAllowed, err, err.Error())
	case errors.Is(err, logical.ErrRequestTooLarge):
		return newStatusError(http.StatusRequestEntityTooLarge, err, msgTooLarge)
	case errors.Is(err, logical.ErrRateLimited):
		return newStatusError(http.StatusTooManyRequests, err, logical.ErrRateLimited.Error())
	case errors.Is(err, logical.ErrUnavailable):
		return withheldError(http.StatusServiceUnavailable, err, logical.ErrUnavailable.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return withheldError(http.StatusGatewayTimeout, err, msgTimedOut)
	case errors.Is(err, context.Canceled):
		// The client went away: nothing to log.
		return newStatusError(http.StatusServiceUnavailable, err, msgCanceled)
	case errors.As(err, &gw):
		return newStatusError(gw.HTTPStatus, err, gatewayMessage(gw.Err, gw.HTTPStatus))
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		// Client errors the gateway itself raises (bad query parameter,
		// undecodable body) describe the request and keep their text.
		// Server-side codes come from gRPC calls core made (a raft join,
		// a forwarded call): their text is transport detail.
		code := httpStatusFromGRPC(st.Code())
		switch {
		case st.Code() == codes.Canceled:
			return withheldError(code, err, msgCanceled)
		case code >= http.StatusInternalServerError:
			return withheldError(code, err, genericReason(code))
		}
		return newStatusError(code, err, st.Message())
	}
	return withheldError(http.StatusInternalServerError, err, msgInternal)
}

func gatewayMessage(err error, code int) string {
	if code == http.StatusBadRequest && err != nil {
		return err.Error()
	}
	return http.StatusText(code)
}

// grpcCode is the gRPC code for an HTTP status.
func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusConflict, http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	switch {
	case httpStatus >= 200 && httpStatus < 300:
		return codes.OK
	case httpStatus >= 400 && httpStatus < 500:
		return codes.InvalidArgument
	}
	return codes.Internal
}

// httpStatusFromGRPC maps codes of gateway-raised errors back to HTTP.
func httpStatusFromGRPC(c codes.Code) int {
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
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Canceled:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
