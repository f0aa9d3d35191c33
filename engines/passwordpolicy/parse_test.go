package passwordpolicy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		length  int
		rules   []passwordpolicy.Rule
		charset string
	}{
		{
			name: "vault documentation example",
			text: `length = 20
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 1
}
rule "charset" {
  charset = "!@#$%^&*"
  min-chars = 1
}`,
			length: 20,
			rules: []passwordpolicy.Rule{
				{Charset: "abcdefghijklmnopqrstuvwxyz", MinChars: 1},
				{Charset: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", MinChars: 1},
				{Charset: "0123456789", MinChars: 1},
				{Charset: "!@#$%^&*", MinChars: 1},
			},
			charset: "!#$%&*0123456789@ABCDEFGHIJKLMNOPQRSTUVWXYZ^abcdefghijklmnopqrstuvwxyz",
		},
		{
			name:    "min-chars defaults to zero",
			text:    "length = 8\nrule \"charset\" { charset = \"ab\" }",
			length:  8,
			rules:   []passwordpolicy.Rule{{Charset: "ab"}},
			charset: "ab",
		},
		{
			name:    "runes deduplicated within and across rules",
			text:    "length = 6\nrule \"charset\" {\n charset = \"cabbac\"\n min-chars = 2 }\nrule \"charset\" {\n charset = \"dcb\"\n}",
			length:  6,
			rules:   []passwordpolicy.Rule{{Charset: "cab", MinChars: 2}, {Charset: "dcb"}},
			charset: "abcd",
		},
		{
			name:    "any printable UTF-8, space included",
			text:    "length = 10\nrule \"charset\" {\n charset = \"äöü€日本 \"\n min-chars = 3\n}",
			length:  10,
			rules:   []passwordpolicy.Rule{{Charset: "äöü€日本 ", MinChars: 3}},
			charset: " äöü€日本",
		},
		{
			name:    "HCL escapes",
			text:    `length = 4` + "\n" + `rule "charset" { charset = "\u00e4\"\\x" }`,
			length:  4,
			rules:   []passwordpolicy.Rule{{Charset: `ä"\x`}},
			charset: `"\xä`,
		},
		{
			name:    "unquoted label and nested block forms",
			text:    "length = 5\nrule charset { charset = \"a\" }\nrule { charset { charset = \"b\"\n min-chars = 1 } }",
			length:  5,
			rules:   []passwordpolicy.Rule{{Charset: "a"}, {Charset: "b", MinChars: 1}},
			charset: "ab",
		},
		{
			name:    "JSON with lists",
			text:    `{"length": 12, "rule": [{"charset": [{"charset": "xyz", "min-chars": 2}]}, {"charset": [{"charset": "0"}]}]}`,
			length:  12,
			rules:   []passwordpolicy.Rule{{Charset: "xyz", MinChars: 2}, {Charset: "0"}},
			charset: "0xyz",
		},
		{
			name:    "JSON list of two bodies is two rules",
			text:    `{"length": 20, "rule": {"charset": [{"charset": "a"}, {"charset": "b", "min-chars": 1}]}}`,
			length:  20,
			rules:   []passwordpolicy.Rule{{Charset: "a"}, {Charset: "b", MinChars: 1}},
			charset: "ab",
		},
		{
			name:    "JSON with objects",
			text:    `{"length": 4, "rule": {"charset": {"charset": "a\u00e9"}}}`,
			length:  4,
			rules:   []passwordpolicy.Rule{{Charset: "aé"}},
			charset: "aé",
		},
		{
			name:    "keys match case-insensitively, comments allowed",
			text:    "# the policy\nLength = 100 // longest\nrule \"charset\" {\n Charset = \"ab\"\n MIN-CHARS = 100\n}",
			length:  100,
			rules:   []passwordpolicy.Rule{{Charset: "ab", MinChars: 100}},
			charset: "ab",
		},
		{
			name:    "shortest length, minimums filling it",
			text:    "length = 4\nrule \"charset\" {\n charset = \"a\"\n min-chars = 2\n}\nrule \"charset\" {\n charset = \"b\"\n min-chars = 2\n}",
			length:  4,
			rules:   []passwordpolicy.Rule{{Charset: "a", MinChars: 2}, {Charset: "b", MinChars: 2}},
			charset: "ab",
		},
		{
			name:    "interpolation-looking text is literal",
			text:    "length = 4\nrule \"charset\" { charset = \"${x}\" }",
			length:  4,
			rules:   []passwordpolicy.Rule{{Charset: "${x}"}},
			charset: "$x{}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := passwordpolicy.Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkPolicy(t, p, tt.length, tt.rules, tt.charset)
			if p.String() != tt.text {
				t.Errorf("String() = %q, want the text as given", p.String())
			}
			again, err := passwordpolicy.Parse(p.Canonical())
			if err != nil {
				t.Fatalf("Parse(Canonical()): %v\n%s", err, p.Canonical())
			}
			checkPolicy(t, again, tt.length, tt.rules, tt.charset)
		})
	}
}

func checkPolicy(t *testing.T, p *passwordpolicy.Policy, length int, rules []passwordpolicy.Rule, charset string) {
	t.Helper()
	if p.Length() != length {
		t.Errorf("Length() = %d, want %d", p.Length(), length)
	}
	if got := p.Rules(); !slices.Equal(got, rules) {
		t.Errorf("Rules() = %+v, want %+v", got, rules)
	}
	if p.Charset() != charset {
		t.Errorf("Charset() = %q, want %q", p.Charset(), charset)
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	rule := func(body string) string { return "length = 20\nrule \"charset\" {\n" + body + "\n}" }
	tests := []struct {
		name string
		text string
		want string // substring of the error
	}{
		{"syntax error", "length = 20\nrule \"charset\" {", "At 2:"},
		{"unterminated string", "length = 5\nrule \"charset\" { charset = \"abc }", "literal not terminated"},
		{"empty text", "", "length is required"},
		{"missing length", `rule "charset" { charset = "a" }`, "length is required"},
		{"length too short", "length = 3\n" + `rule "charset" { charset = "a" }`, "length 3 is out of range: passwords must be between 4 and 100"},
		{"length too long", "length = 101\n" + `rule "charset" { charset = "a" }`, "length 101 is out of range"},
		{"negative length", "length = -5\n" + `rule "charset" { charset = "a" }`, "length -5 is out of range"},
		{"length as string", `length = "20"`, "length (line 1, column 1): must be a whole number, not STRING"},
		{"fractional length", "length = 20.5", "must be a whole number, not 20.5"},
		{"length as block", "length { }", "length (line 1, column 1): must be a whole number"},
		{"length overflowing", "length = 99999999999999999999", "is not a usable whole number"},
		{"length twice", "length = 20\nlength = 21", "was already set"},
		{"JSON length twice", `{"length": 20, "length": 21}`, "length (line 1, column 24): set more than once"},
		{"no rules", "length = 20", `at least one rule "charset" is required`},
		{"empty rule block", "length = 20\nrule {}", `at least one rule "charset" is required`},
		{"unknown top-level key", "length = 20\nsymbols = 3", `unknown key "symbols" (line 2, column 1)`},
		{"unknown rule type", "length = 20\nrule \"regex\" { pattern = \"a\" }", `unknown rule type "regex" (line 2, column 1)`},
		{"rule without type", "length = 20\nrule { charset = \"a\" }", `rule "charset" (line 2, column 8): must be a single block`},
		{"two labels", "length = 20\nrule \"charset\" \"x\" { charset = \"a\" }", "takes exactly one label"},
		{"rule as string", "length = 20\nrule = \"charset\"", "rule (line 2, column 1): must be a block"},
		{"missing charset", rule("min-chars = 1"), "rule 1 (line 2, column 1): charset is required"},
		{"empty charset", rule(`charset = ""`), "rule 1 (line 2, column 1): charset is empty"},
		{"charset as number", rule("charset = 5"), "charset (line 3, column 1): must be a string"},
		{"charset as list", rule(`charset = ["a"]`), "must be a string"},
		{"tab in charset", rule(`charset = "ab\tc"`), "non-printable character U+0009"},
		{"newline via heredoc", rule("charset = <<EOT\nabc\nEOT"), "non-printable character U+000A"},
		{"invalid UTF-8", rule(`charset = "a\xff"`), "not valid UTF-8"},
		{"charset twice", rule("charset = \"a\"\ncharset = \"b\""), "was already set"},
		{"JSON charset twice", `{"length": 20, "rule": {"charset": {"charset": "a", "charset": "b"}}}`, "charset (line 1, column 62): set more than once"},
		{"unknown rule key", rule("charset = \"a\"\nmin_chars = 1"), `unknown key "min_chars" (line 4, column 1)`},
		{"negative min-chars", rule("charset = \"a\"\nmin-chars = -1"), "min-chars is -1: it must not be negative"},
		{"fractional min-chars", rule("charset = \"a\"\nmin-chars = 1.5"), "min-chars (line 4, column 1): must be a whole number, not 1.5"},
		{"min-chars beyond length", rule("charset = \"a\"\nmin-chars = 2147483647"), "min-chars is 2147483647 but length is 20"},
		{"min-chars sum beyond length",
			"length = 5\nrule \"charset\" {\n charset = \"a\"\n min-chars = 3\n}\nrule \"charset\" {\n charset = \"b\"\n min-chars = 3\n}",
			"the rules require at least 6 characters but length is 5"},
		{"second rule named", "length = 20\nrule \"charset\" { charset = \"a\" }\n\nrule \"charset\" { charset = \"\" }", "rule 2 (line 4, column 1): charset is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := passwordpolicy.Parse(tt.text)
			if err == nil {
				t.Fatalf("Parse succeeded (%q), want an error containing %q", p.Canonical(), tt.want)
			}
			if !errors.Is(err, passwordpolicy.ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		length int
		rules  []passwordpolicy.Rule
		want   string // error substring; "" for success
	}{
		{"valid", 10, []passwordpolicy.Rule{{Charset: "abc", MinChars: 2}, {Charset: "12"}}, ""},
		{"no rules", 10, nil, `at least one rule "charset" is required`},
		{"short", 2, []passwordpolicy.Rule{{Charset: "a"}}, "length 2 is out of range"},
		{"invalid UTF-8", 10, []passwordpolicy.Rule{{Charset: "\xc3"}}, "rule 1: charset is not valid UTF-8"},
		{"control character", 10, []passwordpolicy.Rule{{Charset: "a\x00"}}, "rule 1: charset contains the non-printable character U+0000"},
		{"sum too large", 4, []passwordpolicy.Rule{{Charset: "a", MinChars: 3}, {Charset: "b", MinChars: 2}}, "require at least 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := passwordpolicy.New(tt.length, tt.rules...)
			if tt.want != "" {
				if err == nil || !errors.Is(err, passwordpolicy.ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("New: error %v, want ErrInvalidPolicy containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if p.String() != p.Canonical() {
				t.Errorf("String() = %q, want the canonical form %q", p.String(), p.Canonical())
			}
			again, err := passwordpolicy.Parse(p.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			checkPolicy(t, again, tt.length, tt.rules, p.Charset())
		})
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()
	want := []passwordpolicy.Rule{
		{Charset: "abcdefghijklmnopqrstuvwxyz", MinChars: 1},
		{Charset: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", MinChars: 1},
		{Charset: "0123456789", MinChars: 1},
		{Charset: "-", MinChars: 1},
	}
	checkPolicy(t, p, 20, want, "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	p.Rules()[0].MinChars = 7 // a copy: the policy must not change
	if p.Rules()[0].MinChars != 1 {
		t.Error("Rules() exposes the policy's own slice")
	}
	if passwordpolicy.Default() == p {
		t.Error("Default returns a shared instance")
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	const want = `length = 20

rule "charset" {
  charset   = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}

rule "charset" {
  charset   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}

rule "charset" {
  charset   = "0123456789"
  min-chars = 1
}

rule "charset" {
  charset   = "-"
  min-chars = 1
}
`
	if got := passwordpolicy.Default().Canonical(); got != want {
		t.Errorf("Default().Canonical() =\n%s\nwant\n%s", got, want)
	}

	// Every printable ASCII rune, "${" (which hcl would treat as an
	// interpolation if written raw), and runes beyond ASCII survive a
	// round trip through Canonical.
	var ascii strings.Builder
	for c := rune(0x20); c < 0x7f; c++ {
		ascii.WriteRune(c)
	}
	for _, cs := range []string{ascii.String(), "${", "a${}b", `\"${}`, "日本語€ÿ"} {
		p, err := passwordpolicy.New(8, passwordpolicy.Rule{Charset: cs, MinChars: 1})
		if err != nil {
			t.Fatalf("New(%q): %v", cs, err)
		}
		again, err := passwordpolicy.Parse(p.Canonical())
		if err != nil {
			t.Fatalf("Parse(Canonical()) for %q: %v\n%s", cs, err, p.Canonical())
		}
		if got := again.Rules()[0].Charset; got != cs {
			t.Errorf("round trip of %q gave %q", cs, got)
		}
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// is a valid policy whose canonical form parses back to the same policy.
func FuzzParse(f *testing.F) {
	f.Add(passwordpolicy.Default().Canonical())
	f.Add(`{"length": 12, "rule": [{"charset": [{"charset": "xyz", "min-chars": 2}]}]}`)
	f.Add("length = 5\nrule { charset { charset = \"b\"\n min-chars = 1 } }")
	f.Add("length = 4\nrule \"charset\" { charset = \"${x}\" }")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := passwordpolicy.Parse(text)
		if err != nil {
			if !errors.Is(err, passwordpolicy.ErrInvalidPolicy) {
				t.Fatalf("error %v does not wrap ErrInvalidPolicy", err)
			}
			return
		}
		if p.Length() < passwordpolicy.MinLength || p.Length() > passwordpolicy.MaxLength || len(p.Rules()) == 0 {
			t.Fatalf("accepted an out-of-bounds policy: %q", text)
		}
		again, err := passwordpolicy.Parse(p.Canonical())
		if err != nil {
			t.Fatalf("Parse(Canonical()) of %q: %v", text, err)
		}
		checkPolicy(t, again, p.Length(), p.Rules(), p.Charset())
	})
}
