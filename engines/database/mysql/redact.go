package mysql

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redactedText replaces a secret in an error's text.
const redactedText = "[redacted]"

// nearFragment is the part of a MySQL/MariaDB syntax error that quotes
// the statement from where parsing failed, cut to 80 characters: it can
// hold a password, or the first characters of one.
var nearFragment = regexp.MustCompile(`(?s)near '.*?' at line (\d+)`)

// redactedError is an error whose text had secrets removed. It does not
// unwrap (its cause's text holds the secret) but still matches what the
// cause matches with errors.Is, so sentinels and context errors work.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether the unredacted cause matches target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.cause, target) }

// redact returns err with every non-empty secret, in the forms a
// statement or a DSN would carry it (as is, SQL-escaped, URL-escaped),
// removed from its text; when statement is set, the quoted statement
// fragment of a syntax error is removed as well. An error with nothing
// to remove is returned as it is.
func redact(err error, statement bool, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := msg
	if statement {
		out = nearFragment.ReplaceAllString(out, "near "+redactedText+" at line $1")
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range secretForms(s) {
			out = strings.ReplaceAll(out, form, redactedText)
		}
	}
	if out == msg {
		return err
	}
	return &redactedError{msg: out, cause: err}
}

// secretForms lists the spellings of s that an error can quote.
func secretForms(s string) []string {
	forms := []string{
		s,
		strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s),
		strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace(s),
		url.QueryEscape(s),
		url.PathEscape(s),
	}
	// Longest first, so a form that contains another is removed whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}
