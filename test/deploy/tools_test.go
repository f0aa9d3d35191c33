// Package deploy tests the files under deploy/: each one is rendered,
// linted and validated by the tool its users run (helm, kubeconform,
// promtool, systemd-analyze), and the Prometheus files are run for real
// against a 3-node vaultd cluster.
//
// A missing tool fails the test that needs it, naming the install step:
// nothing is skipped. .ci/run installs them.
package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// deployDir returns the absolute path of deploy/<elem...>.
func deployDir(t testing.TB, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{repoRoot, "deploy"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// installHints says how .ci/run provides each tool.
var installHints = map[string]string{
	"helm":                         "GOFLAGS= go install helm.sh/helm/v3/cmd/helm@v3.22.0",
	"kubeconform":                  "GOFLAGS= go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0",
	"promtool":                     "apt-get install prometheus (with a policy-rc.d that exits 101)",
	"prometheus":                   "apt-get install prometheus (with a policy-rc.d that exits 101)",
	"prometheus-blackbox-exporter": "apt-get install prometheus-blackbox-exporter (with a policy-rc.d that exits 101)",
	"systemd-analyze":              "apt-get install systemd",
}

// tool returns the path of a command-line tool: on $PATH, else in
// $(go env GOPATH)/bin for the tools installed with go install. It fails
// the test when the tool is missing.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	t.Fatalf("%s is not installed (install: %s)", name, installHints[name])
	return ""
}

// run runs a command with a 5-minute bound and returns its combined
// output; a non-zero exit fails the test with that output.
func run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// runErr runs a command and returns its combined output and error.
func runErr(dir string, name string, args ...string) (string, error) {
	return runEnv(dir, nil, name, args...)
}

// runEnv is runErr with env added to the environment (KEY=value).
func runEnv(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// TestMain removes what the tests made once for all of them (the vaultd
// binary, the Kubernetes schemas).
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{filepath.Dir(vaultdPath), schemaDir} {
		if dir != "" && dir != "." {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}
