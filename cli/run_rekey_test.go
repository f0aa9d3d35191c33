package cli

import "testing"

// Canned answers of the rekey ceremony, bare as under Vault's sys/rekey/*;
// bao() wraps one in the envelope of OpenBao's sys/rotate/root/*.
const (
	rekeyIdle       = `{"nonce":"","started":false,"t":0,"n":0,"progress":0,"required":2,"pgp_fingerprints":null,"backup":false,"verification_required":false}`
	rekeyStarted    = `{"nonce":"rk-1","started":true,"t":3,"n":5,"progress":0,"required":2,"pgp_fingerprints":null,"backup":false,"verification_required":false}`
	rekeyHalfway    = `{"nonce":"rk-1","started":true,"t":3,"n":5,"progress":1,"required":2,"pgp_fingerprints":null,"backup":false,"verification_required":false}`
	rekeyStartedVfy = `{"nonce":"rk-1","started":true,"t":3,"n":5,"progress":0,"required":2,"pgp_fingerprints":null,"backup":false,"verification_required":true}`
	rekeyDone       = `{"nonce":"rk-1","complete":true,"keys":["aa01","bb02","cc03","dd04","ee05"],"keys_base64":["qgE=","uwI=","zAM=","3QQ=","7gU="],"pgp_fingerprints":null,"backup":false,"verification_required":false}`
	rekeyDoneVfy    = `{"nonce":"rk-1","complete":true,"keys":["aa01","bb02","cc03","dd04","ee05"],"keys_base64":["qgE=","uwI=","zAM=","3QQ=","7gU="],"pgp_fingerprints":null,"backup":false,"verification_required":true,"verification_nonce":"vf-1"}`
	rekeyVerifying  = `{"nonce":"vf-1","started":true,"t":3,"n":5,"progress":1}`
	rekeyVerified   = `{"nonce":"vf-1","complete":true}`
	rekeyVerifyNext = `{"nonce":"vf-1","complete":false}`
)

func bao(data string) string {
	return `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":` + data + `,"wrap_info":null,"warnings":null,"auth":null}`
}

func TestRunOperatorRekey(t *testing.T) {
	t.Parallel()
	started := map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyStarted}}
	updating := map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyHalfway}, "PUT /v1/sys/rekey/update": {200, rekeyHalfway}}
	completing := map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyHalfway}, "PUT /v1/sys/rekey/update": {200, rekeyDone}}
	verifying := map[string]reply{"GET /v1/sys/rekey/verify": {200, rekeyVerifying}, "PUT /v1/sys/rekey/verify": {200, rekeyVerifyNext}}
	runCases(t, []runCase{
		// -init, -status, -cancel.
		{name: "rekey init", args: []string{"operator", "rekey", "-init", "-key-shares=5", "-key-threshold=3"},
			routes: map[string]reply{"PUT /v1/sys/rekey/init": {200, rekeyStarted}}, golden: true,
			stderr:   "WARNING! If you lose the keys after they are returned, there is no recovery.",
			requests: []string{`PUT /v1/sys/rekey/init {"require_verification":false,"secret_shares":5,"secret_threshold":3}`}},
		{name: "rekey init verify json", args: []string{"operator", "rekey", "-init", "-n=5", "-t", "3", "-verify", "-format=json"},
			routes: map[string]reply{"PUT /v1/sys/rekey/init": {200, rekeyStartedVfy}}, golden: true,
			requests: []string{`PUT /v1/sys/rekey/init {"require_verification":true,"secret_shares":5,"secret_threshold":3}`}},
		{name: "rekey init defaults", args: []string{"-format=yaml", "operator", "rekey", "-init"},
			routes: map[string]reply{"PUT /v1/sys/rekey/init": {200, rekeyStarted}}, golden: true,
			requests: []string{`PUT /v1/sys/rekey/init {"require_verification":false,"secret_shares":5,"secret_threshold":3}`}},
		{name: "rekey init refused by the server", args: []string{"operator", "rekey", "-init", "-key-shares=2", "-key-threshold=3"},
			routes: map[string]reply{"PUT /v1/sys/rekey/init": {400, `{"errors":["invalid seal configuration: threshold above shares"]}`}},
			code:   2, stderr: "Error initializing rekey: rekey init: client: PUT /v1/sys/rekey/init: 400 Bad Request: invalid seal configuration: threshold above shares\n"},
		{name: "rekey status idle", args: []string{"operator", "rekey", "-status"},
			routes: map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyIdle}},
			stdout: "Key        Value\n---        -----\nNonce      n/a\nStarted    false\n", requests: []string{"GET /v1/sys/rekey/init"}},
		{name: "rekey status", args: []string{"operator", "rekey", "-status"}, routes: started, golden: true},
		{name: "rekey status verify", args: []string{"operator", "rekey", "-status", "-verify"},
			routes: verifying, golden: true, requests: []string{"GET /v1/sys/rekey/verify"}},
		{name: "rekey status server down", args: []string{"operator", "rekey", "-status"},
			env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"}, code: 2, stderr: "Error reading rekey status: rekey status: client: GET /v1/sys/rekey/init: dial tcp"},
		{name: "rekey bad address", args: []string{"operator", "rekey", "-status"}, env: map[string]string{"VAULT_ADDR": "ftp://h"},
			code: 2, stderr: "Error: configure client: client: invalid argument: address \"ftp://h\"", requests: []string{}},
		{name: "rekey cancel", args: []string{"operator", "rekey", "-cancel"},
			routes: map[string]reply{"DELETE /v1/sys/rekey/init": {204, ""}},
			stdout: "Success! Canceled rekeying (if it was started)\n", requests: []string{"DELETE /v1/sys/rekey/init"}},
		{name: "rekey cancel json is silent", args: []string{"operator", "rekey", "-cancel", "-format=json"},
			routes: map[string]reply{"DELETE /v1/sys/rekey/init": {204, ""}}, stdout: ""},
		{name: "rekey cancel verify restarts it", args: []string{"operator", "rekey", "-cancel", "-verify"},
			routes:   map[string]reply{"DELETE /v1/sys/rekey/verify": {200, rekeyVerifying}},
			stdout:   "Success! Restarted the rekey verification (the new keys still await verification)\n",
			requests: []string{"DELETE /v1/sys/rekey/verify"}},

		// Providing current keys.
		{name: "rekey key argument", args: []string{"operator", "rekey", "-nonce=rk-1", "key-one"}, routes: updating, golden: true,
			requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-one","nonce":"rk-1"}`, "GET /v1/sys/rekey/init"}},
		{name: "rekey last key prints the new keys", args: []string{"operator", "rekey", "-nonce=rk-1", "key-two"},
			routes: completing, golden: true,
			requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-two","nonce":"rk-1"}`}},
		{name: "rekey last key from stdin json", args: []string{"operator", "rekey", "-format=json", "-nonce", "rk-1", "-"},
			stdin: "key-two\n", routes: completing, golden: true,
			requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-two","nonce":"rk-1"}`}},
		{name: "rekey key on stdin line takes the rekey nonce", args: []string{"operator", "rekey"},
			stdin: "  key-one  \nignored\n", routes: updating, golden: true,
			requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-one","nonce":"rk-1"}`, "GET /v1/sys/rekey/init"}},
		{name: "rekey last key with verification", args: []string{"operator", "rekey", "-nonce=rk-1", "key-two"},
			routes: map[string]reply{
				"GET /v1/sys/rekey/init": {200, rekeyStartedVfy}, "PUT /v1/sys/rekey/update": {200, rekeyDoneVfy},
				"GET /v1/sys/rekey/verify": {200, `{"nonce":"vf-1","started":true,"t":3,"n":5,"progress":0}`},
			},
			golden: true, stderr: "Again, these key shares are _not_ valid until verification is performed.",
			requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-two","nonce":"rk-1"}`, "GET /v1/sys/rekey/verify"}},
		{name: "rekey last key with verification json", args: []string{"operator", "rekey", "-format=json", "-nonce=rk-1", "key-two"},
			routes: map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyStartedVfy}, "PUT /v1/sys/rekey/update": {200, rekeyDoneVfy}},
			golden: true, requests: []string{"GET /v1/sys/rekey/init", `PUT /v1/sys/rekey/update {"key":"key-two","nonce":"rk-1"}`}},

		// Verification.
		{name: "rekey verify key", args: []string{"operator", "rekey", "-verify", "-nonce=vf-1", "new-one"}, routes: verifying, golden: true,
			requests: []string{"GET /v1/sys/rekey/verify", `PUT /v1/sys/rekey/verify {"key":"new-one","nonce":"vf-1"}`, "GET /v1/sys/rekey/verify"}},
		{name: "rekey verify completes", args: []string{"operator", "rekey", "-verify", "-nonce=vf-1", "new-two"},
			routes:   map[string]reply{"GET /v1/sys/rekey/verify": {200, rekeyVerifying}, "PUT /v1/sys/rekey/verify": {200, rekeyVerified}},
			stdout:   "Rekey verification successful. The rekey operation is complete and the new\nkeys are now active.\n",
			requests: []string{"GET /v1/sys/rekey/verify", `PUT /v1/sys/rekey/verify {"key":"new-two","nonce":"vf-1"}`}},
		{name: "rekey verify completes json", args: []string{"operator", "rekey", "-verify", "-nonce=vf-1", "-format=json", "new-two"},
			routes: map[string]reply{"GET /v1/sys/rekey/verify": {200, rekeyVerifying}, "PUT /v1/sys/rekey/verify": {200, rekeyVerified}},
			stdout: "{\n  \"nonce\": \"vf-1\",\n  \"complete\": true\n}\n"},
		{name: "rekey verify without pending keys", args: []string{"operator", "rekey", "-verify", "-nonce=vf-1", "new-two"},
			routes: map[string]reply{"GET /v1/sys/rekey/verify": {400, `{"errors":["no rekey verification is in progress"]}`}},
			code:   2, stderr: "Error getting rekey verification status: rekey verify status: client: GET /v1/sys/rekey/verify: 400 Bad Request: no rekey verification is in progress\n",
			requests: []string{"GET /v1/sys/rekey/verify"}},

		// Mistakes and refusals: exit 1, nothing sent that need not be.
		{name: "rekey not started", args: []string{"operator", "rekey", "-nonce=rk-1", "key-one"},
			routes: map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyIdle}}, code: 1,
			stderr:   "No rekey is in progress. Start one by running \"vaultctl operator rekey -init\".\n",
			requests: []string{"GET /v1/sys/rekey/init"}},
		{name: "rekey key argument needs the nonce", args: []string{"operator", "rekey", "key-one"}, routes: started, code: 1,
			stderr: "Missing nonce value: specify it via the -nonce flag\n", requests: []string{"GET /v1/sys/rekey/init"}},
		{name: "rekey empty stdin", args: []string{"operator", "rekey", "-nonce=rk-1", "-"}, routes: started, code: 1,
			stderr: `Missing unseal key: give it as an argument, or "-" to read it from stdin`, requests: []string{"GET /v1/sys/rekey/init"}},
		{name: "rekey wrong key", args: []string{"operator", "rekey", "-nonce=rk-1", "bad"},
			routes: map[string]reply{"GET /v1/sys/rekey/init": {200, rekeyHalfway},
				"PUT /v1/sys/rekey/update": {400, `{"errors":["key: 'key' must be a valid hex or base64 string"]}`}},
			code: 2, stderr: "Error posting unseal key: rekey update: client: PUT /v1/sys/rekey/update: 400 Bad Request: key: 'key' must be a valid hex or base64 string\n"},
		{name: "rekey pgp keys refused", args: []string{"operator", "rekey", "-init", "-pgp-keys=keybase:a,keybase:b"}, code: 1,
			stderr: "-pgp-keys is not supported", requests: []string{}},
		{name: "rekey backup refused", args: []string{"operator", "rekey", "-init", "-backup"}, code: 1,
			stderr: "-backup, -backup-delete and -backup-retrieve are not supported", requests: []string{}},
		{name: "rekey backup retrieve refused", args: []string{"operator", "rekey", "-backup-retrieve"}, code: 1,
			stderr: "are not supported", requests: []string{}},
		{name: "rekey recovery target refused", args: []string{"operator", "rekey", "-init", "-target=recovery"}, code: 1,
			stderr: "-target=recovery is not supported: SecretumVault seals with Shamir unseal keys\nand has no recovery keys", requests: []string{}},
		{name: "rekey unknown target", args: []string{"operator", "rekey", "-status", "-target=disk"}, code: 1,
			stderr: "Unknown target: disk\n", requests: []string{}},
		{name: "rekey too many arguments", args: []string{"operator", "rekey", "a", "b"}, code: 1,
			stderr: "Error: Too many arguments (expected 0-1, got 2)\nRun 'vaultctl operator rekey --help' for usage.\n", requests: []string{}},
		{name: "rekey bad flag value", args: []string{"operator", "rekey", "-init", "-key-shares=five"}, code: 1,
			stderr: `invalid argument "five" for "-n, --key-shares"`, requests: []string{}},
		{name: "rekey bad format", args: []string{"operator", "rekey", "-status", "-format=xml"}, code: 1,
			stderr: `unknown format "xml"`, requests: []string{}},
	})
}

func TestRunOperatorRotateKeys(t *testing.T) {
	t.Parallel()
	runCases(t, []runCase{
		{name: "rotate-keys init", args: []string{"operator", "rotate-keys", "-init", "-key-shares=5", "-key-threshold=3"},
			routes: map[string]reply{"PUT /v1/sys/rotate/root/init": {200, bao(rekeyStarted)}}, golden: true, stderr: "WARNING!",
			requests: []string{`PUT /v1/sys/rotate/root/init {"require_verification":false,"secret_shares":5,"secret_threshold":3}`}},
		{name: "rotate-keys last key", args: []string{"operator", "rotate-keys", "-nonce=rk-1", "key-two"},
			routes:   map[string]reply{"GET /v1/sys/rotate/root/init": {200, bao(rekeyHalfway)}, "PUT /v1/sys/rotate/root/update": {200, bao(rekeyDone)}},
			golden:   true,
			requests: []string{"GET /v1/sys/rotate/root/init", `PUT /v1/sys/rotate/root/update {"key":"key-two","nonce":"rk-1"}`}},
		{name: "rotate-keys verify completes", args: []string{"operator", "rotate-keys", "-verify", "-nonce=vf-1", "new-two"},
			routes:   map[string]reply{"GET /v1/sys/rotate/root/verify": {200, bao(rekeyVerifying)}, "PUT /v1/sys/rotate/root/verify": {200, bao(rekeyVerified)}},
			stdout:   "Rotation verification successful. The rotation is complete and the new keys\nare now active.\n",
			requests: []string{"GET /v1/sys/rotate/root/verify", `PUT /v1/sys/rotate/root/verify {"key":"new-two","nonce":"vf-1"}`}},
		{name: "rotate-keys cancel", args: []string{"operator", "rotate-keys", "-cancel"},
			routes: map[string]reply{"DELETE /v1/sys/rotate/root/init": {204, ""}},
			stdout: "Success! Canceled rotation (if it was started)\n", requests: []string{"DELETE /v1/sys/rotate/root/init"}},
		{name: "rotate-keys not started", args: []string{"operator", "rotate-keys", "-nonce=x", "k"},
			routes: map[string]reply{"GET /v1/sys/rotate/root/init": {200, bao(rekeyIdle)}}, code: 1,
			stderr: "No rotation is in progress. Start one by running \"vaultctl operator\nrotate-keys -init\".\n"},
		{name: "rotate-keys without a root token", args: []string{"operator", "rotate-keys", "-status"},
			routes: map[string]reply{"GET /v1/sys/rotate/root/init": {403, `{"errors":["permission denied"]}`}}, code: 2,
			stderr: "Error reading rotation status: rekey status: client: GET /v1/sys/rotate/root/init: 403 Forbidden: permission denied\n"},
		{name: "rotate-keys bare answer refused", args: []string{"operator", "rotate-keys", "-status"},
			routes: map[string]reply{"GET /v1/sys/rotate/root/init": {200, rekeyStarted}}, code: 2,
			stderr: "answer carries no data object"},
	})
}
