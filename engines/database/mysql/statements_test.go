package mysql

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  []string
	}{
		{"empty", "  ", nil},
		{"one", "SELECT 1", []string{"SELECT 1"}},
		{"trailing semicolon", "SELECT 1;", []string{"SELECT 1"}},
		{"several", "A;\n B ;;C", []string{"A", "B", "C"}},
		{"semicolon in single quotes", `A 'x;y'; B`, []string{`A 'x;y'`, "B"}},
		{"semicolon in double quotes", `A "x;y"; B`, []string{`A "x;y"`, "B"}},
		{"semicolon in backticks", "A `x;y`; B", []string{"A `x;y`", "B"}},
		{"doubled quote", `A 'it''s;'; B`, []string{`A 'it''s;'`, "B"}},
		{"backslash-escaped quote", `A 'it\';s'; B`, []string{`A 'it\';s'`, "B"}},
		{"line comment", "A -- x; y\n; B", []string{"A -- x; y", "B"}},
		{"hash comment", "A # x; y\n; B", []string{"A # x; y", "B"}},
		{"block comment", "A /* x; y */; B", []string{"A /* x; y */", "B"}},
		{"double dash without space is code", "SELECT 1--1; B", []string{"SELECT 1--1", "B"}},
		{"comment-only pieces dropped", "A; -- only a comment\n; /* and */ ;", []string{"A"}},
		{"unterminated quote keeps the rest", "A 'x; y", []string{"A 'x; y"}},
		{"base64", base64.StdEncoding.EncodeToString([]byte("A; B")), []string{"A", "B"}},
		{"base64-looking word stays", "ROLLBACK", []string{"ROLLBACK"}},
		{"JSON array", `["A; B", " C "]`, []string{"A; B", "C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitStatements(tt.entry); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitStatements(%q) = %q, want %q", tt.entry, got, tt.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	vals := placeholders{"name": "v-a'b", "password": `p'"\x`, "expiration": "2030-01-01 00:00:00+0000"}
	tests := []struct {
		name    string
		stmt    string
		want    string
		wantErr bool
	}{
		{"single quotes", `'{{name}}' '{{password}}'`, `'v-a''b' 'p''"\\x'`, false},
		{"double quotes", `"{{password}}"`, `"p'""\\x"`, false},
		{"backticks", "`{{name}}`", "`v-a'b`", false},
		{"expiration unquoted", `UNTIL {{expiration}}`, `UNTIL 2030-01-01 00:00:00+0000`, false},
		{"unknown key left", `'{{other}}' {{other}}`, `'{{other}}' {{other}}`, false},
		{"unterminated placeholder", `'{{name'`, `'{{name'`, false},
		{"name unquoted", `DROP USER {{name}}`, "", true},
		{"password in a comment", "-- {{password}}", "", true},
		{"after an escaped quote", `'\'{{password}}'`, `'\'p''"\\x'`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := substitute(tt.stmt, vals)
			if (err != nil) != tt.wantErr {
				t.Fatalf("substitute(%q) err = %v, wantErr %v", tt.stmt, err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), vals["password"]) {
					t.Errorf("error holds the value: %v", err)
				}
				return
			}
			if got != tt.want {
				t.Errorf("substitute(%q) = %q, want %q", tt.stmt, got, tt.want)
			}
		})
	}
	plain, err := substitute("DROP USER {{name}}", placeholders{"name": "v_abc.1@%"})
	if err != nil || plain != "DROP USER v_abc.1@%" {
		t.Errorf("plain word unquoted: %q, %v", plain, err)
	}
}

func TestPrepareRejectsBeforeRunning(t *testing.T) {
	_, err := prepare([]string{"SELECT 1; SELECT {{password}}"}, placeholders{"password": "a b"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v, want ErrInvalidRequest", err)
	}
}

// FuzzSubstituteStaysQuoted checks that no value can leave the string
// it is substituted into: after substitution the statement still splits
// into the same single statement, and the byte after the value is read
// as code (the string closed exactly where the template closed it).
func FuzzSubstituteStaysQuoted(f *testing.F) {
	for _, s := range []string{"", "'", `\`, `\'`, "''", `"`, "`", "; DROP USER root; --", "a\nb", "\x00"} {
		f.Add(s)
	}
	templates := []string{
		`ALTER USER 'u' IDENTIFIED BY '{{password}}' X`,
		`SELECT "{{password}}" X`,
		"SELECT `{{password}}` X",
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, tpl := range templates {
			out, err := substitute(tpl, placeholders{"password": v})
			if err != nil {
				t.Fatalf("substitute: %v", err)
			}
			ctx := lexContexts(out)
			last := len(out) - 1 // the X
			if ctx[last] != ctxCode || ctx[last-1] != ctxCode {
				t.Fatalf("value %q escaped its quotes in %q", v, out)
			}
			if got := splitStatements(out); len(got) != 1 {
				t.Fatalf("value %q split %q into %d statements", v, out, len(got))
			}
		}
	})
}

func TestQuoteString(t *testing.T) {
	if got := quoteString(`a'b\c`); got != `'a''b\\c'` {
		t.Errorf("quoteString = %s", got)
	}
}
