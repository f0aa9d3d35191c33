// Package cluster owns the cluster's own PKI and the cluster port.
//
// Every node has one cluster listener (listener.cluster_address). It speaks
// TLS 1.3 only, with mutual authentication against a CA that the cluster
// generates at init (NewCA) and that server/membership stores behind the
// barrier (CA.Marshal / UnmarshalCA). Leaf certificates (CA.Issue) carry the
// fixed DNS SAN ServerName, which every client uses as its TLS server name,
// and the node id as a second SAN and as subject (PeerNodeID reads it back).
//
// One port carries several protocols, told apart by ALPN: ProtoRaft for the
// hashicorp/raft network transport (StreamLayer), ProtoForward for gRPC
// request forwarding (Dialer.GRPCDialer with TransportCredentials) and
// ProtoMember for server/membership's own service. Listen
// returns a Mux whose per-protocol listeners yield only connections whose
// handshake completed, with a client certificate from the cluster CA, and
// that negotiated that protocol; every other connection is closed.
//
// Every handshake, on both ends, also consults an optional PeerCheck
// (Mux.SetPeerCheck, Dialer.SetPeerCheck) once the peer's certificate has
// been verified against the CA: a DenyList refuses the certificates of
// nodes removed from the cluster, whatever the CA says.
//
// A Mux starts without an identity when the node has not joined yet (or is
// sealed): every handshake fails until SetIdentity installs one, so a node
// without the cluster CA neither serves nor accepts cluster traffic.
//
// Outbound connections go through a Dialer, which dials from the node's own
// cluster IP so that a fault-injecting proxy in tests can tell nodes apart by
// source address.
//
// Concurrency: every exported method of CA, Mux, Dialer and StreamLayer is
// safe for concurrent use. A NodeIdentity is immutable once built.
package cluster

import (
	"errors"
	"time"
)

// ALPN protocol names multiplexed on the cluster port.
const (
	// ProtoRaft carries the hashicorp/raft network transport.
	ProtoRaft = "sv-raft/1"
	// ProtoForward carries gRPC request forwarding from standbys to the
	// active node.
	ProtoForward = "sv-forward/1"
	// ProtoMember carries the membership service of server/membership:
	// autopilot echoes and node certificate renewal.
	ProtoMember = "sv-member/1"
)

// ServerName is the DNS SAN present in every node certificate and the TLS
// server name every cluster client verifies.
const ServerName = "secretumvault-cluster"

// DefaultHandshakeTimeout bounds one TLS handshake on the cluster port, on
// both the accepting and the dialing side (unless the dial context has an
// earlier deadline).
const DefaultHandshakeTimeout = 5 * time.Second

// DefaultCertTTL is the lifetime IssueIdentity gives a node certificate.
// Node certificates are short-lived: members renew theirs well before
// they expire (server/membership), so a removed node that is no longer
// renewed loses its certificate's validity within this time even towards
// a member that cannot consult the deny-list.
const DefaultCertTTL = 72 * time.Hour

// caValidity is the lifetime of a cluster CA made by NewCA.
const caValidity = 10 * 365 * 24 * time.Hour

// Errors returned by this package; match them with errors.Is.
var (
	// ErrNoIdentity: the node has no cluster certificate yet (not joined,
	// or sealed), so it can neither accept nor dial cluster connections.
	ErrNoIdentity = errors.New("cluster: no node identity")
	// ErrInvalidCA: a marshalled CA does not parse, is not a CA, or its
	// key does not match its certificate.
	ErrInvalidCA = errors.New("cluster: invalid CA")
	// ErrInvalidNodeID: a node id is empty, longer than MaxNodeIDLength or
	// not made of letters, digits, '.', '-' and '_'.
	ErrInvalidNodeID = errors.New("cluster: invalid node id")
	// ErrInvalidCert: a node certificate or key does not parse, does not
	// match, or does not chain to the CA.
	ErrInvalidCert = errors.New("cluster: invalid node certificate")
	// ErrUnknownProto: a protocol was not registered with Listen.
	ErrUnknownProto = errors.New("cluster: unknown protocol")
	// ErrProtoMismatch: the peer did not negotiate the requested ALPN
	// protocol.
	ErrProtoMismatch = errors.New("cluster: ALPN protocol not negotiated")
	// ErrNotTLS: a connection handed to TransportCredentials is not a
	// completed cluster TLS connection.
	ErrNotTLS = errors.New("cluster: connection is not cluster TLS")
	// ErrBadLocalIP: the Dialer's local address is not an IP address.
	ErrBadLocalIP = errors.New("cluster: invalid local IP")
	// ErrDenied: the peer's node id is on the deny-list (DenyList.Check).
	ErrDenied = errors.New("cluster: node is deny-listed")
	// ErrNoPeerCertificate: a PeerCheck ran on a connection whose peer
	// presented no certificate.
	ErrNoPeerCertificate = errors.New("cluster: peer presented no certificate")
)
