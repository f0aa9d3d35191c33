package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunEnvInProcess: the child sees the secrets under the prefix as
// variables, named below the prefix, and its exit code is vaultctl's.
func TestRunEnvInProcess(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	v.run(0, "", "secrets", "put", "app/db.password", "hunter2 with spaces")
	v.run(0, "", "secrets", "put", "app/web/api-key", "k-1")
	v.run(0, "", "secrets", "put", "app/bound", "ctx-only", "env=prod")
	v.run(0, "", "secrets", "put", "elsewhere", "not-injected")
	out := v.run(0, "", "env", "-prefix", "app", "-context", "env=prod", "--",
		"sh", "-c", `printf '%s|%s|%s|%s' "$DB_PASSWORD" "$WEB_API_KEY" "$BOUND" "${ELSEWHERE-unset}"`)
	if out != "hunter2 with spaces|k-1|ctx-only|unset" {
		t.Fatalf("child saw %q", out)
	}
	if code, _, _ := v.runFull("", "env", "-prefix", "app", "-context", "env=prod", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("exit code %d, want the child's 7", code)
	}
	errOut := v.fails("encryption context refused", "env", "-prefix", "app", "--", "sh", "-c", "echo ran")
	if strings.Contains(errOut, "ctx-only") {
		t.Fatalf("stderr leaks a value: %q", errOut)
	}
	if code, _, errOut := v.runFull("", "env", "--", "no-such-command-xyz"); code != 127 || !strings.Contains(errOut, "not found") {
		t.Fatalf("missing command: %d %q", code, errOut)
	}
}

// TestRunEnvProcess runs vaultctl as its own process in an empty
// directory (also its HOME and TMPDIR): the child gets the values, while
// vaultctl's command line and environment, and the child's command line,
// never hold them, and no file is left anywhere in that directory.
func TestRunEnvProcess(t *testing.T) {
	t.Parallel()
	v := startCredstashVault(t)
	const secret = "pw-9f3c1e-never-on-disk"
	v.run(0, "", "secrets", "put", "svc/db.password", secret)
	dir := t.TempDir()
	script := `printf 'child=%s\n' "$DB_PASSWORD"
printf 'parent_cmdline=%s\n' "$(tr '\0' ' ' < /proc/$PPID/cmdline)"
printf 'parent_environ=%s\n' "$(tr '\0' ' ' < /proc/$PPID/environ)"
printf 'self_cmdline=%s\n' "$(tr '\0' ' ' < /proc/$$/cmdline)"`
	cmd := exec.Command(os.Args[0], "env", "-prefix", "svc", "--", "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{envAsMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"VAULT_ADDR=" + v.url, "VAULT_TOKEN=" + v.root}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vaultctl env: %v\n%s", err, stderr.String())
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, val, _ := strings.Cut(l, "=")
		lines[k] = val
	}
	if lines["child"] != secret {
		t.Fatalf("child saw DB_PASSWORD=%q (output %q)", lines["child"], stdout.String())
	}
	if !strings.Contains(lines["parent_cmdline"], "env -prefix svc -- sh -c") || !strings.Contains(lines["parent_environ"], "VAULT_ADDR=") {
		t.Fatalf("did not read vaultctl's /proc entries: %q", stdout.String())
	}
	for _, k := range []string{"parent_cmdline", "parent_environ", "self_cmdline"} {
		if strings.Contains(lines[k], secret) {
			t.Errorf("%s holds the secret: %q", k, lines[k])
		}
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if p != dir {
			files = append(files, p)
		}
		return err
	})
	if len(files) > 0 {
		t.Errorf("files written: %q", files)
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}
