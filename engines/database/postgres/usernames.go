package postgres

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// usernameTemplate renders usernames from a Vault username template: Go
// text/template with Vault's functions (random, truncate,
// truncate_sha256, uppercase, lowercase, replace, sha256, base64, hex,
// unix_time, unix_time_millis, timestamp, uuid; printf is built in). Its
// data is a dbplugin.UsernameMetadata (.DisplayName, .RoleName).
type usernameTemplate struct {
	tmpl *template.Template
}

// maxRandom bounds {{random n}}.
const maxRandom = 1024

var usernameFuncs = template.FuncMap{
	"random":           randomBase62,
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

// newUsernameTemplate parses raw and renders it once with empty metadata,
// as Vault does, so that a template that cannot render (or renders a
// quote) fails at config time.
func newUsernameTemplate(raw string) (*usernameTemplate, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("empty template")
	}
	tmpl, err := template.New("username").Funcs(usernameFuncs).Option("missingkey=error").Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	u := &usernameTemplate{tmpl: tmpl}
	name, err := u.render(dbplugin.UsernameMetadata{})
	if err != nil {
		return nil, err
	}
	if strings.ContainsFunc(name, unsafeRune) {
		return nil, fmt.Errorf("renders %q, which holds a quote or control character", name)
	}
	return u, nil
}

// generate renders a username for meta: quotes and control characters in
// the metadata become '_', the result is clipped to MaxUsernameLength
// bytes (as PostgreSQL would clip it) and must be safe to substitute.
func (u *usernameTemplate) generate(meta dbplugin.UsernameMetadata) (string, error) {
	meta.DisplayName = sanitizeMetadata(meta.DisplayName)
	meta.RoleName = sanitizeMetadata(meta.RoleName)
	name, err := u.render(meta)
	if err != nil {
		return "", err
	}
	name = clip(name, MaxUsernameLength)
	if err := checkUsername(name); err != nil {
		return "", fmt.Errorf("username template: %w", err)
	}
	return name, nil
}

func (u *usernameTemplate) render(meta dbplugin.UsernameMetadata) (string, error) {
	var b strings.Builder
	if err := u.tmpl.Execute(&b, meta); err != nil {
		return "", fmt.Errorf("rendering: %w", err)
	}
	return b.String(), nil
}

// checkUsername reports whether name can be substituted into "{{name}}"
// and '{{name}}' without escaping: valid UTF-8, not empty, no quote or
// control character.
func checkUsername(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty username", ErrInvalidRequest)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: username is not valid UTF-8", ErrInvalidRequest)
	case strings.ContainsFunc(name, unsafeRune):
		return fmt.Errorf("%w: username %q holds a quote or control character", ErrInvalidRequest, name)
	}
	return nil
}

func unsafeRune(r rune) bool { return r == '"' || r == '\'' || unicode.IsControl(r) }

func sanitizeMetadata(s string) string {
	s = strings.ToValidUTF8(s, "_")
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return '_'
		}
		return r
	}, s)
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// truncate is Vault's truncate, clipping at a rune boundary.
func truncate(n int, s string) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("truncate: length must be > 0, not %d", n)
	}
	return clip(s, n), nil
}

// truncateSHA256 is Vault's truncate_sha256: a string longer than n keeps
// its first n-8 bytes and ends with 8 hex digits of the rest's SHA-256.
func truncateSHA256(n int, s string) (string, error) {
	if n <= 8 {
		return "", fmt.Errorf("truncate_sha256: length must be > 8, not %d", n)
	}
	if len(s) <= n {
		return s, nil
	}
	head := clip(s, n-8)
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(s[len(head):])))
	return head + sum[:8], nil
}

const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomBase62 is n characters from crypto/rand, uniform over base62.
func randomBase62(n int) (string, error) {
	if n <= 0 || n > maxRandom {
		return "", fmt.Errorf("random: length must be in 1..%d, not %d", maxRandom, n)
	}
	limit := big.NewInt(int64(len(base62)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		b[i] = base62[v.Int64()]
	}
	return string(b), nil
}

// newUUID is a random (version 4) UUID.
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
