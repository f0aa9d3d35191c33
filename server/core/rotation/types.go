package rotation

import "time"

// slotState is a policy's last committed slot: written through raft
// before the slot's rotations start (the fence), Done once they ended.
// A new active node resumes a slot that is not Done, rotating only the
// secrets not rotated since Started.
type slotState struct {
	Slot    time.Time `json:"slot"`
	Started time.Time `json:"started"`
	Done    bool      `json:"done"`
}

// Run is one action of a policy on one secret, kept in its history.
type Run struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Slot is the schedule slot the run belongs to (zero for age
	// checks, drift and manual runs).
	Slot   time.Time `json:"slot,omitzero"`
	Policy string    `json:"policy"`
	Path   string    `json:"path"`
	// Reason is scheduled, overdue, retry, drift or manual.
	Reason string `json:"reason"`
	// Result is success, failure, warn, overdue, quarantine, lift or
	// drift.
	Result  string `json:"result"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Result values of a Run.
const (
	ResultSuccess    = "success"
	ResultFailure    = "failure"
	ResultWarn       = "warn"
	ResultOverdue    = "overdue"
	ResultQuarantine = "quarantine"
	ResultLift       = "lift"
	ResultDrift      = "drift"
)

// Reasons of a Run.
const (
	ReasonScheduled = "scheduled"
	ReasonOverdue   = "overdue"
	ReasonRetry     = "retry"
	ReasonDrift     = "drift"
	ReasonManual    = "manual"
)

// quarantineEntry is a quarantined secret.
type quarantineEntry struct {
	Path   string    `json:"path"`
	Guards []string  `json:"guards"`
	Policy string    `json:"policy"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// SecretStatus is one matched secret's standing under one policy.
type SecretStatus struct {
	Path        string        `json:"path"`
	Policy      string        `json:"policy"`
	LastRotated time.Time     `json:"last_rotated"`
	Age         time.Duration `json:"age"`
	MaxAge      time.Duration `json:"max_age,omitempty"`
	WarnAt      time.Duration `json:"warn_at,omitempty"`
	// State is ok, warn, overdue or quarantined.
	State string `json:"state"`
	// Due is when the secret becomes overdue (zero without max_age).
	Due time.Time `json:"due,omitzero"`
	// NextRotation is the policy's next scheduled slot (zero without
	// a schedule).
	NextRotation time.Time `json:"next_rotation,omitzero"`
}

// States of a SecretStatus.
const (
	StateOK          = "ok"
	StateWarn        = "warn"
	StateOverdue     = "overdue"
	StateQuarantined = "quarantined"
)

// PolicyStats are a policy's metrics at the last age check.
type PolicyStats struct {
	// Runs counts runs by result since the node became active.
	Runs map[string]int64
	// OldestAge is the age of its oldest matched secret.
	OldestAge time.Duration
	// Overdue counts its matched secrets past max_age.
	Overdue int

	recorded int64 // runs recorded by this node, to trim the history
}
