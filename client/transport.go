package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// transport carries one request to the server and returns the whole
// answer, whatever its status. The HTTP and gRPC transports implement it;
// the Client adds the timeout, the retries and the KV cache around it.
// token is the one to present ("" for none). A transport error (the
// server could not be reached or the answer not read) is an error; a
// server's refusal is a response with a status >= 400.
type transport interface {
	roundTrip(ctx context.Context, token string, req request) (*response, error)
	close() error
}

// httpTransport speaks the Vault HTTP API.
type httpTransport struct {
	c *Client // for the base URL, limits and headers
}

func (t httpTransport) close() error { return nil }

func (t httpTransport) roundTrip(ctx context.Context, token string, req request) (*response, error) {
	c := t.c
	target, err := c.url(req.path, req.query)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if req.body != nil {
		buf, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s body: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(buf)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("client: build %s %s: %w", req.method, req.path, err)
	}
	setHeaders(hreq, token, req.body != nil)
	if req.method == http.MethodPatch {
		hreq.Header.Set("Content-Type", "application/merge-patch+json")
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("client: %s %s: %w", req.method, displayPath(req.path), scrubURLError(err))}
	}
	defer hresp.Body.Close()
	buf, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxBytes+1))
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("client: %s %s: read answer: %w", req.method, displayPath(req.path), err)}
	}
	if int64(len(buf)) > c.maxBytes {
		return nil, fmt.Errorf("%w: %s %s: more than %d bytes", ErrResponseTooLarge, req.method, displayPath(req.path), c.maxBytes)
	}
	return &response{status: hresp.StatusCode, body: buf}, nil
}

// transportError marks a failure to reach the server or read its answer:
// one the retry policy may retry (unless the context ended).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
