package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// ceremonyCLI runs vaultctl against one server and checks every command's
// exit code, and that nothing secret (keys, tokens, OTPs) reaches stderr.
type ceremonyCLI struct {
	t       *testing.T
	s       *server
	secrets []string
}

// run runs vaultctl with token and stdin, wants exit code, returns stdout.
func (c *ceremonyCLI) run(token, stdin string, code int, args ...string) string {
	c.t.Helper()
	out, errOut, got := c.s.vaultctl(token, stdin, args...)
	if got != code {
		c.t.Fatalf("vaultctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
	}
	for _, s := range c.secrets {
		if s != "" && strings.Contains(errOut, s) {
			c.t.Fatalf("vaultctl %s printed a secret on stderr: %s", strings.Join(args, " "), errOut)
		}
	}
	return out
}

// json runs vaultctl with -format=json and decodes its output into v.
func (c *ceremonyCLI) json(token, stdin string, v any, args ...string) {
	c.t.Helper()
	out := c.run(token, stdin, 0, append([]string{"-format=json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("vaultctl %s: output %q: %v", strings.Join(args, " "), out, err)
	}
}

// rekeyResult is the json output of the update that completes a rekey.
type rekeyResult struct {
	Complete          bool     `json:"complete"`
	KeysB64           []string `json:"keys_base64"`
	VerificationNonce string   `json:"verification_nonce"`
}

// TestVaultctlKeyCeremonies drives a real vaultd with the real vaultctl
// binary through the key ceremonies, as an operator would: init 3/2,
// rekey to 5/3 (in one case with verification of the new keys), generate
// a root token from the new keys and decode it, rotate the barrier key;
// in one case also OpenBao's rotate-keys (5/3 to 4/2, with the generated
// root token). Then seal: the original keys no longer unseal, the final
// ones do, and the data written before is intact.
func TestVaultctlKeyCeremonies(t *testing.T) {
	tests := []struct {
		name       string
		verify     bool // rekey -init -verify, then verify the new keys
		ownOTP     bool // generate-root with -generate-otp and -init -otp
		rotateKeys bool // then rotate-keys 5/3 -> 4/2
	}{
		{name: "rekey", rotateKeys: true},
		{name: "rekey with verification", verify: true, ownOTP: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ceremonyCLI{t: t, s: newServer(t)}
			var init struct {
				KeysB64 []string `json:"unseal_keys_b64"`
				Root    string   `json:"root_token"`
			}
			c.json("", "", &init, "operator", "init", "-key-shares=3", "-key-threshold=2")
			original, root := init.KeysB64, init.Root
			c.secrets = append(c.secrets, root)
			c.secrets = append(c.secrets, original...)
			c.run("", "", 0, "operator", "unseal", original[0])
			c.run("", "", 0, "operator", "unseal", original[2])
			c.run(root, "", 0, "secrets", "enable", "-path=secret", "kv-v2")
			c.run(root, "", 0, "kv", "put", "secret/app", "password=hunter2")

			// Rekey 3/2 -> 5/3: one current key as the argument, one on stdin.
			initArgs := []string{"operator", "rekey", "-init", "-key-shares=5", "-key-threshold=3"}
			if tt.verify {
				initArgs = append(initArgs, "-verify")
			}
			if out := c.run("", "", 0, initArgs...); !strings.Contains(out, "New Shares               5") {
				t.Fatalf("rekey -init: %s", out)
			}
			var st struct {
				Nonce    string `json:"nonce"`
				Started  bool   `json:"started"`
				Required int    `json:"required"`
			}
			c.json("", "", &st, "operator", "rekey", "-status")
			if !st.Started || st.Nonce == "" || st.Required != 2 {
				t.Fatalf("rekey -status: %+v", st)
			}
			if out := c.run("", "", 0, "operator", "rekey", "-nonce="+st.Nonce, original[1]); !strings.Contains(out, "1/2") {
				t.Fatalf("rekey with the first key: %s", out)
			}
			var rk rekeyResult
			c.json("", original[0]+"\n", &rk, "operator", "rekey", "-nonce="+st.Nonce, "-")
			if !rk.Complete || len(rk.KeysB64) != 5 || (rk.VerificationNonce != "") != tt.verify {
				t.Fatalf("rekey result: %+v", rk)
			}
			rekeyed := rk.KeysB64
			c.secrets = append(c.secrets, rekeyed...)

			if tt.verify {
				// The new keys are pending: the wrong ones (the current
				// keys) do not verify them; three of the new ones do, given
				// as the argument, as a line of stdin (the nonce then
				// defaults to the verification's) and with "-".
				vn := rk.VerificationNonce
				c.run("", "", 0, "operator", "rekey", "-verify", "-nonce="+vn, original[0])
				c.run("", "", 0, "operator", "rekey", "-verify", "-nonce="+vn, original[1])
				if _, errOut, code := c.s.vaultctl("", "", "operator", "rekey", "-verify", "-nonce="+vn, original[2]); code != 2 ||
					!strings.Contains(errOut, "Error posting unseal key") {
					t.Fatalf("the current keys as the new ones: exit %d, %s", code, errOut)
				}
				var vs struct {
					Nonce    string `json:"nonce"`
					Progress int    `json:"progress"`
				}
				c.json("", "", &vs, "operator", "rekey", "-status", "-verify")
				if vs.Nonce == "" || vs.Progress != 0 {
					t.Fatalf("verification after a mismatch: %+v", vs)
				}
				vn = vs.Nonce
				c.run("", "", 0, "operator", "rekey", "-verify", "-nonce="+vn, rekeyed[0])
				c.run("", rekeyed[3]+"\n", 0, "operator", "rekey", "-verify")
				if out := c.run("", rekeyed[4], 0, "operator", "rekey", "-verify", "-nonce="+vn, "-"); !strings.Contains(out, "Rekey verification successful") {
					t.Fatalf("last verification key: %s", out)
				}
			}
			if out := c.run("", "", 0, "operator", "rekey", "-status"); !strings.Contains(out, "Started    false") {
				t.Fatalf("rekey still in progress: %s", out)
			}

			// Generate a root token from three new keys and decode it.
			var gen struct {
				Nonce string `json:"nonce"`
				OTP   string `json:"otp"`
			}
			otp := ""
			if tt.ownOTP {
				otp = strings.TrimSpace(c.run("", "", 0, "operator", "generate-root", "-generate-otp"))
				c.json("", "", &gen, "operator", "generate-root", "-init", "-otp="+otp)
			} else {
				c.json("", "", &gen, "operator", "generate-root", "-init")
				otp = gen.OTP
			}
			if len(otp) != 36 || gen.Nonce == "" {
				t.Fatalf("generate-root -init: otp %q, %+v", otp, gen)
			}
			c.secrets = append(c.secrets, otp)
			c.run("", "", 0, "operator", "generate-root", "-nonce="+gen.Nonce, rekeyed[1])
			c.run("", rekeyed[2]+"\n", 0, "operator", "generate-root")
			var done struct {
				Complete     bool   `json:"complete"`
				EncodedToken string `json:"encoded_token"`
			}
			c.json("", rekeyed[4], &done, "operator", "generate-root", "-nonce="+gen.Nonce, "-")
			if !done.Complete || done.EncodedToken == "" {
				t.Fatalf("generate-root result: %+v", done)
			}
			token := c.run("", "", 0, "operator", "generate-root", "-decode="+done.EncodedToken, "-otp="+otp)
			if !strings.HasPrefix(token, "svs.") || token == root {
				t.Fatalf("decoded token %q", token)
			}
			c.secrets = append(c.secrets, token)
			if pw := c.run(token, "", 0, "kv", "get", "-field=password", "secret/app"); strings.TrimSpace(pw) != "hunter2" {
				t.Fatalf("kv get with the generated root token: %q", pw)
			}

			// Rotate the barrier key: a new term, shown in both formats.
			if out := c.run(token, "", 0, "operator", "rotate"); !strings.Contains(out, "Success! Rotated key") || !strings.Contains(out, "Key Term            2") {
				t.Fatalf("operator rotate: %s", out)
			}
			var ks struct {
				Term int `json:"term"`
			}
			c.json(token, "", &ks, "operator", "rotate")
			if ks.Term != 3 {
				t.Fatalf("term after two rotations: %d", ks.Term)
			}
			c.run(token, "", 0, "kv", "put", "secret/after", "note=rotated")

			final, threshold := rekeyed, 3
			if tt.rotateKeys {
				// OpenBao's name, with the token: refused without one.
				c.run("", "", 2, "operator", "rotate-keys", "-init", "-n=4", "-t=2")
				c.run(token, "", 0, "operator", "rotate-keys", "-init", "-n=4", "-t=2")
				c.json(token, "", &st, "operator", "rotate-keys", "-status")
				for _, k := range rekeyed[:2] {
					c.run(token, "", 0, "operator", "rotate-keys", "-nonce="+st.Nonce, k)
				}
				var rot rekeyResult
				c.json(token, "", &rot, "operator", "rotate-keys", "-nonce="+st.Nonce, rekeyed[2])
				if !rot.Complete || len(rot.KeysB64) != 4 {
					t.Fatalf("rotate-keys result: %+v", rot)
				}
				final, threshold = rot.KeysB64, 2
				c.secrets = append(c.secrets, final...)
			}

			// Seal: the original keys are refused (at the threshold), the
			// final ones unseal, the data is intact.
			c.run(token, "", 0, "operator", "seal")
			refused := ""
			for _, k := range original[:threshold] {
				if _, errOut, code := c.s.vaultctl("", "", "operator", "unseal", k); code != 0 {
					refused = errOut
					break
				}
			}
			if !strings.Contains(refused, "400 Bad Request") {
				t.Fatalf("the original keys still unseal (%q)", refused)
			}
			c.run("", "", 2, "status")
			c.run("", "", 0, "operator", "unseal", "-reset")
			for _, k := range final[len(final)-threshold:] {
				c.run("", "", 0, "operator", "unseal", k)
			}
			c.run("", "", 0, "status")
			for path, want := range map[string]string{"secret/app": "hunter2", "secret/after": "rotated"} {
				field := "password"
				if path == "secret/after" {
					field = "note"
				}
				if got := c.run(root, "", 0, "kv", "get", "-field="+field, path); strings.TrimSpace(got) != want {
					t.Fatalf("%s after the ceremonies: %q", path, got)
				}
			}
		})
	}
}
