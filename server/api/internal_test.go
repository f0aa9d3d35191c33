package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/core"
)

func TestToStatusError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantHTTP int
		wantGRPC codes.Code
		wantMsgs []string
	}{
		{"permission denied wrapped", fmt.Errorf("token: %w", logical.ErrPermissionDenied), 403, codes.PermissionDenied, []string{"permission denied"}},
		{"core missing token", core.ErrMissingToken, 403, codes.PermissionDenied, []string{"permission denied"}},
		{"sealed", fmt.Errorf("core: %w", logical.ErrSealed), 503, codes.Unavailable, []string{"Vault is sealed"}},
		{"invalid request error", logical.InvalidRequest("ttl", "must be positive"), 400, codes.InvalidArgument, []string{"ttl: must be positive"}},
		{"wrapped invalid request", fmt.Errorf("%w: bad shares", logical.ErrInvalidRequest), 400, codes.InvalidArgument, []string{"invalid request: bad shares"}},
		{"not found has no message", fmt.Errorf("kv: %w", logical.ErrNotFound), 404, codes.NotFound, nil},
		{"unsupported path", fmt.Errorf("%w: no handler for route", logical.ErrUnsupportedPath), 404, codes.NotFound, []string{"unsupported path: no handler for route"}},
		{"unsupported operation", logical.ErrUnsupportedOperation, 405, codes.Unimplemented, []string{"unsupported operation"}},
		{"too large", logical.ErrRequestTooLarge, 413, codes.ResourceExhausted, []string{msgTooLarge}},
		{"rate limited", logical.ErrRateLimited, 429, codes.ResourceExhausted, []string{"rate limit quota exceeded"}},
		{"unavailable hides what it wraps", fmt.Errorf("%w: no leader", logical.ErrUnavailable), 503, codes.Unavailable, []string{"service unavailable"}},
		{"coded", fmt.Errorf("kv: %w", &logical.CodedError{Status: 400, Message: "check-and-set parameter did not match"}), 400, codes.InvalidArgument, []string{"check-and-set parameter did not match"}},
		{"coded out of range", &logical.CodedError{Status: 200, Message: "odd"}, 500, codes.Internal, []string{msgInternal}},
		{"unknown hides its text", errors.New("bolt: disk I/O error at /var/secret"), 500, codes.Internal, []string{msgInternal}},
		{"deadline", context.DeadlineExceeded, 504, codes.DeadlineExceeded, []string{"request timed out"}},
		{"gateway bad query", status.Error(codes.InvalidArgument, "bad value"), 400, codes.InvalidArgument, []string{"bad value"}},
		{"gateway internal hides text", status.Error(codes.Internal, "secret detail"), 500, codes.Internal, []string{msgInternal}},
		{"already mapped", newStatusError(473, nil), 473, codes.InvalidArgument, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := toStatusError(tc.err)
			if se.httpStatus != tc.wantHTTP || !slices.Equal(se.messages, tc.wantMsgs) {
				t.Errorf("= %d %q, want %d %q", se.httpStatus, se.messages, tc.wantHTTP, tc.wantMsgs)
			}
			if got := status.Code(se); got != tc.wantGRPC {
				t.Errorf("gRPC code = %v, want %v", got, tc.wantGRPC)
			}
			if tc.wantHTTP < 500 && tc.err != nil && !errors.Is(se, tc.err) {
				t.Errorf("cause not reachable with errors.Is")
			}
		})
	}
	if toStatusError(nil) != nil {
		t.Error("nil error mapped to a status")
	}
	raw, _ := json.Marshal(newStatusError(404, nil).body())
	if string(raw) != `{"errors":[]}` {
		t.Errorf("empty body = %s", raw)
	}
}

func TestMarshalVaultJSON(t *testing.T) {
	name := "c1"
	st, err := structpb.NewStruct(map[string]any{"b": 1, "a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"int64 as number, optional omitted", func() ([]byte, error) {
			return marshalVaultJSON(&pb.HealthResponse{ServerTimeUtc: 1 << 40, Version: "v<1>"})
		}, `{"initialized":false,"sealed":false,"standby":false,"performance_standby":false,"replication_performance_mode":"","replication_dr_mode":"","server_time_utc":1099511627776,"version":"v\u003c1\u003e","enterprise":false}` + "\n"},
		{"optional present", func() ([]byte, error) {
			return marshalVaultJSON(&pb.HealthResponse{ClusterName: &name})
		}, `{"initialized":false,"sealed":false,"standby":false,"performance_standby":false,"replication_performance_mode":"","replication_dr_mode":"","server_time_utc":0,"version":"","enterprise":false,"cluster_name":"c1"}` + "\n"},
		{"repeated empty is []", func() ([]byte, error) {
			return marshalVaultJSON(&pb.InitResponse{RootToken: "r"})
		}, `{"keys":[],"keys_base64":[],"root_token":"r"}` + "\n"},
		{"maps sorted, nested messages", func() ([]byte, error) {
			return marshalVaultJSON(&pb.Mount{Path: "kv/", Options: map[string]string{"z": "1", "a": "2"}, Config: &pb.MountConfig{MaxLeaseTtl: 5}})
		}, `{"path":"kv/","type":"","description":"","accessor":"","uuid":"","local":false,"seal_wrap":false,"options":{"a":"2","z":"1"},"config":{"default_lease_ttl":0,"max_lease_ttl":5,"force_no_cache":false}}` + "\n"},
		{"uint64", func() ([]byte, error) {
			return marshalVaultJSON(&pb.LeaderResponse{PerformanceStandbyLastRemoteWal: 1<<63 + 1})
		}, `{"ha_enabled":false,"is_self":false,"active_time":"","leader_address":"","leader_cluster_address":"","performance_standby":false,"performance_standby_last_remote_wal":9223372036854775809}` + "\n"},
		{"struct as plain json", func() ([]byte, error) { return marshalVaultJSON(st) }, `{"a":"x","b":1}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestHealthCode(t *testing.T) {
	i := func(v int32) *int32 { return &v }
	active := &pb.HealthResponse{Initialized: true}
	tests := []struct {
		name string
		h    *pb.HealthResponse
		req  *pb.HealthRequest
		want int
		err  bool
	}{
		{"active", active, &pb.HealthRequest{}, 200, false},
		{"active override", active, &pb.HealthRequest{Activecode: i(204)}, 204, false},
		{"uninitialised", &pb.HealthResponse{Sealed: true}, &pb.HealthRequest{}, 501, false},
		{"uninitialised wins over sealed", &pb.HealthResponse{Sealed: true}, &pb.HealthRequest{Sealedcode: i(299)}, 501, false},
		{"sealed", &pb.HealthResponse{Initialized: true, Sealed: true}, &pb.HealthRequest{}, 503, false},
		{"sealed override", &pb.HealthResponse{Initialized: true, Sealed: true}, &pb.HealthRequest{Sealedcode: i(200)}, 200, false},
		{"standby", &pb.HealthResponse{Initialized: true, Standby: true}, &pb.HealthRequest{}, 429, false},
		{"standbyok", &pb.HealthResponse{Initialized: true, Standby: true}, &pb.HealthRequest{Standbyok: true}, 200, false},
		{"standbyok uses activecode", &pb.HealthResponse{Initialized: true, Standby: true}, &pb.HealthRequest{Standbyok: true, Activecode: i(201)}, 201, false},
		{"standbycode", &pb.HealthResponse{Initialized: true, Standby: true}, &pb.HealthRequest{Standbycode: i(200)}, 200, false},
		{"perf standby", &pb.HealthResponse{Initialized: true, Standby: true, PerformanceStandby: true}, &pb.HealthRequest{}, 473, false},
		{"perfstandbyok", &pb.HealthResponse{Initialized: true, Standby: true, PerformanceStandby: true}, &pb.HealthRequest{Perfstandbyok: true}, 200, false},
		{"perf standby ignores standbyok", &pb.HealthResponse{Initialized: true, Standby: true, PerformanceStandby: true}, &pb.HealthRequest{Standbyok: true}, 473, false},
		{"code too small", active, &pb.HealthRequest{Standbycode: i(99)}, 0, true},
		{"code too large", active, &pb.HealthRequest{Activecode: i(600)}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := healthCode(tc.h, tc.req)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("= %d, %v; want %d, err %v", got, err, tc.want, tc.err)
			}
			if err != nil && toStatusError(err).httpStatus != 400 {
				t.Errorf("bad code is not a 400: %v", err)
			}
		})
	}
}

func TestRenderLogical(t *testing.T) {
	tests := []struct {
		name     string
		op       logical.Operation
		resp     *logical.Response
		wantCode int
		wantBody string
	}{
		{"nil read is 404", logical.ReadOperation, nil, 404, ""},
		{"nil list is 404", logical.ListOperation, nil, 404, ""},
		{"nil write is 204", logical.UpdateOperation, nil, 204, ""},
		{"nil delete is 204", logical.DeleteOperation, nil, 204, ""},
		{"empty keys is 404", logical.ListOperation, &logical.Response{Data: map[string]any{"keys": []string{}}}, 404, ""},
		{"empty any keys is 404", logical.ListOperation, &logical.Response{Data: map[string]any{"keys": []any{}}}, 404, ""},
		{"list without data is 404", logical.ListOperation, &logical.Response{}, 404, ""},
		{"list with warnings only", logical.ListOperation, &logical.Response{Warnings: []string{"w"}}, 200,
			`{"request_id":"id","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":["w"],"auth":null,"mount_type":"kv"}` + "\n"},
		{"list with other data", logical.ListOperation, &logical.Response{Data: map[string]any{"x": 1}}, 200,
			`{"request_id":"id","lease_id":"","renewable":false,"lease_duration":0,"data":{"x":1},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}` + "\n"},
		{"lease", logical.ReadOperation, &logical.Response{Data: map[string]any{"u": "a"}, Secret: &logical.Secret{LeaseID: "db/creds/x/1", TTL: 90 * time.Second, Renewable: true}}, 200,
			`{"request_id":"id","lease_id":"db/creds/x/1","renewable":true,"lease_duration":90,"data":{"u":"a"},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}` + "\n"},
		{"raw replaces envelope", logical.ReadOperation, &logical.Response{Raw: map[string]any{"sealed": false}, Data: map[string]any{"ignored": 1}}, 200,
			`{"sealed":false}` + "\n"},
		{"auth block", logical.UpdateOperation, &logical.Response{Auth: &logical.Auth{ClientToken: "t", Policies: []string{"root"}}}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, code, err := renderLogical("id", tc.op, "kv", tc.resp)
			if err != nil {
				code = toStatusError(err).httpStatus
			}
			if code != tc.wantCode {
				t.Fatalf("code = %d (%v), want %d", code, err, tc.wantCode)
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", body, tc.wantBody)
			}
			if tc.resp != nil && tc.resp.Auth != nil && !strings.Contains(string(body), `"auth":{"client_token":"t",`) {
				t.Errorf("auth not rendered: %s", body)
			}
		})
	}
	if _, _, err := renderLogical("id", logical.ReadOperation, "kv", &logical.Response{Data: map[string]any{"f": func() {}}}); toStatusError(err).httpStatus != 500 {
		t.Errorf("unencodable data: %v", err)
	}
}

func TestDecodeJSONObject(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]any
		wantErr bool
	}{
		{"", nil, false},
		{"  \n", nil, false},
		{"null", nil, false},
		{`{"n":12345678901234567890,"s":"x"}`, map[string]any{"n": json.Number("12345678901234567890"), "s": "x"}, false},
		{`{"a":1} {"b":2}`, nil, true},
		{`[1]`, nil, true},
		{`"str"`, nil, true},
		{`{"a":`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := logical.DecodeData([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if se := toStatusError(err); se.httpStatus != 400 || se.messages[0] != msgBadJSON {
					t.Errorf("error = %d %q", se.httpStatus, se.messages)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("= %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestQueryDataAndOperation(t *testing.T) {
	rc := &restCall{method: http.MethodGet, query: map[string][]string{"list": {"true"}, "after": {"k"}, "help": {"1"}, "multi": {"a", "b"}}}
	op, data, err := restOperation(rc, nil)
	if err != nil || op != logical.ListOperation {
		t.Fatalf("op = %v, %v", op, err)
	}
	if fmt.Sprint(data) != fmt.Sprint(map[string]any{"after": "k", "multi": []string{"a", "b"}}) {
		t.Errorf("data = %v", data)
	}
	if rc.query.Get("list") != "true" {
		t.Error("restOperation modified the shared query")
	}
	for in, want := range map[string]logical.Operation{"READ": logical.ReadOperation, "patch": logical.PatchOperation, "create": logical.CreateOperation} {
		if got, err := parseOperation(in); err != nil || got != want {
			t.Errorf("parseOperation(%q) = %v, %v", in, got, err)
		}
	}
}

func TestClientToken(t *testing.T) {
	tests := []struct {
		name string
		md   metadata.MD
		want string
	}{
		{"x-vault-token", metadata.Pairs("x-vault-token", "a"), "a"},
		{"bearer", metadata.Pairs("authorization", "Bearer b"), "b"},
		{"bearer lower case", metadata.Pairs("authorization", "bearer c"), "c"},
		{"x-vault-token wins", metadata.Pairs("authorization", "Bearer b", "x-vault-token", "a"), "a"},
		{"basic ignored", metadata.Pairs("authorization", "Basic Zm9v"), ""},
		{"none", metadata.MD{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientToken(metadata.NewIncomingContext(context.Background(), tc.md)); got != tc.want {
				t.Errorf("= %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSysRoutesFromProto(t *testing.T) {
	routes := sysRoutes()
	want := map[string][]string{
		"/v1/sys/init":        {"GET", "POST", "PUT"},
		"/v1/sys/unseal":      {"POST", "PUT"},
		"/v1/sys/seal-status": {"GET"},
		"/v1/sys/seal":        {"POST", "PUT"},
		"/v1/sys/health":      {"GET", "HEAD"},
		"/v1/sys/leader":      {"GET"},
	}
	if len(routes) != len(want) {
		t.Errorf("routes = %v", routes)
	}
	for path, methods := range want {
		var got []string
		for m := range routes[path] {
			got = append(got, m)
		}
		slices.Sort(got)
		if !slices.Equal(got, methods) {
			t.Errorf("%s: methods %v, want %v", path, got, methods)
		}
	}
}
