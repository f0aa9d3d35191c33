package dbplugin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// base62 is the alphabet of random, as Vault's.
const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// maxRandomLength bounds random's argument: a template cannot ask for
// more than a username could ever hold many times over.
const maxRandomLength = 1024

// usernameFuncs are the functions of Vault's username template language.
var usernameFuncs = template.FuncMap{
	"random":           randomString,
	"truncate":         truncate,
	"truncate_sha256":  truncateSHA256,
	"uppercase":        strings.ToUpper,
	"lowercase":        strings.ToLower,
	"replace":          func(find, repl, s string) string { return strings.ReplaceAll(s, find, repl) },
	"sha256":           hashSHA256,
	"base64":           func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"hex":              func(s string) string { return hex.EncodeToString([]byte(s)) },
	"unix_time":        func() string { return strconv.FormatInt(time.Now().Unix(), 10) },
	"unix_time_millis": func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) },
	"timestamp":        func(layout string) string { return time.Now().Format(layout) },
	"uuid":             newUUID,
}

// randomString returns n characters drawn uniformly from base62 with
// crypto/rand (rejection sampling, as Vault's: bytes >= 248 are redrawn).
// random 0 is "", as in Vault.
func randomString(n int) (string, error) {
	if n < 0 || n > maxRandomLength {
		return "", fmt.Errorf("random: length %d is outside 0..%d", n, maxRandomLength)
	}
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+1)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, c := range buf {
			if c < 4*62 && len(out) < n {
				out = append(out, base62[c%62])
			}
		}
	}
	return string(out), nil
}

// truncate cuts s to at most maxLen bytes, never inside a UTF-8
// character (Vault's cuts bytes; for ASCII the two agree).
func truncate(maxLen int, s string) (string, error) {
	if maxLen <= 0 {
		return "", fmt.Errorf("truncate: max length must be > 0 but was %d", maxLen)
	}
	return clip(s, maxLen), nil
}

// truncateSHA256 is Vault's truncate_sha256: a string longer than maxLen
// keeps its first maxLen-8 bytes (fewer, rather than split a UTF-8
// character) and ends with 8 hex digits of the SHA-256 of the rest.
func truncateSHA256(maxLen int, s string) (string, error) {
	if maxLen <= 8 {
		return "", fmt.Errorf("truncate_sha256: max length must be > 8 but was %d", maxLen)
	}
	if len(s) <= maxLen {
		return s, nil
	}
	keep := clip(s, maxLen-8)
	return keep + hashSHA256(s[len(keep):])[:8], nil
}

// hashSHA256 is the hex SHA-256 of s.
func hashSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
