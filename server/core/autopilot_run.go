package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

const (
	// autopilotInterval is how often the active node judges the servers.
	autopilotInterval = time.Second
	// autopilotOpTimeout bounds one membership change.
	autopilotOpTimeout = 10 * time.Second
)

// autopilotHolder is the Core's autopilot machinery.
type autopilotHolder struct {
	run   atomic.Pointer[apRun] // autopilot of the current active period
	cfgMu sync.Mutex            // serializes configuration updates
	echo  echoSender            // standby side (autopilot_echo.go)
}

// apRun is one active period's autopilot loop.
type apRun struct {
	ap     *autopilot
	cancel context.CancelFunc
	done   chan struct{}
}

// startAutopilot starts the autopilot loop of the active period st,
// replacing any previous one. Callers hold transitionLock.
func (c *Core) startAutopilot(ctx context.Context, st *activeState) {
	cl := c.cfg.Cluster
	cfg, err := loadAutopilotConfig(ctx, c.barrier)
	if err != nil {
		c.logger.Warn("core: autopilot starts with the default configuration", "error", err)
	}
	ap := newAutopilot(cl.NodeID(), Version, cfg, c.cfg.Now())
	if c.cfg.APIAddr == "" {
		ap.noEcho = true
		c.logger.Warn("core: api_addr is not set: standbys cannot report their log position to autopilot, which judges them on raft contact alone")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &apRun{ap: ap, cancel: cancel, done: make(chan struct{})}
	if old := c.autopilot.run.Swap(r); old != nil {
		old.cancel()
	}
	go c.runAutopilot(runCtx, r, st)
}

// stopAutopilot stops the loop (on step-down). Callers hold
// transitionLock.
func (c *Core) stopAutopilot() {
	if r := c.autopilot.run.Swap(nil); r != nil {
		r.cancel()
	}
}

// runAutopilot ticks until stopped or until st is no longer the active
// state (the node sealed or stepped down).
func (c *Core) runAutopilot(ctx context.Context, r *apRun, st *activeState) {
	defer close(r.done)
	defer c.autopilot.run.CompareAndSwap(r, nil)
	t := time.NewTicker(autopilotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.stillActive(st) {
			return
		}
		c.autopilotTick(ctx, r.ap, st)
	}
}

// stillActive reports whether st is the active state of a raft leader.
func (c *Core) stillActive(st *activeState) bool {
	return c.active.Load() == st && c.cfg.Cluster.IsLeader()
}

// autopilotTick judges the servers once and carries out the removals and
// promotions the configuration calls for.
func (c *Core) autopilotTick(ctx context.Context, ap *autopilot, st *activeState) {
	cl := c.cfg.Cluster
	in, err := c.autopilotInput(ctx, cl)
	if err != nil {
		c.logger.Debug("core: autopilot could not observe the cluster", "error", err)
		return
	}
	state := ap.evaluate(in)
	remove, promote := ap.plan(state, in)
	for _, id := range remove {
		if !c.stillActive(st) {
			return
		}
		srv := state.Servers[id]
		c.logger.Warn("core: autopilot removing dead server", "node_id", id, "status", srv.Status,
			"last_contact", srv.LastContact.Round(time.Millisecond))
		opCtx, cancel := context.WithTimeout(ctx, autopilotOpTimeout)
		err := cl.RemovePeer(opCtx, id)
		if err == nil {
			err = c.barrier.Delete(opCtx, pinnedNonVoterPrefix+id)
		}
		cancel()
		if err != nil {
			c.logger.Warn("core: autopilot could not remove dead server", "node_id", id, "error", err)
			continue
		}
		ap.forget(id)
	}
	for _, id := range promote {
		if !c.stillActive(st) {
			return
		}
		srv := state.Servers[id]
		c.logger.Info("core: autopilot promoting server to voter", "node_id", id, "stable_since", srv.StableSince)
		opCtx, cancel := context.WithTimeout(ctx, autopilotOpTimeout)
		err := cl.AddPeer(opCtx, id, srv.Address, true)
		cancel()
		if err != nil {
			c.logger.Warn("core: autopilot could not promote server", "node_id", id, "error", err)
		}
	}
}

// autopilotInput observes the cluster once.
func (c *Core) autopilotInput(ctx context.Context, cl Cluster) (*apInput, error) {
	peers, err := cl.Peers(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := c.barrier.List(ctx, pinnedNonVoterPrefix)
	if err != nil {
		return nil, fmt.Errorf("core: list pinned non-voters: %w", err)
	}
	pinned := make(map[string]bool, len(ids))
	for _, id := range ids {
		pinned[id] = true
	}
	return &apInput{now: c.cfg.Now(), peers: peers, stats: cl.Stats(), pinned: pinned}, nil
}

// addJoinedPeer adds a server that answered its join challenge. Every
// server joins as a non-voter (Vault's server stabilization): one that
// asked to vote is promoted by autopilot once it has stayed healthy for
// server_stabilization_time; one that asked not to is pinned so it never
// is.
func (c *Core) addJoinedPeer(ctx context.Context, cl Cluster, id, addr string, nonVoter bool) error {
	key := pinnedNonVoterPrefix + id
	var err error
	if nonVoter {
		err = c.barrier.Put(ctx, &storage.Entry{Key: key, Value: []byte("{}")})
	} else {
		err = c.barrier.Delete(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("core: record suffrage of %s: %w", id, err)
	}
	return cl.AddPeer(ctx, id, addr, false)
}

// RaftAutopilotState answers sys/storage/raft/autopilot/state.
func (c *Core) RaftAutopilotState(ctx context.Context) (*AutopilotState, error) {
	cl, err := c.activeCluster()
	if err != nil {
		return nil, err
	}
	r := c.autopilot.run.Load()
	if r == nil {
		return nil, fmt.Errorf("%w: autopilot is not running on this node", logical.ErrUnavailable)
	}
	in, err := c.autopilotInput(ctx, cl)
	if err != nil {
		return nil, err
	}
	return r.ap.evaluate(in), nil
}
