package api_test

import (
	"context"
	"strings"
	"testing"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

func TestMetricsEndpoint(t *testing.T) {
	ts, root := unsealed(t)
	ts.mustJSON(t, "PUT", "/v1/secret/data/a", root, `{"data":{"x":"1"}}`, 200, nil)
	ts.mustJSON(t, "GET", "/v1/secret/data/a", root, "", 200, nil)
	ts.mustJSON(t, "GET", "/v1/secret/data/a", "s.wrong", "", 403, nil)
	if _, err := pb.NewSysClient(grpcConn(t, ts)).SealStatus(context.Background(), &pb.SealStatusRequest{}); err != nil {
		t.Fatal(err)
	}

	denied := ts.do(t, "GET", "/v1/sys/metrics?format=prometheus", "", "")
	if denied.status != 403 || !strings.Contains(string(denied.body), "permission denied") {
		t.Fatalf("scrape without token = %d %s", denied.status, denied.body)
	}
	r := ts.do(t, "GET", "/v1/sys/metrics?format=prometheus", root, "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape = %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	text := string(r.body)
	for _, want := range []string{
		`secretum_vault_request_duration_seconds_count{mount="secret/",operation="create",status="200"} 1`,
		`secretum_vault_request_duration_seconds_count{mount="secret/",operation="read",status="200"} 1`,
		`secretum_vault_request_duration_seconds_count{mount="secret/",operation="read",status="403"} 1`,
		`secretum_vault_request_duration_seconds_count{mount="sys/",operation="read",status="200"} 1`,
		`secretum_vault_request_duration_seconds_count{mount="sys/",operation="update",status="204"} 1`,
		`secretum_vault_request_duration_seconds_count{mount="sys/",operation="read",status="403"} 1`,
		"secretum_vault_auth_failures_total 2",
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepLines(text, "secretum_vault_"))
	}

	ts.mustJSON(t, "PUT", "/v1/sys/seal", root, "", 204, nil)
	if r := ts.do(t, "GET", "/v1/sys/metrics?format=prometheus", root, ""); r.status != 503 {
		t.Errorf("scrape while sealed = %d %s", r.status, r.body)
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
