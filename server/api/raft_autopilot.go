package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

// AutopilotCore is the optional autopilot power of a Core (found by
// assertion): sys/storage/raft/autopilot/*. *core.Core implements it.
type AutopilotCore interface {
	RaftAutopilotConfiguration(ctx context.Context, token string) (*core.AutopilotConfig, error)
	RaftSetAutopilotConfiguration(ctx context.Context, token string, u *core.AutopilotConfigUpdate) error
	RaftAutopilotState(ctx context.Context, token string) (*core.AutopilotState, error)
	RaftAutopilotEcho(ctx context.Context, nodeID string, sealed []byte) error
}

var _ AutopilotCore = (*core.Core)(nil)

var errNoAutopilot = newStatusError(http.StatusNotFound, nil, "autopilot is not available on this server")

func autopilotCore(s *Server) (AutopilotCore, error) {
	ac, ok := s.core.(AutopilotCore)
	if !ok {
		return nil, errNoAutopilot
	}
	return ac, nil
}

// serveAutopilotConfig answers GET and POST/PUT
// sys/storage/raft/autopilot/configuration in Vault's shapes: durations
// as Go duration strings, counts as numbers.
func serveAutopilotConfig(s *Server, _ RaftCore, w http.ResponseWriter, r *http.Request) error {
	ac, err := autopilotCore(s)
	if err != nil {
		return err
	}
	token := headerToken(r.Header)
	if r.Method != http.MethodGet {
		u, err := decodeAutopilotUpdate(r.Body)
		if err != nil {
			return err
		}
		if err := ac.RaftSetAutopilotConfiguration(r.Context(), token, u); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	cfg, err := ac.RaftAutopilotConfiguration(r.Context(), token)
	if err != nil {
		return err
	}
	writeData(w, map[string]any{
		"cleanup_dead_servers":               cfg.CleanupDeadServers,
		"last_contact_threshold":             cfg.LastContactThreshold.String(),
		"dead_server_last_contact_threshold": cfg.DeadServerLastContactThreshold.String(),
		"max_trailing_logs":                  cfg.MaxTrailingLogs,
		"min_quorum":                         cfg.MinQuorum,
		"server_stabilization_time":          cfg.ServerStabilizationTime.String(),
		"disable_upgrade_migration":          false,
	})
	return nil
}

// serveAutopilotState answers GET sys/storage/raft/autopilot/state.
func serveAutopilotState(s *Server, _ RaftCore, w http.ResponseWriter, r *http.Request) error {
	ac, err := autopilotCore(s)
	if err != nil {
		return err
	}
	st, err := ac.RaftAutopilotState(r.Context(), headerToken(r.Header))
	if err != nil {
		return err
	}
	servers := make(map[string]any, len(st.Servers))
	for id, srv := range st.Servers {
		servers[id] = map[string]any{
			"id":           srv.ID,
			"name":         srv.Name,
			"address":      srv.Address,
			"node_status":  srv.NodeStatus,
			"last_contact": srv.LastContact.String(),
			"last_term":    srv.LastTerm,
			"last_index":   srv.LastIndex,
			"healthy":      srv.Healthy,
			"stable_since": srv.StableSince.Format(time.RFC3339Nano),
			"status":       srv.Status,
			"node_type":    srv.NodeType,
			"version":      srv.Version,
			"meta":         nil,
		}
	}
	writeData(w, map[string]any{
		"healthy":           st.Healthy,
		"failure_tolerance": st.FailureTolerance,
		"leader":            st.Leader,
		"voters":            st.Voters,
		"non_voters":        st.NonVoters,
		"servers":           servers,
	})
	return nil
}

// serveAutopilotEcho receives a standby's sealed report (no token: the
// seal authenticates it).
func serveAutopilotEcho(s *Server, _ RaftCore, w http.ResponseWriter, r *http.Request) error {
	ac, err := autopilotCore(s)
	if err != nil {
		return err
	}
	var in struct {
		NodeID string `json:"node_id"`
		Report string `json:"report"`
	}
	if err := decodeJSONBody(r, &in); err != nil {
		return err
	}
	sealed, err := base64.StdEncoding.DecodeString(in.Report)
	if err != nil {
		return logical.InvalidRequest("report", "must be base64")
	}
	if err := ac.RaftAutopilotEcho(r.Context(), in.NodeID, sealed); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeAutopilotUpdate reads a configuration update. As Vault does, it
// takes durations as Go duration strings ("10s", "24h") or whole seconds
// (10, "10"), counts as numbers or numeric strings, and ignores fields it
// does not know.
func decodeAutopilotUpdate(body io.Reader) (*core.AutopilotConfigUpdate, error) {
	fields := map[string]any{}
	if body != nil {
		dec := json.NewDecoder(body)
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil && !errors.Is(err, io.EOF) {
			return nil, newStatusError(http.StatusBadRequest, err, msgBadJSON)
		}
	}
	u := &core.AutopilotConfigUpdate{}
	var errs []error
	if v, ok := fields["cleanup_dead_servers"]; ok {
		b, err := parseBoolField("cleanup_dead_servers", v)
		u.CleanupDeadServers, errs = &b, append(errs, err)
	}
	for name, dst := range map[string]**time.Duration{
		"last_contact_threshold":             &u.LastContactThreshold,
		"dead_server_last_contact_threshold": &u.DeadServerLastContactThreshold,
		"server_stabilization_time":          &u.ServerStabilizationTime,
	} {
		if v, ok := fields[name]; ok {
			d, err := parseDurationField(name, v)
			*dst, errs = &d, append(errs, err)
		}
	}
	if v, ok := fields["max_trailing_logs"]; ok {
		n, err := parseCountField("max_trailing_logs", v)
		u.MaxTrailingLogs, errs = &n, append(errs, err)
	}
	if v, ok := fields["min_quorum"]; ok {
		n, err := parseCountField("min_quorum", v)
		q := uint(n)
		u.MinQuorum, errs = &q, append(errs, err)
	}
	if v, ok := fields["disable_upgrade_migration"]; ok {
		b, err := parseBoolField("disable_upgrade_migration", v)
		if err == nil && b {
			err = logical.InvalidRequest("disable_upgrade_migration", "upgrade migration is not supported by this server")
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, logical.InvalidRequest("", "%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return u, nil
}

func parseBoolField(name string, v any) (bool, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		if b, err := strconv.ParseBool(t); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("%s: %v is not a boolean", name, printable(v))
}

// parseDurationField accepts Vault's duration forms (framework.ParseDuration:
// whole seconds, a Go duration string, days); negative durations are refused.
func parseDurationField(name string, v any) (time.Duration, error) {
	d, err := framework.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %v is not a duration (use e.g. \"10s\" or a number of seconds)", name, printable(v))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: must not be negative", name)
	}
	return d, nil
}

// parseCountField accepts a non-negative integer, as a number or string.
func parseCountField(name string, v any) (uint64, error) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %v is not a non-negative integer", name, printable(v))
	}
	return n, nil
}

// printable renders a JSON value for an error message.
func printable(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return "value"
	}
	return string(bytes.TrimSpace(raw))
}
