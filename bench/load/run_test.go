package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// newServer starts a real core over inmem storage, initialised, unsealed
// and with kv-v2 at secret/, behind the real HTTP handler. It returns the
// base URL and the root token, "root".
func newServer(t *testing.T) (string, string) {
	t.Helper()
	h, root := newHandler(t)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL, root
}

// newHandler is newServer's HTTP handler and root token, not yet served.
func newHandler(t *testing.T) (http.Handler, string) {
	t.Helper()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	_, root, err := c.InitializeDev(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	return api.New(c, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler(), root
}

// kvVersion reads key i back and returns its kv-v2 version and value;
// version 0 if the key was never written there.
func kvVersion(t *testing.T, url, token string, cfg *load.Config, i int) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/v1/"+cfg.Mount+"/data/"+cfg.KeyPath(i), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, ""
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read %s: status %d", cfg.KeyPath(i), resp.StatusCode)
	}
	var body struct {
		Data struct {
			Data     map[string]string `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode %s: %v", cfg.KeyPath(i), err)
	}
	return body.Data.Metadata.Version, body.Data.Data["v"]
}

func checkLatency(t *testing.T, name string, l load.Latency) {
	t.Helper()
	if l.Min <= 0 || l.Min > l.P50 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max || l.Mean < l.Min || l.Mean > l.Max {
		t.Fatalf("%s latency not ordered: %+v", name, l)
	}
}

// TestRunMixedRealServer is the 2 s, 4 client run: 50% reads after the
// setup phase; afterwards every key must be readable with the full value.
func TestRunMixedRealServer(t *testing.T) {
	url, root := newServer(t)
	cfg := load.DefaultConfig()
	cfg.Addrs, cfg.Token = []string{url}, root
	cfg.Workload, cfg.ReadPercent = load.WorkloadMixed, 50
	cfg.Clients, cfg.Duration, cfg.Keys, cfg.ValueSize = 4, 2*time.Second, 64, 100

	start := time.Now()
	rep, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("2s run took %v", took)
	}
	if rep.Total.Requests == 0 || rep.Total.Errors != 0 || len(rep.Total.ErrorsByStatus) != 0 {
		t.Fatalf("total = %+v", rep.Total)
	}
	if rep.ElapsedSeconds < 2 || rep.ElapsedSeconds > 5 {
		t.Fatalf("elapsed = %vs", rep.ElapsedSeconds)
	}
	read, write := rep.ByKind[load.KindRead], rep.ByKind[load.KindWrite]
	if read == nil || write == nil || read.Requests == 0 || write.Requests == 0 {
		t.Fatalf("by kind = %+v", rep.ByKind)
	}
	if read.Requests+write.Requests != rep.Total.Requests {
		t.Fatalf("kinds %d+%d != total %d", read.Requests, write.Requests, rep.Total.Requests)
	}
	checkLatency(t, "total", rep.Total.Latency)
	checkLatency(t, "read", read.Latency)
	checkLatency(t, "write", write.Latency)
	t.Logf("mixed: %d req, %.0f req/s, p50 %v p99 %v", rep.Total.Requests, rep.Total.RequestsPerSecond, rep.Total.Latency.P50, rep.Total.Latency.P99)
	for i := range cfg.Keys {
		if v, val := kvVersion(t, url, root, &cfg, i); v < 1 || len(val) != cfg.ValueSize {
			t.Fatalf("key %d: version %d, value length %d", i, v, len(val))
		}
	}
}

// TestRunWriteCountBound sends exactly Requests writes, spread over two
// servers; writes cycle through the keys, so the versions of each key on
// both servers add up to Requests/Keys, and both servers got writes.
func TestRunWriteCountBound(t *testing.T) {
	url1, root := newServer(t)
	url2, _ := newServer(t)
	cfg := load.DefaultConfig()
	cfg.Addrs, cfg.Token = []string{url1, url2}, root
	cfg.Workload, cfg.Clients, cfg.Duration, cfg.Requests, cfg.Keys = load.WorkloadWrite, 4, 0, 300, 50
	rep, err := load.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Requests != 300 || rep.Total.Errors != 0 || rep.ByKind[load.KindRead] != nil {
		t.Fatalf("report = %+v, by kind %+v", rep.Total, rep.ByKind)
	}
	var perServer [2]int
	for i := range cfg.Keys {
		sum := 0
		for s, url := range []string{url1, url2} {
			v, val := kvVersion(t, url, root, &cfg, i)
			if v > 0 && len(val) != cfg.ValueSize {
				t.Fatalf("key %d on server %d: value length %d", i, s, len(val))
			}
			sum += v
			perServer[s] += v
		}
		if sum != 6 {
			t.Fatalf("key %d: %d versions over both servers, want 6", i, sum)
		}
	}
	if perServer[0] == 0 || perServer[1] == 0 {
		t.Fatalf("writes per server = %v, want both > 0", perServer)
	}
}

// TestRunCountsErrors checks that failures are counted by status and that
// a failed setup aborts the run.
func TestRunCountsErrors(t *testing.T) {
	url, _ := newServer(t)
	cfg := load.DefaultConfig()
	cfg.Addrs, cfg.Token = []string{url}, "not-a-token"
	cfg.Clients, cfg.Duration, cfg.Requests, cfg.Keys = 2, 0, 20, 5

	t.Run("write with bad token", func(t *testing.T) {
		rep, err := load.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := rep.ByKind[load.KindWrite]
		if rep.Total.Requests != 20 || rep.Total.Errors != 20 || w.Errors != 20 || w.ErrorsByStatus["403"] != 20 || rep.Total.ErrorsByStatus["403"] != 20 {
			t.Fatalf("total %+v write %+v", rep.Total, w)
		}
	})
	t.Run("read setup with bad token", func(t *testing.T) {
		c := cfg
		c.Workload = load.WorkloadRead
		if _, err := load.Run(context.Background(), c); !errors.Is(err, load.ErrSetup) {
			t.Fatalf("Run = %v, want ErrSetup", err)
		}
	})
	t.Run("server gone", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		c := cfg
		c.Addrs, c.Timeout = []string{dead.URL}, 2*time.Second
		rep, err := load.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total.Errors != 20 || rep.Total.ErrorsByStatus[load.StatusTransport] != 20 || rep.Total.Latency != (load.Latency{}) {
			t.Fatalf("total %+v", rep.Total)
		}
	})
	t.Run("remote refused before any traffic", func(t *testing.T) {
		c := cfg
		c.Addrs = []string{"http://192.0.2.1:8200"}
		if _, err := load.Run(context.Background(), c); !errors.Is(err, load.ErrRemoteAddr) {
			t.Fatalf("Run = %v, want ErrRemoteAddr", err)
		}
	})
}

// TestRunStopsOnCancel: a long run ends soon after ctx is cancelled and
// still returns a report without counting the cut-off requests as errors.
func TestRunStopsOnCancel(t *testing.T) {
	url, root := newServer(t)
	cfg := load.DefaultConfig()
	cfg.Addrs, cfg.Token, cfg.Clients, cfg.Duration = []string{url}, root, 2, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("cancelled run took %v", took)
	}
	if rep.Total.Requests == 0 || rep.Total.Errors != 0 {
		t.Fatalf("total %+v", rep.Total)
	}
}
