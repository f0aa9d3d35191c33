package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		canonical string
		err       string
	}{
		{name: "none", args: nil, canonical: ""},
		{name: "sorted", args: []string{"role=web", "env=prod"}, canonical: "env=prod&role=web"},
		{name: "order does not matter", args: []string{"env=prod", "role=web"}, canonical: "env=prod&role=web"},
		{name: "escaped", args: []string{"a=x&b=y", "b=1"}, canonical: "a=x%26b%3Dy&b=1"},
		{name: "empty value", args: []string{"k="}, canonical: "k="},
		{name: "no equals", args: []string{"prod"}, err: "want KEY=VALUE"},
		{name: "empty key", args: []string{"=v"}, err: "empty key"},
		{name: "twice", args: []string{"k=1", "k=2"}, err: "given twice"},
		{name: "control", args: []string{"k=a\nb"}, err: "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ec, err := parseContext(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || ec.canonical() != tt.canonical {
				t.Fatalf("canonical = %q, %v; want %q", ec.canonical(), err, tt.canonical)
			}
		})
	}
}

func TestSecretsPutPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		auto    bool
		version int
		cas     int
		wantCAS int
		ctx     string
		err     string
	}{
		{name: "plain", args: []string{"n", "v"}, cas: -1, wantCAS: -1},
		{name: "auto", args: []string{"n", "v"}, auto: true, cas: -1, wantCAS: casAuto},
		{name: "version 1 means absent", args: []string{"n", "v"}, version: 1, cas: -1, wantCAS: 0},
		{name: "version 4", args: []string{"n", "v"}, version: 4, cas: -1, wantCAS: 3},
		{name: "cas", args: []string{"n", "v"}, cas: 2, wantCAS: 2},
		{name: "context", args: []string{"n", "v", "b=2", "a=1"}, cas: -1, wantCAS: -1, ctx: "a=1&b=2"},
		{name: "auto and version", args: []string{"n", "v"}, auto: true, version: 2, cas: -1, err: "exclude each other"},
		{name: "version and cas", args: []string{"n", "v"}, version: 2, cas: 1, err: "exclude each other"},
		{name: "negative version", args: []string{"n", "v"}, version: -3, cas: -1, err: "version number"},
		{name: "bad name", args: []string{"/n", "v"}, cas: -1, err: "must not start or end"},
		{name: "bad context", args: []string{"n", "v", "novalue"}, cas: -1, err: "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &secretsPutCmd{app: &app{stdin: strings.NewReader("")}, auto: tt.auto, version: tt.version, cas: tt.cas}
			pl, err := c.plan(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || pl.cas != tt.wantCAS || pl.ec.canonical() != tt.ctx || pl.value != "v" {
				t.Fatalf("plan = %+v, %v; want cas %d, context %q", pl, err, tt.wantCAS, tt.ctx)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"db.password":     "DB_PASSWORD",
		"app/web/api-key": "APP_WEB_API_KEY",
		"Mixed9":          "MIXED9",
		"9lives":          "_9LIVES",
		"é":               "_",
	} {
		if got := envName(in); got != want {
			t.Errorf("envName(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := envVars([][]string{{"a.b", "1"}, {"a-b", "2"}}); err == nil || !strings.Contains(err.Error(), "A_B") {
		t.Errorf("colliding names: err = %v", err)
	}
}

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	got := mergeEnv([]string{"PATH=/bin", "DB_PASSWORD=old", "HOME=/h"}, []string{"DB_PASSWORD=new"})
	want := []string{"PATH=/bin", "HOME=/h", "DB_PASSWORD=new"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mergeEnv = %q, want %q", got, want)
	}
}

func TestDotenvOutput(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, err := newPrinter(&buf, "dotenv", formatDotenv)
	if err != nil {
		t.Fatal(err)
	}
	err = p.print(valuesDocument(map[string]string{"app/db.url": `a"b\c $HOME` + "`x`\nline2", "top": "plain"}))
	want := "APP_DB_URL=\"a\\\"b\\\\c \\$HOME\\`x\\`\\nline2\"\nTOP=\"plain\"\n"
	if err != nil || buf.String() != want {
		t.Fatalf("dotenv = %q, %v; want %q", buf.String(), err, want)
	}
}

func TestSplitPrefixContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		prefix string
		ctx    []string
	}{
		{nil, "", nil},
		{[]string{"app"}, "app", []string{}},
		{[]string{"app", "env=prod"}, "app", []string{"env=prod"}},
		{[]string{"env=prod"}, "", []string{"env=prod"}},
	}
	for _, tt := range tests {
		p, c := splitPrefixContext(tt.args)
		if p != tt.prefix || len(c) != len(tt.ctx) || (len(c) > 0 && !reflect.DeepEqual(c, tt.ctx)) {
			t.Errorf("splitPrefixContext(%q) = %q, %q", tt.args, p, c)
		}
	}
}

func TestTransitRef(t *testing.T) {
	t.Parallel()
	r, err := parseTransitRef(transitRef{mount: "team/transit", key: "credstash"}.String())
	if err != nil || r.mount != "team/transit" || r.key != "credstash" {
		t.Fatalf("round trip = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "transit", "transit:", "transit:/k", "transit:m/", "aws:m/k"} {
		if _, err := parseTransitRef(bad); err == nil {
			t.Errorf("parseTransitRef(%q) accepted", bad)
		}
	}
}

func TestIsPattern(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"app.*": true, "a?": true, "[ab]": true, "app/db.password": false} {
		if isPattern(name) != want {
			t.Errorf("isPattern(%q) = %v", name, !want)
		}
	}
}
