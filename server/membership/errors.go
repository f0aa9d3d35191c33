package membership

import (
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Errors returned by this package; match them with errors.Is. Each wraps
// the engines/logical error that decides its status code at the API edge,
// and none carries text from a remote node: what a leader or peer said is
// logged, never returned to the caller.
var (
	// ErrJoinFailed: the leader refused this node's join or could not be
	// reached (400). The reason is in this node's log only: the join
	// endpoint is unauthenticated and must not relay what another server
	// answered.
	ErrJoinFailed = fmt.Errorf("%w: membership: join failed: the leader refused this node or could not be reached (the reason is in this node's log)", logical.ErrInvalidRequest)
	// ErrJoinAnswerRejected: the leader refused this node's answer to its
	// join challenge (400); the reason is in this node's log.
	ErrJoinAnswerRejected = fmt.Errorf("%w: membership: the leader rejected the join answer (the reason is in this node's log)", logical.ErrInvalidRequest)
	// ErrWrongKeys: the combined key shares do not open the cluster's
	// keyring (400).
	ErrWrongKeys = fmt.Errorf("%w: unable to unseal: the combined key shares are not valid for this cluster", logical.ErrInvalidRequest)
	// ErrNotReplicated: the node joined, but the cluster's state did not
	// replicate to it in time (503).
	ErrNotReplicated = fmt.Errorf("%w: membership: joined, but the cluster state did not replicate here in time", logical.ErrUnavailable)
	// ErrTooManyChallenges: the active node holds as many outstanding join
	// challenges as Options.MaxChallenges allows (429).
	ErrTooManyChallenges = fmt.Errorf("%w: membership: too many outstanding join challenges", logical.ErrRateLimited)
	// ErrInvalidAnswer: a join answer without an outstanding challenge,
	// expired, or wrong (403).
	ErrInvalidAnswer = fmt.Errorf("%w: membership: invalid or expired join answer", logical.ErrPermissionDenied)
	// ErrRemoved: the node id was removed from the cluster and stays out
	// (403); a wiped node may join again under a new node id.
	ErrRemoved = fmt.Errorf("%w: membership: this node id was removed from the cluster", logical.ErrPermissionDenied)
	// ErrNotMember: a cluster-port caller is not in the raft configuration
	// (403).
	ErrNotMember = fmt.Errorf("%w: membership: not a member of the raft configuration", logical.ErrPermissionDenied)
	// ErrNotActive: a request that only the active node serves reached
	// another node (503).
	ErrNotActive = fmt.Errorf("%w: membership: this node is not the active node", logical.ErrUnavailable)
	// ErrAutopilotNotRunning: autopilot state or an echo was asked of a
	// node whose autopilot is not running (503).
	ErrAutopilotNotRunning = fmt.Errorf("%w: autopilot is not running on this node", logical.ErrUnavailable)
	// ErrSnapshotIntegrity: a snapshot archive whose checksums do not match
	// (400).
	ErrSnapshotIntegrity = fmt.Errorf("%w: snapshot integrity check failed", logical.ErrInvalidRequest)
	// ErrSnapshotForeign: a snapshot of another cluster, restored without
	// force (400).
	ErrSnapshotForeign = fmt.Errorf("%w: the snapshot was not taken by this cluster (use snapshot-force to restore it anyway)", logical.ErrInvalidRequest)
	// ErrNoCA: the cluster CA is missing from storage.
	ErrNoCA = errors.New("membership: cluster CA missing")
	// ErrRetryJoinRunning: a join retry loop is already running on this
	// node; RetryJoin started no second one.
	ErrRetryJoinRunning = errors.New("membership: a join retry loop is already running")
)
