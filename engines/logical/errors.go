package logical

import (
	"errors"
	"fmt"
)

// Sentinel errors engines return (wrapped with context as they like).
// server/api maps them to HTTP and gRPC status codes; nothing else may.
var (
	// ErrNotFound: the path or object does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrPermissionDenied: the token may not do this (403 "permission denied").
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnsupportedOperation: the path exists but not for this operation (405).
	ErrUnsupportedOperation = errors.New("unsupported operation")
	// ErrUnsupportedPath: no route matches (404 "unsupported path").
	ErrUnsupportedPath = errors.New("unsupported path")
	// ErrInvalidRequest: the input is malformed or out of range (400).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrSealed: the server is sealed (503).
	//lint:ignore ST1005 Vault's exact wording, which clients match on.
	ErrSealed = errors.New("Vault is sealed")
	// ErrRequestTooLarge: the body exceeds the size limit (413).
	ErrRequestTooLarge = errors.New("request body too large")
	// ErrRateLimited: too many requests (429).
	ErrRateLimited = errors.New("rate limit quota exceeded")
	// ErrUnavailable: the server cannot serve this now, e.g. no leader (503).
	ErrUnavailable = errors.New("service unavailable")
	// ErrDrift: Rotator.Verify found the credential changed behind the
	// server's back (it no longer works where it is used).
	ErrDrift = errors.New("credential drift")
)

// InvalidRequestError is a 400 that names the offending field.
type InvalidRequestError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *InvalidRequestError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Is makes errors.Is(err, ErrInvalidRequest) true.
func (e *InvalidRequestError) Is(target error) bool { return target == ErrInvalidRequest }

// InvalidRequest returns an *InvalidRequestError with a formatted message.
func InvalidRequest(field, format string, args ...any) error {
	return &InvalidRequestError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodedError carries an explicit status for the rare cases no sentinel fits
// (e.g. KV's cas mismatch, which Vault reports as 400 with a message).
// Message is what the client sees.
type CodedError struct {
	Status  int
	Message string
}

// Error implements error.
func (e *CodedError) Error() string { return e.Message }
