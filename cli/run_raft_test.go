package cli

import (
	"os"
	"path/filepath"
	"testing"
)

const peersReply = `{"data":{"config":{"servers":[` +
	`{"node_id":"node1","address":"127.0.0.11:8201","leader":true,"voter":true,"protocol_version":"3"},` +
	`{"node_id":"node2","address":"127.0.0.12:8201","leader":false,"voter":true,"protocol_version":"3"},` +
	`{"node_id":"node-three","address":"127.0.0.13:8201","leader":false,"voter":false,"protocol_version":"3"}]}},` +
	`"warnings":null,"auth":null,"wrap_info":null}`

func TestRunRaftMembership(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	peers := map[string]reply{"GET /v1/sys/storage/raft/configuration": {200, peersReply}}
	joined := map[string]reply{"POST /v1/sys/storage/raft/join": {200, `{"joined":true}` + "\n"}}
	runCases(t, []runCase{
		{name: "raft list-peers", args: []string{"operator", "raft", "list-peers"}, routes: peers, golden: true,
			requests: []string{"GET /v1/sys/storage/raft/configuration"}},
		{name: "raft list-peers json", args: []string{"operator", "raft", "list-peers", "-format=json"}, routes: peers, golden: true},
		{name: "raft list-peers yaml", args: []string{"operator", "raft", "list-peers"}, env: map[string]string{"VAULT_FORMAT": "yaml"},
			routes: peers, golden: true},
		{name: "raft list-peers forbidden", args: []string{"operator", "raft", "list-peers"},
			routes: map[string]reply{"GET /v1/sys/storage/raft/configuration": {403, `{"errors":["permission denied"]}`}},
			code:   1, stderr: "Error: listing raft peers: raft peers: client: GET /v1/sys/storage/raft/configuration: 403 Forbidden: permission denied\n"},
		{name: "raft list-peers extra arg", args: []string{"operator", "raft", "list-peers", "x"}, code: 2, stderr: "unexpected arguments",
			requests: []string{}},
		{name: "raft join", args: []string{"operator", "raft", "join", "-leader-ca-cert=@" + caFile, "-non-voter", "https://127.0.0.1:8200"},
			env: map[string]string{"VAULT_TOKEN": ""}, routes: joined, golden: true,
			requests: []string{`POST /v1/sys/storage/raft/join {"leader_api_addr":"https://127.0.0.1:8200","leader_ca_cert":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","non_voter":true}`}},
		{name: "raft join json", args: []string{"-format=json", "operator", "raft", "join", "http://127.0.0.1:8200"}, routes: joined,
			stdout:   "{\n  \"joined\": true\n}\n",
			requests: []string{`POST /v1/sys/storage/raft/join {"leader_api_addr":"http://127.0.0.1:8200"}`}},
		{name: "raft join not joined", args: []string{"operator", "raft", "join", "http://127.0.0.1:8200"},
			routes: map[string]reply{"POST /v1/sys/storage/raft/join": {200, `{"joined":false}`}}, code: 1,
			stdout: "Key       Value\n---       -----\nJoined    false\n", stderr: "did not join"},
		{name: "raft join refused", args: []string{"operator", "raft", "join", "http://127.0.0.1:8200"},
			routes: map[string]reply{"POST /v1/sys/storage/raft/join": {500, `{"errors":["node is already initialized"]}`}}, code: 1,
			stderr: "Error: joining raft cluster: raft join: client: POST /v1/sys/storage/raft/join: 500 Internal Server Error: node is already initialized\n"},
		{name: "raft join bad address", args: []string{"operator", "raft", "join", "127.0.0.1:8200"}, code: 2,
			stderr: "want http(s)://host:port", requests: []string{}},
		{name: "raft join missing CA file", args: []string{"operator", "raft", "join", "-leader-ca-cert=@" + filepath.Join(dir, "none.pem"), "http://h:1"},
			code: 1, stderr: "leader CA certificate", requests: []string{}},
		{name: "raft join needs address", args: []string{"operator", "raft", "join"}, code: 2, stderr: "expected 1 argument"},
		{name: "raft remove-peer", args: []string{"operator", "raft", "remove-peer", "node3"},
			routes: map[string]reply{"POST /v1/sys/storage/raft/remove-peer": {204, ""}}, stdout: "Peer removed successfully!\n",
			requests: []string{`POST /v1/sys/storage/raft/remove-peer {"server_id":"node3"}`}},
		{name: "raft remove-peer json is silent", args: []string{"-format=json", "operator", "raft", "remove-peer", "node3"},
			routes: map[string]reply{"POST /v1/sys/storage/raft/remove-peer": {204, ""}}, stdout: ""},
		{name: "raft remove-peer unknown", args: []string{"operator", "raft", "remove-peer", "node9"},
			routes: map[string]reply{"POST /v1/sys/storage/raft/remove-peer": {400, `{"errors":["raft: unknown server node9"]}`}},
			code:   1, stderr: "unknown server node9"},
		{name: "raft alone shows help", args: []string{"operator", "raft"}, code: 2, stderr: "list-peers"},
		{name: "raft snapshot alone shows help", args: []string{"operator", "raft", "snapshot"}, code: 2, stderr: "restore"},
	})
}
