package cluster

import (
	"context"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// StreamLayer carries hashicorp/raft's NetworkTransport over the cluster
// port: it accepts from a Mux protocol listener and dials with a Dialer.
type StreamLayer struct {
	net.Listener
	dialer *Dialer
	proto  string
	adv    net.Addr
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewStreamLayer returns a raft stream layer accepting from l (normally
// mux.Listener(ProtoRaft)), dialing peers with d on proto, and advertising
// advertise as this node's raft address (nil: l.Addr()). Closing it closes
// l only, not the Mux.
func NewStreamLayer(l net.Listener, d *Dialer, proto string, advertise net.Addr) *StreamLayer {
	if advertise == nil {
		advertise = l.Addr()
	}
	return &StreamLayer{Listener: l, dialer: d, proto: proto, adv: advertise}
}

// Addr returns the advertised raft address.
func (s *StreamLayer) Addr() net.Addr { return s.adv }

// Dial opens a mutual-TLS raft connection to address within timeout
// (timeout <= 0: only the handshake is bounded).
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return s.dialer.DialContext(ctx, string(address), s.proto)
}
