package api

import (
	"context"
	"errors"
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
)

// statusError is a failure as clients see it: an HTTP status, Vault's
// "errors" list, and (through GRPCStatus) the equivalent gRPC status. It is
// built only by toStatusError, the one place errors become status codes.
type statusError struct {
	httpStatus int
	messages   []string
	cause      error
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

// body is the Vault error envelope.
func (e *statusError) body() map[string][]string {
	msgs := e.messages
	if msgs == nil {
		msgs = []string{}
	}
	return map[string][]string{"errors": msgs}
}

func newStatusError(code int, cause error, msgs ...string) *statusError {
	return &statusError{httpStatus: code, messages: msgs, cause: cause}
}

// toStatusError maps any error from core, engines, the gateway or this
// package to what the client sees. Texts of unrecognised errors are never
// shown: they become 500 "internal error" (the caller logs the cause).
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
			return newStatusError(http.StatusInternalServerError, err, msgInternal)
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
		return newStatusError(http.StatusServiceUnavailable, err, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return newStatusError(http.StatusGatewayTimeout, err, "request timed out")
	case errors.Is(err, context.Canceled):
		return newStatusError(http.StatusServiceUnavailable, err, "request canceled")
	case errors.As(err, &gw):
		return newStatusError(gw.HTTPStatus, err, gatewayMessage(gw.Err, gw.HTTPStatus))
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		// Errors the gateway itself raises (bad query parameter, undecodable
		// body): their text describes the request, not server internals.
		code := httpStatusFromGRPC(st.Code())
		if code == http.StatusInternalServerError {
			return newStatusError(code, err, msgInternal)
		}
		return newStatusError(code, err, st.Message())
	}
	return newStatusError(http.StatusInternalServerError, err, msgInternal)
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
