package membership

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

// Echo: every unsealed standby reports its raft position and version to
// the active node once per echoInterval (as Vault's standbys do), by
// PUT sys/storage/raft/autopilot/echo on the active node's api_addr. The
// report is sealed with the barrier (AES-GCM, the sender's id bound as
// AAD), so only a node holding the cluster's keyring can make one and
// nobody on the way can read or alter it; a replayed report only repeats
// old figures, and never makes a server look alive, since liveness comes
// from raft (autopilot.go).
const (
	echoInterval = time.Second
	echoTimeout  = 2 * time.Second
	echoPath     = "/v1/sys/storage/raft/autopilot/echo"
)

// echoSender is the standby side of the echo.
type echoSender struct {
	once    sync.Once
	boot    string
	seq     atomic.Uint64
	client  *http.Client
	failing atomic.Bool // the last echo failed (log a streak once)
}

// echoRequest is the body of sys/storage/raft/autopilot/echo.
type echoRequest struct {
	NodeID string `json:"node_id"`
	Report string `json:"report"` // base64 of the sealed echoReport
}

// startEcho starts the echo loop of this node (once, from
// startBackground); it sends only while the node is an unsealed standby.
func (m *Membership) startEcho() {
	e := &m.echo
	e.once.Do(func() {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e.boot = hex.EncodeToString(b[:])
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// The report is sealed with the barrier and the answer carries
		// nothing: TLS adds no protection here, and verifying the active
		// node's API certificate would need a CA this node may not have.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // see above
		e.client = &http.Client{Transport: tr, Timeout: echoTimeout}
		go m.runEcho()
	})
}

func (m *Membership) runEcho() {
	t := time.NewTicker(echoInterval)
	defer t.Stop()
	for range t.C {
		m.sendEcho()
	}
}

// sendEcho reports to the active node if this node is a standby.
func (m *Membership) sendEcho() {
	e := &m.echo
	if standby, _ := m.role.Standby(); !standby || !m.cluster.Started() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), echoTimeout)
	defer cancel()
	err := m.echoOnce(ctx)
	switch {
	case err != nil && !e.failing.Swap(true):
		m.logger.Warn("membership: cannot report to the active node (autopilot echo); retrying", "error", err)
	case err == nil && e.failing.Swap(false):
		m.logger.Info("membership: autopilot echo to the active node works again")
	}
}

func (m *Membership) echoOnce(ctx context.Context) error {
	cl, e := m.cluster, &m.echo
	activeID, apiAddr, err := m.role.ActiveAPIAddr(ctx)
	if err != nil {
		return err
	}
	if apiAddr == "" || activeID == cl.NodeID() {
		return nil // no other active node known yet
	}
	stats := cl.Stats()
	rep := echoReport{NodeID: cl.NodeID(), Boot: e.boot, Seq: e.seq.Add(1), Term: stats.Term, LastIndex: stats.LastIndex, Version: m.version}
	sealed, err := sealEcho(m.barrier, &rep)
	if err != nil {
		return err
	}
	body, err := json.Marshal(echoRequest{NodeID: rep.NodeID, Report: base64.StdEncoding.EncodeToString(sealed)})
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(apiAddr, "/") + echoPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("membership: echo to %s: %w", apiAddr, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("membership: echo to %s: %w", apiAddr, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("membership: echo to %s: status %d: %s", apiAddr, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func sealEcho(b Barrier, r *echoReport) ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("membership: encode echo: %w", err)
	}
	ct, err := b.Encrypt(echoAAD+r.NodeID, raw)
	if err != nil {
		return nil, fmt.Errorf("membership: seal echo: %w", err)
	}
	return ct, nil
}

func openEcho(b Barrier, nodeID string, sealed []byte) (*echoReport, error) {
	if nodeID == "" {
		return nil, logical.InvalidRequest("node_id", "is required")
	}
	raw, err := b.Decrypt(echoAAD+nodeID, sealed)
	if err != nil {
		if errors.Is(err, barrier.ErrSealed) {
			return nil, logical.ErrSealed
		}
		return nil, ErrBadEcho
	}
	var r echoReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, logical.InvalidRequest("report", "malformed: %v", err)
	}
	if r.NodeID != nodeID {
		return nil, ErrBadEcho
	}
	return &r, nil
}

// Echo receives a standby's report (PUT sys/storage/raft/autopilot/echo).
// It needs no token: only a cluster member can seal a report that opens
// here.
func (a *Autopilot) Echo(ctx context.Context, nodeID string, sealed []byte) error {
	r := a.running()
	if r == nil {
		return ErrAutopilotNotRunning
	}
	rep, err := openEcho(a.m.barrier, nodeID, sealed)
	if err != nil {
		return err
	}
	r.eng.recordEcho(*rep, a.m.cluster.Stats().LastIndex, a.m.now())
	return nil
}
