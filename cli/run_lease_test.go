package cli

import "testing"

// Answers in the shape Vault gives them.
const (
	leaseLookupReply = `{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{` +
		`"expire_time":"2026-12-01T16:00:00.5Z","id":"database/creds/readonly/2f6a","issue_time":"2026-12-01T15:00:00Z",` +
		`"last_renewal":null,"renewable":true,"ttl":3599},"wrap_info":null,"warnings":null,"auth":null}`
	leaseIrrevocableReply = `{"data":{"expire_time":null,"id":"db/creds/x/1","issue_time":"2026-12-01T15:00:00Z",` +
		`"last_renewal":"2026-12-01T15:30:00Z","renewable":false,"ttl":0,"irrevocable":true,"last_error":"dial tcp 10.0.0.9:5432: connection refused"}}`
	leaseRenewReply = `{"request_id":"r2","lease_id":"database/creds/readonly/2f6a","renewable":true,"lease_duration":7200,` +
		`"data":null,"wrap_info":null,"warnings":["TTL of \"3h\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly"],"auth":null}`
	leaseTidyReply = `{"request_id":"r3","data":null,"warnings":["Tidy operation successfully started. Any information from the operation will be printed to the server logs."]}`
)

func TestRunLease(t *testing.T) {
	t.Parallel()
	lookup := map[string]reply{"PUT /v1/sys/leases/lookup": {200, leaseLookupReply}}
	renew := map[string]reply{"PUT /v1/sys/leases/renew": {200, leaseRenewReply}}
	runCases(t, []runCase{
		{name: "lease lookup", args: []string{"lease", "lookup", "database/creds/readonly/2f6a"}, routes: lookup, golden: true,
			requests: []string{`PUT /v1/sys/leases/lookup {"lease_id":"database/creds/readonly/2f6a"}`}},
		{name: "lease lookup json", args: []string{"lease", "lookup", "-format=json", "database/creds/readonly/2f6a"}, routes: lookup, golden: true},
		{name: "lease lookup yaml", args: []string{"lease", "lookup", "-format=yaml", "database/creds/readonly/2f6a"}, routes: lookup, golden: true},
		{name: "lease lookup irrevocable", args: []string{"lease", "lookup", "db/creds/x/1"},
			routes: map[string]reply{"PUT /v1/sys/leases/lookup": {200, leaseIrrevocableReply}}, golden: true},
		{name: "lease lookup unknown", args: []string{"lease", "lookup", "db/creds/x/9"},
			routes: map[string]reply{"PUT /v1/sys/leases/lookup": {400, `{"errors":["invalid lease"]}`}}, code: 1,
			stderr: "Error: looking up lease db/creds/x/9: look up lease db/creds/x/9: client: PUT /v1/sys/leases/lookup: 400 Bad Request: invalid lease\n"},
		{name: "lease lookup empty id", args: []string{"lease", "lookup", " "}, code: 2, stderr: "the lease ID is empty", requests: []string{}},
		{name: "lease lookup no id", args: []string{"lease", "lookup"}, code: 2, stderr: "expected 1 argument(s), got 0", requests: []string{}},
		{name: "lease lookup bad format", args: []string{"lease", "lookup", "-format=xml", "a/b"}, code: 2, stderr: `unknown format "xml"`, requests: []string{}},

		{name: "lease list", args: []string{"lease", "list", "database/creds/readonly/"},
			routes:   map[string]reply{"LIST /v1/sys/leases/lookup/database/creds/readonly/": {200, `{"data":{"keys":["2f6a","9b1c"]}}`}},
			stdout:   "Keys\n----\n2f6a\n9b1c\n",
			requests: []string{"LIST /v1/sys/leases/lookup/database/creds/readonly/"}},
		{name: "lease list top json", args: []string{"lease", "list", "-format=json"},
			routes: map[string]reply{"LIST /v1/sys/leases/lookup/": {200, `{"data":{"keys":["database/"]}}`}},
			stdout: "[\n  \"database/\"\n]\n", requests: []string{"LIST /v1/sys/leases/lookup/"}},
		{name: "lease list none", args: []string{"lease", "list", "aws"}, code: 2,
			stderr: "No value found at sys/leases/lookup/aws\n", requests: []string{"LIST /v1/sys/leases/lookup/aws/"}},
		{name: "lease list dot-dot", args: []string{"lease", "list", "a/../sys"}, code: 2, stderr: `path "a/../sys" holds`, requests: []string{}},
		{name: "lease list forbidden", args: []string{"lease", "list", "db"}, code: 1,
			routes: map[string]reply{"LIST /v1/sys/leases/lookup/db/": {403, `{"errors":["permission denied"]}`}},
			stderr: "Error: listing leases: list leases under \"db\": client: LIST /v1/sys/leases/lookup/db/: 403 Forbidden: permission denied\n"},

		{name: "lease renew", args: []string{"lease", "renew", "-increment=3h", "database/creds/readonly/2f6a"}, routes: renew, golden: true,
			stderr:   "WARNING! The following warnings were returned from the server:\n  * TTL of \"3h\" exceeded",
			requests: []string{`PUT /v1/sys/leases/renew {"increment":10800,"lease_id":"database/creds/readonly/2f6a"}`}},
		{name: "lease renew seconds json", args: []string{"lease", "renew", "-format=json", "-increment", "3600", "database/creds/readonly/2f6a"},
			routes: renew, golden: true,
			requests: []string{`PUT /v1/sys/leases/renew {"increment":3600,"lease_id":"database/creds/readonly/2f6a"}`}},
		{name: "lease renew default increment", args: []string{"lease", "renew", "db/creds/x/1"},
			routes:   map[string]reply{"PUT /v1/sys/leases/renew": {200, `{"lease_id":"db/creds/x/1","renewable":false,"lease_duration":90}`}},
			stdout:   "Key                Value\n---                -----\nlease_id           db/creds/x/1\nlease_duration     1m30s\nlease_renewable    false\n",
			requests: []string{`PUT /v1/sys/leases/renew {"increment":0,"lease_id":"db/creds/x/1"}`}},
		{name: "lease renew bad increment", args: []string{"lease", "renew", "-increment=soon", "a/b"}, code: 2,
			stderr: `invalid -increment "soon"`, requests: []string{}},
		{name: "lease renew negative increment", args: []string{"lease", "renew", "-increment=-5", "a/b"}, code: 2,
			stderr: `invalid -increment "-5"`, requests: []string{}},
		{name: "lease renew sub-second increment", args: []string{"lease", "renew", "-increment=500ms", "a/b"}, code: 2,
			stderr: `invalid -increment "500ms"`, requests: []string{}},
		{name: "lease renew refused", args: []string{"lease", "renew", "db/creds/x/1"}, code: 1,
			routes: map[string]reply{"PUT /v1/sys/leases/renew": {400, `{"errors":["lease is not renewable"]}`}},
			stderr: "Error: renewing lease db/creds/x/1: renew lease db/creds/x/1: client: PUT /v1/sys/leases/renew: 400 Bad Request: lease is not renewable\n"},

		{name: "lease revoke queued", args: []string{"lease", "revoke", "db/creds/x/1"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke": {204, ""}}, stdout: "All revocation operations queued successfully!\n",
			requests: []string{`PUT /v1/sys/leases/revoke {"lease_id":"db/creds/x/1","sync":false}`}},
		{name: "lease revoke sync", args: []string{"lease", "revoke", "-sync", "db/creds/x/1"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke": {204, ""}}, stdout: "Success! Revoked lease: db/creds/x/1\n",
			requests: []string{`PUT /v1/sys/leases/revoke {"lease_id":"db/creds/x/1","sync":true}`}},
		{name: "lease revoke prefix", args: []string{"lease", "revoke", "-prefix", "aws/creds/deploy"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke-prefix/aws/creds/deploy": {204, ""}}, stdout: "All revocation operations queued successfully!\n",
			requests: []string{`PUT /v1/sys/leases/revoke-prefix/aws/creds/deploy {"sync":false}`}},
		{name: "lease revoke prefix sync", args: []string{"lease", "revoke", "-prefix", "-sync", "aws/creds/"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke-prefix/aws/creds/": {204, ""}}, stdout: "Success! Revoked any leases with prefix: aws/creds/\n",
			requests: []string{`PUT /v1/sys/leases/revoke-prefix/aws/creds/ {"sync":true}`}},
		{name: "lease revoke force", args: []string{"lease", "revoke", "-f", "-prefix", "consul/creds"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke-force/consul/creds": {204, ""}},
			stdout: "Success! Force revoked any leases with prefix: consul/creds\n", stderr: "Warning! Force-removing leases",
			requests: []string{"PUT /v1/sys/leases/revoke-force/consul/creds"}},
		{name: "lease revoke json is silent", args: []string{"lease", "revoke", "-format=json", "-sync", "db/creds/x/1"},
			routes: map[string]reply{"PUT /v1/sys/leases/revoke": {204, ""}}, stdout: ""},
		{name: "lease revoke force without prefix", args: []string{"lease", "revoke", "-force", "consul/creds"}, code: 2,
			stderr: "Error: -force requires -prefix\n", requests: []string{}},
		{name: "lease revoke empty prefix", args: []string{"lease", "revoke", "-prefix", "/"}, code: 2,
			stderr: "the prefix is empty", requests: []string{}},
		{name: "lease revoke two arguments", args: []string{"lease", "revoke", "a", "b"}, code: 2,
			stderr: "expected 1 argument(s), got 2", requests: []string{}},
		{name: "lease revoke failed", args: []string{"lease", "revoke", "-sync", "db/creds/x/1"}, code: 1,
			routes: map[string]reply{"PUT /v1/sys/leases/revoke": {500, `{"errors":["failed to revoke entry: connection refused"]}`}},
			stderr: "Error: revoking lease db/creds/x/1: revoke lease db/creds/x/1: client: PUT /v1/sys/leases/revoke: 500 Internal Server Error: failed to revoke entry: connection refused\n"},
		{name: "lease revoke prefix failed", args: []string{"lease", "revoke", "-prefix", "db"}, code: 1,
			stderr: "Error: revoking leases with prefix db: revoke leases with prefix db: client: PUT /v1/sys/leases/revoke-prefix/db: 404 Not Found\n"},
		{name: "lease revoke force failed", args: []string{"lease", "revoke", "-force", "-prefix", "db"}, code: 1,
			stderr: "Error: force revoking leases with prefix db: force revoke leases with prefix db: client: PUT /v1/sys/leases/revoke-force/db: 404 Not Found\n"},

		{name: "lease tidy", args: []string{"lease", "tidy"},
			routes: map[string]reply{"PUT /v1/sys/leases/tidy": {200, `{"request_id":"r","data":{"removed":2}}`}},
			stdout: "Success! Tidied the lease store: 2 entries removed.\n", requests: []string{"PUT /v1/sys/leases/tidy"}},
		{name: "lease tidy json", args: []string{"lease", "tidy", "-format=json"},
			routes: map[string]reply{"PUT /v1/sys/leases/tidy": {200, `{"request_id":"r","data":{"removed":0}}`}},
			stdout: "{\n  \"removed\": 0\n}\n"},
		{name: "lease tidy vault", args: []string{"lease", "tidy"},
			routes: map[string]reply{"PUT /v1/sys/leases/tidy": {202, leaseTidyReply}},
			stdout: "Success! Started tidying the lease store; the server's log reports the outcome.\n",
			stderr: "  * Tidy operation successfully started."},
		{name: "lease tidy 204", args: []string{"lease", "tidy"},
			routes: map[string]reply{"PUT /v1/sys/leases/tidy": {204, ""}},
			stdout: "Success! Started tidying the lease store; the server's log reports the outcome.\n"},
		{name: "lease tidy forbidden", args: []string{"lease", "tidy"}, code: 1,
			routes: map[string]reply{"PUT /v1/sys/leases/tidy": {403, `{"errors":["permission denied"]}`}},
			stderr: "Error: tidying leases: tidy leases: client: PUT /v1/sys/leases/tidy: 403 Forbidden: permission denied\n"},
		{name: "lease tidy argument", args: []string{"lease", "tidy", "now"}, code: 2, stderr: "unexpected arguments", requests: []string{}},

		{name: "lease alone", args: []string{"lease"}, code: 2, stderr: "Usage:", requests: []string{}},
		{name: "lease unknown subcommand", args: []string{"lease", "extend"}, code: 2, stderr: `unknown subcommand "extend"`},
		{name: "lease group help", args: []string{"lease", "-help"}, golden: true},
		{name: "lease lookup help", args: []string{"lease", "lookup", "-help"}, golden: true},
		{name: "lease list help", args: []string{"lease", "list", "-help"}, golden: true},
		{name: "lease renew help", args: []string{"lease", "renew", "-help"}, golden: true},
		{name: "lease revoke help", args: []string{"lease", "revoke", "-help"}, golden: true},
		{name: "lease tidy help", args: []string{"lease", "tidy", "-help"}, golden: true},
	})
}
