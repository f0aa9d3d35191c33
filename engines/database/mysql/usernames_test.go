package mysql

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

func TestUsernameTemplateFunctions(t *testing.T) {
	meta := dbplugin.UsernameMetadata{DisplayName: "Token-Alice", RoleName: "read-only"}
	tests := []struct {
		name string
		tmpl string
		want string // a regexp
	}{
		{"printf and truncate", `{{ printf "%s-%s" (.DisplayName | truncate 3) .RoleName }}`, `^Tok-read-only$`},
		{"uppercase", `{{ .RoleName | uppercase }}`, `^READ-ONLY$`},
		{"lowercase", `{{ .DisplayName | lowercase }}`, `^token-alice$`},
		{"replace", `{{ .RoleName | replace "-" "_" }}`, `^read_only$`},
		{"random", `{{ random 20 }}`, `^[A-Za-z0-9]{20}$`},
		{"unix_time", `{{ unix_time }}`, `^[0-9]{10}$`},
		{"unix_time_millis", `{{ unix_time_millis }}`, `^[0-9]{13}$`},
		{"timestamp", `{{ timestamp "2006" }}`, `^[0-9]{4}$`},
		{"sha256", `{{ "a" | sha256 | truncate 8 }}`, `^ca978112$`},
		{"base64", `{{ "ab" | base64 }}`, `^YWI=$`},
		{"hex", `{{ "ab" | hex }}`, `^6162$`},
		{"uuid", `{{ uuid }}`, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"truncate_sha256", `{{ "abcdefghijklmnop" | truncate_sha256 12 }}`, `^abcd[0-9a-f]{8}$`},
		{"vault default", DefaultUsernameTemplate, `^v-Token-Alic-read-only-[A-Za-z0-9]{9}$`},
		{"vault legacy", LegacyUsernameTemplate, `^v-read-[A-Za-z0-9]{9}$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := parseUsernameTemplate(tt.tmpl, 64)
			if err != nil {
				t.Fatalf("parseUsernameTemplate: %v", err)
			}
			got, err := u.generate(meta)
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("generate = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestUsernameTemplateUnixTime(t *testing.T) {
	u, err := newUsernameTemplate(`{{ unix_time }}`, 32)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Unix()
	got, err := u.generate(dbplugin.UsernameMetadata{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(got, 10, 64)
	if err != nil || n < before || n > time.Now().Unix() {
		t.Errorf("unix_time = %q, want a time in [%d, now]", got, before)
	}
}

func TestUsernameTemplateErrors(t *testing.T) {
	tests := []struct{ name, tmpl string }{
		{"empty result", `{{ .RoleName }}`},
		{"too long", `{{ random 33 }}`},
		{"truncate 0", `{{ "a" | truncate 0 }}`},
		{"truncate_sha256 8", `{{ "a" | truncate_sha256 8 }}`},
		{"random negative", `{{ random -1 }}`},
		{"random huge", `{{ random 100000 }}`},
		{"control character", `{{ printf "a\tb" }}`},
		{"unknown field", `{{ .Nope }}`},
		{"parse error", `{{ `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newUsernameTemplate(tt.tmpl, 32); err == nil {
				t.Errorf("newUsernameTemplate(%q) succeeded", tt.tmpl)
			}
		})
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	got, err := truncate(3, "éé") // 4 bytes; byte 3 is inside the second é
	if err != nil || got != "é" {
		t.Errorf("truncate(3, éé) = %q, %v; want é", got, err)
	}
}

func TestRandomStringAlphabet(t *testing.T) {
	seen := map[rune]int{}
	for range 200 {
		s, err := randomString(31)
		if err != nil || len(s) != 31 {
			t.Fatalf("randomString(31) = %q, %v", s, err)
		}
		for _, r := range s {
			if !strings.ContainsRune(base62, r) {
				t.Fatalf("randomString produced %q", r)
			}
			seen[r]++
		}
	}
	// 6200 draws over 62 symbols: each appears about 100 times; missing
	// one means the draw is broken.
	if len(seen) != 62 {
		t.Errorf("randomString used %d of 62 symbols", len(seen))
	}
	if s, err := randomString(0); err != nil || s != "" {
		t.Errorf("randomString(0) = %q, %v", s, err)
	}
}
