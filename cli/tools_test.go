package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// toolInstall says how each external tool of the tests is installed.
var toolInstall = map[string]string{
	"sops":       "go install github.com/getsops/sops/v3/cmd/sops@v3.13.3",
	"age-keygen": "apt-get install -y age",
	"tmux":       "apt-get install -y tmux",
}

// requireTool finds an external program on $PATH or in $GOPATH/bin. A
// missing one fails the test, naming the install line (.ci/run installs
// every one): a test never skips a missing tool.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	t.Fatalf("%s is not installed (%s)", name, toolInstall[name])
	return ""
}
