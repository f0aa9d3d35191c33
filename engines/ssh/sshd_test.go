package ssh_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// sshdPath is Debian's openssh-server binary; sshd re-executes itself,
// so it must be started by its absolute path.
const sshdPath = "/usr/sbin/sshd"

// sshd is a private sshd on a free 127.0.0.1 port, with its own config,
// host key and trusted user CA keys, running as the current user.
type sshd struct {
	port int
	user string
	// log is the file sshd logs to (-E): written before sshd answers a
	// client, so it is complete once ssh has exited.
	log string
}

// logText is sshd's log so far.
func (s *sshd) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startSSHD starts an sshd trusting caKeys (authorized_keys lines) to
// sign user certificates; it is stopped when the test ends.
func startSSHD(t *testing.T, caKeys ...string) *sshd {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("%s is missing (apt-get install openssh-server): %v", sshdPath, err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd started as root needs its privilege separation directory,
		// which the openssh-server service creates at boot.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("create sshd's privilege separation directory: %v", err)
		}
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host_key")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	caFile := writeFile(t, dir, "trusted_user_ca_keys", strings.Join(caKeys, "\n")+"\n", 0o644)
	for attempt := 0; ; attempt++ {
		s, err := trySSHD(t, dir, hostKey, caFile, u.Username)
		if err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("sshd did not start: %v", err)
		}
		t.Logf("sshd start %d: %v; retrying on another port", attempt, err)
	}
}

// trySSHD starts sshd on one free port; an error means it exited or
// never answered with an SSH banner (a lost port race, say).
func trySSHD(t *testing.T, dir, hostKey, caFile, username string) (*sshd, error) {
	port := freePort(t)
	lines := []string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"PidFile none",
		"UsePAM no",
		"StrictModes no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AuthorizedKeysFile none",
		"TrustedUserCAKeys " + caFile,
		"AllowUsers " + username,
		"LogLevel VERBOSE",
	}
	if os.Geteuid() == 0 {
		lines = append(lines, "PermitRootLogin yes")
	}
	cfg := writeFile(t, dir, "sshd_config", strings.Join(lines, "\n")+"\n", 0o644)
	run(t, sshdPath, "-t", "-f", cfg)

	logFile := filepath.Join(dir, fmt.Sprintf("sshd-%d.log", port))
	cmd := exec.Command(sshdPath, "-D", "-E", logFile, "-f", cfg)
	readLog := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitBanner(port, exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w\n%s", err, readLog())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", readLog())
		}
	})
	return &sshd{port: port, user: username, log: logFile}, nil
}

// freePort returns a 127.0.0.1 port nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitBanner waits until port answers with an SSH banner, sshd exits,
// or 15s pass.
func waitBanner(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("sshd exited")
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-2.0-") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no SSH banner within 15s")
}

// login runs `ssh ... true` as user with key and certificate and returns
// ssh's exit code (0: logged in and ran true; 255: refused).
func (s *sshd) login(t *testing.T, user, keyPath, certPath string) int {
	t.Helper()
	cmd := exec.Command("ssh", "-F", "/dev/null",
		"-i", keyPath, "-o", "CertificateFile="+certPath,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR",
		"-p", fmt.Sprint(s.port), user+"@127.0.0.1", "true")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		t.Logf("ssh exit %d: %s", exit.ExitCode(), bytes.TrimSpace(out))
		return exit.ExitCode()
	}
	t.Fatalf("run ssh: %v", err)
	return -1
}

// signFile signs pubLine for role with data and writes the certificate
// next to keyPath.
func signFile(t *testing.T, h *harness, role, keyPath, pubLine string, data map[string]any) string {
	path, _ := signSerial(t, h, role, keyPath, pubLine, data)
	return path
}

// signSerial is signFile that also returns the certificate's serial
// number in decimal, as sshd logs it.
func signSerial(t *testing.T, h *harness, role, keyPath, pubLine string, data map[string]any) (string, string) {
	t.Helper()
	req := map[string]any{"public_key": pubLine}
	for k, v := range data {
		req[k] = v
	}
	resp := h.must(logical.UpdateOperation, "sign/"+role, req)
	serial, err := strconv.ParseUint(resp.Data["serial_number"].(string), 16, 64)
	if err != nil {
		t.Fatalf("serial_number %q: %v", resp.Data["serial_number"], err)
	}
	path := writeFile(t, filepath.Dir(keyPath), filepath.Base(keyPath)+"-cert.pub", resp.Data["signed_key"].(string), 0o644)
	return path, strconv.FormatUint(serial, 10)
}

func TestSSHDAcceptsOnlyValidCertificates(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t)
	caPub := h.configureCA("ed25519")
	other := newHarness(t)
	other.configureCA("ed25519")
	s := startSSHD(t, caPub)

	role := map[string]any{
		"key_type": "ca", "allow_user_certificates": true,
		"allowed_users": s.user + ",alice", "default_user": s.user,
		"default_extensions": map[string]any{"permit-pty": ""}, "ttl": "10m",
	}
	h.must(logical.UpdateOperation, "roles/login", role)
	other.must(logical.UpdateOperation, "roles/login", role)
	// Same storage, clock two hours back: same CA, certificates expired now.
	past := mountOn(t, h.storage, nil, sshWithClock(time.Now().Add(-2*time.Hour)))

	key, pub := userKey(t, dir, "user", "ed25519")
	cases := []struct {
		name string
		h    *harness
		data map[string]any
		// reason is what sshd logs for a refusal ("" for an acceptance).
		reason string
	}{
		{"fresh certificate for the user", h, map[string]any{"valid_principals": s.user}, ""},
		{"default principal", h, map[string]any{"ttl": "1m"}, ""},
		{"signed by another CA", other, nil, "Failed publickey"},
		{"for another principal", h, map[string]any{"valid_principals": "alice"}, "Certificate invalid: name is not a listed principal"},
		{"expired", past, map[string]any{"ttl": "1s"}, "Certificate invalid: expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert, serial := signSerial(t, tc.h, "login", key, pub, tc.data)
			code := s.login(t, s.user, key, cert)
			accepted := strings.Contains(s.logText(t), "(serial "+serial+") signed by")
			if tc.reason == "" {
				if code != 0 || !accepted {
					t.Fatalf("login refused (exit %d), want accepted", code)
				}
				return
			}
			if code != 255 || accepted {
				t.Fatalf("ssh exit %d (sshd accepted the certificate: %v), want 255 (authentication refused)", code, accepted)
			}
			if !strings.Contains(s.logText(t), tc.reason) {
				t.Fatalf("sshd did not log %q", tc.reason)
			}
		})
	}
}

// TestSSHDAcceptsEachCAKeyType logs in with certificates signed by RSA
// (both SHA-2 algorithms), ECDSA and ed25519 CAs, for keys made by
// ssh-keygen and by issue/.
func TestSSHDAcceptsEachCAKeyType(t *testing.T) {
	dir := t.TempDir()
	type mount struct {
		name, keyType, signer string
		h                     *harness
	}
	mounts := []*mount{
		{name: "rsa-sha2-256", keyType: "rsa", signer: "rsa-sha2-256"},
		{name: "rsa-sha2-512", keyType: "rsa", signer: "rsa-sha2-512"},
		{name: "ecdsa", keyType: "ecdsa"},
		{name: "ed25519", keyType: "ed25519"},
	}
	var caKeys []string
	for _, m := range mounts {
		m.h = newHarness(t)
		conf := map[string]any{"key_type": m.keyType}
		if m.keyType == "rsa" {
			conf["key_bits"] = 2048
		}
		caKeys = append(caKeys, m.h.must(logical.UpdateOperation, "config/ca", conf).Data["public_key"].(string))
	}
	s := startSSHD(t, caKeys...)
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) {
			m.h.must(logical.UpdateOperation, "roles/r", map[string]any{
				"key_type": "ca", "allow_user_certificates": true, "allowed_users": s.user,
				"algorithm_signer": m.signer,
			})
			key, pub := userKey(t, dir, m.name, "ecdsa")
			if code := s.login(t, s.user, key, signFile(t, m.h, "r", key, pub, map[string]any{"valid_principals": s.user})); code != 0 {
				t.Fatalf("signed key: login refused (exit %d)", code)
			}
			resp := m.h.must(logical.UpdateOperation, "issue/r", map[string]any{"key_type": "ed25519", "valid_principals": s.user})
			ikey := writeFile(t, dir, m.name+"-issued", resp.Data["private_key"].(string), 0o600)
			icert := writeFile(t, dir, m.name+"-issued-cert.pub", resp.Data["signed_key"].(string), 0o644)
			if code := s.login(t, s.user, ikey, icert); code != 0 {
				t.Fatalf("issued key: login refused (exit %d)", code)
			}
		})
	}
}
