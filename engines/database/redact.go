package database

import (
	"regexp"
	"slices"
	"strings"
)

// redacted replaces a password in what the engine returns (Vault's
// url.Redacted marker).
const redacted = "xxxxx"

// passwordTemplate is the placeholder a connection URL should carry.
const passwordTemplate = "{{password}}"

var (
	// queryPassword is a password=... URL query parameter.
	queryPassword = regexp.MustCompile(`[?&]password=([^&#]*)`)
	// keywordPassword is a password=... pair of a libpq keyword/value
	// connection string, quoted or not.
	keywordPassword = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	keywordForm     = regexp.MustCompile(`^\s*\w+\s*=`)
)

// urlPasswords returns the byte spans [start, end) of the passwords a
// connection string embeds: the userinfo password of a URL
// (scheme://user:pass@host) or of a MySQL DSN (user:pass@tcp(host)/db),
// a password query parameter, or a keyword/value password=. A
// "{{password}}" placeholder is not a password.
func urlPasswords(raw string) [][2]int {
	var spans [][2]int
	add := func(start, end int) {
		if end > start && raw[start:end] != passwordTemplate && raw[start:end] != "'"+passwordTemplate+"'" {
			spans = append(spans, [2]int{start, end})
		}
	}
	if start, end, ok := userinfoPassword(raw); ok {
		add(start, end)
	}
	for _, m := range queryPassword.FindAllStringSubmatchIndex(raw, -1) {
		add(m[2], m[3])
	}
	if keywordForm.MatchString(raw) {
		for _, m := range keywordPassword.FindAllStringSubmatchIndex(raw, -1) {
			add(m[2], m[3])
		}
	}
	return spans
}

// userinfoPassword finds the password of user:pass@ in a URL's
// authority or a DSN's prefix.
func userinfoPassword(raw string) (start, end int, ok bool) {
	base, auth := 0, raw
	if i := strings.Index(raw, "://"); i >= 0 {
		base = i + 3
		auth = raw[base:]
		if j := strings.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
	} else if keywordForm.MatchString(raw) {
		return 0, 0, false
	} else if j := strings.LastIndex(raw, "/"); j >= 0 {
		auth = raw[:j]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return 0, 0, false
	}
	colon := strings.Index(auth[:at], ":")
	if colon < 0 {
		return 0, 0, false
	}
	return base + colon + 1, base + at, true
}

// redactURL returns raw with every embedded password replaced by
// "xxxxx".
func redactURL(raw string) string {
	spans := urlPasswords(raw)
	if len(spans) == 0 {
		return raw
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return b[0] - a[0] })
	out := raw
	last := len(raw) + 1
	for _, sp := range spans {
		if sp[1] > last { // overlapping spans: the outer one was replaced
			continue
		}
		out = out[:sp[0]] + redacted + out[sp[1]:]
		last = sp[0]
	}
	return out
}

// urlHasPassword reports whether raw embeds a password.
func urlHasPassword(raw string) bool { return len(urlPasswords(raw)) > 0 }

// secretsOf returns password and the passwords connURL embeds, for
// scrub.
func secretsOf(password, connURL string) []string {
	out := []string{password}
	for _, sp := range urlPasswords(connURL) {
		out = append(out, connURL[sp[0]:sp[1]])
	}
	return out
}

// scrubbedError is an error whose text had secrets removed; it still
// matches what it wraps with errors.Is.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every occurrence of the secrets in its text
// replaced by
// "[redacted]", so that no password reaches a client, a log or the
// audit trail through an error (a SQL syntax error quotes the statement
// it failed on, which may carry the password).
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}
