package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/secretumvault/secretumvault/client"
)

// Encryption contexts, credstash-style.
//
// A value stored with a context ("secrets put NAME VALUE k=v ...") is not
// kept in clear in KV: it is encrypted by the transit engine with a derived
// key (transitKeyName, created with derived=true when missing), the
// context, canonically encoded, being the transit context. The KV version
// then holds {"ciphertext": "vault:v1:...", "encrypted_with":
// "transit:MOUNT/KEY"} instead of {"value": ...}. Reading it back sends the
// ciphertext and the context given to "secrets get" to transit/decrypt: the
// server derives the key from the context, so a wrong or missing context
// fails there (400), and the value never leaves the server.

// Data keys and defaults of context-bound secrets.
const (
	ciphertextKey     = "ciphertext"
	encryptedWithKey  = "encrypted_with"
	transitPrefix     = "transit:"
	defaultTransitMnt = "transit"
	transitKeyName    = "credstash"
)

// Errors of context-bound secrets.
var (
	// errContextRefused: transit refused to decrypt with the given context.
	errContextRefused = errors.New("encryption context refused by the server")
	// errNotContextBound: a context was given for a value stored without one.
	errNotContextBound = errors.New("was stored without an encryption context")
)

// encContext is a parsed encryption context: key → value.
type encContext map[string]string

// parseContext parses k=v arguments. Keys must be non-empty, without
// control characters, and given once.
func parseContext(args []string) (encContext, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := make(encContext, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return nil, usagef("encryption context %q: want KEY=VALUE", a)
		case k == "":
			return nil, usagef("encryption context %q: empty key", a)
		case strings.IndexFunc(a, unicode.IsControl) >= 0:
			return nil, usagef("encryption context %q contains control characters", k)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("encryption context key %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// canonical encodes the context unambiguously: keys sorted, keys and
// values query-escaped, "k1=v1&k2=v2". It is what transit derives from.
func (c encContext) canonical() string {
	vals := make(url.Values, len(c))
	for k, v := range c {
		vals.Set(k, v)
	}
	return vals.Encode()
}

// transitContext is the base64 "context" field of transit's API.
func (c encContext) transitContext() string {
	return base64.StdEncoding.EncodeToString([]byte(c.canonical()))
}

// transitRef names a transit key: its mount and key name.
type transitRef struct {
	mount, key string
}

func (r transitRef) String() string { return transitPrefix + r.mount + "/" + r.key }

// parseTransitRef reads an "encrypted_with" marker.
func parseTransitRef(s string) (transitRef, error) {
	rest, ok := strings.CutPrefix(s, transitPrefix)
	i := strings.LastIndex(rest, "/")
	if !ok || i <= 0 || i == len(rest)-1 {
		return transitRef{}, fmt.Errorf("unknown %s marker %q", encryptedWithKey, s)
	}
	return transitRef{mount: rest[:i], key: rest[i+1:]}, nil
}

// ensureDerivedKey reads the transit key and creates it, derived, when it
// does not exist. An existing key that is not derived is refused: it
// would ignore the context.
func ensureDerivedKey(ctx context.Context, cl *client.Client, r transitRef) error {
	keyPath := r.mount + "/keys/" + r.key
	s, err := cl.Read(ctx, keyPath, nil)
	switch {
	case errors.Is(err, client.ErrNotFound) || err == nil && s == nil:
		if _, err := cl.Write(ctx, keyPath, map[string]any{"derived": true, "type": "aes256-gcm96"}); err != nil {
			return fmt.Errorf("creating transit key %s (is a transit engine mounted at %s/? \"vaultctl secrets enable transit\"): %w", keyPath, r.mount, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading transit key %s: %w", keyPath, err)
	}
	if d, _ := s.Data["derived"].(bool); !d {
		return fmt.Errorf("transit key %s is not derived, so it cannot bind an encryption context", keyPath)
	}
	return nil
}

// sealValue encrypts value under r with the context and returns the KV
// data of a context-bound version.
func sealValue(ctx context.Context, cl *client.Client, r transitRef, ec encContext, value string) (map[string]any, error) {
	if err := ensureDerivedKey(ctx, cl, r); err != nil {
		return nil, err
	}
	s, err := cl.Write(ctx, r.mount+"/encrypt/"+r.key, map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString([]byte(value)),
		"context":   ec.transitContext(),
	})
	if err != nil {
		return nil, fmt.Errorf("encrypting with transit key %s/%s: %w", r.mount, r.key, err)
	}
	ct, _ := s.Data["ciphertext"].(string)
	if ct == "" {
		return nil, fmt.Errorf("encrypting with transit key %s/%s: no ciphertext in the answer", r.mount, r.key)
	}
	return map[string]any{ciphertextKey: ct, encryptedWithKey: r.String()}, nil
}

// openValue decrypts a context-bound version with the context (possibly
// empty: the server then says the context is missing).
func openValue(ctx context.Context, cl *client.Client, name string, data map[string]any, ec encContext) (string, error) {
	marker, _ := data[encryptedWithKey].(string)
	ct, _ := data[ciphertextKey].(string)
	r, err := parseTransitRef(marker)
	if err != nil || ct == "" {
		return "", fmt.Errorf("secret %s: malformed context-bound version: %v", name, err)
	}
	s, err := cl.Write(ctx, r.mount+"/decrypt/"+r.key, map[string]any{
		"ciphertext": ct,
		"context":    ec.transitContext(),
	})
	var re *client.ResponseError
	if errors.As(err, &re) && re.StatusCode == 400 {
		return "", fmt.Errorf("secret %s is bound to an encryption context: %w: %s", name, errContextRefused, strings.Join(re.Errors, "; "))
	}
	if err != nil {
		return "", fmt.Errorf("decrypting %s with transit key %s/%s: %w", name, r.mount, r.key, err)
	}
	pt, _ := s.Data["plaintext"].(string)
	b, err := base64.StdEncoding.DecodeString(pt)
	if err != nil {
		return "", fmt.Errorf("decrypting %s: plaintext is not base64", name)
	}
	return string(b), nil
}
