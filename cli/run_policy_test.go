package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const (
	devCedar     = "permit (\n  principal in Group::\"dev\",\n  action == Action::\"read\",\n  resource in Secret::\"secret/data/dev\"\n);\n"
	devHCL       = "path \"secret/data/dev/*\" {\n  capabilities = [\"read\"]\n}\n"
	cedarReply   = `{"request_id":"r","data":{"name":"dev-read","policy":"permit (principal, action, resource);\n"}}`
	aclReply     = `{"data":{"name":"dev","policy":"path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n","cedar":"@id(\"dev:0\")\npermit (principal, action == Action::\"read\", resource in Secret::\"secret\");\n"}}`
	badCedarBody = `{"errors":["parse error at line 3, column 12: expected an action"]}`
)

// policyFiles writes sample policy files and returns their directory.
func policyFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"dev.cedar": devCedar, "dev.hcl": devHCL, "dev.txt": devCedar, "empty.cedar": "\n  \n",
		"fly.hcl":   "path \"a\" {\n  capabilities = [\"fly\"]\n}\n",
		"bad.cedar": "permit (\n  principal,\n  action == Acton::\"read\",\n  resource\n);\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunPolicyWrite(t *testing.T) {
	t.Parallel()
	dir := policyFiles(t)
	file := func(n string) string { return filepath.Join(dir, n) }
	runCases(t, []runCase{
		{name: "policy write cedar by extension", args: []string{"policy", "write", "dev-read", file("dev.cedar")},
			routes:   map[string]reply{"PUT /v1/sys/policies/cedar/dev-read": {204, ""}},
			stdout:   "Success! Uploaded cedar policy: dev-read\n",
			requests: []string{`PUT /v1/sys/policies/cedar/dev-read {"policy":` + jsonString(devCedar) + `}`}},
		{name: "policy write hcl by extension", args: []string{"policy", "write", "dev", file("dev.hcl")},
			routes:   map[string]reply{"PUT /v1/sys/policies/acl/dev": {204, ""}},
			stdout:   "Success! Uploaded hcl policy: dev\n",
			requests: []string{`PUT /v1/sys/policies/acl/dev {"policy":` + jsonString(devHCL) + `}`}},
		{name: "policy write type beats extension", args: []string{"policy", "write", "-type=cedar", "dev", file("dev.txt")},
			routes: map[string]reply{"PUT /v1/sys/policies/cedar/dev": {204, ""}}, stdout: "Success! Uploaded cedar policy: dev\n",
			requests: []string{`PUT /v1/sys/policies/cedar/dev {"policy":` + jsonString(devCedar) + `}`}},
		{name: "policy write stdin acl alias", args: []string{"policy", "write", "-type", "acl", "dev", "-"}, stdin: devHCL,
			routes: map[string]reply{"PUT /v1/sys/policies/acl/dev": {204, ""}}, stdout: "Success! Uploaded hcl policy: dev\n",
			requests: []string{`PUT /v1/sys/policies/acl/dev {"policy":` + jsonString(devHCL) + `}`}},
		{name: "policy write json is silent", args: []string{"policy", "write", "-format=json", "dev", file("dev.hcl")},
			routes: map[string]reply{"PUT /v1/sys/policies/acl/dev": {204, ""}}, stdout: ""},
		{name: "policy write unknown extension", args: []string{"policy", "write", "dev", file("dev.txt")}, code: 2,
			stderr: "name the file *.cedar or *.hcl, or pass -type cedar or -type hcl", requests: []string{}},
		{name: "policy write stdin needs type", args: []string{"policy", "write", "dev", "-"}, stdin: devHCL, code: 2,
			stderr: "reading the policy from stdin: say which kind it is with -type cedar or -type hcl", requests: []string{}},
		{name: "policy write bad type", args: []string{"policy", "write", "-type=rego", "dev", file("dev.cedar")}, code: 2,
			stderr: `-type "rego": want cedar or hcl`, requests: []string{}},
		{name: "policy write empty file", args: []string{"policy", "write", "dev", file("empty.cedar")}, code: 2,
			stderr: "is empty", requests: []string{}},
		{name: "policy write missing file", args: []string{"policy", "write", "dev", file("none.cedar")}, code: 1,
			stderr: "no such file", requests: []string{}},
		{name: "policy write bad name", args: []string{"policy", "write", "a/b", file("dev.cedar")}, code: 2,
			stderr: `invalid policy name "a/b"`, requests: []string{}},
		{name: "policy write refused with position", args: []string{"policy", "write", "broken", file("bad.cedar")},
			routes: map[string]reply{"PUT /v1/sys/policies/cedar/broken": {400, badCedarBody}}, code: 1,
			stderr: "Error: policy broken in " + file("bad.cedar") + " was refused by the server:\n" +
				file("bad.cedar") + ":3:12: parse error at line 3, column 12: expected an action\n" +
				"    3 |   action == Acton::\"read\",\n" +
				"      |            ^\n"},
		{name: "policy write refused without position", args: []string{"policy", "write", "dev", file("dev.hcl")},
			routes: map[string]reply{"PUT /v1/sys/policies/acl/dev": {400, `{"errors":["unknown capability \"fly\"","second"]}`}},
			code:   1, stderr: "was refused by the server:\n  unknown capability \"fly\"\n  second\n"},
		{name: "policy write forbidden", args: []string{"policy", "write", "dev", file("dev.hcl")},
			routes: map[string]reply{"PUT /v1/sys/policies/acl/dev": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "Error: uploading policy dev: write acl policy dev: client: PUT /v1/sys/policies/acl/dev: 403 Forbidden: permission denied\n"},
	})
}

func TestRunPolicyReadListDelete(t *testing.T) {
	t.Parallel()
	runCases(t, []runCase{
		{name: "policy read cedar found by search", args: []string{"policy", "read", "dev-read"},
			routes:   map[string]reply{"GET /v1/sys/policies/cedar/dev-read": {200, cedarReply}},
			stdout:   "permit (principal, action, resource);\n",
			requests: []string{"GET /v1/sys/policies/cedar/dev-read", "GET /v1/sys/policies/acl/dev-read"}},
		{name: "policy read hcl", args: []string{"policy", "read", "-type=hcl", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/acl/dev": {200, aclReply}},
			stdout: "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n", requests: []string{"GET /v1/sys/policies/acl/dev"}},
		{name: "policy read hcl compiled cedar", args: []string{"policy", "read", "-cedar", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/acl/dev": {200, aclReply}},
			stdout: "@id(\"dev:0\")\npermit (principal, action == Action::\"read\", resource in Secret::\"secret\");\n"},
		{name: "policy read json", args: []string{"policy", "read", "-format=json", "-type=hcl", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/acl/dev": {200, aclReply}},
			stdout: "{\n  \"name\": \"dev\",\n  \"type\": \"hcl\",\n  \"policy\": \"path \\\"secret/*\\\" {\\n  capabilities = [\\\"read\\\"]\\n}\\n\",\n" +
				"  \"cedar\": \"@id(\\\"dev:0\\\")\\npermit (principal, action == Action::\\\"read\\\", resource in Secret::\\\"secret\\\");\\n\"\n}\n"},
		{name: "policy read cedar json -cedar", args: []string{"policy", "read", "-cedar", "-format=json", "-type=cedar", "dev-read"},
			routes: map[string]reply{"GET /v1/sys/policies/cedar/dev-read": {200, cedarReply}},
			stdout: "{\n  \"name\": \"dev-read\",\n  \"type\": \"cedar\",\n  \"policy\": \"permit (principal, action, resource);\\n\"\n}\n"},
		{name: "policy read hcl without compiled cedar", args: []string{"policy", "read", "-cedar", "-type=hcl", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/acl/dev": {200, `{"data":{"name":"dev","policy":"path \"a\" {}"}}`}},
			code:   1, stderr: "the server returned no compiled Cedar for policy dev"},
		{name: "policy read missing", args: []string{"policy", "read", "nope"}, code: 2, stderr: "No policy named nope\n"},
		{name: "policy read ambiguous", args: []string{"policy", "read", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/cedar/dev": {200, cedarReply}, "GET /v1/sys/policies/acl/dev": {200, aclReply}},
			code:   2, stderr: `there are both a Cedar and an HCL policy named "dev": choose one with -type cedar or -type hcl`},
		{name: "policy read server error", args: []string{"policy", "read", "dev"},
			routes: map[string]reply{"GET /v1/sys/policies/cedar/dev": {500, `{"errors":["boom"]}`}},
			code:   1, stderr: "Error: reading policy dev: read cedar policy dev: client: GET /v1/sys/policies/cedar/dev: 500 Internal Server Error: boom\n"},
		{name: "policy list both", args: []string{"policy", "list"},
			routes: map[string]reply{"LIST /v1/sys/policies/cedar": {200, `{"data":{"keys":["dev-read","ops"]}}`},
				"LIST /v1/sys/policies/acl": {200, `{"data":{"keys":["default","dev"]}}`}},
			stdout:   "Name        Type\n----        ----\ndev-read    cedar\nops         cedar\ndefault     hcl\ndev         hcl\n",
			requests: []string{"LIST /v1/sys/policies/cedar", "LIST /v1/sys/policies/acl"}},
		{name: "policy list both json none of one kind", args: []string{"policy", "list", "-format=json"},
			routes: map[string]reply{"LIST /v1/sys/policies/acl": {200, `{"data":{"keys":["default"]}}`}},
			stdout: "[\n  {\n    \"name\": \"default\",\n    \"type\": \"hcl\"\n  }\n]\n"},
		{name: "policy list hcl", args: []string{"policy", "list", "-type=hcl"},
			routes: map[string]reply{"LIST /v1/sys/policies/acl": {200, `{"data":{"keys":["default","dev"]}}`}},
			stdout: "default\ndev\n", requests: []string{"LIST /v1/sys/policies/acl"}},
		{name: "policy list cedar json", args: []string{"policy", "list", "-type=cedar", "-format=json"},
			routes: map[string]reply{"LIST /v1/sys/policies/cedar": {200, `{"data":{"keys":["a"]}}`}},
			stdout: "[\n  \"a\"\n]\n", requests: []string{"LIST /v1/sys/policies/cedar"}},
		{name: "policy list forbidden", args: []string{"policy", "list"},
			routes: map[string]reply{"LIST /v1/sys/policies/cedar": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "403 Forbidden: permission denied"},
		{name: "policy delete typed", args: []string{"policy", "delete", "-type=cedar", "dev"},
			routes: map[string]reply{"DELETE /v1/sys/policies/cedar/dev": {204, ""}},
			stdout: "Success! Deleted cedar policy: dev\n", requests: []string{"DELETE /v1/sys/policies/cedar/dev"}},
		{name: "policy delete found by search", args: []string{"policy", "delete", "dev"},
			routes:   map[string]reply{"GET /v1/sys/policies/acl/dev": {200, aclReply}, "DELETE /v1/sys/policies/acl/dev": {204, ""}},
			stdout:   "Success! Deleted hcl policy: dev\n",
			requests: []string{"GET /v1/sys/policies/cedar/dev", "GET /v1/sys/policies/acl/dev", "DELETE /v1/sys/policies/acl/dev"}},
		{name: "policy delete missing", args: []string{"policy", "delete", "dev"}, code: 2, stderr: "No policy named dev",
			requests: []string{"GET /v1/sys/policies/cedar/dev", "GET /v1/sys/policies/acl/dev"}},
		{name: "policy schema", args: []string{"policy", "schema"},
			routes: map[string]reply{"GET /v1/sys/policies/cedar-schema": {200, `{"data":{"schema":"entity Group;\nentity User in [Group];\n"}}`}},
			stdout: "entity Group;\nentity User in [Group];\n"},
		{name: "policy schema json", args: []string{"policy", "schema", "-format=json"},
			routes: map[string]reply{"GET /v1/sys/policies/cedar-schema": {200, `{"data":{"schema":"entity User;"}}`}},
			stdout: "{\n  \"schema\": \"entity User;\"\n}\n"},
	})
}

func TestRunPolicyConvert(t *testing.T) {
	t.Parallel()
	dir := policyFiles(t)
	runCases(t, []runCase{
		{name: "policy convert stdin needs name", args: []string{"policy", "convert", "-"}, stdin: devHCL, code: 2,
			stderr: "give its name with -name", requests: []string{}},
		{name: "policy convert", args: []string{"policy", "convert", filepath.Join(dir, "dev.hcl")}, golden: true,
			requests: []string{}},
		{name: "policy convert stdin json", args: []string{"policy", "convert", "-format=json", "-name=ops", "-"}, stdin: devHCL,
			golden: true, requests: []string{}},
		{name: "policy convert unsupported capability", args: []string{"policy", "convert", filepath.Join(dir, "fly.hcl")}, code: 1,
			stderr: `capability "fly" is not supported`, requests: []string{}},
		{name: "policy convert bad name", args: []string{"policy", "convert", "-name=a/b", filepath.Join(dir, "dev.hcl")}, code: 2,
			stderr: "invalid policy name", requests: []string{}},
	})
}

// jsonString is s as a JSON string, as canonicalJSON encodes it.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
