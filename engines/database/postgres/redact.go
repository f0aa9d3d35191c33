package postgres

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// redactedText replaces a password in an error's text.
const redactedText = "[password]"

// sentinels are the errors a redacted error still matches.
var sentinels = []error{
	dbplugin.ErrNotInitialized, dbplugin.ErrInvalidConfig, dbplugin.ErrAuthFailed, ErrInvalidRequest,
	ErrAlreadyInitialized, context.Canceled, context.DeadlineExceeded,
}

// redactor removes known passwords, and the escaped forms they take in a
// connection string, from error texts. The zero value is ready.
type redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first
}

// add remembers passwords (empty ones are ignored).
func (r *redactor) add(passwords ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range passwords {
		if p == "" {
			continue
		}
		for _, f := range secretForms(p) {
			if !slices.Contains(r.secrets, f) {
				r.secrets = append(r.secrets, f)
			}
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

func secretForms(p string) []string {
	return []string{p, escapeURLComponent(p), url.PathEscape(p), url.QueryEscape(p), escapeKeywordValue(p)}
}

// redact returns err unchanged when its text holds no known password nor
// any of extra; otherwise an error with the passwords replaced that keeps
// only the sentinels err matched.
func (r *redactor) redact(err error, extra ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.clean(msg, extra)
	if clean == msg {
		return err
	}
	red := &redactedError{msg: clean}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			red.is = append(red.is, s)
		}
	}
	return red
}

func (r *redactor) clean(msg string, extra []string) string {
	var forms []string
	for _, p := range extra {
		if p != "" {
			forms = append(forms, secretForms(p)...)
		}
	}
	r.mu.RLock()
	forms = append(forms, r.secrets...)
	r.mu.RUnlock()
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, redactedText)
	}
	return msg
}

// redactedError is an error whose text had a password removed.
type redactedError struct {
	msg string
	is  []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.is }
