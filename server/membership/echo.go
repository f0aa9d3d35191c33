package membership

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Echo: every unsealed standby reports its raft position and version to
// the active node once per echoInterval (as Vault's standbys do over
// their request-forwarding connection), by PUT pathEcho on the membership
// service of the active node's cluster port. The mutual TLS of the
// cluster port authenticates both ends: the standby verifies that it
// talks to a holder of a cluster certificate (the active node), the
// active node that the report comes from the member it names. A report
// never makes a server look alive: liveness comes from raft
// (autopilot.go).
const (
	echoInterval = time.Second
	echoTimeout  = 2 * time.Second
)

// echoSender is the standby side of the echo.
type echoSender struct {
	boot    string
	seq     atomic.Uint64
	client  *portClient
	failing atomic.Bool // the last echo failed (log a streak once)
}

// startEcho starts the echo loop of this node (from startBackground); it
// sends only while the node is an unsealed standby.
func (m *Membership) startEcho(p Port) {
	e := &m.echo
	var b [8]byte
	_, _ = rand.Read(b[:])
	e.boot = hex.EncodeToString(b[:])
	e.client = newPortClient(p)
	go func() {
		t := time.NewTicker(echoInterval)
		defer t.Stop()
		for range t.C {
			m.sendEcho()
		}
	}()
}

// sendEcho reports to the active node if this node is a standby that
// knows it.
func (m *Membership) sendEcho() {
	e := &m.echo
	standby, addr := m.role.Standby()
	if !standby || addr == "" || !m.cluster.Started() {
		return
	}
	if _, leaderID := m.cluster.Leader(); leaderID == m.cluster.NodeID() {
		return // leader, not yet active: nobody to report to
	}
	ctx, cancel := context.WithTimeout(context.Background(), echoTimeout)
	defer cancel()
	stats := m.cluster.Stats()
	rep := echoReport{NodeID: m.cluster.NodeID(), Boot: e.boot, Seq: e.seq.Add(1), Term: stats.Term, LastIndex: stats.LastIndex, Version: m.version}
	body, err := json.Marshal(rep)
	if err == nil {
		err = e.client.call(ctx, http.MethodPut, addr, pathEcho, bytes.NewReader(body), nil)
	}
	switch {
	case err != nil && !e.failing.Swap(true):
		m.logger.Warn("membership: cannot report to the active node (autopilot echo); retrying", "active", addr, "error", err)
	case err == nil && e.failing.Swap(false):
		m.logger.Info("membership: autopilot echo to the active node works again", "active", addr)
	}
}

// serveEcho receives the report of the member peerID.
func (m *Membership) serveEcho(w http.ResponseWriter, r *http.Request, peerID string) {
	var rep echoReport
	if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
		writePortError(w, logical.InvalidRequest("", "malformed echo report"))
		return
	}
	if err := m.autopilot.recordEcho(peerID, &rep); err != nil {
		writePortError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// recordEcho keeps a report that member peerID sent about itself.
func (a *Autopilot) recordEcho(peerID string, rep *echoReport) error {
	if rep.NodeID != peerID {
		return fmt.Errorf("%w: membership: %q sent a report about %q", logical.ErrPermissionDenied, peerID, rep.NodeID)
	}
	r := a.running()
	if r == nil {
		return ErrAutopilotNotRunning
	}
	r.eng.recordEcho(*rep, a.m.cluster.Stats().LastIndex, a.m.now())
	return nil
}
