package dbplugin

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidUsername: a username breaks a server's UsernameRules (wrapped
// with the rule it breaks).
var ErrInvalidUsername = errors.New("dbplugin: invalid username")

// UsernameTemplate is a parsed Vault username template: Go text/template
// with the functions of Vault's template language (sdk/helper/template):
//
//	random n             n characters from [A-Za-z0-9] (crypto/rand), 0 <= n <= 1024
//	truncate n s         s cut to at most n bytes (n > 0), never inside a UTF-8 character
//	truncate_sha256 n s  s cut to n bytes (n > 8), the last 8 being the hex SHA-256 of the cut-off rest
//	uppercase, lowercase s
//	replace find repl s  every find in s replaced by repl
//	sha256, base64, hex s
//	unix_time, unix_time_millis, timestamp layout, uuid
//
// and printf, built in. Its data is a UsernameMetadata (.DisplayName,
// .RoleName). A UsernameTemplate is immutable and safe for concurrent
// use.
type UsernameTemplate struct {
	tmpl *template.Template
}

// UsernameRules are what a database server accepts as a username. Every
// username must be non-empty, valid UTF-8 and free of control characters;
// the fields add the server's own rules.
type UsernameRules struct {
	// MaxLen is the server's limit in bytes; 0 means none.
	MaxLen int
	// Clip cuts a longer rendering to MaxLen bytes on a character
	// boundary, as PostgreSQL cuts identifiers; without it a longer
	// username is an error.
	Clip bool
	// NoQuotes is for servers whose statements take the username between
	// quotes without escaping it: ' and " are refused, and Render
	// replaces them, control characters and invalid UTF-8 in the metadata
	// by '_' before rendering.
	NoQuotes bool
}

// ParseUsernameTemplate parses raw, a Vault username template. It does
// not render it: a plugin that checks templates at configuration time, as
// Vault does, renders it once with empty metadata.
func ParseUsernameTemplate(raw string) (*UsernameTemplate, error) {
	tmpl, err := template.New("username_template").Funcs(usernameFuncs).Option("missingkey=error").Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("username template: %w", err)
	}
	return &UsernameTemplate{tmpl: tmpl}, nil
}

// Execute renders the template for meta as it is: no rule applied.
func (u *UsernameTemplate) Execute(meta UsernameMetadata) (string, error) {
	var b strings.Builder
	if err := u.tmpl.Execute(&b, meta); err != nil {
		return "", fmt.Errorf("username template: %w", err)
	}
	return b.String(), nil
}

// Render renders a username for meta under rules: with NoQuotes the
// metadata is sanitised first, with Clip the rendering is cut to
// rules.MaxLen, and the result must then pass rules.Check (errors wrap
// ErrInvalidUsername). A template error (a function's bad argument, a
// field that does not exist) does not wrap ErrInvalidUsername.
func (u *UsernameTemplate) Render(meta UsernameMetadata, rules UsernameRules) (string, error) {
	if rules.NoQuotes {
		meta.DisplayName = sanitizeMetadata(meta.DisplayName)
		meta.RoleName = sanitizeMetadata(meta.RoleName)
	}
	name, err := u.Execute(meta)
	if err != nil {
		return "", err
	}
	if rules.Clip && rules.MaxLen > 0 {
		name = clip(name, rules.MaxLen)
	}
	if err := rules.Check(name); err != nil {
		return "", fmt.Errorf("username template: %w", err)
	}
	return name, nil
}

// Check reports, wrapping ErrInvalidUsername, how name breaks r: empty,
// longer than MaxLen (unless Clip is set: Render cuts such a name), not
// valid UTF-8, holding a control character or, with NoQuotes, a quote.
// It is nil for a name the server accepts.
func (r UsernameRules) Check(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty username", ErrInvalidUsername)
	case r.MaxLen > 0 && !r.Clip && len(name) > r.MaxLen:
		return fmt.Errorf("%w: %d bytes; the limit is %d", ErrInvalidUsername, len(name), r.MaxLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidUsername)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: %q holds a control character", ErrInvalidUsername, name)
	case r.NoQuotes && strings.ContainsAny(name, `'"`):
		return fmt.Errorf("%w: %q holds a quote", ErrInvalidUsername, name)
	}
	return nil
}

// sanitizeMetadata replaces invalid UTF-8, quotes and control characters
// in s by '_'.
func sanitizeMetadata(s string) string {
	s = strings.ToValidUTF8(s, "_")
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\'' || unicode.IsControl(r) {
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
