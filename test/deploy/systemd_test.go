package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unitCopy writes deploy/systemd/vaultd.service into a temp dir with
// ExecStart pointing at a real vaultd binary (systemd-analyze verify
// checks that the command exists); every other line is the shipped one.
func unitCopy(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(deployDir(t, "systemd", "vaultd.service"))
	if err != nil {
		t.Fatal(err)
	}
	const exec = "ExecStart=/usr/bin/vaultd "
	if !strings.Contains(string(raw), exec) {
		t.Fatalf("vaultd.service has no %q line", exec)
	}
	unit := strings.Replace(string(raw), exec, "ExecStart="+vaultdBinary(t)+" ", 1)
	path := filepath.Join(t.TempDir(), "vaultd.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit: no
// unknown directive, bad value or missing command.
func TestSystemdUnitVerifies(t *testing.T) {
	sa := tool(t, "systemd-analyze")
	unit := unitCopy(t)
	out, err := runErr(filepath.Dir(unit), sa, "verify", "--man=no", unit)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdVerifyCatchesTypos shows the check is real: systemd-analyze
// verify reports a misspelt directive (it exits 0 for those, hence the
// empty-output rule above).
func TestSystemdVerifyCatchesTypos(t *testing.T) {
	sa := tool(t, "systemd-analyze")
	unit := unitCopy(t)
	raw, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), "ProtectSystem=strict", "ProtectSystm=strict", 1)
	if err := os.WriteFile(unit, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := runErr(filepath.Dir(unit), sa, "verify", "--man=no", unit)
	if !strings.Contains(out, "Unknown key") || !strings.Contains(out, "ProtectSystm") {
		t.Fatalf("systemd-analyze verify did not report the misspelt key:\n%s", out)
	}
}

// TestSystemdUnitIsHardened scores the unit with systemd-analyze security
// (offline): the exposure must stay at or under 2.0 ("OK"), and the
// directives the deployment relies on must be there.
func TestSystemdUnitIsHardened(t *testing.T) {
	sa := tool(t, "systemd-analyze")
	unit := unitCopy(t)
	out, err := runErr(filepath.Dir(unit), sa, "security", "--offline=yes", "--threshold=20", "--no-pager", unit)
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0 or error: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze security: %s", lastLines(out, 1))
	raw, _ := os.ReadFile(unit)
	for _, line := range []string{
		"User=vaultd", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=\n", "ReadWritePaths=/var/lib/vaultd /var/log/vaultd",
		"LoadCredential=static-seal.key:/etc/vaultd/static-seal.key",
	} {
		if !strings.Contains(string(raw), line) {
			t.Errorf("vaultd.service lacks %q", strings.TrimSpace(line))
		}
	}
}

// TestSystemdConfigUsesCredentials: the example config reads the secrets
// the unit loads from the unit's credentials directory.
func TestSystemdConfigUsesCredentials(t *testing.T) {
	raw, err := os.ReadFile(deployDir(t, "systemd", "vaultd.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(deployDir(t, "systemd", "vaultd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(unit), "\n") {
		id, _, ok := strings.Cut(strings.TrimPrefix(line, "LoadCredential="), ":")
		if !ok || !strings.HasPrefix(line, "LoadCredential=") {
			continue
		}
		if p := "/run/credentials/vaultd.service/" + id; !strings.Contains(string(raw), p) {
			t.Errorf("vaultd.hcl does not read the credential %s at %s", id, p)
		}
	}
}
