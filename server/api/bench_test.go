package api_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// benchRequest sends one request over the loopback connection and drains it.
func benchRequest(b *testing.B, ts *testServer, method, path, token, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.url+path, rd)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := ts.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s = %d", method, path, resp.StatusCode)
	}
}

// BenchmarkHTTPRead is a kv-v2 read through the whole stack: HTTP/1.1 over
// loopback, gateway, service, real core (token, router, barrier) over inmem.
func BenchmarkHTTPRead(b *testing.B) {
	ts, root := unsealed(b)
	benchRequest(b, ts, "PUT", "/v1/secret/data/bench", root, `{"data":{"user":"alice","password":"s3cr3t"}}`, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, ts, "GET", "/v1/secret/data/bench", root, "", 200)
	}
}

// BenchmarkHTTPWrite is a kv-v2 write (new version each time) end to end.
func BenchmarkHTTPWrite(b *testing.B) {
	ts, root := unsealed(b)
	// Bound the version history so the benchmark measures writes, not growth.
	benchRequest(b, ts, "POST", "/v1/secret/config", root, `{"max_versions":5}`, 204)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		benchRequest(b, ts, "PUT", "/v1/secret/data/bench", root, `{"data":{"n":"`+strconv.Itoa(i)+`"}}`, 200)
	}
}

// BenchmarkGRPCRead is the same read through the gRPC transport (h2c, same
// listener).
func BenchmarkGRPCRead(b *testing.B) {
	ts, root := unsealed(b)
	benchRequest(b, ts, "PUT", "/v1/secret/data/bench", root, `{"data":{"user":"alice"}}`, 200)
	lc := pb.NewLogicalClient(grpcConn(b, ts))
	ctx := withToken(context.Background(), root)
	req := &pb.LogicalRequest{Path: "secret/data/bench", Operation: "read"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := lc.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
