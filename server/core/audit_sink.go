package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// auditRetryEvery is how often a device that could not be opened (its
// directory missing, its disk full) is tried again, on the next entry
// after the interval: it rejoins on its own.
const auditRetryEvery = time.Second

// retrySink is an enabled device that may not be open yet: until it
// opens, every entry fails (and counts as that device's failure).
type retrySink struct {
	name   string
	openFn func() (audit.Sink, error)

	sink    atomic.Pointer[sinkBox]
	mu      sync.Mutex // serialises opening and closing
	lastTry time.Time
	lastErr error
	closed  bool
}

// sinkBox holds an open device.
type sinkBox struct{ audit.Sink }

var _ audit.Sink = (*retrySink)(nil)

func newRetrySink(name string, open func() (audit.Sink, error)) *retrySink {
	return &retrySink{name: name, openFn: open}
}

// errDeviceClosed: the device was disabled or the node stepped down.
var errDeviceClosed = errors.New("core: audit device closed")

// open tries to open the device now.
func (r *retrySink) open() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.openLocked()
}

func (r *retrySink) openLocked() error {
	if r.closed {
		return errDeviceClosed
	}
	if r.sink.Load() != nil {
		return nil
	}
	r.lastTry = time.Now()
	s, err := r.openFn()
	if err != nil {
		r.lastErr = err
		return err
	}
	r.sink.Store(&sinkBox{s})
	return nil
}

// current returns the open device, opening it when a retry is due.
func (r *retrySink) current() (audit.Sink, error) {
	if b := r.sink.Load(); b != nil {
		return b.Sink, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.sink.Load(); b != nil {
		return b.Sink, nil
	}
	if r.closed {
		return nil, errDeviceClosed
	}
	if time.Since(r.lastTry) >= auditRetryEvery {
		if err := r.openLocked(); err == nil {
			return r.sink.Load().Sink, nil
		}
	}
	return nil, fmt.Errorf("core: audit device not open: %w", r.lastErr)
}

// retryNow lets the next entry try to open a device that is not open,
// without waiting for auditRetryEvery.
func (r *retrySink) retryNow() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastTry = time.Time{}
}

// LogRequest implements audit.Broker.
func (r *retrySink) LogRequest(ctx context.Context, e *audit.Entry) error {
	s, err := r.current()
	if err != nil {
		return err
	}
	return s.LogRequest(ctx, e)
}

// LogResponse implements audit.Broker.
func (r *retrySink) LogResponse(ctx context.Context, e *audit.Entry) error {
	s, err := r.current()
	if err != nil {
		return err
	}
	return s.LogResponse(ctx, e)
}

// Close closes the device (a final checkpoint); later entries fail.
func (r *retrySink) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	b := r.sink.Swap(nil)
	if b == nil {
		return nil
	}
	return b.Close()
}

// reopen reopens a file device's file (log rotation); other devices and
// devices not open have nothing to reopen.
func (r *retrySink) reopen() error {
	b := r.sink.Load()
	if b == nil {
		return nil
	}
	if f, ok := b.Sink.(interface{ Reopen() error }); ok {
		return f.Reopen()
	}
	return nil
}

// generation is the device's current HMAC key generation (false when the
// device is not open).
func (r *retrySink) generation() (uint64, bool) {
	b := r.sink.Load()
	if b == nil {
		return 0, false
	}
	g, ok := b.Sink.(interface{ Generation() uint64 })
	if !ok {
		return 0, false
	}
	return g.Generation(), true
}

// tail returns the device's recent lines (audit.Tailer), for
// sys/audit/:path/tail.
func (r *retrySink) tail(after uint64) ([]string, uint64, error) {
	s, err := r.current()
	if err != nil {
		return nil, 0, err
	}
	t, ok := s.(audit.Tailer)
	if !ok {
		return nil, 0, fmt.Errorf("%w: this audit device cannot be tailed", logical.ErrUnsupportedOperation)
	}
	lines, cur := t.Tail(after)
	return lines, cur, nil
}
