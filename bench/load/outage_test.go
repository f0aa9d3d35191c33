package load_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

// outageHandler serves next except between from and to after the time
// stored in t0, when it fails every request the way mode says: "503"
// answers 503, "drop" closes the connection without an answer, "hang"
// never answers (the request fails on the client's timeout). to == 0
// means the outage never ends.
type outageHandler struct {
	next     http.Handler
	mode     string
	from, to time.Duration
	t0       atomic.Pointer[time.Time]
}

func (h *outageHandler) down() bool {
	t0 := h.t0.Load()
	if t0 == nil {
		return false
	}
	since := time.Since(*t0)
	return since >= h.from && (h.to == 0 || since < h.to)
}

func (h *outageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.down() {
		h.next.ServeHTTP(w, r)
		return
	}
	switch h.mode {
	case "503":
		w.WriteHeader(http.StatusServiceUnavailable)
	case "drop":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	case "hang":
		// The server notices the client's disconnect only once the body
		// is read; the timer keeps a bug from hanging the test.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	default:
		panic("unknown mode " + h.mode)
	}
}

// TestRunReportsOutage runs writes against a real server that stops
// answering for a known interval of the run, and checks that the report's
// longest outage window covers exactly that interval (within scheduling
// slack), that it is counted, and whether the run saw a recovery.
func TestRunReportsOutage(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name     string
		mode     string
		from, to time.Duration // to == 0: never recovers
		duration time.Duration
	}{
		{"503 answers", "503", 600 * ms, 1400 * ms, 2500 * ms},
		{"connections dropped", "drop", 600 * ms, 1400 * ms, 2500 * ms},
		{"no answer until the client times out", "hang", 600 * ms, 1400 * ms, 2500 * ms},
		{"down until the end", "503", 1000 * ms, 0, 1500 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next, root := newHandler(t)
			h := &outageHandler{next: next, mode: tc.mode, from: tc.from, to: tc.to}
			hs := httptest.NewServer(h)
			t.Cleanup(hs.Close)
			cfg := load.DefaultConfig()
			cfg.Addrs, cfg.Token, cfg.Workload = []string{hs.URL}, root, load.WorkloadWrite
			cfg.Clients, cfg.Duration, cfg.Keys, cfg.Timeout = 4, tc.duration, 50, 200*ms

			t0 := time.Now()
			h.t0.Store(&t0)
			rep, err := load.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := rep.ByKind[load.KindWrite]
			if w == nil || w.Errors == 0 || w.Requests == w.Errors {
				t.Fatalf("writes = %+v, want some failures and some successes", w)
			}
			av := w.Availability
			t.Logf("%s: %+v, errors %v", tc.name, av, w.ErrorsByStatus)
			if av != rep.Total.Availability {
				t.Fatalf("write-only run: total availability %+v != write %+v", rep.Total.Availability, av)
			}
			if av.Outages != 1 {
				t.Fatalf("outages = %d, want 1 (%+v)", av.Outages, av)
			}
			// The window begins at the last success before the outage:
			// at most a request's latency after it began, and not long
			// before it while four clients write continuously.
			if av.LongestOutageStart < tc.from-300*ms || av.LongestOutageStart > tc.from+100*ms {
				t.Fatalf("outage starts at %v, want about %v", av.LongestOutageStart, tc.from)
			}
			end := av.LongestOutageStart + av.LongestOutage
			elapsed := time.Duration(rep.ElapsedSeconds * float64(time.Second))
			if tc.to == 0 {
				if av.Recovered || av.Recovery != 0 || end < elapsed-ms || end > elapsed+ms {
					t.Fatalf("outage until the end: got %+v ending at %v, want unrecovered until %v", av, end, elapsed)
				}
				return
			}
			// It ends at the first success after the outage: not before it
			// ended, and within a timeout plus slack after. (Offsets count
			// from Run's start, a little after t0: hence the 50ms.)
			if !av.Recovered || av.Recovery != av.LongestOutage || end < tc.to-50*ms || end > tc.to+cfg.Timeout+500*ms {
				t.Fatalf("outage ends at %v (%+v), want recovered soon after %v", end, av, tc.to)
			}
		})
	}
}
