package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is the kind of a single request.
type Kind string

// The request kinds, also the keys of Report.ByKind.
const (
	KindRead  Kind = "read"
	KindWrite Kind = "write"
)

// StatusTransport is the Stats.ErrorsByStatus key for requests that got no
// HTTP response (connection refused, timeout).
const StatusTransport = "transport"

// Run validates cfg, pre-writes every key for the read and mixed
// workloads, then runs cfg.Clients concurrent clients until cfg.Duration
// has passed or cfg.Requests requests were sent, and returns the report.
// Requests in flight when the duration ends are completed and counted.
// Cancelling ctx stops the run early; requests cut off by the cancellation
// are not counted. Run returns an error only for an invalid config, a
// failed setup or a cancelled ctx during setup; request failures during
// the measured phase are counted in the report instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg}
	r.workers = make([]*worker, cfg.Clients)
	for i := range r.workers {
		r.workers[i] = newWorker(&r.cfg, i)
	}
	defer r.close()
	if cfg.Workload != WorkloadWrite {
		if err := r.setup(ctx); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r.start = start
	if cfg.Duration > 0 {
		r.deadline = start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() { r.loop(ctx, w) })
	}
	wg.Wait()
	return buildReport(&cfg, time.Since(start), r.workers), nil
}

// runner holds the state shared by all workers of one run.
type runner struct {
	cfg      Config
	workers  []*worker
	start    time.Time    // start of the measured phase
	deadline time.Time    // zero when bounded by count
	issued   atomic.Int64 // measured requests claimed so far
	nextKey  atomic.Int64 // key counter for writes
}

func (r *runner) close() {
	for _, w := range r.workers {
		w.client.CloseIdleConnections()
	}
}

// setup writes every key once, spread over the workers; the first failure
// aborts it.
func (r *runner) setup(ctx context.Context) error {
	errs := make([]error, len(r.workers))
	var wg sync.WaitGroup
	for i, w := range r.workers {
		wg.Go(func() {
			for k := i; k < r.cfg.Keys; k += len(r.workers) {
				status, err := w.send(ctx, KindWrite, k)
				if err != nil || !success(status) {
					errs[i] = fmt.Errorf("%w: write %s: %s", ErrSetup, r.cfg.KeyPath(k), describe(status, err))
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// next reports whether the worker may send another measured request.
func (r *runner) next(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if !r.deadline.IsZero() {
		return time.Now().Before(r.deadline)
	}
	return r.issued.Add(1) <= int64(r.cfg.Requests)
}

func (r *runner) loop(ctx context.Context, w *worker) {
	for r.next(ctx) {
		kind, key := r.pick(w)
		start := time.Now()
		status, err := w.send(ctx, kind, key)
		took := time.Since(start)
		if err != nil && ctx.Err() != nil {
			return // cut off by cancellation: not a server failure
		}
		w.rec.add(kind, status, err, start.Sub(r.start), took)
	}
}

// pick chooses the next request: reads hit a random key, writes cycle
// through all keys so that a long enough write run touches every key.
func (r *runner) pick(w *worker) (Kind, int) {
	read := false
	switch r.cfg.Workload {
	case WorkloadRead:
		read = true
	case WorkloadMixed:
		read = w.rng.IntN(100) < r.cfg.ReadPercent
	}
	if read {
		return KindRead, w.rng.IntN(r.cfg.Keys)
	}
	return KindWrite, int((r.nextKey.Add(1) - 1) % int64(r.cfg.Keys))
}

// worker is one client: its own keep-alive connection, body and samples.
type worker struct {
	cfg    *Config
	client *http.Client
	base   string // <addr>/v1/<mount>/data/
	body   []byte // the kv-v2 write body
	rng    *rand.Rand
	rec    recorder
}

func newWorker(cfg *Config, i int) *worker {
	tr := &http.Transport{
		Proxy:               nil, // never route loopback load through a proxy
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify}, //nolint:gosec // opt-in for dev servers
	}
	addr := cfg.Addrs[i%len(cfg.Addrs)]
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
	return &worker{
		cfg:    cfg,
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		base:   addr + "/v1/" + cfg.Mount + "/data/",
		body:   writeBody(rng, cfg.ValueSize),
		rng:    rng,
	}
}

// writeBody returns {"data":{"v":"<size random alphanumerics>"}}.
func writeBody(rng *rand.Rand, size int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b bytes.Buffer
	b.Grow(size + 32)
	b.WriteString(`{"data":{"v":"`)
	for range size {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	b.WriteString(`"}}`)
	return b.Bytes()
}

// send performs one request and drains the response so the connection is
// reused. It returns the HTTP status, or an error if there was none.
func (w *worker) send(ctx context.Context, kind Kind, key int) (int, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if kind == KindWrite {
		method, body = http.MethodPut, bytes.NewReader(w.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+w.cfg.KeyPath(key), body)
	if err != nil {
		return 0, fmt.Errorf("load: build request: %w", err)
	}
	req.Header.Set("X-Vault-Token", w.cfg.Token)
	if kind == KindWrite {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("load: %s: %w", method, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("load: read response: %w", err)
	}
	return resp.StatusCode, nil
}

func success(status int) bool { return status >= 200 && status < 300 }

func describe(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	return "status " + strconv.Itoa(status)
}
