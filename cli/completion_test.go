package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runLocal(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bash", []string{"completion", "bash"}, 0, []string{"__start_vaultctl", "__complete"}},
		{"zsh", []string{"completion", "zsh"}, 0, []string{"#compdef vaultctl", "__complete"}},
		{"fish", []string{"completion", "fish"}, 0, []string{"complete -c vaultctl", "__complete"}},
		{"unknown shell", []string{"completion", "tcsh"}, 2, nil},
		{"no shell", []string{"completion"}, 2, nil},
		{"subcommands", []string{"__complete", "secrets", "g"}, 0, []string{"get\t", "getall\t"}},
		{"flags", []string{"__complete", "secrets", "put", "--a"}, 0, []string{"--autoversion"}},
		{"shells", []string{"__complete", "completion", ""}, 0, []string{"bash", "zsh", "fish"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runLocal(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%.400s", w, out)
				}
			}
		})
	}
}
