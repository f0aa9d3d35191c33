package audit_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/audit"
)

func TestEntryFormat(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	d := openFile(t, path, k.opts())
	logN(t, d, 2)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SENTINEL"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Fatalf("plaintext %q in the log", s)
		}
	}
	lines := readLines(t, path)
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want an open checkpoint, 2 entries and a close checkpoint", len(lines))
	}
	h := func(v string) string {
		s, err := audit.Hash(k.root, 1, v)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	open, req, resp, closing := decode(t, lines[0]), decode(t, lines[1]), decode(t, lines[2]), decode(t, lines[3])
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"type request", req["type"], "request"},
		{"type response", resp["type"], "response"},
		{"time", req["time"], "2026-12-01T12:00:00Z"},
		{"open type", open["type"], "checkpoint"},
		{"open reason", open["reason"], "open"},
		{"open seq", open["seq"], 1.0},
		{"open prev_hash", open["prev_hash"], audit.ZeroHash},
		{"open gen", open["hmac_key_gen"], 1.0},
		{"seq", req["seq"], 2.0},
		{"prev_hash", req["prev_hash"], audit.LineHash(lines[0])},
		{"gen", req["hmac_key_gen"], 1.0},
		{"client_token", get(req, "auth", "client_token"), h("SENTINEL-TOKEN")},
		{"accessor", get(req, "auth", "accessor"), h("SENTINEL-ACCESSOR")},
		{"display_name", get(req, "auth", "display_name"), "token-app"},
		{"entity_id", get(req, "auth", "entity_id"), "ent-1"},
		{"metadata", get(req, "auth", "metadata", "team"), "core"},
		{"policies", len(get(req, "auth", "policies").([]any)), 2},
		{"request id", get(req, "request", "id"), "req-id"},
		{"operation", get(req, "request", "operation"), "update"},
		{"path", get(req, "request", "path"), "secret/data/app"},
		{"remote_address", get(req, "request", "remote_address"), "10.0.0.1"},
		{"mount_type", get(req, "request", "mount_type"), "kv"},
		{"data leaf", get(req, "request", "data", "password"), h("SENTINEL-PW")},
		{"list string", get(req, "request", "data", "nested", "list").([]any)[0], h("SENTINEL-L0")},
		{"list number", get(req, "request", "data", "nested", "list").([]any)[1], h("42")},
		{"list bool", get(req, "request", "data", "nested", "list").([]any)[2], h("true")},
		{"deep map", get(req, "request", "data", "nested", "list").([]any)[3].(map[string]any)["deep"], h("SENTINEL-DEEP")},
		{"no response in request", req["response"], nil},
		{"response data", get(resp, "response", "data", "value"), h("SENTINEL-RESP")},
		{"lease_id", get(resp, "response", "secret", "lease_id"), "lease/1"},
		{"cedar decision", get(req, "cedar", "decision"), "allow"},
		{"cedar policy", get(req, "cedar", "policy_ids").([]any)[0], "p1"},
		{"no status_code when unknown", get(resp, "response", "status_code"), nil},
		{"chain", resp["prev_hash"], audit.LineHash(lines[1])},
		{"checkpoint", closing["type"], "checkpoint"},
		{"checkpoint reason", closing["reason"], "close"},
		{"checkpoint count", closing["count"], 2.0},
		{"checkpoint key", closing["key_id"], audit.KeyID(k.pub)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	for _, cp := range []string{string(lines[0]), string(lines[3])} {
		if !strings.HasSuffix(cp, `"}`) || !strings.Contains(cp, `","reason":"`) || strings.Index(cp, `,"reason":`) > strings.Index(cp, `,"signature":"`) {
			t.Errorf("checkpoint does not end with its reason and signature: %.80s...", cp)
		}
	}
}

// TestEntryNotRetained: the device copies the data; the caller may
// change its maps after the call.
func TestEntryNotRetained(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	d := openFile(t, path, k.opts())
	e := sampleEntry(0)
	logN(t, d, 0)
	if err := d.LogRequest(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if e.RequestData["password"] != "SENTINEL-PW" {
		t.Fatalf("device modified the caller's data")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestEncodingOptions: PlainAccessor writes the accessor in the clear,
// LogRaw writes every secret in the clear; responses carry status_code
// when known.
func TestEncodingOptions(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name          string
		plainAccessor bool
		raw           bool
		// clear lists the fields written in the clear; the others are
		// HMAC'd.
		clearToken, clearAccessor, clearData bool
	}{
		{"default", false, false, false, false, false},
		{"plain accessor", true, false, false, true, false},
		{"log raw", false, true, true, true, true},
		{"log raw and plain accessor", true, true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempLog(t)
			o := k.opts()
			o.PlainAccessor, o.LogRaw = tt.plainAccessor, tt.raw
			d := openFile(t, path, o)
			req, resp := sampleEntry(0), sampleEntry(1)
			resp.Status = 201
			if err := d.LogRequest(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			if err := d.LogResponse(t.Context(), resp); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, path)
			r, s := decode(t, lines[1]), decode(t, lines[2])
			gen := uint64(r["hmac_key_gen"].(float64))
			want := func(clear bool, v string) any {
				if clear {
					return v
				}
				h, err := audit.Hash(k.root, gen, v)
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			list := get(r, "request", "data", "nested", "list").([]any)
			checks := []struct {
				field string
				got   any
				want  any
			}{
				{"client_token", get(r, "auth", "client_token"), want(tt.clearToken, "SENTINEL-TOKEN")},
				{"accessor", get(r, "auth", "accessor"), want(tt.clearAccessor, "SENTINEL-ACCESSOR")},
				{"request data", get(r, "request", "data", "password"), want(tt.clearData, "SENTINEL-PW")},
				{"list string", list[0], want(tt.clearData, "SENTINEL-L0")},
				{"response data", get(s, "response", "data", "value"), want(tt.clearData, "SENTINEL-RESP")},
				{"status_code", get(s, "response", "status_code"), 201.0},
				{"no status_code on a request", get(r, "response", "status_code"), nil},
				{"display_name", get(r, "auth", "display_name"), "token-app"},
			}
			if tt.clearData {
				checks = append(checks, struct {
					field string
					got   any
					want  any
				}{"list number", list[1], 42.0})
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
				}
			}
			mustVerify(t, k.pub, path)
		})
	}
}
