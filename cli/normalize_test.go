package cli

import (
	"io"
	"reflect"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"global before command", []string{"-format=json", "status"}, []string{"--format=json", "status"}},
		{"global value as next arg", []string{"-format", "json", "status"}, []string{"--format", "json", "status"}},
		{"subcommand flags", []string{"operator", "init", "-key-shares=1", "-key-threshold", "1"},
			[]string{"operator", "init", "--key-shares=1", "--key-threshold", "1"}},
		{"double dash untouched", []string{"kv", "get", "--version=2", "secret/a"}, []string{"kv", "get", "--version=2", "secret/a"}},
		{"shorthands untouched", []string{"secrets", "get", "-n", "-v", "3", "db"}, []string{"secrets", "get", "-n", "-v", "3", "db"}},
		{"unknown single-dash left for pflag", []string{"status", "-bogus"}, []string{"status", "-bogus"}},
		{"flag of another command not rewritten", []string{"status", "-key-shares=3"}, []string{"status", "-key-shares=3"}},
		{"flag value that looks like a flag", []string{"kv", "get", "-field", "-mount", "secret/a"},
			[]string{"kv", "get", "--field", "-mount", "secret/a"}},
		{"after terminator", []string{"write", "secret/x", "--", "-force"}, []string{"write", "secret/x", "--", "-force"}},
		{"stdin dash", []string{"write", "secret/x", "-"}, []string{"write", "secret/x", "-"}},
		{"help", []string{"kv", "-help"}, []string{"kv", "--help"}},
		{"positional stops descent", []string{"read", "kv", "-field=x"}, []string{"read", "kv", "--field=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &app{stdout: io.Discard, stderr: io.Discard, env: func(string) string { return "" }}
			if got := normalizeArgs(a.rootCommand(), tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
