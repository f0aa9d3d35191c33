package rotation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Storage layout of the scheduler's view (core mounts it at
// "sys/rotation/", behind the barrier, replicated through raft):
//
//	policies/<name>                 a Policy (JSON)
//	slots/<name>                    the policy's last committed slot (slotState)
//	history/<name>/<seq, 20 digits> one Run (JSON); the last historyKeep kept
//	quarantine/<sha256 of the path> a quarantineEntry
const (
	policyPrefix     = "policies/"
	slotPrefix       = "slots/"
	historyPrefix    = "history/"
	quarantinePrefix = "quarantine/"
	// historyKeep bounds the runs kept per policy.
	historyKeep = 200
)

func policyKey(name string) string  { return policyPrefix + name }
func slotKey(name string) string    { return slotPrefix + name }
func historyDir(name string) string { return historyPrefix + name + "/" }
func historyKey(name string, seq uint64) string {
	return fmt.Sprintf("%s%020d", historyDir(name), seq)
}
func quarantineKey(path string) string {
	sum := sha256.Sum256([]byte(path))
	return quarantinePrefix + hex.EncodeToString(sum[:16])
}
