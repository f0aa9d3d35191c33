package dbplugin_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// execute parses tmpl and renders it for meta without rules.
func execute(t *testing.T, tmpl string, meta dbplugin.UsernameMetadata) string {
	t.Helper()
	u, err := dbplugin.ParseUsernameTemplate(tmpl)
	if err != nil {
		t.Fatalf("ParseUsernameTemplate(%q): %v", tmpl, err)
	}
	got, err := u.Execute(meta)
	if err != nil {
		t.Fatalf("Execute(%q): %v", tmpl, err)
	}
	return got
}

func TestUsernameTemplateFunctions(t *testing.T) {
	t.Parallel()
	meta := dbplugin.UsernameMetadata{DisplayName: "Token-ÉÉÉ", RoleName: "my-role"}
	tests := []struct {
		name string
		tmpl string
		want string // a regexp
	}{
		{"printf", `{{ printf "%s/%s" .RoleName .DisplayName }}`, `^my-role/Token-ÉÉÉ$`},
		{"truncate", `{{ .RoleName | truncate 2 }}`, `^my$`},
		{"truncate longer than s", `{{ .RoleName | truncate 50 }}`, `^my-role$`},
		{"truncate keeps UTF-8", `{{ .DisplayName | truncate 7 }}`, `^Token-$`}, // É is 2 bytes: not split
		{"truncate_sha256 short", `{{ .RoleName | truncate_sha256 20 }}`, `^my-role$`},
		{"truncate_sha256", `{{ "abcdefghijklmnop" | truncate_sha256 12 }}`, `^abcdc1bd5d19$`}, // sha256("efghijklmnop")[:8], computed with sha256sum
		{"truncate_sha256 long", `{{ printf "%s%s" .RoleName (random 70) | truncate_sha256 20 }}`, `^my-role[A-Za-z0-9]{5}[0-9a-f]{8}$`},
		{"uppercase", `{{ .RoleName | uppercase }}`, `^MY-ROLE$`},
		{"lowercase", `{{ .DisplayName | lowercase }}`, `^token-ééé$`},
		{"replace", `{{ .RoleName | replace "-" "_" }}`, `^my_role$`},
		{"sha256", `{{ .RoleName | sha256 }}`, `^5e22808883d24376[0-9a-f]{48}$`},
		{"sha256 of a", `{{ "a" | sha256 | truncate 8 }}`, `^ca978112$`},
		{"base64", `{{ .RoleName | base64 }}`, `^bXktcm9sZQ==$`},
		{"hex", `{{ .RoleName | hex }}`, `^6d792d726f6c65$`},
		{"random", `{{ random 20 }}`, `^[A-Za-z0-9]{20}$`},
		{"random 0", `x{{ random 0 }}x`, `^xx$`},
		{"unix_time", `{{ unix_time }}`, `^[0-9]{10}$`},
		{"unix_time_millis", `{{ unix_time_millis }}`, `^[0-9]{13}$`},
		{"timestamp", `{{ timestamp "2006" }}`, `^20[0-9]{2}$`},
		{"uuid", `{{ uuid }}`, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"pipeline", `{{ printf "v-%s-%s" (.RoleName | truncate 2) (random 4) | uppercase }}`, `^V-MY-[A-Z0-9]{4}$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := execute(t, tt.tmpl, meta); !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("%s = %q, want %s", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestUsernameTemplateFunctionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl string
		parse      bool   // the error comes from ParseUsernameTemplate
		want       string // in the error
	}{
		{"parse error", `{{ `, true, "username template"},
		{"unclosed action", `{{ .RoleName`, true, "username template"},
		{"unknown function", `{{ nope 3 }}`, true, "nope"},
		{"unknown field", `{{ .Nope }}`, false, "Nope"},
		{"truncate 0", `{{ "a" | truncate 0 }}`, false, "truncate: max length must be > 0 but was 0"},
		{"truncate -1", `{{ truncate -1 .RoleName }}`, false, "truncate: max length must be > 0 but was -1"},
		{"truncate_sha256 8", `{{ "a" | truncate_sha256 8 }}`, false, "truncate_sha256: max length must be > 8 but was 8"},
		{"random -1", `{{ random -1 }}`, false, "random: length -1 is outside 0..1024"},
		{"random 1025", `{{ random 1025 }}`, false, "random: length 1025 is outside 0..1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := dbplugin.ParseUsernameTemplate(tt.tmpl)
			if !tt.parse {
				if err != nil {
					t.Fatalf("ParseUsernameTemplate(%q): %v", tt.tmpl, err)
				}
				_, err = u.Execute(dbplugin.UsernameMetadata{RoleName: "r"})
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one holding %q", err, tt.want)
			}
			if errors.Is(err, dbplugin.ErrInvalidUsername) {
				t.Fatalf("template error %v wraps ErrInvalidUsername", err)
			}
		})
	}
}

func TestUsernameTemplateRender(t *testing.T) {
	t.Parallel()
	postgres := dbplugin.UsernameRules{MaxLen: 63, Clip: true, NoQuotes: true}
	mysql := dbplugin.UsernameRules{MaxLen: 32}
	long := strings.Repeat("display-name-that-goes-on-", 10)
	tests := []struct {
		name  string
		tmpl  string
		meta  dbplugin.UsernameMetadata
		rules dbplugin.UsernameRules
		want  string // a regexp; "" for an ErrInvalidUsername
	}{
		{"within the limit", `{{ .RoleName }}-{{ random 4 }}`, dbplugin.UsernameMetadata{RoleName: "r"}, mysql, `^r-[A-Za-z0-9]{4}$`},
		{"at the limit", `{{ random 32 }}`, dbplugin.UsernameMetadata{}, mysql, `^[A-Za-z0-9]{32}$`},
		{"over the limit", `{{ random 33 }}`, dbplugin.UsernameMetadata{}, mysql, ""},
		{"over the limit, clipped", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: long}, postgres, `^` + long[:63] + `$`},
		{"clipped on a rune boundary", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: "a" + strings.Repeat("é", 40)}, postgres, `^a(é){31}$`},
		{"no limit", `{{ random 100 }}`, dbplugin.UsernameMetadata{}, dbplugin.UsernameRules{}, `^[A-Za-z0-9]{100}$`},
		{"empty", `{{ .RoleName }}`, dbplugin.UsernameMetadata{}, mysql, ""},
		{"empty, clipped", `{{ .RoleName }}`, dbplugin.UsernameMetadata{}, postgres, ""},
		{"control character in the template", `{{ printf "a\tb" }}`, dbplugin.UsernameMetadata{}, mysql, ""},
		{"control character in metadata", `{{ .RoleName }}`, dbplugin.UsernameMetadata{RoleName: "a\x00b"}, mysql, ""},
		{"control character in metadata, sanitised", `{{ .RoleName }}`, dbplugin.UsernameMetadata{RoleName: "a\x00b"}, postgres, `^a_b$`},
		{"quotes allowed", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: `o'"x`}, mysql, `^o'"x$`},
		{"quotes in metadata, sanitised", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: `o'"x`}, postgres, `^o__x$`},
		{"invalid UTF-8 in metadata, sanitised", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: "a\xffb"}, postgres, `^a_b$`},
		{"invalid UTF-8 in metadata", `{{ .DisplayName }}`, dbplugin.UsernameMetadata{DisplayName: "a\xffb"}, mysql, ""},
		{"quote in the template", `x"y`, dbplugin.UsernameMetadata{}, postgres, ""},
		{"quote in the template, allowed", `x"y`, dbplugin.UsernameMetadata{}, mysql, `^x"y$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := dbplugin.ParseUsernameTemplate(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := u.Render(tt.meta, tt.rules)
			if tt.want == "" {
				if !errors.Is(err, dbplugin.ErrInvalidUsername) {
					t.Fatalf("Render = %q, %v; want ErrInvalidUsername", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("Render = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestUsernameRulesCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules dbplugin.UsernameRules
		in    string
		ok    bool
	}{
		{"plain", dbplugin.UsernameRules{MaxLen: 5}, "abcde", true},
		{"empty", dbplugin.UsernameRules{}, "", false},
		{"too long", dbplugin.UsernameRules{MaxLen: 5}, "abcdef", false},
		{"too long, Clip", dbplugin.UsernameRules{MaxLen: 5, Clip: true}, "abcdef", true},
		{"invalid UTF-8", dbplugin.UsernameRules{}, "a\xfe", false},
		{"control character", dbplugin.UsernameRules{}, "a\nb", false},
		{"quote", dbplugin.UsernameRules{}, `a"b`, true},
		{"quote, NoQuotes", dbplugin.UsernameRules{NoQuotes: true}, `a"b`, false},
		{"single quote, NoQuotes", dbplugin.UsernameRules{NoQuotes: true}, `a'b`, false},
		{"multibyte", dbplugin.UsernameRules{NoQuotes: true}, "héllo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.rules.Check(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("Check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, dbplugin.ErrInvalidUsername) {
				t.Fatalf("Check(%q) = %v, not ErrInvalidUsername", tt.in, err)
			}
		})
	}
}

func TestUsernameTemplateClip(t *testing.T) {
	t.Parallel()
	rules := dbplugin.UsernameRules{MaxLen: 63, Clip: true}
	for _, s := range []string{"abc", strings.Repeat("é", 40), strings.Repeat("a", 62) + "€€", strings.Repeat("😀", 20)} {
		u, err := dbplugin.ParseUsernameTemplate(`{{ .RoleName }}`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := u.Render(dbplugin.UsernameMetadata{RoleName: s}, rules)
		if err != nil {
			t.Fatalf("Render(%q): %v", s, err)
		}
		if len(got) > rules.MaxLen || !strings.HasPrefix(s, got) || !utf8.ValidString(got) {
			t.Fatalf("Render(%q) = %q", s, got)
		}
		if len(s) <= rules.MaxLen && got != s {
			t.Fatalf("Render(%q) changed a short string to %q", s, got)
		}
		if len(s) > rules.MaxLen && len(got) < rules.MaxLen-utf8.UTFMax+1 {
			t.Fatalf("Render(%q) = %q cut more than a character", s, got)
		}
	}
}

func TestUsernameTemplateUnixTime(t *testing.T) {
	t.Parallel()
	before := time.Now().Unix()
	got := execute(t, `{{ unix_time }}`, dbplugin.UsernameMetadata{})
	n, err := strconv.ParseInt(got, 10, 64)
	if err != nil || n < before || n > time.Now().Unix() {
		t.Errorf("unix_time = %q, want a time in [%d, now]", got, before)
	}
}

func TestUsernameTemplateRandomAlphabet(t *testing.T) {
	t.Parallel()
	u, err := dbplugin.ParseUsernameTemplate(`{{ random 31 }}`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[rune]int{}
	for range 200 {
		s, err := u.Execute(dbplugin.UsernameMetadata{})
		if err != nil || len(s) != 31 {
			t.Fatalf("random 31 = %q, %v", s, err)
		}
		for _, r := range s {
			if !strings.ContainsRune(base62, r) {
				t.Fatalf("random produced %q", r)
			}
			seen[r]++
		}
	}
	// 6200 draws over 62 symbols: each appears about 100 times; missing
	// one means the draw is broken.
	if len(seen) != 62 {
		t.Errorf("random used %d of 62 symbols", len(seen))
	}
}
