package kv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// The custom_metadata keys of a secret that say how a rotation makes its
// new values. Exactly one way may be set:
//
//	rotate_length, rotate_charset  random strings (length default 32,
//	                               at most 1024; charset default
//	                               alphanumeric, see charsets, or a
//	                               literal set of at least 2 characters)
//	password_policy                one password per key from the named
//	                               password policy (core's SystemView)
//	rotate_webhook                 an http(s) URL answering the new data
//	                               (see webhookGenerator)
const (
	metaRotateLength   = "rotate_length"
	metaRotateCharset  = "rotate_charset"
	metaPasswordPolicy = "password_policy"
	metaRotateWebhook  = "rotate_webhook"
)

// Bounds of rotation specs and webhook calls.
const (
	defaultRotateLength = 32
	maxRotateLength     = 1024
	webhookTimeout      = 10 * time.Second
	// maxWebhookAnswer bounds the answer read from a webhook.
	maxWebhookAnswer = 1 << 20
)

// charsets are the named character sets of rotate_charset.
var charsets = map[string]string{
	"alphanumeric":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"alpha":           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"numeric":         "0123456789",
	"hex":             "0123456789abcdef",
	"base64url":       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	"ascii-printable": asciiPrintable(),
}

// asciiPrintable is '!' to '~' (the space is left out: values are often
// pasted into configuration files and command lines).
func asciiPrintable() string {
	b := make([]byte, 0, '~'-'!'+1)
	for c := byte('!'); c <= '~'; c++ {
		b = append(b, c)
	}
	return string(b)
}

// rotationRequest is what a generator is asked for: new values for Keys
// of the secret Path (relative to data/) of Mount, replacing Version.
type rotationRequest struct {
	Path    string   `json:"path"`
	Mount   string   `json:"mount"`
	Version int      `json:"version"`
	Keys    []string `json:"keys"`
}

// generator makes the new data of a rotation: a string for every key of
// the request (a webhook may add keys). No error holds a value.
type generator interface {
	generate(ctx context.Context, req rotationRequest) (map[string]any, error)
}

// rotationGenerator reads a secret's rotation spec from its custom
// metadata.
func (b *Backend) rotationGenerator(custom map[string]string) (generator, error) {
	policy, hasPolicy := custom[metaPasswordPolicy]
	hook, hasHook := custom[metaRotateWebhook]
	length, hasLength := custom[metaRotateLength]
	charset, hasCharset := custom[metaRotateCharset]
	hasRandom := hasLength || hasCharset
	switch n := countTrue(hasPolicy, hasHook, hasRandom); {
	case n == 0:
		return nil, ErrNoRotationSpec
	case n > 1:
		return nil, fmt.Errorf("%w: set only one of %s, %s or %s/%s", ErrBadRotationSpec,
			metaPasswordPolicy, metaRotateWebhook, metaRotateLength, metaRotateCharset)
	case hasPolicy:
		if b.system == nil {
			return nil, fmt.Errorf("%w: %s needs core's password generator, which this mount lacks", ErrBadRotationSpec, metaPasswordPolicy)
		}
		return policyGenerator{system: b.system, policy: policy}, nil
	case hasHook:
		u, err := url.Parse(hook)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			// The URL is not quoted: it may carry credentials.
			return nil, fmt.Errorf("%w: %s must be an http or https URL", ErrBadRotationSpec, metaRotateWebhook)
		}
		if wp, ok := b.system.(logical.WebhookPolicy); ok {
			if err := wp.AllowWebhook(u); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrBadRotationSpec, metaRotateWebhook, err)
			}
		}
		return webhookGenerator{client: b.webhook, url: hook}, nil
	}
	return newCharsetGenerator(length, hasLength, charset, hasCharset)
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// charsetGenerator draws random strings of length characters from set.
type charsetGenerator struct {
	length int
	set    []rune
}

func newCharsetGenerator(length string, hasLength bool, charset string, hasCharset bool) (charsetGenerator, error) {
	g := charsetGenerator{length: defaultRotateLength, set: []rune(charsets["alphanumeric"])}
	if hasLength {
		n, err := strconv.Atoi(length)
		if err != nil || n < 1 || n > maxRotateLength {
			return g, fmt.Errorf("%w: %s must be an integer from 1 to %d", ErrBadRotationSpec, metaRotateLength, maxRotateLength)
		}
		g.length = n
	}
	if hasCharset {
		set, err := parseCharset(charset)
		if err != nil {
			return g, err
		}
		g.set = set
	}
	return g, nil
}

// parseCharset is a named charset, else the distinct characters of s.
func parseCharset(s string) ([]rune, error) {
	if named, ok := charsets[s]; ok {
		return []rune(named), nil
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: %s is not valid UTF-8", ErrBadRotationSpec, metaRotateCharset)
	}
	var set []rune
	for _, r := range s {
		if unicode.IsControl(r) {
			return nil, fmt.Errorf("%w: %s must not hold control characters", ErrBadRotationSpec, metaRotateCharset)
		}
		if !slices.Contains(set, r) {
			set = append(set, r)
		}
	}
	if len(set) < 2 {
		return nil, fmt.Errorf("%w: %s must name a charset or list at least 2 distinct characters", ErrBadRotationSpec, metaRotateCharset)
	}
	return set, nil
}

func (g charsetGenerator) generate(_ context.Context, req rotationRequest) (map[string]any, error) {
	// ChaCha8 is a cryptographically strong generator; seeded from
	// crypto/rand once per rotation. IntN draws without modulo bias.
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // never fails (Go 1.24+)
	r := mrand.New(mrand.NewChaCha8(seed))
	out := make(map[string]any, len(req.Keys))
	buf := make([]rune, g.length)
	for _, k := range req.Keys {
		for i := range buf {
			buf[i] = g.set[r.IntN(len(g.set))]
		}
		out[k] = string(buf)
	}
	return out, nil
}

// policyGenerator draws one password per key from a password policy.
type policyGenerator struct {
	system logical.SystemView
	policy string
}

func (g policyGenerator) generate(ctx context.Context, req rotationRequest) (map[string]any, error) {
	out := make(map[string]any, len(req.Keys))
	for _, k := range req.Keys {
		pw, err := g.system.GeneratePassword(ctx, g.policy)
		if err != nil {
			return nil, fmt.Errorf("kv: password policy %q: %w", g.policy, err)
		}
		out[k] = pw
	}
	return out, nil
}

// webhookGenerator asks an HTTP endpoint for the new data: it POSTs the
// rotationRequest as JSON (key names only, never a value) and takes the
// answer {"data": {"key": "value", ...}}, which must hold a string for
// every key asked for (and may add keys), as the new version's data.
// Any status but 200, a timeout (10 s), or an answer that is not such an
// object is an error matching ErrWebhook, which never quotes the URL,
// nor the answer.
type webhookGenerator struct {
	client *http.Client
	url    string
}

func (g webhookGenerator) generate(ctx context.Context, req rotationRequest) (map[string]any, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("kv: encode webhook request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: build request", ErrWebhook)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(hreq)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL
		}
		return nil, fmt.Errorf("%w: %w", ErrWebhook, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", ErrWebhook, resp.StatusCode)
	}
	var answer struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxWebhookAnswer)).Decode(&answer); err != nil || answer.Data == nil {
		return nil, fmt.Errorf("%w: the answer is not a JSON object with a \"data\" object", ErrWebhook)
	}
	for _, k := range req.Keys {
		if _, ok := answer.Data[k]; !ok {
			return nil, fmt.Errorf("%w: the answer lacks key %q", ErrWebhook, k)
		}
	}
	for k, v := range answer.Data {
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%w: the answer's value of %q is not a string", ErrWebhook, k)
		}
	}
	return answer.Data, nil
}

// defaultWebhookClient times out after webhookTimeout and follows no
// redirect (a redirect answers its status, an error).
func defaultWebhookClient() *http.Client {
	return &http.Client{
		Timeout:       webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
