package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// request describes one call; path is relative to /v1/.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded when non-nil
}

// response is a fully read answer.
type response struct {
	status int
	body   []byte
}

// secret sends req, fails on status >= 400 and decodes the envelope.
func (c *Client) secret(ctx context.Context, req request) (*Secret, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := c.check(req, resp); err != nil {
		return nil, err
	}
	return parseSecret(req, resp.body)
}

// send is secret for calls whose answer does not matter.
func (c *Client) send(ctx context.Context, req request) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	return c.check(req, resp)
}

// raw sends req, fails on status >= 400 and decodes the body into out,
// unwrapping a {"request_id":..., "data":{...}} envelope when present.
func (c *Client) raw(ctx context.Context, req request, out any) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if err := c.check(req, resp); err != nil {
		return err
	}
	return decodeUnwrapped(req, resp.body, out)
}

// data is raw for endpoints that always answer in the envelope: out is
// decoded from the envelope's "data" object, and an answer without one is
// an error rather than a zero value.
func (c *Client) data(ctx context.Context, req request, out any) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if err := c.check(req, resp); err != nil {
		return err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	if len(env.Data) == 0 || env.Data[0] != '{' {
		return fmt.Errorf("client: %s %s: answer carries no data object", req.method, displayPath(req.path))
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	return nil
}

// do sends req and reads the whole answer, whatever its status: through
// the client's transport, each attempt bounded by the client timeout,
// retried by the retry policy. A write invalidates what the KV cache holds
// for its path once it is answered (or failed).
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	if c.cache != nil && req.method != http.MethodGet {
		defer c.cache.invalidatePath(req.path)
	}
	token := c.ClientToken()
	return c.retry.run(ctx, func(ctx context.Context) (*response, error) {
		if c.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
			defer cancel()
		}
		return c.tr.roundTrip(ctx, token, req)
	})
}

// setHeaders adds the token, the Vault request marker and content headers.
func setHeaders(hreq *http.Request, token string, hasBody bool) {
	if token != "" {
		hreq.Header.Set("X-Vault-Token", token)
	}
	hreq.Header.Set("X-Vault-Request", "true")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "secretumvault-client")
	if hasBody {
		hreq.Header.Set("Content-Type", "application/json")
	}
}

// url joins the base address, /v1/ and the escaped segments of p.
func (c *Client) url(p string, query url.Values) (string, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", invalidArg("empty path")
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "." || s == ".." {
			return "", invalidArg("path %q holds a %q segment", p, s)
		}
		segs[i] = url.PathEscape(s)
	}
	u := c.base.String() + "/v1/" + strings.Join(segs, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u, nil
}

// check turns a status >= 400 into a *ResponseError.
func (c *Client) check(req request, resp *response) error {
	if resp.status < 400 {
		return nil
	}
	return &ResponseError{
		Method:     req.method,
		Path:       displayPath(req.path),
		StatusCode: resp.status,
		Errors:     parseErrors(resp.body),
	}
}

// parseErrors extracts {"errors":[...]}, or a short excerpt of other bodies.
func parseErrors(body []byte) []string {
	var env struct {
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err == nil {
		return env.Errors
	}
	text := strings.TrimSpace(string(body))
	if text == "" {
		return nil
	}
	const limit = 200
	if len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return []string{text}
}

// parseSecret decodes an envelope; an empty body is (nil, nil).
func parseSecret(req request, body []byte) (*Secret, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var s Secret
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	return &s, nil
}

// decodeUnwrapped decodes body into out. Vault answers most sys/ endpoints
// with a bare object, some with an envelope too; an object that has both
// "request_id" and an object "data" is unwrapped to its data.
func decodeUnwrapped(req request, body []byte, out any) error {
	var probe struct {
		RequestID *string         `json:"request_id"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	if probe.RequestID != nil && len(probe.Data) > 0 && probe.Data[0] == '{' {
		body = probe.Data
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", req.method, displayPath(req.path), err)
	}
	return nil
}

// displayPath is the request path as shown in errors.
func displayPath(p string) string { return "/v1/" + strings.TrimPrefix(p, "/") }

// scrubURLError drops the URL from *url.Error (it may carry query
// parameters) and keeps the cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
