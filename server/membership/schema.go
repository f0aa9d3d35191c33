package membership

// The storage schema of membership: every key, prefix and encryption
// context it uses, defined once. Keys are behind the barrier (encrypted
// with the keyring, path bound as AAD) and replicated by raft; they keep
// the paths they had when this code lived in server/core.
const (
	// caKey holds the cluster CA (certificate and private key).
	caKey = "core/cluster/ca"
	// autopilotConfigKey holds the autopilot configuration;
	// pinnedNonVoterPrefix the servers that joined as non-voters on request.
	autopilotConfigKey   = "core/raft/autopilot/configuration"
	pinnedNonVoterPrefix = "core/raft/autopilot/non-voters/"
	// removedPrefix holds the deny-list: one entry per removed node id.
	removedPrefix = "core/raft/removed/"

	// challengeAAD and snapSumsContext are encryption contexts of the join
	// challenge and of a snapshot's checksums.
	challengeAAD    = "core/raft/challenge/"
	snapSumsContext = "core/raft/snapshot-sums"
)
