package mysql

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
	"unicode"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// base62 is the alphabet of the template function random, as Vault's.
const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// maxRandomLength bounds random's argument: a template cannot ask for
// more than a username could ever hold many times over.
const maxRandomLength = 1024

// usernameFuncs are the functions of Vault's username template language
// (sdk/helper/template) that a username can use.
var usernameFuncs = template.FuncMap{
	"random":           randomString,
	"truncate":         truncate,
	"truncate_sha256":  truncateSHA256,
	"uppercase":        strings.ToUpper,
	"lowercase":        strings.ToLower,
	"replace":          func(find, repl, s string) string { return strings.ReplaceAll(s, find, repl) },
	"sha256":           func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) },
	"base64":           func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"hex":              func(s string) string { return hex.EncodeToString([]byte(s)) },
	"unix_time":        func() string { return strconv.FormatInt(time.Now().Unix(), 10) },
	"unix_time_millis": func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) },
	"timestamp":        func(layout string) string { return time.Now().Format(layout) },
	"uuid":             newUUID,
}

// usernameTemplate generates usernames from a Vault username template.
type usernameTemplate struct {
	tmpl   *template.Template
	maxLen int
}

// newUsernameTemplate parses text and checks that it generates a valid
// username from empty metadata, as Vault does at configuration time.
func newUsernameTemplate(text string, maxLen int) (*usernameTemplate, error) {
	u, err := parseUsernameTemplate(text, maxLen)
	if err != nil {
		return nil, err
	}
	if _, err := u.generate(dbplugin.UsernameMetadata{}); err != nil {
		return nil, err
	}
	return u, nil
}

// parseUsernameTemplate parses text.
func parseUsernameTemplate(text string, maxLen int) (*usernameTemplate, error) {
	tmpl, err := template.New("username_template").Funcs(usernameFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("username template: %w", err)
	}
	return &usernameTemplate{tmpl: tmpl, maxLen: maxLen}, nil
}

// generate renders a username for meta and checks it: not empty, at most
// maxLen bytes, UTF-8 without control characters.
func (u *usernameTemplate) generate(meta dbplugin.UsernameMetadata) (string, error) {
	var b strings.Builder
	if err := u.tmpl.Execute(&b, meta); err != nil {
		return "", fmt.Errorf("username template: %w", err)
	}
	name := b.String()
	switch {
	case name == "":
		return "", fmt.Errorf("username template produced an empty username")
	case len(name) > u.maxLen:
		return "", fmt.Errorf("username template produced a %d-byte username; the limit is %d", len(name), u.maxLen)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("username template produced a username that is not UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("username template produced a username with a control character")
	}
	return name, nil
}

// randomString returns n characters drawn uniformly from base62 with
// crypto/rand (rejection sampling: bytes >= 248 are redrawn).
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
	if len(s) <= maxLen {
		return s, nil
	}
	end := maxLen
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end], nil
}

// truncateSHA256 cuts s to maxLen bytes, the last 8 of which are the
// start of the hex SHA-256 of what was cut off (Vault's truncate_sha256).
func truncateSHA256(maxLen int, s string) (string, error) {
	if maxLen <= 8 {
		return "", fmt.Errorf("truncate_sha256: max length must be > 8 but was %d", maxLen)
	}
	if len(s) <= maxLen {
		return s, nil
	}
	keep, err := truncate(maxLen-8, s)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(s[len(keep):]))
	return keep + hex.EncodeToString(sum[:])[:8], nil
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
