package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Sink is an audit device as a Fanout sees it: a *Device, *FileDevice or
// *NetDevice. Its Broker methods must return within a bounded wait of
// their own (a Device's Options.Wait) and be safe for concurrent use;
// Close releases the device and must be bounded too.
type Sink interface {
	Broker
	Close() error
}

var _ Sink = (*Device)(nil)

// NamedSink is a device with its path, such as "file/".
type NamedSink struct {
	Name string
	Sink Sink
}

// FanoutOptions configure a Fanout.
type FanoutOptions struct {
	// OnFailure, if set, is called once per device that failed an entry,
	// from the goroutine that ran that device, possibly concurrently for
	// several devices (the server counts the failure and logs it there).
	// It is not called for a failure that is the caller's context ending.
	OnFailure func(device string, err error)
}

// Fanout is a Broker that records each entry on every device
// concurrently. An entry is recorded when at least one device recorded
// it; the failures of the others go to OnFailure. With no device it
// records nothing and succeeds, as Vault does with no audit device
// enabled. Its methods are safe for concurrent use.
type Fanout struct {
	sinks     []NamedSink
	onFailure func(string, error)
}

var _ Broker = (*Fanout)(nil)

// NewFanout returns a Fanout over a copy of sinks.
func NewFanout(sinks []NamedSink, opts FanoutOptions) *Fanout {
	return &Fanout{sinks: append([]NamedSink(nil), sinks...), onFailure: opts.OnFailure}
}

// LogRequest implements Broker: it returns nil when at least one device
// recorded the entry, else an error joining every device's error (each
// `audit: device "NAME": ...`). It waits for the slowest device's own
// bounded wait, never longer.
func (f *Fanout) LogRequest(ctx context.Context, e *Entry) error {
	return f.log(ctx, e, Broker.LogRequest)
}

// LogResponse implements Broker, like LogRequest.
func (f *Fanout) LogResponse(ctx context.Context, e *Entry) error {
	return f.log(ctx, e, Broker.LogResponse)
}

// Names returns the devices' names, in their order.
func (f *Fanout) Names() []string {
	names := make([]string, len(f.sinks))
	for i, s := range f.sinks {
		names[i] = s.Name
	}
	return names
}

// Close closes every device concurrently and joins their errors.
func (f *Fanout) Close() error {
	errs := make([]error, len(f.sinks))
	var wg sync.WaitGroup
	for i, s := range f.sinks {
		wg.Go(func() {
			if err := s.Sink.Close(); err != nil {
				errs[i] = fmt.Errorf("audit: device %q: close: %w", s.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// logFunc is Broker.LogRequest or Broker.LogResponse.
type logFunc func(Broker, context.Context, *Entry) error

func (f *Fanout) log(ctx context.Context, e *Entry, call logFunc) error {
	switch len(f.sinks) {
	case 0:
		return nil
	case 1:
		return f.one(ctx, e, call, f.sinks[0])
	}
	errs := make([]error, len(f.sinks))
	var wg sync.WaitGroup
	for i := 1; i < len(f.sinks); i++ {
		wg.Go(func() { errs[i] = f.one(ctx, e, call, f.sinks[i]) })
	}
	errs[0] = f.one(ctx, e, call, f.sinks[0])
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// one records e on one device and reports its failure.
func (f *Fanout) one(ctx context.Context, e *Entry, call logFunc, s NamedSink) error {
	err := call(s.Sink, ctx, e)
	if err == nil {
		return nil
	}
	if f.onFailure != nil && !isContextEnd(ctx, err) {
		f.onFailure(s.Name, err)
	}
	return fmt.Errorf("audit: device %q: %w", s.Name, err)
}

// isContextEnd tells whether err is ctx's own end (the caller gave up),
// not a device failure.
func isContextEnd(ctx context.Context, err error) bool {
	cerr := ctx.Err()
	return cerr != nil && errors.Is(err, cerr)
}
