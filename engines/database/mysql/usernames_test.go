package mysql

import (
	"errors"
	"regexp"
	"testing"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestVaultDefaultTemplates(t *testing.T) {
	t.Parallel()
	meta := dbplugin.UsernameMetadata{DisplayName: "Token-Alice", RoleName: "read-only"}
	tests := []struct {
		name   string
		tmpl   string
		maxLen int
		want   string // a regexp
	}{
		{"vault default", DefaultUsernameTemplate, MaxUsernameLength, `^v-Token-Alic-read-only-[A-Za-z0-9]{9}$`},
		{"vault legacy", LegacyUsernameTemplate, LegacyMaxUsernameLength, `^v-read-[A-Za-z0-9]{9}$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := newUsernameTemplate(tt.tmpl, tt.maxLen)
			if err != nil {
				t.Fatalf("newUsernameTemplate: %v", err)
			}
			got, err := u.Render(meta, usernameRules(tt.maxLen))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("Render = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestNewUsernameTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl string
		maxLen     int
		ok         bool
	}{
		{"32 bytes", `{{ random 32 }}`, MaxUsernameLength, true},
		{"quote allowed", `a'b`, MaxUsernameLength, true},
		{"random 0 renders nothing", `v-{{ random 0 }}`, MaxUsernameLength, true},
		{"too long", `{{ random 33 }}`, MaxUsernameLength, false},
		{"too long for legacy", `{{ random 17 }}`, LegacyMaxUsernameLength, false},
		{"empty result", `{{ .RoleName }}`, MaxUsernameLength, false},
		{"control character", `{{ printf "a\tb" }}`, MaxUsernameLength, false},
		{"truncate 0", `{{ "a" | truncate 0 }}`, MaxUsernameLength, false},
		{"unknown field", `{{ .Nope }}`, MaxUsernameLength, false},
		{"parse error", `{{ `, MaxUsernameLength, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newUsernameTemplate(tt.tmpl, tt.maxLen)
			if tt.ok != (err == nil) {
				t.Fatalf("newUsernameTemplate(%q, %d) = %v, want ok=%v", tt.tmpl, tt.maxLen, err, tt.ok)
			}
		})
	}
	// A rendering over the limit from real metadata is an error, not cut.
	u, err := newUsernameTemplate(`{{ .RoleName }}`+"-x", LegacyMaxUsernameLength)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := u.Render(dbplugin.UsernameMetadata{RoleName: "a-role-of-sixteen"}, usernameRules(LegacyMaxUsernameLength)); !errors.Is(err, dbplugin.ErrInvalidUsername) {
		t.Fatalf("Render = %q, %v; want ErrInvalidUsername", got, err)
	}
}
