package userpass

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Each stored hash carries its own (in its PHC string), so raising them
// leaves existing hashes valid; a user's hash is upgraded to the current
// parameters at their next successful login.
type Argon2Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2Params are m=19 MiB, t=2, p=1, a 16-byte salt and a
// 32-byte key: OWASP's recommended argon2id setting. It suits a server
// doing logins on 2 cores: one login costs one core about 40 ms of CPU
// (measured on the project's 2-core machine; see BenchmarkLogin), so the
// two cores verify about 50 logins a second, far beyond human login
// rates, while every offline guess at a stolen hash costs the same 19 MiB
// and two passes. p=1 because parallel lanes only shorten one login by
// occupying more cores, which a server serving concurrent logins does
// not have to spare; memory stays at 19 MiB so that the Backend's bound
// on concurrent hashes (two per core) caps the memory of a login flood
// at about 80 MiB. Raise Time first if logins become rarer or cores more
// plentiful: stored hashes keep their parameters and are upgraded at the
// next successful login.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds every parameter must respect, whether configured or read from a
// stored hash (a corrupt hash must not make a login allocate gigabytes).
const (
	minMemory, maxMemory   = 8, 1 << 20 // KiB: up to 1 GiB
	maxTime                = 64
	minSaltLen, maxSaltLen = 8, 64
	minKeyLen, maxKeyLen   = 16, 64
)

// Validate reports a parameter out of its bounds, naming it.
func (p Argon2Params) Validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("%w: argon2 threads must be at least 1", ErrBadParams)
	case p.Memory < minMemory*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("%w: argon2 memory must be between %d KiB per thread and %d KiB", ErrBadParams, minMemory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: argon2 time must be between 1 and %d", ErrBadParams, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: argon2 salt length must be between %d and %d bytes", ErrBadParams, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: argon2 key length must be between %d and %d bytes", ErrBadParams, minKeyLen, maxKeyLen)
	}
	return nil
}

// sameCost reports whether a hash made with q costs what p asks.
func (p Argon2Params) sameCost(q Argon2Params) bool {
	return p.Memory == q.Memory && p.Time == q.Time && p.Threads == q.Threads && p.KeyLen == q.KeyLen && p.SaltLen == q.SaltLen
}

// kdf is argon2id's key derivation (a seam for tests that count calls).
type kdf func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

var b64 = base64.RawStdEncoding

// hashPassword returns the PHC string of password under p:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, base64
// without padding.
func (b *Backend) hashPassword(ctx context.Context, password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("userpass: salt: %w", err)
	}
	key, err := b.derive(ctx, password, salt, p)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the PHC string phc
// (compared in constant time) and the parameters phc was made with. A
// malformed phc is ErrCorrupt.
func (b *Backend) verifyPassword(ctx context.Context, password, phc string) (bool, Argon2Params, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, p, err
	}
	got, err := b.derive(ctx, password, salt, p)
	if err != nil {
		return false, p, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, p, nil
}

// derive runs the KDF, holding one of the Backend's hash slots so that
// a flood of logins queues instead of exhausting memory.
func (b *Backend) derive(ctx context.Context, password string, salt []byte, p Argon2Params) ([]byte, error) {
	select {
	case b.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("userpass: waiting to hash: %w", ctx.Err())
	}
	defer func() { <-b.hashSlots }()
	return b.kdf([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// parsePHC splits an argon2id PHC string into its parameters, salt and
// hash, refusing any out of Argon2Params' bounds.
func parsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id v19 PHC string", ErrCorrupt)
	}
	var threads uint32
	n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads)
	if err != nil || n != 3 || threads > 255 || fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) != parts[3] {
		return p, nil, nil, fmt.Errorf("%w: bad argon2id parameters", ErrCorrupt)
	}
	p.Threads = uint8(threads)
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return p, nil, nil, fmt.Errorf("%w: bad argon2id salt or hash encoding", ErrCorrupt)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return p, salt, key, nil
}
