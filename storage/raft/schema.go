package raft

// On-disk layout, defined once. Everything lives under Config.DataDir:
//
//	DataDir/vault.db            bbolt file holding the FSM state (fsmFile)
//	DataDir/raft/wal/           raft-wal segments + meta (LogStore, StableStore)
//	DataDir/raft/snapshots/     raft.FileSnapshotStore
//	DataDir/raft/user-restore-* a user snapshot being verified (RestoreSnapshot)
const (
	fsmFile            = "vault.db"
	fsmRestoreFile     = "vault.db.restore"
	raftDir            = "raft"
	walDir             = "wal"
	userRestorePattern = "user-restore-*"
)

// bbolt bucket and key names inside the FSM file.
var (
	// bucketData holds the storage.Backend key/value pairs, keyed by the
	// full storage key.
	bucketData = []byte("data")
	// bucketMeta holds FSM bookkeeping.
	bucketMeta = []byte("meta")
	// keyAppliedIndex is the raft index of the last log entry applied,
	// 8 bytes big-endian, written in the same bbolt tx as the entry's ops.
	keyAppliedIndex = []byte("applied_index")
	// keyAppliedTerm is the raft term of that entry, 8 bytes big-endian.
	keyAppliedTerm = []byte("applied_term")
)
