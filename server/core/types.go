package core

import "time"

// InitParams are the inputs of sys/init.
type InitParams struct {
	SecretShares    int
	SecretThreshold int
	// PGPKeys and RootTokenPGPKey are accepted by Vault; we reject them with
	// a clear 400 until PGP-wrapped shares are implemented.
	PGPKeys         []string
	RootTokenPGPKey string
	// StoredShares and RecoveryShares exist for auto-unseal in Vault; any
	// non-zero value is rejected.
	StoredShares   int
	RecoveryShares int
}

// InitResult is the answer of sys/init.
type InitResult struct {
	// Keys are the unseal key shares, hex encoded; KeysB64 the same shares
	// base64 encoded (Vault's keys and keys_base64).
	Keys      []string
	KeysB64   []string
	RootToken string
}

// SealStatus is the answer of sys/seal-status and sys/unseal.
type SealStatus struct {
	Type         string
	Initialized  bool
	Sealed       bool
	T            int
	N            int
	Progress     int
	Nonce        string
	Version      string
	BuildDate    string
	Migration    bool
	ClusterName  string
	ClusterID    string
	RecoverySeal bool
	StorageType  string
}

// HealthStatus is the answer of sys/health before status-code mapping.
type HealthStatus struct {
	Initialized                bool
	Sealed                     bool
	Standby                    bool
	PerformanceStandby         bool
	ReplicationPerformanceMode string
	ReplicationDRMode          string
	ServerTimeUTC              int64
	Version                    string
	ClusterName                string
	ClusterID                  string
}

// LeaderStatus is the answer of sys/leader.
type LeaderStatus struct {
	HAEnabled            bool
	IsSelf               bool
	ActiveTime           time.Time
	LeaderAddress        string
	LeaderClusterAddress string
}
