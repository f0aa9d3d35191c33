package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestUsernameFunctions(t *testing.T) {
	meta := dbplugin.UsernameMetadata{DisplayName: "Token-ÉÉÉ", RoleName: "my-role"}
	tests := []struct {
		tmpl string
		want *regexp.Regexp
	}{
		{`{{ .DisplayName | truncate 7 }}`, regexp.MustCompile(`^Token-$`)}, // É is 2 bytes: not split
		{`{{ .RoleName | uppercase }}`, regexp.MustCompile(`^MY-ROLE$`)},
		{`{{ .DisplayName | lowercase }}`, regexp.MustCompile(`^token-ééé$`)},
		{`{{ .RoleName | replace "-" "_" }}`, regexp.MustCompile(`^my_role$`)},
		{`{{ printf "%s/%s" .RoleName .DisplayName }}`, regexp.MustCompile(`^my-role/Token-ÉÉÉ$`)},
		{`{{ random 20 }}`, regexp.MustCompile(`^[A-Za-z0-9]{20}$`)},
		{`{{ unix_time }}`, regexp.MustCompile(`^[0-9]{10}$`)},
		{`{{ unix_time_millis }}`, regexp.MustCompile(`^[0-9]{13}$`)},
		{`{{ timestamp "2006" }}`, regexp.MustCompile(`^20[0-9]{2}$`)},
		{`{{ uuid }}`, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{`{{ .RoleName | sha256 | truncate 16 }}`, regexp.MustCompile(`^5e22808883d24376$`)},
		{`{{ .RoleName | base64 }}`, regexp.MustCompile(`^bXktcm9sZQ==$`)},
		{`{{ .RoleName | hex }}`, regexp.MustCompile(`^6d792d726f6c65$`)},
		{`{{ printf "%s%s" .RoleName (random 70) | truncate_sha256 20 }}`, regexp.MustCompile(`^my-role[A-Za-z0-9]{5}[0-9a-f]{8}$`)},
		{`{{ .RoleName | truncate_sha256 20 }}`, regexp.MustCompile(`^my-role$`)},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			u, err := newUsernameTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := u.generate(meta)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want.MatchString(got) {
				t.Fatalf("%s = %q, want %s", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestUsernameTemplateErrors(t *testing.T) {
	for _, tmpl := range []string{"", "  ", "{{ .Nope }}", "{{ random 0 }}", "{{ random 5000 }}",
		"{{ truncate -1 .RoleName }}", "{{ truncate_sha256 8 .RoleName }}", "{{ nosuchfunc }}", `x"y`} {
		t.Run(tmpl, func(t *testing.T) {
			if _, err := newUsernameTemplate(tmpl); err == nil {
				t.Fatalf("newUsernameTemplate(%q) succeeded", tmpl)
			}
		})
	}
	// A template may render nothing for empty metadata but not for real.
	u, err := newUsernameTemplate(`{{ .RoleName }}-{{ random 3 }}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.generate(dbplugin.UsernameMetadata{RoleName: "\x00"}); err != nil {
		t.Fatalf("control character in metadata: %v (want it replaced)", err)
	}
}

func TestClip(t *testing.T) {
	for _, s := range []string{"", "abc", strings.Repeat("é", 40), strings.Repeat("a", 62) + "€€", "\xff\xfe" + strings.Repeat("x", 70)} {
		got := clip(s, MaxUsernameLength)
		if len(got) > MaxUsernameLength || !strings.HasPrefix(s, got) {
			t.Fatalf("clip(%q) = %q", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("clip(%q) split a rune: %q", s, got)
		}
		if len(s) <= MaxUsernameLength && got != s {
			t.Fatalf("clip(%q) changed a short string", s)
		}
	}
}

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
