// Package membership is the raft membership of a clustered vaultd node:
// how a node joins a cluster and is admitted, the node certificates it
// holds on the cluster port, autopilot, removal of servers, and snapshot
// archives. server/core decides *when* each of these happens (seal state,
// when the cluster network starts, becoming active or standby, the sys/
// route table); this package decides *how*.
//
// The public surface is in this file's siblings membership.go (Config,
// Membership and the small interfaces it needs from its owner: Barrier,
// SealSource, Role), cluster.go (Cluster, implemented over storage/raft and
// server/cluster by RaftCluster) and errors.go (every sentinel error).
//
// # Joining (join.go, bootstrap.go, retryjoin.go)
//
// Vault's challenge protocol, both sides. A node without state asks the
// active node for a challenge (IssueChallenge on the leader): a random
// value sealed with the barrier, the keyring as stored and the seal
// configuration. Only the cluster's unseal keys open them; the joiner
// answers (Admit on the leader) with the opened value and its public key,
// and receives a node certificate. Outstanding challenges are bounded in
// number and time. Nothing the leader says is shown to the joiner's caller
// (the caller of an unauthenticated endpoint); it goes to the log.
//
// # Node certificates and removal (pki.go, renew.go, peers.go)
//
// Node certificates are short-lived (Options.NodeCertTTL) and renewed by
// every member, sealed or not, from the active node over the cluster port
// (ProtoMember) before they expire. A removed server's node id goes on a
// deny-list behind the barrier, replicated to every member and consulted
// at every cluster handshake (server/cluster.PeerCheck): a removed node
// that is restarted and unsealed is refused however fresh its certificate.
//
// # Autopilot (autopilot*.go, echo.go)
//
// Autopilot runs on the active node only: *Autopilot is the core's active
// service. Standbys report their log position to it over the cluster port.
// See docs/adr/0007-autopilot.md and docs/adr/0010-membership-package.md.
//
// # Concurrency
//
// Every exported method of Membership and Autopilot is safe for concurrent
// use. Methods that act on the cluster as the active node (IssueChallenge,
// Admit, RemovePeer, snapshots, autopilot state and configuration) expect
// the caller to have checked that this node is the unsealed active node;
// they fail, but do not check it first.
package membership
