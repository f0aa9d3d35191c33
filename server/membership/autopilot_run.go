package membership

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// autopilotInterval is how often the active node judges the servers.
	autopilotInterval = time.Second
	// autopilotOpTimeout bounds one membership change.
	autopilotOpTimeout = 10 * time.Second
)

// Autopilot runs Vault's autopilot on the active node. It is an
// active-only service of the core: Start when the node becomes active,
// Stop when it steps down or seals. Between the two, State, Configuration
// and SetConfiguration answer sys/storage/raft/autopilot/*; otherwise
// State fails with ErrAutopilotNotRunning.
type Autopilot struct {
	m     *Membership
	run   atomic.Pointer[apRun] // the current active period's loop
	cfgMu sync.Mutex            // serializes configuration updates
}

// apRun is one active period's autopilot loop.
type apRun struct {
	eng    *engine
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// Name implements the core's active service: "autopilot".
func (a *Autopilot) Name() string { return "autopilot" }

// Start starts the loop of a new active period, replacing any previous
// one. It reads the stored configuration with ctx and returns at once.
func (a *Autopilot) Start(ctx context.Context) error {
	m := a.m
	cfg, err := loadAutopilotConfig(ctx, m.barrier)
	if err != nil {
		m.logger.Warn("membership: autopilot starts with the default configuration", "error", err)
	}
	eng := newEngine(m.cluster.NodeID(), m.version, cfg, m.now())
	runCtx, cancel := context.WithCancel(context.Background())
	r := &apRun{eng: eng, ctx: runCtx, cancel: cancel, done: make(chan struct{})}
	if old := a.run.Swap(r); old != nil {
		old.cancel()
	}
	go a.loop(r)
	return nil
}

// Stop ends the loop; it returns at once and takes no lock of the core.
func (a *Autopilot) Stop() {
	if r := a.run.Swap(nil); r != nil {
		r.cancel()
	}
}

// running returns the current loop, or nil.
func (a *Autopilot) running() *apRun { return a.run.Load() }

// loop ticks until stopped or until this node no longer leads.
func (a *Autopilot) loop(r *apRun) {
	defer close(r.done)
	defer a.run.CompareAndSwap(r, nil)
	t := time.NewTicker(autopilotInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		if !a.stillActive(r) {
			return
		}
		a.tick(r.ctx, r)
	}
}

// stillActive reports whether r is the running loop of a raft leader.
func (a *Autopilot) stillActive(r *apRun) bool {
	return r.ctx.Err() == nil && a.run.Load() == r && a.m.cluster.IsLeader()
}

// tick judges the servers once and carries out the removals and
// promotions the configuration calls for.
func (a *Autopilot) tick(ctx context.Context, r *apRun) {
	m, eng := a.m, r.eng
	in, err := a.observe(ctx)
	if err != nil {
		m.logger.Debug("membership: autopilot could not observe the cluster", "error", err)
		return
	}
	state := eng.evaluate(in)
	remove, promote := eng.plan(state, in)
	for _, id := range remove {
		if !a.stillActive(r) {
			return
		}
		srv := state.Servers[id]
		m.logger.Warn("membership: autopilot removing dead server", "node_id", id, "status", srv.Status,
			"last_contact", srv.LastContact.Round(time.Millisecond))
		opCtx, cancel := context.WithTimeout(ctx, autopilotOpTimeout)
		err := m.removeServer(opCtx, id, "autopilot: dead server")
		cancel()
		if err != nil {
			m.logger.Warn("membership: autopilot could not remove dead server", "node_id", id, "error", err)
			continue
		}
		eng.forget(id)
	}
	for _, id := range promote {
		if !a.stillActive(r) {
			return
		}
		srv := state.Servers[id]
		m.logger.Info("membership: autopilot promoting server to voter", "node_id", id, "stable_since", srv.StableSince)
		opCtx, cancel := context.WithTimeout(ctx, autopilotOpTimeout)
		err := m.cluster.AddPeer(opCtx, id, srv.Address, true)
		cancel()
		if err != nil {
			m.logger.Warn("membership: autopilot could not promote server", "node_id", id, "error", err)
		}
	}
}

// observe reads the cluster once.
func (a *Autopilot) observe(ctx context.Context) (*apInput, error) {
	m := a.m
	peers, err := m.cluster.Peers(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := m.barrier.List(ctx, pinnedNonVoterPrefix)
	if err != nil {
		return nil, fmt.Errorf("membership: list pinned non-voters: %w", err)
	}
	pinned := make(map[string]bool, len(ids))
	for _, id := range ids {
		pinned[id] = true
	}
	return &apInput{now: m.now(), peers: peers, stats: m.cluster.Stats(), pinned: pinned}, nil
}

// State answers sys/storage/raft/autopilot/state.
func (a *Autopilot) State(ctx context.Context) (*AutopilotState, error) {
	r := a.running()
	if r == nil {
		return nil, ErrAutopilotNotRunning
	}
	in, err := a.observe(ctx)
	if err != nil {
		return nil, err
	}
	return r.eng.evaluate(in), nil
}

// Configuration answers GET sys/storage/raft/autopilot/configuration: the
// stored configuration, or the defaults.
func (a *Autopilot) Configuration(ctx context.Context) (*AutopilotConfig, error) {
	cfg, err := loadAutopilotConfig(ctx, a.m.barrier)
	if err != nil {
		return nil, err
	}
	return &cfg, nil
}

// SetConfiguration answers POST sys/storage/raft/autopilot/configuration:
// it merges u into the stored configuration, validates the result, stores
// it behind the barrier and hands it to the running loop.
func (a *Autopilot) SetConfiguration(ctx context.Context, u *AutopilotConfigUpdate) error {
	m := a.m
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	cfg, err := loadAutopilotConfig(ctx, m.barrier)
	if err != nil {
		return err
	}
	u.Apply(&cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := saveAutopilotConfig(ctx, m.barrier, &cfg); err != nil {
		return err
	}
	if r := a.running(); r != nil {
		r.eng.setConfig(cfg)
	}
	m.logger.Info("membership: autopilot configuration updated", "cleanup_dead_servers", cfg.CleanupDeadServers,
		"dead_server_last_contact_threshold", cfg.DeadServerLastContactThreshold, "min_quorum", cfg.MinQuorum,
		"server_stabilization_time", cfg.ServerStabilizationTime)
	return nil
}
