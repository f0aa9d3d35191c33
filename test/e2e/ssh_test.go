package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// TestSSHSignWithVaultctl: the OpenBao client configures an SSH CA and a
// role; `vaultctl ssh sign` writes the certificate next to the key, and
// ssh-keygen shows the principals and validity asked for. A role that
// allows any user but names no default one never signs for nobody.
func TestSSHSignWithVaultctl(t *testing.T) {
	s := newServer(t)
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("ssh", &vault.MountInput{Type: "ssh"}); err != nil {
		t.Fatalf("mount ssh: %v", err)
	}
	ca := mustWrite(t, c, "ssh/config/ca", map[string]any{"generate_signing_key": true, "key_type": "ed25519"})
	caKey := dataString(t, ca, "public_key")
	if got := unauthenticatedGet(t, s, "/v1/ssh/public_key"); strings.TrimSpace(got) != strings.TrimSpace(caKey) {
		t.Fatalf("ssh/public_key = %q, want the CA key %q", got, caKey)
	}
	if _, err := c.Logical().Write("ssh/roles/ops", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allowed_users": "*", "ttl": "1h", "max_ttl": "8h",
		"allowed_extensions": "permit-pty", "default_extensions": map[string]any{"permit-pty": ""},
	}); err != nil {
		t.Fatalf("write role: %v", err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}

	// No principal asked for, no default_user: refused, nothing written.
	_, stderr, code := s.vaultctl(init.RootToken, "", "ssh", "sign", "-role", "ops", key+".pub")
	if code == 0 || !strings.Contains(stderr, "principal") {
		t.Fatalf("sign without principals: exit %d, stderr %q; want a refusal naming the principals", code, stderr)
	}
	if _, err := os.Stat(key + "-cert.pub"); !os.IsNotExist(err) {
		t.Fatalf("a refused signing wrote a certificate (%v)", err)
	}

	stdout, stderr, code := s.vaultctl(init.RootToken, "", "ssh", "sign", "-role", "ops", "-principals", "alice,deploy", "-ttl", "2h", key+".pub")
	if code != 0 {
		t.Fatalf("vaultctl ssh sign: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, key+"-cert.pub") || !strings.Contains(stdout, "serial_number") {
		t.Fatalf("vaultctl ssh sign printed %q", stdout)
	}
	out, err := exec.Command("ssh-keygen", "-L", "-f", key+"-cert.pub").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{"Type: ssh-ed25519-cert-v01@openssh.com user certificate", "alice", "deploy", "permit-pty"} {
		if !strings.Contains(listing, want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, listing)
		}
	}

	// A principal outside the role is a 400 through the OpenBao client too.
	if _, err := c.Logical().Write("ssh/roles/narrow", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice", "default_user": "alice",
	}); err != nil {
		t.Fatalf("write role: %v", err)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SSHWithMountPoint("ssh").SignKey("narrow", map[string]any{"public_key": string(pub), "valid_principals": "root"})
	if responseStatus(err) != http.StatusBadRequest {
		t.Fatalf("sign for a principal outside the role: %v, want 400", err)
	}
	sec, err := c.SSHWithMountPoint("ssh").SignKey("narrow", map[string]any{"public_key": string(pub)})
	if err != nil {
		t.Fatalf("sign with the default user: %v", err)
	}
	if !strings.HasPrefix(dataString(t, sec, "signed_key"), "ssh-ed25519-cert-v01@openssh.com ") {
		t.Fatalf("signed_key = %q", sec.Data["signed_key"])
	}
}
