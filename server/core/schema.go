package core

// The storage schema of the core: every key and prefix it reads or writes,
// defined once. Keys behind the barrier are encrypted with the keyring and
// bind their path as AAD; the AAD contexts below bind values the core
// encrypts itself with barrier.Encrypt.
const (
	// clusterInfoKey holds the cluster's name and id (created at init).
	clusterInfoKey = "core/cluster-info"
	// mountTableKey and authTableKey hold the secrets-engine and
	// auth-method mount tables.
	mountTableKey = "core/mounts"
	authTableKey  = "core/auth"
	// tokenPrefix is the token store's storage view.
	tokenPrefix = "sys/token/"
	// logicalPrefix and authStoragePrefix hold each mount's storage view,
	// <prefix><mount uuid>/.
	logicalPrefix     = "logical/"
	authStoragePrefix = "auth/"
	// staticSealKey holds the root key wrapped with the static seal key.
	staticSealKey = "core/static-seal"

	// clusterCAKey holds the cluster CA; activeNodeKey the record of the
	// active node that standbys read for sys/leader.
	clusterCAKey  = "core/cluster/ca"
	activeNodeKey = "core/cluster/active"
	// autopilotConfigKey holds the autopilot configuration;
	// pinnedNonVoterPrefix the servers that joined as non-voters on request.
	autopilotConfigKey   = "core/raft/autopilot/configuration"
	pinnedNonVoterPrefix = "core/raft/autopilot/non-voters/"

	// challengeAAD, echoAAD and snapSumsContext are encryption contexts of
	// the join challenge, the autopilot echo and a snapshot's checksums.
	challengeAAD    = "core/raft/challenge/"
	echoAAD         = "core/raft/autopilot/echo/"
	snapSumsContext = "core/raft/snapshot-sums"
)
