package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// Canned answers of the generate-root ceremony (Vault's bare shape).
const (
	rootIdle     = `{"nonce":"","started":false,"progress":0,"required":2,"complete":false,"encoded_token":"","encoded_root_token":"","pgp_fingerprint":"","otp":"","otp_length":36}`
	rootStarted  = `{"nonce":"gr-1","started":true,"progress":0,"required":2,"complete":false,"encoded_token":"","encoded_root_token":"","pgp_fingerprint":"","otp":"","otp_length":36}`
	rootWithOTP  = `{"nonce":"gr-1","started":true,"progress":0,"required":2,"complete":false,"encoded_token":"","encoded_root_token":"","pgp_fingerprint":"","otp":"Xo3bNf8QzT1yWk5vR2uLm9PcAe7Hs4Jd6GiE","otp_length":36}`
	rootHalfway  = `{"nonce":"gr-1","started":true,"progress":1,"required":2,"complete":false,"encoded_token":"","encoded_root_token":"","pgp_fingerprint":"","otp":"","otp_length":36}`
	rootComplete = `{"nonce":"gr-1","started":true,"progress":2,"required":2,"complete":true,"encoded_token":"KxlATBoXCzkqDgETDxJiGmpHPihfaz0tIlJ1PjYAOSVXfi4j","encoded_root_token":"KxlATBoXCzkqDgETDxJiGmpHPihfaz0tIlJ1PjYAOSVXfi4j","pgp_fingerprint":"","otp":"","otp_length":36}`

	// encodedRoot is the example token svs.Tq3hPZ0jXyWl8uKd2RmNc7BvE4sAa9Gf
	// encoded with testOTP.
	encodedRoot = "KxlATBoXCzkqDgETDxJiGmpHPihfaz0tIlJ1PjYAOSVXfi4j"
	testOTP     = "Xo3bNf8QzT1yWk5vR2uLm9PcAe7Hs4Jd6GiE"
	decodedRoot = "svs.Tq3hPZ0jXyWl8uKd2RmNc7BvE4sAa9Gf"
)

func TestRunOperatorGenerateRoot(t *testing.T) {
	t.Parallel()
	started := map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootStarted}}
	runCases(t, []runCase{
		{name: "generate-root status", args: []string{"operator", "generate-root", "-status"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootIdle}}, golden: true,
			requests: []string{"GET /v1/sys/generate-root/attempt"}},
		{name: "generate-root status json", args: []string{"operator", "generate-root", "-status", "-format=json"},
			routes: started, golden: true},
		{name: "generate-root init server otp", args: []string{"operator", "generate-root", "-init"},
			routes: map[string]reply{"PUT /v1/sys/generate-root/attempt": {200, rootWithOTP}}, golden: true,
			stderr:   "A One-Time-Password has been generated for you and is shown in the OTP field.\nYou will need this value to decode the resulting root token, so keep it safe.\n",
			requests: []string{"PUT /v1/sys/generate-root/attempt {}"}},
		{name: "generate-root init own otp", args: []string{"operator", "generate-root", "-init", "-otp=" + testOTP},
			routes: map[string]reply{"PUT /v1/sys/generate-root/attempt": {200, rootStarted}}, golden: true,
			requests: []string{`PUT /v1/sys/generate-root/attempt {"otp":"` + testOTP + `"}`}},
		{name: "generate-root init yaml", args: []string{"operator", "generate-root", "-init", "-format=yaml"},
			routes: map[string]reply{"PUT /v1/sys/generate-root/attempt": {200, rootWithOTP}}, golden: true},
		{name: "generate-root init already started", args: []string{"operator", "generate-root", "-init"},
			routes: map[string]reply{"PUT /v1/sys/generate-root/attempt": {400, `{"errors":["root generation already in progress"]}`}},
			code:   2, stderr: "Error initializing root generation: generate-root init: client: PUT /v1/sys/generate-root/attempt: 400 Bad Request: root generation already in progress\n"},
		{name: "generate-root cancel", args: []string{"operator", "generate-root", "-cancel"},
			routes: map[string]reply{"DELETE /v1/sys/generate-root/attempt": {204, ""}},
			stdout: "Success! Root token generation canceled (if it was started)\n", requests: []string{"DELETE /v1/sys/generate-root/attempt"}},
		{name: "generate-root key argument", args: []string{"operator", "generate-root", "-nonce=gr-1", "key-one"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootStarted}, "PUT /v1/sys/generate-root/update": {200, rootHalfway}},
			golden: true, requests: []string{"GET /v1/sys/generate-root/attempt", `PUT /v1/sys/generate-root/update {"key":"key-one","nonce":"gr-1"}`}},
		{name: "generate-root last key", args: []string{"operator", "generate-root", "-nonce=gr-1", "-"}, stdin: "key-two\n",
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootHalfway}, "PUT /v1/sys/generate-root/update": {200, rootComplete}},
			golden: true, requests: []string{"GET /v1/sys/generate-root/attempt", `PUT /v1/sys/generate-root/update {"key":"key-two","nonce":"gr-1"}`}},
		{name: "generate-root last key json", args: []string{"-format=json", "operator", "generate-root", "-nonce=gr-1", "key-two"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootHalfway}, "PUT /v1/sys/generate-root/update": {200, rootComplete}},
			golden: true},
		{name: "generate-root key on stdin line takes the attempt nonce", args: []string{"operator", "generate-root"}, stdin: "key-one\n",
			routes:   map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootStarted}, "PUT /v1/sys/generate-root/update": {200, rootHalfway}},
			requests: []string{"GET /v1/sys/generate-root/attempt", `PUT /v1/sys/generate-root/update {"key":"key-one","nonce":"gr-1"}`},
			stdout:   "Nonce         gr-1\nStarted       true\nProgress      1/2\nComplete      false\nOTP Length    36\n"},

		// -decode is local: no request at all.
		{name: "generate-root decode", args: []string{"operator", "generate-root", "-decode=" + encodedRoot, "-otp=" + testOTP},
			stdout: decodedRoot, requests: []string{}},
		{name: "generate-root decode json", args: []string{"operator", "generate-root", "-format=json", "-decode", encodedRoot, "-otp", testOTP},
			stdout: "{\n  \"token\": \"" + decodedRoot + "\"\n}\n", requests: []string{}},
		{name: "generate-root decode stdin", args: []string{"operator", "generate-root", "-decode=-", "-otp=" + testOTP},
			stdin: encodedRoot + "\n", stdout: decodedRoot, requests: []string{}},
		{name: "generate-root decode without server", args: []string{"operator", "generate-root", "-decode=" + encodedRoot, "-otp=" + testOTP},
			env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"}, stdout: decodedRoot},
		{name: "generate-root decode needs otp", args: []string{"operator", "generate-root", "-decode=" + encodedRoot}, code: 1,
			stderr: "Missing otp: use -otp to supply it\n", requests: []string{}},
		{name: "generate-root decode wrong otp", args: []string{"operator", "generate-root", "-decode=" + encodedRoot, "-otp=short"}, code: 1,
			stderr: "Error decoding root token: client: invalid argument: decode root token: the\nencoded token is 36 bytes, the OTP 5: not the OTP it was encoded with\n", requests: []string{}},
		{name: "generate-root decode empty stdin", args: []string{"operator", "generate-root", "-decode=-", "-otp=" + testOTP}, code: 1,
			stderr: `Missing encoded value. When using -decode="-" value must be passed via stdin.`, requests: []string{}},

		// Mistakes and refusals.
		{name: "generate-root not started", args: []string{"operator", "generate-root", "-nonce=gr-1", "key-one"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootIdle}}, code: 1,
			stderr: "No root generation is in progress. Start a root generation by running\n\"vaultctl operator generate-root -init\".\n" +
				"If starting root generation using the OTP method and generating your own OTP,\nthe length of the OTP string needs to be 36 characters in length.\n",
			requests: []string{"GET /v1/sys/generate-root/attempt"}},
		{name: "generate-root key needs the nonce", args: []string{"operator", "generate-root", "key-one"}, routes: started, code: 1,
			stderr: "Missing nonce value: specify it via the -nonce flag\n", requests: []string{"GET /v1/sys/generate-root/attempt"}},
		{name: "generate-root wrong nonce", args: []string{"operator", "generate-root", "-nonce=old", "key-one"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, rootStarted},
				"PUT /v1/sys/generate-root/update": {400, `{"errors":["seal: wrong nonce: want \"gr-1\""]}`}},
			code: 2, stderr: "Error posting unseal key: generate-root update: client: PUT /v1/sys/generate-root/update: 400 Bad Request"},
		{name: "generate-root status sealed", args: []string{"operator", "generate-root", "-status"},
			routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {503, `{"errors":["Vault is sealed"]}`}}, code: 2,
			stderr: "Error getting root generation status: generate-root status: client: GET /v1/sys/generate-root/attempt: 503 Service Unavailable: Vault is sealed\n"},
		{name: "generate-root pgp key refused", args: []string{"operator", "generate-root", "-init", "-pgp-key=keybase:me"}, code: 1,
			stderr: "-pgp-key is not supported", requests: []string{}},
		{name: "generate-root recovery token refused", args: []string{"operator", "generate-root", "-init", "-recovery-token"}, code: 1,
			stderr: "-recovery-token is not supported", requests: []string{}},
		{name: "generate-root too many arguments", args: []string{"operator", "generate-root", "a", "b"}, code: 1,
			stderr: "Too many arguments (expected 0-1, got 2)", requests: []string{}},
		{name: "generate-root unknown flag", args: []string{"operator", "generate-root", "--dr-token"}, code: 1,
			stderr: "unknown flag: --dr-token", requests: []string{}},
	})
}

func TestRunOperatorGenerateOTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status string
		args         []string
		wantLen      int
	}{
		{name: "server length", status: rootIdle, wantLen: 36},
		{name: "legacy server without a length", status: `{"started":false,"otp_length":0}`, wantLen: defaultOTPLength},
		{name: "json", status: strings.Replace(rootIdle, `"otp_length":36`, `"otp_length":40`, 1), args: []string{"-format=json"}, wantLen: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scripted{routes: map[string]reply{"GET /v1/sys/generate-root/attempt": {200, tt.status}}}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			var stdout, stderr bytes.Buffer
			args := append([]string{"operator", "generate-root", "-generate-otp"}, tt.args...)
			code := Run(context.Background(), args, nil, &stdout, &stderr,
				func(k string) string { return map[string]string{"VAULT_ADDR": hs.URL}[k] })
			if code != 0 || stderr.Len() > 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			otp := stdout.String()
			if tt.args != nil {
				var out struct {
					OTP       string `json:"otp"`
					OTPLength int    `json:"otp_length"`
				}
				if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.OTPLength != tt.wantLen {
					t.Fatalf("json %q: %v", stdout.String(), err)
				}
				otp = out.OTP
			}
			if len(otp) != tt.wantLen || strings.Trim(otp, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
				t.Fatalf("otp %q: want %d base62 characters", otp, tt.wantLen)
			}
			if len(srv.got) != 1 || srv.got[0] != "GET /v1/sys/generate-root/attempt" {
				t.Fatalf("requests %q", srv.got)
			}
		})
	}
}

func TestRandomBase62IsUniform(t *testing.T) {
	t.Parallel()
	counts := map[rune]int{}
	const n = 62 * 400
	s, err := randomBase62(n)
	if err != nil || len(s) != n {
		t.Fatalf("randomBase62: %d chars, %v", len(s), err)
	}
	for _, r := range s {
		counts[r]++
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	for r, c := range counts {
		// Expected 400 each; a bias (such as b%62 over all 256 bytes, which
		// favours the first 8 characters by 5/4) would show far outside.
		if c < 250 || c > 560 {
			t.Errorf("character %q drawn %d times of %d, want about 400", r, c, n)
		}
	}
}

func TestRunOperatorRotate(t *testing.T) {
	t.Parallel()
	keyStatus := `{"request_id":"r","data":{"term":4,"install_time":"2024-01-02T03:04:05.123456Z","encryptions":1234}}`
	rotated := map[string]reply{"PUT /v1/sys/rotate": {204, ""}, "GET /v1/sys/key-status": {200, keyStatus}}
	runCases(t, []runCase{
		{name: "rotate", args: []string{"operator", "rotate"}, routes: rotated, golden: true,
			requests: []string{"PUT /v1/sys/rotate", "GET /v1/sys/key-status"}},
		{name: "rotate json", args: []string{"operator", "rotate", "-format=json"}, routes: rotated,
			stdout: "{\n  \"term\": 4,\n  \"install_time\": \"2024-01-02T03:04:05.123456Z\",\n  \"encryptions\": 1234\n}\n"},
		{name: "rotate yaml", args: []string{"operator", "rotate"}, env: map[string]string{"VAULT_FORMAT": "yaml"}, routes: rotated,
			stdout: "encryptions: 1234\ninstall_time: \"2024-01-02T03:04:05.123456Z\"\nterm: 4\n"},
		{name: "rotate forbidden", args: []string{"operator", "rotate"},
			routes: map[string]reply{"PUT /v1/sys/rotate": {403, `{"errors":["permission denied"]}`}}, code: 2,
			stderr: "Error rotating key: rotate: client: PUT /v1/sys/rotate: 403 Forbidden: permission denied\n", requests: []string{"PUT /v1/sys/rotate"}},
		{name: "rotate key status fails", args: []string{"operator", "rotate"},
			routes: map[string]reply{"PUT /v1/sys/rotate": {204, ""}}, code: 2,
			stderr: "Error reading key status: key status: client: GET /v1/sys/key-status: 404 Not Found\n"},
		{name: "rotate takes no arguments", args: []string{"operator", "rotate", "now"}, code: 1,
			stderr: "Too many arguments (expected 0, got 1)", requests: []string{}},
	})
}
