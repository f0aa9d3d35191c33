package ssh_test

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// keygenList is `ssh-keygen -L -f cert` with times in UTC.
func keygenList(t *testing.T, cert string) string {
	t.Helper()
	cmd := exec.Command("ssh-keygen", "-L", "-f", cert)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	return string(out)
}

// section returns the indented items listed under a heading of
// ssh-keygen -L ("Principals:"), or the inline value ("(none)").
func section(out, heading string) []string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, heading+":") {
			continue
		}
		if rest := strings.TrimSpace(strings.TrimPrefix(l, heading+":")); rest != "" {
			return []string{rest}
		}
		var items []string
		for _, item := range lines[i+1:] {
			if !strings.HasPrefix(item, "\t\t") && !strings.HasPrefix(item, "                ") {
				break
			}
			items = append(items, strings.TrimSpace(item))
		}
		return items
	}
	return nil
}

func TestKeygenShowsWhatWasAskedFor(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHarness(t, sshWithClock(t0))
	caPub := h.configureCA("ed25519")
	dir := t.TempDir()
	caFile := writeFile(t, dir, "ca.pub", caPub+"\n", 0o644)
	caFP := strings.Fields(run(t, "ssh-keygen", "-l", "-f", caFile))[1]
	h.must(logical.UpdateOperation, "roles/ops", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allow_host_certificates": true,
		"allowed_users": "alice,bob", "allowed_domains": "example.com", "allow_subdomains": true,
		"allowed_extensions": "permit-pty,permit-port-forwarding", "allow_user_key_ids": true,
		"max_ttl": "2h", "not_before_duration": "1m",
	})
	_, pub := userKey(t, dir, "user", "ed25519")

	cases := []struct {
		name string
		data map[string]any
		want map[string][]string
		from time.Time
		to   time.Time
	}{
		{
			name: "user certificate",
			data: map[string]any{
				"valid_principals": "alice,bob", "ttl": "1h", "key_id": "alice-laptop",
				"extensions":       map[string]any{"permit-pty": "", "permit-port-forwarding": ""},
				"critical_options": map[string]any{"force-command": "/bin/true"},
			},
			want: map[string][]string{
				"Type":             {"ssh-ed25519-cert-v01@openssh.com user certificate"},
				"Key ID":           {`"alice-laptop"`},
				"Principals":       {"alice", "bob"},
				"Extensions":       {"permit-port-forwarding", "permit-pty"},
				"Critical Options": {"force-command /bin/true"},
			},
			from: t0.Add(-time.Minute), to: t0.Add(time.Hour),
		},
		{
			name: "host certificate",
			data: map[string]any{"cert_type": "host", "valid_principals": "web.example.com"},
			want: map[string][]string{
				"Type":             {"ssh-ed25519-cert-v01@openssh.com host certificate"},
				"Principals":       {"web.example.com"},
				"Extensions":       {"(none)"},
				"Critical Options": {"(none)"},
			},
			// No ttl: the role's max_ttl bounds the mount default.
			from: t0.Add(-time.Minute), to: t0.Add(2 * time.Hour),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string]any{"public_key": pub}
			for k, v := range tc.data {
				data[k] = v
			}
			resp := h.must(logical.UpdateOperation, "sign/ops", data)
			cert := writeFile(t, dir, "cert.pub", resp.Data["signed_key"].(string), 0o644)
			out := keygenList(t, cert)
			for heading, want := range tc.want {
				if got := section(out, heading); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s: got %q, want %q\n%s", heading, got, want, out)
				}
			}
			valid := "from " + tc.from.Format("2006-01-02T15:04:05") + " to " + tc.to.Format("2006-01-02T15:04:05")
			if got := section(out, "Valid"); len(got) != 1 || got[0] != valid {
				t.Errorf("Valid: got %q, want %q", got, valid)
			}
			if got := section(out, "Signing CA"); len(got) != 1 || !strings.Contains(got[0], caFP) {
				t.Errorf("Signing CA: got %q, want fingerprint %s", got, caFP)
			}
			serial, err := strconv.ParseUint(resp.Data["serial_number"].(string), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got := section(out, "Serial"); len(got) != 1 || got[0] != strconv.FormatUint(serial, 10) {
				t.Errorf("Serial: got %q, want %d", got, serial)
			}
		})
	}
}

func TestKeygenReadsIssuedKeys(t *testing.T) {
	h := newHarness(t)
	h.configureCA("ed25519")
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "*"})
	dir := t.TempDir()
	for _, kt := range []struct{ keyType, bits, sshType string }{
		{"rsa", "2048", "RSA"}, {"ec", "384", "ECDSA"}, {"ed25519", "0", "ED25519"},
	} {
		t.Run(kt.keyType, func(t *testing.T) {
			resp := h.must(logical.UpdateOperation, "issue/r", map[string]any{"key_type": kt.keyType, "key_bits": kt.bits, "valid_principals": "carol"})
			if resp.Data["private_key_type"] != kt.keyType {
				t.Errorf("private_key_type = %v, want %s", resp.Data["private_key_type"], kt.keyType)
			}
			key := writeFile(t, dir, kt.keyType, resp.Data["private_key"].(string), 0o600)
			// ssh-keygen derives the public key from the private key; it
			// must be the key the certificate certifies.
			derived := strings.Fields(run(t, "ssh-keygen", "-y", "-f", key))
			cert := writeFile(t, dir, kt.keyType+"-cert.pub", resp.Data["signed_key"].(string), 0o644)
			out := keygenList(t, cert)
			fp := strings.Fields(run(t, "ssh-keygen", "-l", "-f", writeFile(t, dir, kt.keyType+".pub", strings.Join(derived, " ")+"\n", 0o644)))[1]
			if got := section(out, "Public key"); len(got) != 1 || !regexp.MustCompile(kt.sshType+`-CERT `+regexp.QuoteMeta(fp)).MatchString(got[0]) {
				t.Errorf("Public key: got %q, want %s-CERT %s", got, kt.sshType, fp)
			}
			if got := section(out, "Principals"); len(got) != 1 || got[0] != "carol" {
				t.Errorf("Principals: got %q", got)
			}
		})
	}
}
