package core

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
)

func (c sysHandlers) autopilotPaths() []*framework.Path {
	dur := func() *framework.FieldSchema { return &framework.FieldSchema{Type: framework.TypeDuration} }
	return []*framework.Path{
		{
			Pattern: "storage/raft/autopilot/configuration", Sudo: true,
			Fields: map[string]*framework.FieldSchema{
				"cleanup_dead_servers":               {Type: framework.TypeBool},
				"last_contact_threshold":             dur(),
				"dead_server_last_contact_threshold": dur(),
				"server_stabilization_time":          dur(),
				"max_trailing_logs":                  {Type: framework.TypeInt},
				"min_quorum":                         {Type: framework.TypeInt},
				"disable_upgrade_migration":          {Type: framework.TypeBool},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: c.handleAutopilotConfigRead, logical.UpdateOperation: c.handleAutopilotConfigWrite,
			},
			HelpSynopsis: "Autopilot's configuration (Vault's shape: durations as strings).",
		},
		{
			Pattern: "storage/raft/autopilot/state", Sudo: true,
			Operations: readOp(c.handleAutopilotState), HelpSynopsis: "Autopilot's view of every server.",
		},
	}
}

// autopilot returns the active node's autopilot.
func (c *Core) autopilot() (*membership.Autopilot, error) {
	m, err := c.membership()
	if err != nil {
		return nil, err
	}
	return m.Autopilot(), nil
}

func (c sysHandlers) handleAutopilotConfigRead(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ap, err := c.autopilot()
	if err != nil {
		return nil, err
	}
	cfg, err := ap.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"cleanup_dead_servers":               cfg.CleanupDeadServers,
		"last_contact_threshold":             cfg.LastContactThreshold.String(),
		"dead_server_last_contact_threshold": cfg.DeadServerLastContactThreshold.String(),
		"max_trailing_logs":                  cfg.MaxTrailingLogs,
		"min_quorum":                         cfg.MinQuorum,
		"server_stabilization_time":          cfg.ServerStabilizationTime.String(),
		"disable_upgrade_migration":          false,
	}}, nil
}

// autopilotInput is the decoded body of a configuration update; nil is
// "not sent" (and, as Vault's client sends zeros for unset fields, a zero
// changes nothing either: membership.AutopilotConfigUpdate.Apply).
type autopilotInput struct {
	CleanupDeadServers             *bool          `json:"cleanup_dead_servers"`
	LastContactThreshold           *time.Duration `json:"last_contact_threshold"`
	DeadServerLastContactThreshold *time.Duration `json:"dead_server_last_contact_threshold"`
	ServerStabilizationTime        *time.Duration `json:"server_stabilization_time"`
	MaxTrailingLogs                *int           `json:"max_trailing_logs"`
	MinQuorum                      *int           `json:"min_quorum"`
	DisableUpgradeMigration        bool           `json:"disable_upgrade_migration"`
}

// update validates the input and turns it into a configuration update.
func (in *autopilotInput) update() (*membership.AutopilotConfigUpdate, error) {
	if in.DisableUpgradeMigration {
		return nil, logical.InvalidRequest("disable_upgrade_migration", "upgrade migration is not supported by this server")
	}
	for name, d := range map[string]*time.Duration{
		"last_contact_threshold": in.LastContactThreshold, "dead_server_last_contact_threshold": in.DeadServerLastContactThreshold,
		"server_stabilization_time": in.ServerStabilizationTime,
	} {
		if d != nil && *d < 0 {
			return nil, logical.InvalidRequest(name, "must not be negative")
		}
	}
	u := &membership.AutopilotConfigUpdate{CleanupDeadServers: in.CleanupDeadServers, LastContactThreshold: in.LastContactThreshold,
		DeadServerLastContactThreshold: in.DeadServerLastContactThreshold, ServerStabilizationTime: in.ServerStabilizationTime}
	if n := in.MaxTrailingLogs; n != nil {
		if *n < 0 {
			return nil, logical.InvalidRequest("max_trailing_logs", "must not be negative")
		}
		v := uint64(*n)
		u.MaxTrailingLogs = &v
	}
	if n := in.MinQuorum; n != nil {
		if *n < 0 {
			return nil, logical.InvalidRequest("min_quorum", "must not be negative")
		}
		v := uint(*n)
		u.MinQuorum = &v
	}
	return u, nil
}

func (c sysHandlers) handleAutopilotConfigWrite(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in autopilotInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	u, err := in.update()
	if err != nil {
		return nil, err
	}
	ap, err := c.autopilot()
	if err != nil {
		return nil, err
	}
	return nil, ap.SetConfiguration(ctx, u)
}

func (c sysHandlers) handleAutopilotState(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ap, err := c.autopilot()
	if err != nil {
		return nil, err
	}
	st, err := ap.State(ctx)
	if err != nil {
		return nil, err
	}
	servers := make(map[string]any, len(st.Servers))
	for id, srv := range st.Servers {
		servers[id] = map[string]any{
			"id": srv.ID, "name": srv.Name, "address": srv.Address, "node_status": srv.NodeStatus,
			"last_contact": srv.LastContact.String(), "last_term": srv.LastTerm, "last_index": srv.LastIndex,
			"healthy": srv.Healthy, "stable_since": srv.StableSince.Format(time.RFC3339Nano),
			"status": srv.Status, "node_type": srv.NodeType, "version": srv.Version, "meta": nil,
		}
	}
	return &logical.Response{Data: map[string]any{
		"healthy": st.Healthy, "failure_tolerance": st.FailureTolerance, "leader": st.Leader,
		"voters": st.Voters, "non_voters": st.NonVoters, "servers": servers,
	}}, nil
}
