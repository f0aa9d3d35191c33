package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestKVParser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	valFile := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(valFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(dir, "data.json")
	if err := os.WriteFile(jsonFile, []byte(`{"a":"1","n":5,"nested":{"x":true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badJSON, []byte(`[1,2]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    map[string]any
		wantErr string
		usage   bool
	}{
		{name: "none", args: nil, want: map[string]any{}},
		{name: "plain", args: []string{"a=b", "c=d=e", "empty="},
			want: map[string]any{"a": "b", "c": "d=e", "empty": ""}},
		{name: "at file keeps bytes", args: []string{"pw=@" + valFile}, want: map[string]any{"pw": "from-file\n"}},
		{name: "dash stdin", args: []string{"pw=-", "u=x"}, stdin: "hunter2\n",
			want: map[string]any{"pw": "hunter2\n", "u": "x"}},
		{name: "json stdin", args: []string{"-", "extra=1"}, stdin: `{"k":"v","n":42}`,
			want: map[string]any{"k": "v", "n": json.Number("42"), "extra": "1"}},
		{name: "json file", args: []string{"@" + jsonFile},
			want: map[string]any{"a": "1", "n": json.Number("5"), "nested": map[string]any{"x": true}}},
		{name: "repeated key makes list", args: []string{"p=a", "p=b", "p=c"},
			want: map[string]any{"p": []any{"a", "b", "c"}}},
		{name: "not key=value", args: []string{"oops"}, wantErr: "not key=value", usage: true},
		{name: "empty key", args: []string{"=v"}, wantErr: "empty key", usage: true},
		{name: "stdin twice", args: []string{"a=-", "b=-"}, stdin: "x", wantErr: "only once", usage: true},
		{name: "missing file", args: []string{"a=@" + filepath.Join(dir, "nope")}, wantErr: "no such file"},
		{name: "bare at", args: []string{"@"}, wantErr: "file name", usage: true},
		{name: "json not object", args: []string{"@" + badJSON}, wantErr: "want a JSON object"},
		{name: "bad json stdin", args: []string{"-"}, stdin: "{", wantErr: "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &kvParser{stdin: strings.NewReader(tt.stdin)}
			got, err := p.parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var ue *usageError
				if errors.As(err, &ue) != tt.usage {
					t.Errorf("usage error = %v, want %v", !tt.usage, tt.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestQueryValues(t *testing.T) {
	t.Parallel()
	q, err := queryValues(map[string]any{"version": "2", "list": []any{"a", json.Number("3")}, "n": json.Number("7")})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Encode(); got != "list=a&list=3&n=7&version=2" {
		t.Errorf("query = %q", got)
	}
}
