package core

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

// startEcho starts the echo loop of this node once; it sends only while
// the node is an unsealed standby.
func (c *Core) startEcho() {
	e := &c.autopilot.echo
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
		go c.runEcho()
	})
}

func (c *Core) runEcho() {
	t := time.NewTicker(echoInterval)
	defer t.Stop()
	for range t.C {
		c.sendEcho()
	}
}

// sendEcho reports to the active node if this node is a standby.
func (c *Core) sendEcho() {
	cl, e := c.cfg.Cluster, &c.autopilot.echo
	if c.sealed.Load() || c.active.Load() != nil || !cl.Started() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), echoTimeout)
	defer cancel()
	err := c.echoOnce(ctx)
	switch {
	case err != nil && !e.failing.Swap(true):
		c.logger.Warn("core: cannot report to the active node (autopilot echo); retrying", "error", err)
	case err == nil && e.failing.Swap(false):
		c.logger.Info("core: autopilot echo to the active node works again")
	}
}

func (c *Core) echoOnce(ctx context.Context) error {
	cl, e := c.cfg.Cluster, &c.autopilot.echo
	rec, err := c.readActiveNode(ctx)
	if err != nil {
		return err
	}
	if rec == nil || rec.APIAddr == "" || rec.NodeID == cl.NodeID() {
		return nil // no other active node known yet
	}
	stats := cl.Stats()
	rep := echoReport{NodeID: cl.NodeID(), Boot: e.boot, Seq: e.seq.Add(1), Term: stats.Term, LastIndex: stats.LastIndex, Version: Version}
	sealed, err := sealEcho(c.barrier, &rep)
	if err != nil {
		return err
	}
	body, err := json.Marshal(echoRequest{NodeID: rep.NodeID, Report: base64.StdEncoding.EncodeToString(sealed)})
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(rec.APIAddr, "/") + echoPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("core: echo to %s: %w", rec.APIAddr, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("core: echo to %s: %w", rec.APIAddr, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("core: echo to %s: status %d: %s", rec.APIAddr, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func sealEcho(b *barrier.AESGCMBarrier, r *echoReport) ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("core: encode echo: %w", err)
	}
	ct, err := b.Encrypt(echoAAD+r.NodeID, raw)
	if err != nil {
		return nil, fmt.Errorf("core: seal echo: %w", err)
	}
	return ct, nil
}

// errBadEcho is returned for an echo that this cluster's keyring does not
// open.
var errBadEcho = fmt.Errorf("%w: echo report does not open with this cluster's keys", logical.ErrPermissionDenied)

func openEcho(b *barrier.AESGCMBarrier, nodeID string, sealed []byte) (*echoReport, error) {
	if nodeID == "" {
		return nil, logical.InvalidRequest("node_id", "is required")
	}
	raw, err := b.Decrypt(echoAAD+nodeID, sealed)
	if err != nil {
		if errors.Is(err, barrier.ErrSealed) {
			return nil, logical.ErrSealed
		}
		return nil, errBadEcho
	}
	var r echoReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, logical.InvalidRequest("report", "malformed: %v", err)
	}
	if r.NodeID != nodeID {
		return nil, errBadEcho
	}
	return &r, nil
}

// RaftAutopilotEcho receives a standby's report (PUT sys/storage/raft/
// autopilot/echo). It needs no token: only a cluster member can seal a
// report that opens here.
func (c *Core) RaftAutopilotEcho(ctx context.Context, nodeID string, sealed []byte) error {
	cl, err := c.activeCluster()
	if err != nil {
		return err
	}
	r := c.autopilot.run.Load()
	if r == nil {
		return fmt.Errorf("%w: autopilot is not running on this node", logical.ErrUnavailable)
	}
	rep, err := openEcho(c.barrier, nodeID, sealed)
	if err != nil {
		return err
	}
	r.ap.recordEcho(*rep, cl.Stats().LastIndex, c.cfg.Now())
	return nil
}
