package cli

import "testing"

const (
	explainAllowed = `{"request_id":"r","data":{"allowed":true,"reason":"permitted by policy dev-read",` +
		`"policy_ids":["dev-read"],"policies":[{"id":"dev-read","text":"@id(\"dev-read\")\npermit (\n  principal in Group::\"dev\",\n  action == Action::\"read\",\n  resource in Secret::\"secret/data/dev\"\n);"}],` +
		`"principal":"User::\"alice\"","groups":["Group::\"dev\"","Group::\"staff\""],"action":"read",` +
		`"resource":"Secret::\"secret/data/dev/db\"","context":{"operation":"read","remote_addr":"10.0.0.7","ttl":3600},"errors":[],"considered":3}}`
	explainForbidden = `{"data":{"allowed":false,"reason":"forbidden by policy no-prod",` +
		`"policy_ids":["no-prod"],"policies":[{"id":"no-prod","text":"forbid (principal, action, resource in Secret::\"secret/data/prod\");"}],` +
		`"principal":"Token::\"acc-1\"","groups":[],"action":"delete","resource":"Secret::\"secret/data/prod/db\"","context":{"operation":"delete"},"considered":5}}`
	explainDefaultDeny = `{"data":{"allowed":false,"reason":"no policy permits the request",` +
		`"policy_ids":[],"policies":[],"principal":"User::\"bob\"","groups":["Group::\"ops\""],"action":"list",` +
		`"resource":"Secret::\"secret/metadata\"","context":{},"errors":["policy ops-time: while evaluating: attribute \"time\" not found"],"considered":2}}`
	explainIDsOnly = `{"data":{"allowed":true,"reason":"","policy_ids":["a","b"],"policies":[{"id":"b","text":"permit (principal, action, resource);"}],` +
		`"principal":"","groups":null,"action":"","resource":"","considered":2}}`
)

func TestRunPolicyExplain(t *testing.T) {
	t.Parallel()
	route := func(body string) map[string]reply {
		return map[string]reply{"POST /v1/sys/authz/explain": {200, body}}
	}
	runCases(t, []runCase{
		{name: "explain allowed", args: []string{"policy", "explain", "-entity=alice", "-remote-addr=10.0.0.7", "-ttl=1h",
			"secret/data/dev/db"},
			routes: route(explainAllowed), golden: true,
			requests: []string{`POST /v1/sys/authz/explain {"entity_name":"alice","operation":"read","path":"secret/data/dev/db","remote_addr":"10.0.0.7","ttl":"1h"}`}},
		{name: "explain forbidden exits 2", args: []string{"policy", "explain", "-accessor", "acc-1", "-operation=delete", "/secret/data/prod/db/"},
			routes: route(explainForbidden), code: 2, golden: true,
			requests: []string{`POST /v1/sys/authz/explain {"accessor":"acc-1","operation":"delete","path":"secret/data/prod/db"}`}},
		{name: "explain default deny with errors", args: []string{"policy", "explain", "-token=-", "-operation=LIST", "secret/metadata"},
			stdin: "s.bobs-token\n", routes: route(explainDefaultDeny), code: 2, golden: true,
			requests: []string{`POST /v1/sys/authz/explain {"operation":"list","path":"secret/metadata","token":"s.bobs-token"}`}},
		{name: "explain ids without text", args: []string{"policy", "explain", "-entity-id=e-1", "-action=generate", "pki/issue/web"},
			routes: route(explainIDsOnly), golden: true,
			requests: []string{`POST /v1/sys/authz/explain {"action":"generate","entity_id":"e-1","operation":"read","path":"pki/issue/web"}`}},
		{name: "explain json", args: []string{"policy", "explain", "-format=json", "secret/data/dev/db"},
			routes: route(explainAllowed), golden: true,
			requests: []string{`POST /v1/sys/authz/explain {"operation":"read","path":"secret/data/dev/db"}`}},
		{name: "explain json denied exits 2", args: []string{"policy", "explain", "-format=json", "secret/data/prod/db"},
			routes: route(explainForbidden), code: 2, golden: true},
		{name: "explain bad operation", args: []string{"policy", "explain", "-operation=fly", "a"}, code: 2,
			stderr: `-operation "fly": want one of read, list, create, update, patch, delete`, requests: []string{}},
		{name: "explain exclusive principals", args: []string{"policy", "explain", "-token=s.x", "-entity=alice", "a"}, code: 2,
			stderr: "give at most one", requests: []string{}},
		{name: "explain bad remote addr", args: []string{"policy", "explain", "-remote-addr=10.0.0", "a"}, code: 2,
			stderr: `-remote-addr "10.0.0" is not an IP address`, requests: []string{}},
		{name: "explain bad ttl", args: []string{"policy", "explain", "-ttl=soon", "a"}, code: 2, stderr: "not a duration",
			requests: []string{}},
		{name: "explain empty path", args: []string{"policy", "explain", "/"}, code: 2, stderr: "empty path", requests: []string{}},
		{name: "explain needs path", args: []string{"policy", "explain"}, code: 2, stderr: "expected 1 argument"},
		{name: "explain forbidden to ask", args: []string{"policy", "explain", "a"},
			routes: map[string]reply{"POST /v1/sys/authz/explain": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "Error: explaining read a: explain read a: client: POST /v1/sys/authz/explain: 403 Forbidden: permission denied\n"},
	})
}

func TestRunPolicyCapabilities(t *testing.T) {
	t.Parallel()
	multi := `{"request_id":"r","capabilities":["read"],"secret/data/a":["read","list"],"sys/seal":["sudo","update"],"x":[],` +
		`"data":{"capabilities":["read"],"secret/data/a":["read","list"],"sys/seal":["update","sudo"],"x":[]}}`
	runCases(t, []runCase{
		{name: "capabilities self one path", args: []string{"policy", "capabilities", "secret/data/a"},
			routes: map[string]reply{"POST /v1/sys/capabilities-self": {200, `{"capabilities":["update","create"]}`}},
			stdout: "create, update\n", requests: []string{`POST /v1/sys/capabilities-self {"paths":["secret/data/a"]}`}},
		{name: "capabilities token many paths", args: []string{"policy", "capabilities", "-token=s.other", "secret/data/a", "sys/seal", "x"},
			routes:   map[string]reply{"POST /v1/sys/capabilities": {200, multi}},
			stdout:   "Path             Capabilities\n----             ------------\nsecret/data/a    list, read\nsys/seal         sudo, update\nx                deny\n",
			requests: []string{`POST /v1/sys/capabilities {"paths":["secret/data/a","sys/seal","x"],"token":"s.other"}`}},
		{name: "capabilities accessor json", args: []string{"policy", "capabilities", "-format=json", "-accessor=acc1", "secret/data/a"},
			routes:   map[string]reply{"POST /v1/sys/capabilities-accessor": {200, multi}},
			stdout:   "{\n  \"secret/data/a\": [\n    \"read\",\n    \"list\"\n  ]\n}\n",
			requests: []string{`POST /v1/sys/capabilities-accessor {"accessor":"acc1","paths":["secret/data/a"]}`}},
		{name: "capabilities exclusive", args: []string{"policy", "capabilities", "-token=a", "-accessor=b", "x"}, code: 2,
			stderr: "exclusive", requests: []string{}},
		{name: "capabilities needs path", args: []string{"policy", "capabilities"}, code: 2, stderr: "expected at least 1"},
	})
}
