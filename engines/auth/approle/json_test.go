package approle_test

import (
	"encoding/json"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// TestVaultJSON drives the role and secret id endpoints with request
// bodies decoded as the REST front end decodes them (numbers as
// json.Number) and checks the JSON the responses render to.
func TestVaultJSON(t *testing.T) {
	h := newHarness(t, nil)
	body := func(s string) map[string]any {
		d, err := logical.DecodeData([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	h.Must(logical.CreateOperation, "role/web", body(`{"token_policies":["a","b"],"secret_id_ttl":"10m","secret_id_num_uses":5,"token_ttl":3600,"token_max_ttl":"2h"}`))
	raw, err := json.Marshal(h.Must(logical.ReadOperation, "role/web", nil).Data)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"bind_secret_id":true,"local_secret_ids":false,"secret_id_bound_cidrs":[],"secret_id_num_uses":5,"secret_id_ttl":600,` +
		`"token_bound_cidrs":[],"token_explicit_max_ttl":0,"token_max_ttl":7200,"token_no_default_policy":false,"token_num_uses":0,` +
		`"token_period":0,"token_policies":["a","b"],"token_ttl":3600,"token_type":"default"}`
	if string(raw) != want {
		t.Fatalf("role read JSON\n got %s\nwant %s", raw, want)
	}

	resp := h.Must(logical.UpdateOperation, "role/web/secret-id", body(`{"num_uses":2,"ttl":300,"metadata":"{\"k\":\"v\"}"}`))
	raw, _ = json.Marshal(map[string]any{"ttl": resp.Data["secret_id_ttl"], "uses": resp.Data["secret_id_num_uses"]})
	if string(raw) != `{"ttl":300,"uses":2}` {
		t.Fatalf("secret id generation JSON %s", raw)
	}
	look := h.Must(logical.UpdateOperation, "role/web/secret-id/lookup", map[string]any{"secret_id": resp.Data["secret_id"]})
	raw, _ = json.Marshal(look.Data)
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back["creation_time"] != "2025-03-01T12:00:00Z" || back["expiration_time"] != "2025-03-01T12:05:00Z" ||
		back["secret_id_ttl"] != float64(300) || back["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("lookup JSON %s", raw)
	}
}
