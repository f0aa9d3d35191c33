package postgres

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestNewUsernameTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl string
		ok         bool
	}{
		{"default", DefaultUsernameTemplate, true},
		{"renders nothing from empty metadata", `{{ .RoleName }}`, true},
		{"renders over 63 bytes (clipped later)", strings.Repeat("x", 100), true},
		{"empty", "", false},
		{"blank", "  ", false},
		{"unknown field", "{{ .Nope }}", false},
		{"unknown function", "{{ nosuchfunc }}", false},
		{"random 5000", "{{ random 5000 }}", false},
		{"truncate -1", "{{ truncate -1 .RoleName }}", false},
		{"truncate_sha256 8", "{{ truncate_sha256 8 .RoleName }}", false},
		{"quote", `x"y`, false},
		{"single quote", `x'y`, false},
		{"control character", `{{ printf "a\tb" }}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newUsernameTemplate(tt.tmpl)
			if tt.ok != (err == nil) {
				t.Fatalf("newUsernameTemplate(%q) = %v, want ok=%v", tt.tmpl, err, tt.ok)
			}
		})
	}
}

func TestGenerateUsername(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tmpl string
		meta dbplugin.UsernameMetadata
		want string // a regexp; "" for ErrInvalidRequest
	}{
		{"control character in metadata becomes _", `{{ .RoleName }}-{{ random 3 }}`,
			dbplugin.UsernameMetadata{RoleName: "\x00"}, `^_-[A-Za-z0-9]{3}$`},
		{"quotes in metadata become _", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: `o'"x`}, `^o__x$`},
		{"clipped to 63 bytes", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: strings.Repeat("ab", 40)},
			`^(ab){31}a$`},
		{"empty", `{{ .RoleName }}`, dbplugin.UsernameMetadata{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := newUsernameTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := generateUsername(u, tt.meta)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("generateUsername = %q, %v; want ErrInvalidRequest", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Fatalf("generateUsername = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestCheckUsername(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "a\"b", "a'b", "a\x00b", "\xff", "a\nb"} {
		if err := checkUsername(name); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("checkUsername(%q) = %v, want ErrInvalidRequest", name, err)
		}
	}
	for _, name := range []string{"v-token-role-x", "héllo", strings.Repeat("x", 100)} {
		if err := checkUsername(name); err != nil {
			t.Errorf("checkUsername(%q) = %v", name, err)
		}
	}
}
