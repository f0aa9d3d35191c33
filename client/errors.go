package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. A *ResponseError matches ErrNotFound, ErrPermissionDenied,
// ErrInvalidRequest and ErrUnavailable through errors.Is according to its
// status code, so callers need not compare codes themselves.
var (
	// ErrNotFound: the server answered 404 (no such path, or nothing stored).
	ErrNotFound = errors.New("client: not found")
	// ErrPermissionDenied: the server answered 403 (bad token or policy).
	ErrPermissionDenied = errors.New("client: permission denied")
	// ErrInvalidRequest: the server answered 400 (malformed input).
	ErrInvalidRequest = errors.New("client: invalid request")
	// ErrUnavailable: the server answered 503 (sealed, or no active node).
	ErrUnavailable = errors.New("client: service unavailable")
	// ErrInvalidArgument: the call was refused before anything was sent,
	// e.g. an empty path or a missing version list.
	ErrInvalidArgument = errors.New("client: invalid argument")
	// ErrResponseTooLarge: the response body exceeded the client's limit.
	ErrResponseTooLarge = errors.New("client: response too large")
	// ErrIncompleteStream: a streamed answer (a raft snapshot) ended before
	// it was complete, e.g. the server aborted the connection mid-way. What
	// was received must be discarded.
	ErrIncompleteStream = errors.New("client: incomplete stream")
)

// ResponseError is returned for every HTTP status >= 400. Errors holds the
// server's {"errors":[...]} list (possibly empty). The message never contains
// the request body, headers or token.
type ResponseError struct {
	// Method and Path identify the request, e.g. "GET" and "/v1/secret/data/app".
	Method string
	Path   string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Errors is the server's error list, or a short excerpt of a non-JSON body.
	Errors []string
}

// Error implements error.
func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.Errors) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Errors, "; "))
	}
	return b.String()
}

// Is reports whether the status code corresponds to target, one of the
// package's status sentinels.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrPermissionDenied:
		return e.StatusCode == http.StatusForbidden
	case ErrInvalidRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnavailable:
		return e.StatusCode == http.StatusServiceUnavailable
	}
	return false
}

// invalidArg builds an ErrInvalidArgument with context.
func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}
