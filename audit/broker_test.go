package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// failures records OnFailure calls.
type failures struct {
	mu    sync.Mutex
	names []string
	errs  []error
}

func (f *failures) record(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = append(f.names, name)
	f.errs = append(f.errs, err)
}

func (f *failures) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, got := range f.names {
		if got == name {
			n++
		}
	}
	return n
}

func (f *failures) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.names)
}

// deadSocket is a socket device whose peer is down: every entry fails.
func deadSocket(t *testing.T, k keys) *audit.NetDevice {
	t.Helper()
	return newSocket(t, "tcp", freeAddr(t, "tcp"), netOpts(k, 0), 0)
}

func TestFanoutNoDevice(t *testing.T) {
	var f failures
	fo := audit.NewFanout(nil, audit.FanoutOptions{OnFailure: f.record})
	if err := fo.LogRequest(context.Background(), sampleEntry(0)); err != nil {
		t.Fatal(err)
	}
	if err := fo.LogResponse(context.Background(), sampleEntry(0)); err != nil {
		t.Fatal(err)
	}
	if len(fo.Names()) != 0 || fo.Close() != nil || f.total() != 0 {
		t.Fatal("an empty fanout has devices, failures or a close error")
	}
}

func TestFanoutOneDeviceFailing(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	tests := []struct {
		name    string
		sinks   func() []audit.NamedSink
		wantErr []string // device names the error must name; nil: success
		failing []string // devices OnFailure must report for each entry
	}{
		{"healthy and failing", func() []audit.NamedSink {
			return []audit.NamedSink{{Name: "file/", Sink: openFile(t, path, k.opts())}, {Name: "socket/", Sink: deadSocket(t, k)}}
		}, nil, []string{"socket/"}},
		{"all failing", func() []audit.NamedSink {
			return []audit.NamedSink{{Name: "a/", Sink: deadSocket(t, k)}, {Name: "b/", Sink: deadSocket(t, k)}}
		}, []string{"a/", "b/"}, []string{"a/", "b/"}},
		{"single failing", func() []audit.NamedSink {
			return []audit.NamedSink{{Name: "only/", Sink: deadSocket(t, k)}}
		}, []string{"only/"}, []string{"only/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f failures
			fo := audit.NewFanout(tc.sinks(), audit.FanoutOptions{OnFailure: f.record})
			const n = 4
			for i := range n {
				err := fo.LogRequest(context.Background(), sampleEntry(i))
				if tc.wantErr == nil {
					if err != nil {
						t.Fatalf("entry %d: %v", i, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("entry %d recorded by no device but no error", i)
				}
				for _, name := range tc.wantErr {
					if !strings.Contains(err.Error(), fmt.Sprintf("audit: device %q: ", name)) {
						t.Fatalf("error %q does not name %s", err, name)
					}
				}
			}
			for _, name := range tc.failing {
				if got := f.count(name); got != n {
					t.Fatalf("OnFailure for %s: %d calls, want %d", name, got, n)
				}
			}
			if got := f.total(); got != n*len(tc.failing) {
				t.Fatalf("OnFailure: %d calls, want %d", got, n*len(tc.failing))
			}
			if err := fo.Close(); err == nil || !strings.Contains(err.Error(), tc.failing[0]) {
				t.Fatalf("Close: %v; want the failing device's final checkpoint error", err)
			}
		})
	}
	rep := mustVerify(t, k.pub, path)
	if rep.Entries != 4 {
		t.Fatalf("healthy device log: %+v", rep)
	}
}

// barrierSink records nothing until every barrier sink of its group has
// been entered: it fails when its calls do not run concurrently.
type barrierSink struct {
	arrived *sync.WaitGroup
	all     chan struct{}
}

func (b barrierSink) LogRequest(ctx context.Context, _ *audit.Entry) error {
	b.arrived.Done()
	select {
	case <-b.all:
		return nil
	case <-time.After(peerWait):
		return errors.New("the other devices were not called concurrently")
	}
}

func (b barrierSink) LogResponse(ctx context.Context, e *audit.Entry) error {
	return b.LogRequest(ctx, e)
}

func (barrierSink) Close() error { return nil }

func TestFanoutCallsDevicesConcurrently(t *testing.T) {
	var arrived sync.WaitGroup
	all := make(chan struct{})
	const n = 3
	arrived.Add(n)
	go func() { arrived.Wait(); close(all) }()
	var sinks []audit.NamedSink
	for i := range n {
		sinks = append(sinks, audit.NamedSink{Name: fmt.Sprintf("b%d/", i), Sink: barrierSink{&arrived, all}})
	}
	if err := audit.NewFanout(sinks, audit.FanoutOptions{}).LogRequest(context.Background(), sampleEntry(0)); err != nil {
		t.Fatal(err)
	}
}

// ctxSink fails only when its caller's context ends.
type ctxSink struct{}

func (ctxSink) LogRequest(ctx context.Context, _ *audit.Entry) error {
	<-ctx.Done()
	return fmt.Errorf("audit: %w", ctx.Err())
}

func (s ctxSink) LogResponse(ctx context.Context, e *audit.Entry) error { return s.LogRequest(ctx, e) }

func (ctxSink) Close() error { return nil }

func TestFanoutContextEndIsNotADeviceFailure(t *testing.T) {
	var f failures
	fo := audit.NewFanout([]audit.NamedSink{{Name: "a/", Sink: ctxSink{}}, {Name: "b/", Sink: ctxSink{}}},
		audit.FanoutOptions{OnFailure: f.record})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fo.LogResponse(ctx, sampleEntry(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v; want context.Canceled", err)
	}
	if f.total() != 0 {
		t.Fatalf("OnFailure called for the caller's cancellation: %v", f.names)
	}
}

func TestFanoutConcurrentCallers(t *testing.T) {
	k := newKeys(t)
	paths := []string{tempLog(t), tempLog(t)}
	var f failures
	fo := audit.NewFanout([]audit.NamedSink{
		{Name: "file/", Sink: openFile(t, paths[0], k.opts())},
		{Name: "file2/", Sink: openFile(t, paths[1], k.opts())},
	}, audit.FanoutOptions{OnFailure: f.record})
	if got := fo.Names(); len(got) != 2 || got[0] != "file/" || got[1] != "file2/" {
		t.Fatalf("Names: %v", got)
	}
	const callers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				e := sampleEntry(c*each + i)
				err := fo.LogRequest(context.Background(), e)
				if err == nil {
					err = fo.LogResponse(context.Background(), e)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := fo.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if rep := mustVerify(t, k.pub, p); rep.Entries != 2*callers*each {
			t.Fatalf("%s: %d entries, want %d", p, rep.Entries, 2*callers*each)
		}
	}
	if f.total() != 0 {
		t.Fatalf("failures with healthy devices: %v", f.errs)
	}
}

// BenchmarkFanout measures a request entry through one and two devices
// writing to io.Discard (encode, chain, and the fan-out's cost).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("devices=%d", n), func(b *testing.B) {
			k := newKeys(b)
			var sinks []audit.NamedSink
			for i := range n {
				d, err := audit.NewWriterDevice(io.Discard, audit.Options{RootKey: k.root, SigningKey: k.priv})
				if err != nil {
					b.Fatal(err)
				}
				sinks = append(sinks, audit.NamedSink{Name: fmt.Sprintf("d%d/", i), Sink: d})
			}
			fo := audit.NewFanout(sinks, audit.FanoutOptions{})
			e := sampleEntry(0)
			b.ReportAllocs()
			for b.Loop() {
				if err := fo.LogRequest(context.Background(), e); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := fo.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
