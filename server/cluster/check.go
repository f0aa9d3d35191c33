package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// PeerCheck decides whether a peer may connect once its certificate has
// been verified against the cluster CA: a non-nil error refuses the
// connection (the peer sees a TLS "bad certificate" alert). It runs on
// every cluster handshake, on the accepting side (Mux) and the dialing side
// (Dialer), inside the handshake: it must be fast, must not block on I/O,
// and must be safe for concurrent use. peer is the verified leaf; the
// callee must not modify it.
type PeerCheck func(peer *x509.Certificate) error

// peerCheck holds an optional PeerCheck that can be swapped at any time;
// handshakes already past verification are not affected.
type peerCheck struct {
	fn atomic.Pointer[PeerCheck]
}

func (p *peerCheck) set(fn PeerCheck) {
	if fn == nil {
		p.fn.Store(nil)
		return
	}
	p.fn.Store(&fn)
}

// verify is a tls.Config.VerifyConnection: it runs after the chain was
// verified, so PeerCertificates[0] is the peer's verified leaf.
func (p *peerCheck) verify(cs tls.ConnectionState) error {
	fn := p.fn.Load()
	if fn == nil {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		return ErrNoPeerCertificate
	}
	return (*fn)(cs.PeerCertificates[0])
}

// DenyList is the set of node ids the cluster port refuses: the nodes
// removed from the cluster. Its Check method is a PeerCheck. A node is
// denied by id rather than by certificate serial because every unsealed
// node holds the cluster CA and issues itself a fresh certificate (new
// serial) at each unseal: only the id survives that. The zero value is an
// empty list; all methods are safe for concurrent use.
type DenyList struct {
	mu  sync.RWMutex
	ids map[string]struct{}
}

// Deny adds nodeID to the list.
func (d *DenyList) Deny(nodeID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = make(map[string]struct{})
	}
	d.ids[nodeID] = struct{}{}
}

// Replace makes the list exactly ids.
func (d *DenyList) Replace(ids []string) {
	set := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = set
}

// Denied reports whether nodeID is on the list.
func (d *DenyList) Denied(nodeID string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.ids[nodeID]
	return ok
}

// IDs returns the denied node ids, sorted.
func (d *DenyList) IDs() []string {
	d.mu.RLock()
	out := make([]string, 0, len(d.ids))
	for id := range d.ids {
		out = append(out, id)
	}
	d.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Check implements PeerCheck: it refuses a certificate issued for a denied
// node id (the certificate's subject, as PeerNodeID reads it) with an
// error wrapping ErrDenied.
func (d *DenyList) Check(peer *x509.Certificate) error {
	if id := peer.Subject.CommonName; d.Denied(id) {
		return fmt.Errorf("%w: %q was removed from the cluster", ErrDenied, id)
	}
	return nil
}
