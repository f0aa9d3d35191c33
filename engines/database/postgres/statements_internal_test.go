package postgres

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only separators and comments", " ; ;\n-- x;\n/* y; */ ;", nil},
		{"one without semicolon", `CREATE ROLE "a"`, []string{`CREATE ROLE "a"`}},
		{"two", `CREATE ROLE "a"; GRANT x TO "a";`, []string{`CREATE ROLE "a"`, `GRANT x TO "a"`}},
		{"semicolon in literal", `COMMENT ON ROLE a IS 'x;y'; SELECT 1`, []string{`COMMENT ON ROLE a IS 'x;y'`, `SELECT 1`}},
		{"doubled quote", `SELECT 'it''s;'; SELECT 2`, []string{`SELECT 'it''s;'`, `SELECT 2`}},
		{"E string backslash quote", `SELECT E'a\';b'; SELECT 3`, []string{`SELECT E'a\';b'`, `SELECT 3`}},
		{"plain string backslash is literal", `SELECT 'a\'; SELECT 4`, []string{`SELECT 'a\'`, `SELECT 4`}},
		{"identifier", `CREATE ROLE "a;""b"; SELECT 5`, []string{`CREATE ROLE "a;""b"`, `SELECT 5`}},
		{"dollar quote", `DO $$ BEGIN PERFORM 1; END $$; SELECT 6`, []string{`DO $$ BEGIN PERFORM 1; END $$`, `SELECT 6`}},
		{"tagged dollar quote", `DO $f$ x; $$ y; $f$; SELECT 7`, []string{`DO $f$ x; $$ y; $f$`, `SELECT 7`}},
		{"dollar in identifier is not a quote", `SELECT a$b; SELECT 8`, []string{`SELECT a$b`, `SELECT 8`}},
		{"positional parameter", `SELECT $1; SELECT 9`, []string{`SELECT $1`, `SELECT 9`}},
		{"line comment", "SELECT 1 -- a;b\n; SELECT 2", []string{"SELECT 1 -- a;b", "SELECT 2"}},
		{"nested block comment", `SELECT /* a /* b; */ c; */ 1; SELECT 2`, []string{`SELECT /* a /* b; */ c; */ 1`, `SELECT 2`}},
		{"top-level END sent whole", `CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END; SELECT 2`,
			[]string{`CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END; SELECT 2`}},
		{"end inside quotes does not count", `SELECT 'END'; SELECT "end"; SELECT 3`, []string{`SELECT 'END'`, `SELECT "end"`, `SELECT 3`}},
		{"word containing end", `SELECT append; SELECT ending`, []string{`SELECT append`, `SELECT ending`}},
		{"unterminated literal runs to the end", `SELECT 'a; SELECT 2`, []string{`SELECT 'a; SELECT 2`}},
		{"placeholders", `CREATE ROLE "{{name}}" PASSWORD '{{password}}';`, []string{`CREATE ROLE "{{name}}" PASSWORD '{{password}}'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitStatements(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("splitStatements(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	sql := `CREATE ROLE "a"; GRANT x TO "a"`
	want := []string{`CREATE ROLE "a"`, `GRANT x TO "a"`}
	tests := []struct {
		name, in string
		want     []string
	}{
		{"sql", sql, want},
		{"base64", base64.StdEncoding.EncodeToString([]byte(sql)), want},
		{"json array", `["CREATE ROLE \"a\"", "GRANT x TO \"a\";"]`, want},
		{"base64 json", base64.StdEncoding.EncodeToString([]byte(`["CREATE ROLE \"a\"; GRANT x TO \"a\""]`)), want},
		{"blank", "  ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCommand(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseCommand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"name": "n{{password}}", "password": "p"}
	got := substitute(`"{{name}}" '{{password}}' {{expiration}} {{ name }}`, vars)
	if want := `"n{{password}}" 'p' {{expiration}} {{ name }}`; got != want {
		t.Fatalf("substitute = %q, want %q", got, want)
	}
}

// FuzzSplitStatements: splitting never panics, never invents text, and
// every piece is trimmed and non-empty.
func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{`a; 'b;' "c;" $$d;$$ -- e;` + "\n/* f; */", `E'\'`, `$a$`, `/*`, `'`, "END; x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rest := s
		for _, p := range splitStatements(s) {
			if p == "" || p != strings.TrimSpace(p) {
				t.Fatalf("piece %q is empty or untrimmed", p)
			}
			i := strings.Index(rest, p)
			if i < 0 {
				t.Fatalf("piece %q not found in order in %q", p, s)
			}
			rest = rest[i+len(p):]
		}
	})
}
