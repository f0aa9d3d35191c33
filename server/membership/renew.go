package membership

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
)

// Renewal of node certificates. Every node checks its certificate every
// renewCheck (a tenth of the lifetime, at most a minute) and renews it
// once less than a third of its lifetime is left, for the same key:
//
//   - the active node issues itself the new certificate from the CA;
//   - any other node, sealed or not, asks the active node's membership
//     service (POST pathCertificate, over the cluster port's mutual TLS)
//     with a certificate request signed by its key. The active node issues
//     one only to a server of its raft configuration, for the node id of
//     the certificate the caller authenticated with.
//
// A removed node is thus never renewed, and its certificate expires within
// Options.NodeCertTTL even towards a member that has not read the
// deny-list since the removal (sealed since before it). A failed renewal
// is retried at every check; a certificate that expired anyway (a node cut
// off for its whole lifetime) is replaced when the node is next unsealed.

// certificateAnswer is the answer of pathCertificate.
type certificateAnswer struct {
	// Cert is the DER node certificate; CA the PEM CA certificate.
	Cert []byte `json:"cert"`
	CA   []byte `json:"ca"`
}

// renewer is the state of this node's renewal loop.
type renewer struct {
	client  *portClient
	failing atomic.Bool // the last renewal failed (log a streak once)
}

// renewCheck is how often the loop looks at the certificate.
func (m *Membership) renewCheck() time.Duration {
	return min(time.Minute, m.opts.NodeCertTTL/10)
}

// renewDue reports whether id should be renewed now.
func (m *Membership) renewDue(id *cluster.NodeIdentity) bool {
	return time.Until(id.NotAfter()) < m.opts.NodeCertTTL/3
}

// startRenewal starts the renewal loop (from startBackground).
func (m *Membership) startRenewal(p Port) {
	m.renew.client = newPortClient(p)
	go func() {
		t := time.NewTicker(m.renewCheck())
		defer t.Stop()
		for range t.C {
			ctx, cancel := context.WithTimeout(context.Background(), portTimeout)
			err := m.renewIfDue(ctx, p)
			cancel()
			switch {
			case err != nil && !m.renew.failing.Swap(true):
				m.logger.Warn("membership: node certificate renewal failed; retrying", "error", err)
			case err == nil && m.renew.failing.Swap(false):
				m.logger.Info("membership: node certificate renewal works again")
			}
		}
	}()
}

// renewIfDue renews the node certificate of p's identity if it is due.
func (m *Membership) renewIfDue(ctx context.Context, p Port) error {
	id := p.Identity()
	if id == nil || !m.renewDue(id) {
		return nil
	}
	key := id.Key()
	if key == nil {
		return errors.New("membership: node identity has no ECDSA key")
	}
	var ans certificateAnswer
	issuer := "self"
	if m.active() {
		ca, err := m.loadCA(ctx)
		if err != nil {
			return err
		}
		der, err := ca.Issue(m.cluster.NodeID(), key.Public(), m.opts.NodeCertTTL)
		if err != nil {
			return fmt.Errorf("membership: renew node certificate: %w", err)
		}
		ans = certificateAnswer{Cert: der, CA: ca.CertPEM()}
	} else {
		addr, leaderID := m.cluster.Leader()
		if addr == "" {
			return errors.New("membership: renew node certificate: no known leader")
		}
		csr, err := cluster.NewCSR(m.cluster.NodeID(), key)
		if err != nil {
			return err
		}
		if err := m.renew.client.call(ctx, http.MethodPost, addr, pathCertificate, bytes.NewReader(csr), &ans); err != nil {
			return fmt.Errorf("membership: renew node certificate: %w", err)
		}
		issuer = leaderID
	}
	next, err := cluster.NewIdentity(key, ans.Cert, ans.CA)
	if err != nil {
		return fmt.Errorf("membership: renewed node certificate: %w", err)
	}
	if next.NodeID() != m.cluster.NodeID() || !next.NotAfter().After(id.NotAfter()) {
		return fmt.Errorf("membership: renewed node certificate is for %q until %v: not a renewal", next.NodeID(), next.NotAfter())
	}
	if err := m.cluster.Start(ctx, next, false); err != nil {
		return fmt.Errorf("membership: install renewed node certificate: %w", err)
	}
	m.logger.Info("membership: node certificate renewed", "issuer", issuer, "not_after", next.NotAfter().UTC().Format(time.RFC3339))
	return nil
}

// serveCertificate issues the member peerID a certificate for the key of
// its certificate request.
func (m *Membership) serveCertificate(w http.ResponseWriter, r *http.Request, peerID string) {
	csr, err := readAll(r)
	if err != nil {
		writePortError(w, logical.InvalidRequest("", "unreadable certificate request"))
		return
	}
	ca, err := m.loadCA(r.Context())
	if err != nil {
		m.logger.Error("membership: cannot renew node certificates", "error", err)
		writePortError(w, fmt.Errorf("%w: membership: cluster CA unavailable", logical.ErrUnavailable))
		return
	}
	der, err := ca.IssueCSR(peerID, csr, m.opts.NodeCertTTL)
	if err != nil {
		writePortError(w, logical.InvalidRequest("", "invalid certificate request"))
		return
	}
	m.logger.Debug("membership: node certificate renewed for a member", "node_id", peerID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(certificateAnswer{Cert: der, CA: ca.CertPEM()})
}

// readAll reads a bounded request body.
func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}
