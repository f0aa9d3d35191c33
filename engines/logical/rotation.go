package logical

import (
	"context"
	"time"
)

// Rotator is the optional power of a backend whose secrets a rotation
// policy (server/core's scheduler) can rotate on a schedule, age, and
// check for drift. Paths are relative to the mount, as Request.Path: the
// scheduler matches mount + Path against a policy's glob over full API
// paths ("secret/data/app/*", "database/static-roles/*"). Every method
// must be safe for concurrent use with requests; s is the mount's
// storage view. No method may return, log or put in an error a secret
// value.
type Rotator interface {
	// RotationTargets lists the secrets of the mount a policy can
	// rotate, with their current age.
	RotationTargets(ctx context.Context, s Storage) ([]RotationTarget, error)
	// Rotate replaces the secret at path now (a new KV version, a new
	// database password, a new key version or signing key) and returns
	// what changed, without the secret. A path that is not a target is
	// an error matching ErrNotFound.
	Rotate(ctx context.Context, s Storage, path string) (RotationResult, error)
	// Verify checks that the secret at path still works where it is used
	// (the static role's password still logs in; the AWS root key still
	// signs). A credential changed behind the server's back is an error
	// matching ErrDrift; a target the engine cannot verify, ErrUnsupportedOperation.
	Verify(ctx context.Context, s Storage, path string) error
}

// RotationTarget is one rotatable secret.
type RotationTarget struct {
	// Path is relative to the mount ("data/app/db", "static-roles/app",
	// "config/root", "keys/app", "issuer/default", "config/ca").
	Path string
	// LastRotated is when the current value was set (by a rotation or a
	// write): the secret's age is measured from it.
	LastRotated time.Time
	// Tags are the secret's custom metadata (KV v2), matched by a
	// policy's tag conditions; nil when the engine has none.
	Tags map[string]string
	// Guards are the paths (relative to the mount) that hand out or use
	// the secret, refused while a policy quarantines it: for KV
	// "data/app/db" itself, for a static role "static-creds/app".
	Guards []string
	// Verifiable says whether Verify can check this target.
	Verifiable bool
}

// RotationResult describes a rotation, without the secret.
type RotationResult struct {
	// Version names the new value where the engine has one ("7" for a
	// KV version or key version, a serial, a key fingerprint).
	Version string
	// RotatedAt is when the new value took effect.
	RotatedAt time.Time
}
