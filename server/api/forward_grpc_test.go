package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// TestForwardGRPC drives gRPC calls at a standby: Logical and the typed
// Sys methods are proxied to the active node, the node-local ones are not.
func TestForwardGRPC(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	conn := grpcFrom(t, standby, "127.0.0.8")
	logical, sys := pb.NewLogicalClient(conn), pb.NewSysClient(conn)
	root := withToken(context.Background(), active.root)

	// checkSeen: the active core ran path with the client's address and the
	// request id the client got back.
	checkSeen := func(t *testing.T, path string, body []byte) {
		t.Helper()
		seen := active.rec.last(t, path)
		if seen.remoteAddr != "127.0.0.8" {
			t.Errorf("active core saw remote address %q, want 127.0.0.8", seen.remoteAddr)
		}
		var env kvEnvelope
		if err := json.Unmarshal(body, &env); err != nil || env.RequestID != seen.id {
			t.Errorf("client saw request_id %q (%v), active core used %q", env.RequestID, err, seen.id)
		}
	}

	t.Run("logical write and read", func(t *testing.T) {
		out, err := logical.Handle(root, &pb.LogicalRequest{Path: "secret/data/g", Operation: "update", Data: []byte(`{"data":{"k":"v"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		checkSeen(t, "secret/data/g", out.GetData())
		out, err = logical.Handle(root, &pb.LogicalRequest{Path: "secret/data/g", Operation: "read"})
		if err != nil {
			t.Fatal(err)
		}
		checkSeen(t, "secret/data/g", out.GetData())
		var env kvEnvelope
		_ = json.Unmarshal(out.GetData(), &env)
		if env.Data.Data["k"] != "v" {
			t.Errorf("read %s", out.GetData())
		}
	})
	t.Run("status metadata relayed", func(t *testing.T) {
		var hdr metadata.MD
		if _, err := logical.Handle(root, &pb.LogicalRequest{Path: "secret/config", Operation: "update", Data: []byte(`{"max_versions":3}`)}, grpc.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		if got := hdr.Get("x-http-code"); !slices.Equal(got, []string{"204"}) {
			t.Errorf("x-http-code = %v, want [204]", got)
		}
	})
	t.Run("error relayed", func(t *testing.T) {
		_, err := logical.Handle(context.Background(), &pb.LogicalRequest{Path: "secret/data/g", Operation: "read"})
		if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "permission denied" {
			t.Errorf("err = %v, want PermissionDenied", err)
		}
		// The standby read the active node's HTTP status (403) from the answer.
		if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"transport": "grpc", "status": "403"}); got != 1 {
			t.Errorf("forwarded 403s = %v, want 1", got)
		}
	})
	t.Run("typed sys call proxied", func(t *testing.T) {
		mounts, err := sys.ListMounts(root, &pb.ListMountsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(mounts.GetMounts(), func(m *pb.Mount) bool { return m.GetPath() == "secret/" }) {
			t.Errorf("mounts = %v, want the active node's secret/", mounts.GetMounts())
		}
	})
	t.Run("node-local answered by the standby", func(t *testing.T) {
		st, err := sys.SealStatus(context.Background(), &pb.SealStatusRequest{})
		if err != nil || st.GetT() != 1 || st.GetN() != 1 {
			t.Errorf("seal status = %v, %v; want the standby's t=1 n=1", st, err)
		}
		if _, err := sys.Health(context.Background(), &pb.HealthRequest{}); err != nil {
			t.Error(err)
		}
	})
	t.Run("client cannot claim forwarding", func(t *testing.T) {
		spoofed := metadata.AppendToOutgoingContext(root,
			"x-secretum-forwarded-for", "6.6.6.6", "x-secretum-forwarded-request-id", "spoofed-id")
		for name, lc := range map[string]pb.LogicalClient{
			"through standby": logical,
			"active listener": pb.NewLogicalClient(grpcFrom(t, active, "127.0.0.8")),
		} {
			out, err := lc.Handle(spoofed, &pb.LogicalRequest{Path: "secret/data/g", Operation: "read"})
			if err != nil {
				t.Fatal(err)
			}
			if seen := active.rec.last(t, "secret/data/g"); seen.remoteAddr != "127.0.0.8" || seen.id == "spoofed-id" {
				t.Errorf("%s: active core saw %+v", name, seen)
			}
			checkSeen(t, "secret/data/g", out.GetData())
		}
	})
	if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"transport": "grpc"}); got != 6 {
		t.Errorf("standby counted %v forwarded gRPC calls, want 6", got)
	}
}

// TestForwardGRPCFailures covers a standby whose active node cannot
// answer, and the message size limit applied before forwarding.
func TestForwardGRPCFailures(t *testing.T) {
	t.Run("active unreachable", func(t *testing.T) {
		standby := startStandby(t, newRole(true, closedAddr(t)), api.Options{})
		_, err := pb.NewLogicalClient(grpcConn(t, standby.testServer)).Handle(context.Background(), &pb.LogicalRequest{Path: "secret/data/x", Operation: "read"})
		if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.HasPrefix(st.Message(), "no active node: ") {
			t.Fatalf("err = %v, want Unavailable no active node", err)
		}
	})
	t.Run("active silent: bounded by the caller's deadline", func(t *testing.T) {
		standby := startStandby(t, newRole(true, silentListener(t)), api.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := pb.NewLogicalClient(grpcConn(t, standby.testServer)).Handle(ctx, &pb.LogicalRequest{Path: "secret/data/x", Operation: "read"})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		// The standby's handler itself returned (it counts the call when done).
		waitFor(t, func() bool {
			return counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"transport": "grpc"}) == 1
		})
	})
	t.Run("message over the limit not forwarded", func(t *testing.T) {
		active := startNode(t, api.Options{}, 3, 2, true)
		standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{MaxRequestSize: 1024})
		before := len(active.rec.requests())
		_, err := pb.NewLogicalClient(grpcConn(t, standby.testServer)).Handle(withToken(context.Background(), active.root),
			&pb.LogicalRequest{Path: "secret/data/x", Operation: "update", Data: []byte(`{"v":"` + strings.Repeat("x", 4096) + `"}`)})
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("err = %v, want ResourceExhausted", err)
		}
		if got := active.rec.requests()[before:]; len(got) != 0 {
			t.Errorf("oversized call reached the active node: %v", got)
		}
	})
}

// TestForwardRESTSilentActive checks that a REST request to a standby
// whose active node accepts connections but never speaks ends with 503
// (the connect timeout) although the client would wait longer.
func TestForwardRESTSilentActive(t *testing.T) {
	standby := startStandby(t, newRole(true, silentListener(t)), api.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", standby.url+"/v1/secret/data/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := standby.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(raw), "no active node") {
		t.Fatalf("= %d %s, want 503 no active node", resp.StatusCode, raw)
	}
}

// TestForwardAnswerBreaksOff checks that a forwarded answer cut off midway
// reaches the client as a failed transfer, never as a shorter body. The
// active node here is a Forwarding server written by the test, because a
// real one does not fail on cue; the standby is real.
func TestForwardAnswerBreaksOff(t *testing.T) {
	fake := grpc.NewServer()
	pb.RegisterForwardingServer(fake, brokenActive{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fake.Serve(ln) }()
	t.Cleanup(fake.Stop)
	standby := startStandby(t, newRole(true, ln.Addr().String()), api.Options{})

	// The standby's first forward may find the cluster connection not yet
	// up (503, nothing forwarded): retry until it is forwarded.
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err = standby.client.Get(standby.url + "/v1/secret/data/snapshot")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		resp.Body.Close()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) != 2000 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d, read %d bytes, err %v; want 200, the 2000 bytes sent, then io.ErrUnexpectedEOF", resp.StatusCode, len(body), err)
	}
	if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", map[string]string{"status": "aborted"}); got != 1 {
		t.Errorf("aborted forwards = %v, want 1", got)
	}
}

// brokenActive sends two chunks of an answer and fails.
type brokenActive struct {
	pb.UnimplementedForwardingServer
}

func (brokenActive) Forward(stream grpc.BidiStreamingServer[pb.ForwardedRequest, pb.ForwardedResponse]) error {
	err := stream.Send(&pb.ForwardedResponse{Status: 200, Body: []byte(strings.Repeat("x", 1000)),
		Headers: []*pb.HTTPHeader{{Name: "Content-Type", Values: []string{"application/octet-stream"}}}})
	if err == nil {
		err = stream.Send(&pb.ForwardedResponse{Body: []byte(strings.Repeat("y", 1000))})
	}
	if err != nil {
		return err
	}
	return status.Error(codes.Internal, "disk failed")
}

// silentListener accepts connections and never answers.
func silentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
