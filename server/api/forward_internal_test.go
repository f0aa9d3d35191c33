package api

import (
	"net/http"
	"testing"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

func TestRestIsLocal(t *testing.T) {
	tests := []struct {
		path  string
		local bool
	}{
		{"/v1/sys/health", true},
		{"/v1/sys/seal-status", true},
		{"/v1/sys/unseal", true},
		{"/v1/sys/init", true},
		{"/v1/sys/leader", true},
		{"/v1/sys/metrics", true},
		{"/v1/sys/metrics/", true},
		{"/v1/sys/storage/raft/join", true},
		{"/v1/sys/storage/raft/bootstrap/challenge", true},
		{"/v1/sys/storage/raft/bootstrap/answer", true},
		{"/", true},
		{"/ui/", true},
		{"/v1/sys/seal", false},
		{"/v1/sys/mounts", false},
		{"/v1/sys/storage/raft/configuration", false},
		{"/v1/sys/storage/raft/snapshot", false},
		{"/v1/sys/healthy", false},
		{"/v1/secret/data/sys/health", false},
		{"/v1/auth/token/lookup-self", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := restIsLocal(tc.path); got != tc.local {
				t.Errorf("restIsLocal(%q) = %v, want %v", tc.path, got, tc.local)
			}
		})
	}
}

func TestProxyMethods(t *testing.T) {
	for _, m := range []string{pb.Logical_Handle_FullMethodName, pb.Sys_Seal_FullMethodName, pb.Sys_ListMounts_FullMethodName,
		pb.Sys_EnableMount_FullMethodName, pb.Sys_DisableMount_FullMethodName, pb.Sys_TuneMount_FullMethodName} {
		if _, ok := proxyMethods[m]; !ok {
			t.Errorf("%s is not forwarded", m)
		}
	}
	for m := range localGRPCMethods {
		if _, ok := proxyMethods[m]; ok {
			t.Errorf("node-local %s is forwarded", m)
		}
	}
	if got := proxyMethods[pb.Logical_Handle_FullMethodName].New().Interface(); got == nil {
		t.Error("no response type for Logical.Handle")
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	in := http.Header{
		"X-Vault-Token":     {"t"},
		"Accept":            {"a", "b"},
		"Connection":        {"close"},
		"Content-Length":    {"12"},
		"Transfer-Encoding": {"chunked"},
	}
	out := http.Header{}
	headersFromProto(out, headersToProto(in))
	if len(out) != 2 || out.Get("X-Vault-Token") != "t" || len(out.Values("Accept")) != 2 {
		t.Errorf("headers = %v", out)
	}
}
