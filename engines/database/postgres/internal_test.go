package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestRenderURL(t *testing.T) {
	user, pw := `us er@x`, `p@ss:w/o?r#d% '\ "x"`
	tests := []struct{ name, tmpl string }{
		{"url", "postgres://{{username}}:{{password}}@127.0.0.1:5432/db?sslmode=disable"},
		{"url password in query", "postgresql://127.0.0.1/db?user={{username}}&password={{password}}"},
		{"keyword/value", "host=127.0.0.1 user={{username}} password={{password}} dbname=db"},
		{"keyword/value quoted", "host=127.0.0.1 user='{{username}}' password='{{password}}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, err := pgx.ParseConfig(renderURL(tt.tmpl, user, pw))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if cc.User != user || cc.Password != pw {
				t.Fatalf("user %q password %q, want %q %q", cc.User, cc.Password, user, pw)
			}
		})
	}
}

func TestParseConnConfigDefaults(t *testing.T) {
	cfg := dbplugin.Config{ConnectionURL: "postgres://root:literal@127.0.0.1/db?application_name=mine", Username: "root"}
	cc, err := parseConnConfig(cfg, "rotated")
	if err != nil {
		t.Fatal(err)
	}
	if cc.Password != "rotated" {
		t.Errorf("password = %q: a rotated root password must override the URL's", cc.Password)
	}
	if cc.RuntimeParams["timezone"] != "UTC" || cc.RuntimeParams["application_name"] != "mine" {
		t.Errorf("runtime params = %v", cc.RuntimeParams)
	}
	n, err := normalizeConfig(dbplugin.Config{ConnectionURL: "x", MaxIdleConnections: 9})
	if err != nil || n.MaxOpenConnections != DefaultMaxOpenConnections || n.MaxIdleConnections != DefaultMaxOpenConnections ||
		n.UsernameTemplate != DefaultUsernameTemplate {
		t.Errorf("normalizeConfig = %+v, %v", n, err)
	}
}

func TestRedactor(t *testing.T) {
	var r redactor
	r.add("root pw", "")
	wrapped := fmt.Errorf("x: %w", fmt.Errorf("%w: url postgres://u:root%%20pw@h root pw", dbplugin.ErrInvalidConfig))
	got := r.redact(wrapped, "req-pw")
	if strings.Contains(got.Error(), "root") || !strings.Contains(got.Error(), redactedText) {
		t.Fatalf("redacted = %q", got)
	}
	if !errors.Is(got, dbplugin.ErrInvalidConfig) {
		t.Fatal("redacted error lost its sentinel")
	}
	var inner interface{ Unwrap() error }
	if errors.As(got, &inner) {
		t.Fatal("redacted error still unwraps to the original")
	}
	if e := r.redact(context.Canceled, "req-pw"); e != context.Canceled {
		t.Fatalf("clean error rewrapped: %v", e)
	}
	if e := r.redact(errors.New("has req-pw"), "req-pw"); strings.Contains(e.Error(), "req-pw") {
		t.Fatalf("request password kept: %v", e)
	}
	if r.redact(nil) != nil {
		t.Fatal("nil not nil")
	}
}

func TestQuoteIdent(t *testing.T) {
	if got := quoteIdent(`a"b`); got != `"a""b"` {
		t.Fatalf("quoteIdent = %s", got)
	}
}
