package core

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// enginePeriod is how often mounted engines' scheduled work runs
// (logical.Periodic: static role rotation).
const enginePeriod = time.Second

// engineService is the active-only service that runs the mounted
// engines' Periodic work, one engine after the other, and on stop calls
// their Cleanup (database pools close when the node stops being active).
type engineService struct {
	core   *Core
	cancel context.CancelFunc
	done   chan struct{}
}

var _ activeService = (*engineService)(nil)

// Name implements activeService.
func (s *engineService) Name() string { return "engines" }

// Start implements activeService.
func (s *engineService) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

// Stop implements activeService: the periodic loop ends, then every
// engine holding resources cleans up.
func (s *engineService) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
	st := s.core.active.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, rt := range st.router.all() {
		if cl, ok := rt.backend.(logical.Cleaner); ok {
			cl.Cleanup(ctx)
		}
	}
}

func (s *engineService) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(enginePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tick(ctx)
		}
	}
}

// tick runs each engine's Periodic once.
func (s *engineService) tick(ctx context.Context) {
	st := s.core.active.Load()
	if st == nil {
		return
	}
	for _, rt := range st.router.all() {
		p, ok := rt.backend.(logical.Periodic)
		if !ok {
			continue
		}
		if err := p.Periodic(ctx); err != nil && ctx.Err() == nil {
			s.core.logger.Error("core: engine periodic work failed", "mount", rt.prefix, "error", err)
		}
	}
}
