package core

// The storage schema of the core: every key and prefix it reads or writes,
// defined once. Keys behind the barrier are encrypted with the keyring and
// bind their path as AAD.
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
	// cedarPolicyPrefix and aclPolicyPrefix hold the stored policies,
	// <prefix><name>: Cedar documents and Vault HCL ACL policies.
	cedarPolicyPrefix = "core/policies/cedar/"
	aclPolicyPrefix   = "core/policies/acl/"
	// identityPrefix is the identity store's storage view.
	identityPrefix = "sys/identity/"
	// auditTableKey holds the audit device table; auditKeysPrefix and
	// auditSeqPrefix hold each device's keys and seq reservation,
	// <prefix><device uuid>.
	auditTableKey   = "core/audit"
	auditKeysPrefix = "core/audit-keys/"
	auditSeqPrefix  = "core/audit-seq/"
	// leasePrefix is the expiration manager's storage view (leases, their
	// token index, lease-count quotas: see expiration/schema.go).
	leasePrefix = "sys/expire/"
	// rotationPrefix is the rotation scheduler's storage view (policies,
	// committed slots, run history, quarantines; see rotation/schema.go).
	rotationPrefix = "sys/rotation/"
	// passwordPolicyPrefix holds the password policies, <prefix><name>.
	passwordPolicyPrefix = "core/password-policies/"
	// staticSealKey holds the root key wrapped with the static seal key.
	staticSealKey = "core/static-seal"

	// activeNodeKey is the record of the active node that standbys read
	// for sys/leader.
	activeNodeKey = "core/cluster/active"
)

// The raft membership's keys (cluster CA, autopilot, deny-list) are
// server/membership's, in its schema.go.
