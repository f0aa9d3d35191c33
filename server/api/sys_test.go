package api_test

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/server/api"
)

var sealStatusKeys = []string{"type", "initialized", "sealed", "t", "n", "progress", "nonce", "version",
	"build_date", "migration", "recovery_seal", "storage_type"}

func TestSysBeforeInit(t *testing.T) {
	ts := newTestServer(t, api.Options{})
	tests := []struct {
		name, method, path, body string
		want                     int
		check                    func(t *testing.T, r result)
	}{
		{"init status", "GET", "/v1/sys/init", "", 200, func(t *testing.T, r result) {
			if string(r.body) != "{\"initialized\":false}\n" {
				t.Errorf("body = %q", r.body)
			}
		}},
		{"seal-status shape", "GET", "/v1/sys/seal-status", "", 200, func(t *testing.T, r result) {
			if got := topKeys(t, r.body); !slices.Equal(got, sealStatusKeys) {
				t.Errorf("keys = %v, want %v", got, sealStatusKeys)
			}
			var m map[string]any
			r.json(t, &m)
			for _, k := range []string{"t", "n", "progress"} {
				if _, ok := m[k].(float64); !ok {
					t.Errorf("%s = %#v, want a JSON number", k, m[k])
				}
			}
			if m["sealed"] != true || m["initialized"] != false || m["type"] != "shamir" {
				t.Errorf("status = %v", m)
			}
		}},
		{"health uninitialised", "GET", "/v1/sys/health", "", 501, func(t *testing.T, r result) {
			var m map[string]any
			r.json(t, &m)
			if _, ok := m["server_time_utc"].(float64); !ok {
				t.Errorf("server_time_utc = %#v, want a JSON number", m["server_time_utc"])
			}
			if m["initialized"] != false || m["sealed"] != true {
				t.Errorf("health = %v", m)
			}
		}},
		{"health head", "HEAD", "/v1/sys/health", "", 501, func(t *testing.T, r result) {
			if len(r.body) != 0 {
				t.Errorf("HEAD body = %q", r.body)
			}
		}},
		{"health uninitcode override", "GET", "/v1/sys/health?uninitcode=200", "", 200, nil},
		{"health bad code", "GET", "/v1/sys/health?uninitcode=abc", "", 400, func(t *testing.T, r result) {
			if len(r.errorsOf(t)) != 1 {
				t.Errorf("errors = %s", r.body)
			}
		}},
		{"health code out of range", "GET", "/v1/sys/health?uninitcode=99", "", 400, nil},
		{"init threshold above shares", "PUT", "/v1/sys/init", `{"secret_shares":2,"secret_threshold":3}`, 400, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); len(errs) != 1 || errs[0] == "" {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"init malformed json", "PUT", "/v1/sys/init", `{"secret_shares":`, 400, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); !slices.Equal(errs, []string{"error parsing JSON"}) {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"init pgp keys rejected", "PUT", "/v1/sys/init", `{"secret_shares":1,"secret_threshold":1,"pgp_keys":["x"]}`, 400, nil},
		{"unseal before init", "PUT", "/v1/sys/unseal", `{"key":"00"}`, 400, nil},
		{"unseal without key", "PUT", "/v1/sys/unseal", `{}`, 400, nil},
		{"logical while uninitialised", "GET", "/v1/secret/data/x", "", 503, func(t *testing.T, r result) {
			if errs := r.errorsOf(t); !slices.Equal(errs, []string{"Vault is sealed"}) {
				t.Errorf("errors = %q", errs)
			}
		}},
		{"seal-status rejects PUT", "PUT", "/v1/sys/seal-status", "", 405, nil},
		{"health rejects DELETE", "DELETE", "/v1/sys/health", "", 405, nil},
		{"unseal rejects GET", "GET", "/v1/sys/unseal", "", 405, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, tc.method, tc.path, "", tc.body)
			if r.status != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestInitUnsealSealLifecycle(t *testing.T) {
	ts := newTestServer(t, api.Options{})
	var init struct {
		Keys       []string `json:"keys"`
		KeysBase64 []string `json:"keys_base64"`
		RootToken  string   `json:"root_token"`
	}
	r := ts.mustJSON(t, "POST", "/v1/sys/init", "", `{"secret_shares":3,"secret_threshold":2,"stored_shares":0,"pgp_keys":null}`, 200, &init)
	if got := topKeys(t, r.body); !slices.Equal(got, []string{"keys", "keys_base64", "root_token"}) {
		t.Errorf("init keys = %v", got)
	}
	if len(init.Keys) != 3 || len(init.KeysBase64) != 3 || init.RootToken == "" {
		t.Fatalf("init = %+v", init)
	}
	raw0, _ := hex.DecodeString(init.Keys[0])
	if base64.StdEncoding.EncodeToString(raw0) != init.KeysBase64[0] {
		t.Errorf("keys_base64[0] is not keys[0] re-encoded")
	}
	ts.mustJSON(t, "PUT", "/v1/sys/init", "", `{"secret_shares":1,"secret_threshold":1}`, 400, nil)

	sealed := []struct {
		path string
		want int
	}{
		{"/v1/sys/health", 503},
		{"/v1/sys/health?sealedcode=299", 299},
		{"/v1/sys/leader", 503},
		{"/v1/sys/mounts", 503},
		{"/v1/sys/init", 200},
		{"/v1/sys/seal-status", 200},
	}
	for _, tc := range sealed {
		t.Run("sealed "+tc.path, func(t *testing.T) {
			if r := ts.do(t, "GET", tc.path, init.RootToken, ""); r.status != tc.want {
				t.Errorf("GET %s = %d %s, want %d", tc.path, r.status, r.body, tc.want)
			}
		})
	}

	var st struct {
		Sealed   bool `json:"sealed"`
		Progress int  `json:"progress"`
		T        int  `json:"t"`
	}
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"zz-not-a-key"}`, 400, nil)
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+init.Keys[0]+`"}`, 200, &st)
	if !st.Sealed || st.Progress != 1 || st.T != 2 {
		t.Fatalf("after one share: %+v", st)
	}
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"reset":true}`, 200, &st)
	if st.Progress != 0 {
		t.Fatalf("after reset: %+v", st)
	}
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+init.KeysBase64[1]+`"}`, 200, &st)
	ts.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+init.Keys[2]+`"}`, 200, &st)
	if st.Sealed {
		t.Fatalf("still sealed: %+v", st)
	}

	unsealedCases := []struct {
		path string
		want int
	}{
		{"/v1/sys/health", 200},
		{"/v1/sys/health?activecode=202", 202},
		{"/v1/sys/leader", 200},
	}
	for _, tc := range unsealedCases {
		t.Run("unsealed "+tc.path, func(t *testing.T) {
			if r := ts.do(t, "GET", tc.path, "", ""); r.status != tc.want {
				t.Errorf("GET %s = %d %s, want %d", tc.path, r.status, r.body, tc.want)
			}
		})
	}
	var leader map[string]any
	ts.mustJSON(t, "GET", "/v1/sys/leader", "", "", 200, &leader)
	if leader["is_self"] != true || leader["ha_enabled"] != false {
		t.Errorf("leader = %v", leader)
	}

	if r := ts.do(t, "PUT", "/v1/sys/seal", "", ""); r.status != 403 {
		t.Fatalf("seal without token = %d %s", r.status, r.body)
	}
	r = ts.do(t, "PUT", "/v1/sys/seal", init.RootToken, "")
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("seal = %d %q", r.status, r.body)
	}
	ts.mustJSON(t, "GET", "/v1/sys/seal-status", "", "", 200, &st)
	if !st.Sealed {
		t.Fatal("not sealed after sys/seal")
	}
}
