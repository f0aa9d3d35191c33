package expiration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Storage layout inside Config.Storage (a barrier view the core chooses,
// e.g. "sys/expire/"). <ha> is hex SHA-256 of a token accessor and <hl>
// hex SHA-256 of a lease id, so that neither appears in a storage key
// (keys are not encrypted by the barrier; lease ids are, as in Vault).
//
//	id/<lease id>      JSON record of the lease; lease ids contain "/"
//	                   (database/creds/ro/<random>), so listing id/<prefix>
//	                   gives Vault's LIST of sys/leases/lookup/<prefix>
//	token/<ha>/<hl>    the lease id (raw bytes): the token with that
//	                   accessor created the lease
//	quota/<name>       JSON record of a lease-count quota
//
// A lease is written index first, then record, and deleted record first,
// then index (atomically when the storage is transactional), so a crash
// leaves at worst an index entry pointing at nothing, which readers skip
// and Tidy removes.
const (
	idPrefix    = "id/"
	tokenPrefix = "token/"
	quotaPrefix = "quota/"
)

func leaseKey(id string) string   { return idPrefix + id }
func quotaKey(name string) string { return quotaPrefix + name }

// tokenDir is the index folder of the leases created by accessor.
func tokenDir(accessor string) string { return tokenPrefix + hashHex(accessor) + "/" }

// tokenKey is the index entry of lease id under accessor.
func tokenKey(accessor, id string) string { return tokenDir(accessor) + hashHex(id) }

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// record is the stored form of a Lease. Field names are the schema: do
// not rename the JSON tags.
type record struct {
	ID                  string         `json:"lease_id"`
	MountPoint          string         `json:"mount_point"`
	Path                string         `json:"path"`
	SecretType          string         `json:"secret_type"`
	InternalData        map[string]any `json:"internal_data,omitempty"`
	TTL                 time.Duration  `json:"ttl"`
	MaxTTL              time.Duration  `json:"max_ttl"`
	ClientTokenAccessor string         `json:"client_token_accessor,omitempty"`
	IssueTime           time.Time      `json:"issue_time"`
	ExpireTime          time.Time      `json:"expire_time"`
	LastRenewalTime     time.Time      `json:"last_renewal_time,omitzero"`
	MaxExpireTime       time.Time      `json:"max_expire_time,omitzero"`
	Renewable           bool           `json:"renewable"`
	Irrevocable         bool           `json:"irrevocable,omitempty"`
	Attempts            int            `json:"attempts,omitempty"`
	LastError           string         `json:"last_error,omitempty"`
	NextAttempt         time.Time      `json:"next_attempt,omitzero"`
}

func toRecord(l *Lease) *record {
	r := &record{
		ID: l.ID, MountPoint: l.MountPoint, Path: l.Path,
		ClientTokenAccessor: l.ClientTokenAccessor,
		IssueTime:           l.IssueTime, ExpireTime: l.ExpireTime,
		LastRenewalTime: l.LastRenewalTime, MaxExpireTime: l.MaxExpireTime,
		Renewable: l.Renewable, Irrevocable: l.Irrevocable,
		Attempts: l.Attempts, LastError: l.LastError, NextAttempt: l.NextAttempt,
	}
	if s := l.Secret; s != nil {
		r.SecretType, r.InternalData, r.TTL, r.MaxTTL = s.Type, s.InternalData, s.TTL, s.MaxTTL
	}
	return r
}

func (r *record) lease() *Lease {
	l := &Lease{
		ID: r.ID, MountPoint: r.MountPoint, Path: r.Path,
		ClientTokenAccessor: r.ClientTokenAccessor,
		IssueTime:           r.IssueTime, ExpireTime: r.ExpireTime,
		LastRenewalTime: r.LastRenewalTime, MaxExpireTime: r.MaxExpireTime,
		Renewable: r.Renewable, Irrevocable: r.Irrevocable,
		Attempts: r.Attempts, LastError: r.LastError, NextAttempt: r.NextAttempt,
	}
	l.Secret = l.secretFrom(r.SecretType, r.InternalData, r.TTL, r.MaxTTL)
	return l
}

func encodeLease(l *Lease) ([]byte, error) {
	b, err := json.Marshal(toRecord(l))
	if err != nil {
		return nil, fmt.Errorf("expiration: encode lease %s: %w", l.ID, err)
	}
	return b, nil
}

// decodeLease decodes the record stored under id/<id>.
func decodeLease(id string, b []byte) (*Lease, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: lease %s: %v", ErrCorrupt, id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("%w: record under lease %s names another lease", ErrCorrupt, id)
	}
	return r.lease(), nil
}

// quotaRecord is the stored form of a Quota.
type quotaRecord struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	MaxLeases int    `json:"max_leases"`
}
