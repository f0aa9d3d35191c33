package core

import (
	"context"
	"log/slog"
	"sync"

	"github.com/secretumvault/secretumvault/server/membership"
)

// activeService is work that runs only on the active node: autopilot
// today; the expiration manager, the rotation scheduler and the audit
// devices as they arrive. The core starts every registered service when
// the node becomes active (after it has rebuilt its active state from
// storage) and stops them all when it stops being active (step-down,
// seal, restore of a foreign snapshot), always from setActive and
// clearActive, never from anywhere else.
//
// Start must not block for long (start a goroutine for loops); its ctx
// bounds only that call. An error is logged and the node stays active
// without that service. Stop must return promptly and must not take the
// core's state or transition locks: it is called with them held. The
// methods are exported so that services of other packages (autopilot:
// *membership.Autopilot) can implement the interface.
type activeService interface {
	Name() string
	Start(ctx context.Context) error
	Stop()
}

var _ activeService = (*membership.Autopilot)(nil)

// activeServices is the ordered set of active-only services.
type activeServices struct {
	logger  *slog.Logger
	mu      sync.Mutex
	list    []activeService
	running bool
}

func newActiveServices(logger *slog.Logger) *activeServices {
	return &activeServices{logger: logger}
}

// add registers s; call before the node first becomes active.
func (a *activeServices) add(s activeService) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, s)
}

// startAll starts every service for a new active period, stopping those
// of a previous period first.
func (a *activeServices) startAll(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		a.stopLocked()
	}
	for _, s := range a.list {
		if err := s.Start(ctx); err != nil {
			a.logger.Error("core: active service did not start", "service", s.Name(), "error", err)
		}
	}
	a.running = true
}

// stopAll stops every service, in reverse order of start.
func (a *activeServices) stopAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running {
		a.stopLocked()
	}
}

func (a *activeServices) stopLocked() {
	for i := len(a.list) - 1; i >= 0; i-- {
		a.list[i].Stop()
	}
	a.running = false
}

// setActive makes st the node's active state and starts the active-only
// services for it.
func (c *Core) setActive(ctx context.Context, st *activeState) {
	c.activeAt = c.cfg.Now()
	// The audit devices open before the first request is served: a
	// request is never answered unaudited.
	c.audits.start(ctx)
	c.active.Store(st)
	c.services.startAll(ctx)
}

// clearActive ends the node's active period: services stop, requests see
// a standby (or sealed) node.
func (c *Core) clearActive() {
	c.services.stopAll()
	c.ceremonies.reset()
	c.active.Store(nil)
	c.audits.stop(nil)
}

// Shutdown ends the node's active period before the process exits: the
// active-only services stop and every audit device writes its final
// checkpoint and closes (waiting at most ctx for requests in flight).
func (c *Core) Shutdown(ctx context.Context) {
	c.transitionLock.Lock()
	defer c.transitionLock.Unlock()
	c.services.stopAll()
	c.active.Store(nil)
	done := make(chan struct{})
	c.audits.stop(done)
	select {
	case <-done:
	case <-ctx.Done():
		c.logger.Warn("core: audit devices still busy at shutdown", "error", ctx.Err())
	}
}
