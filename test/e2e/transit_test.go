package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// TestTransitThroughTheOpenBaoClient: encrypt, rotate, decrypt the old
// ciphertext, rewrap it to the new version, refuse it below
// min_decryption_version, and a batch with one bad item.
func TestTransitThroughTheOpenBaoClient(t *testing.T) {
	s := newServer(t)
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("mount transit: %v", err)
	}
	if _, err := c.Logical().Write("transit/keys/app", nil); err != nil {
		t.Fatalf("create key: %v", err)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("card 4111 1111 1111 1111"))
	v1 := dataString(t, mustWrite(t, c, "transit/encrypt/app", map[string]any{"plaintext": plain}), "ciphertext")
	if !strings.HasPrefix(v1, "vault:v1:") {
		t.Fatalf("ciphertext %q is not Vault's vault:v1:... format", v1)
	}
	decrypt := func(ct string) (string, error) {
		sec, err := c.Logical().Write("transit/decrypt/app", map[string]any{"ciphertext": ct})
		if err != nil {
			return "", err
		}
		return dataString(t, sec, "plaintext"), nil
	}
	if got, err := decrypt(v1); err != nil || got != plain {
		t.Fatalf("decrypt v1 = %q, %v", got, err)
	}
	if _, err := c.Logical().Write("transit/keys/app/rotate", nil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if got, err := decrypt(v1); err != nil || got != plain {
		t.Fatalf("decrypt v1 after rotate = %q, %v", got, err)
	}
	v2 := dataString(t, mustWrite(t, c, "transit/rewrap/app", map[string]any{"ciphertext": v1}), "ciphertext")
	if !strings.HasPrefix(v2, "vault:v2:") {
		t.Fatalf("rewrap gave %q, want vault:v2:...", v2)
	}
	if _, err := c.Logical().Write("transit/keys/app/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatalf("config: %v", err)
	}
	if _, err := decrypt(v1); responseStatus(err) != http.StatusBadRequest {
		t.Fatalf("decrypt below min_decryption_version: %v, want 400", err)
	}
	if got, err := decrypt(v2); err != nil || got != plain {
		t.Fatalf("decrypt v2 = %q, %v", got, err)
	}
	// A batch with a bad item is Vault's 400 that still carries every
	// item's result; partial_failure_response_code turns it into a 200.
	batchBody := func(extra string) string {
		return `{"batch_input":[{"ciphertext":"` + v2 + `"},{"ciphertext":"vault:v2:bm90IGEgY2lwaGVydGV4dA=="}]` + extra + `}`
	}
	for _, tc := range []struct {
		extra string
		code  int
	}{{"", http.StatusBadRequest}, {`,"partial_failure_response_code":200`, http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodPut, s.url()+"/v1/transit/decrypt/app", strings.NewReader(batchBody(tc.extra)))
		req.Header.Set("X-Vault-Token", init.RootToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct {
				BatchResults []map[string]any `json:"batch_results"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.code || len(out.Data.BatchResults) != 2 {
			t.Fatalf("batch%s: status %d, %d results (%v), want %d and 2", tc.extra, resp.StatusCode, len(out.Data.BatchResults), err, tc.code)
		}
		first, second := out.Data.BatchResults[0], out.Data.BatchResults[1]
		if first["plaintext"] != plain || first["error"] != nil && first["error"] != "" {
			t.Fatalf("batch item 0 = %v", first)
		}
		if e, _ := second["error"].(string); e == "" {
			t.Fatalf("batch item 1 (bad ciphertext) = %v, want an error", second)
		}
	}
}
