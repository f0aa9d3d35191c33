package pki

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Storage layout of a mount (keys relative to the mount's view, which
// core encrypts behind the barrier). This is the only place key names
// are spelled; they are Vault's.
//
//	config/key/<id>     keyEntry (JSON): a private key (PEM)
//	config/issuer/<id>  issuerEntry (JSON): a CA certificate, its chain
//	config/issuers      issuersConfig (JSON): the default issuer
//	config/urls         urlsConfig (JSON): AIA and CRL URLs
//	config/crl          crlConfig (JSON): CRL validity
//	role/<name>         role (JSON)
//	certs/<serial>      certEntry (JSON): an issued certificate (DER)
//	revoked/<serial>    revokedEntry (JSON): a revocation
//	crls/<issuer id>    crlEntry (JSON): an issuer's current CRL
//
// Serials in keys are lowercase hex bytes joined by "-".
const (
	keyPrefix        = "config/key/"
	issuerPrefix     = "config/issuer/"
	issuersConfigKey = "config/issuers"
	urlsConfigKey    = "config/urls"
	crlConfigKey     = "config/crl"
	rolePrefix       = "role/"
	certPrefix       = "certs/"
	revokedPrefix    = "revoked/"
	crlPrefix        = "crls/"
)

// keyEntry is a stored private key.
type keyEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	// PrivateKey is the PKCS#8 PEM of the key.
	PrivateKey string `json:"private_key"`
}

// issuerEntry is a stored CA certificate.
type issuerEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// KeyID is "" for an issuer imported without its key (verification
	// only: it cannot sign).
	KeyID                string   `json:"key_id"`
	Certificate          string   `json:"certificate"`
	CAChain              []string `json:"ca_chain"`
	SerialNumber         string   `json:"serial_number"`
	LeafNotAfterBehavior string   `json:"leaf_not_after_behavior"`
	// Seq orders issuers by creation.
	Seq int64 `json:"seq"`
}

// issuersConfig is config/issuers.
type issuersConfig struct {
	Default                    string `json:"default"`
	DefaultFollowsLatestIssuer bool   `json:"default_follows_latest_issuer"`
}

// urlsConfig is config/urls.
type urlsConfig struct {
	IssuingCertificates   []string `json:"issuing_certificates"`
	CRLDistributionPoints []string `json:"crl_distribution_points"`
	OCSPServers           []string `json:"ocsp_servers"`
}

// crlConfig is config/crl.
type crlConfig struct {
	Expiry      time.Duration `json:"expiry"`
	Disable     bool          `json:"disable"`
	OCSPDisable bool          `json:"ocsp_disable"`
	OCSPExpiry  time.Duration `json:"ocsp_expiry"`
}

// defaultCRLConfig is Vault's default config/crl.
func defaultCRLConfig() crlConfig {
	return crlConfig{Expiry: 72 * time.Hour, OCSPExpiry: 12 * time.Hour}
}

// certEntry is a stored issued certificate.
type certEntry struct {
	DER      []byte `json:"der"`
	IssuerID string `json:"issuer_id"`
}

// revokedEntry is a stored revocation.
type revokedEntry struct {
	SerialNumber   string    `json:"serial_number"`
	RevocationTime time.Time `json:"revocation_time"`
	IssuerID       string    `json:"issuer_id"`
	// DER is the revoked certificate (kept so tidy knows its expiry).
	DER []byte `json:"der"`
}

// crlEntry is an issuer's current CRL.
type crlEntry struct {
	DER        []byte    `json:"der"`
	Number     int64     `json:"number"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
}

// serialKey is the storage form of a serial ("1a-2b-...").
func serialKey(serial string) string {
	return strings.ReplaceAll(normalizeSerial(serial), ":", "-")
}

// normalizeSerial turns "1A-2B" or "1a:2b" into Vault's "1a:2b".
func normalizeSerial(serial string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(serial), "-", ":"))
}

func loadKey(ctx context.Context, s logical.Storage, id string) (*keyEntry, error) {
	return framework.Load[keyEntry](ctx, store, s, keyPrefix+id)
}

func loadIssuer(ctx context.Context, s logical.Storage, id string) (*issuerEntry, error) {
	return framework.Load[issuerEntry](ctx, store, s, issuerPrefix+id)
}

func loadIssuersConfig(ctx context.Context, s logical.Storage) (*issuersConfig, error) {
	var c issuersConfig
	_, err := getJSON(ctx, s, issuersConfigKey, &c)
	return &c, err
}

func loadURLs(ctx context.Context, s logical.Storage) (*urlsConfig, error) {
	var c urlsConfig
	_, err := getJSON(ctx, s, urlsConfigKey, &c)
	return &c, err
}

func loadCRLConfig(ctx context.Context, s logical.Storage) (*crlConfig, error) {
	c := defaultCRLConfig()
	_, err := getJSON(ctx, s, crlConfigKey, &c)
	return &c, err
}

func loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	r := defaultRole()
	if found, err := getJSON(ctx, s, rolePrefix+name, r); !found {
		return nil, err
	}
	return r, nil
}

func loadCert(ctx context.Context, s logical.Storage, serial string) (*certEntry, error) {
	return framework.Load[certEntry](ctx, store, s, certPrefix+serialKey(serial))
}

func loadRevoked(ctx context.Context, s logical.Storage, serial string) (*revokedEntry, error) {
	return framework.Load[revokedEntry](ctx, store, s, revokedPrefix+serialKey(serial))
}

func loadCRL(ctx context.Context, s logical.Storage, issuerID string) (*crlEntry, error) {
	return framework.Load[crlEntry](ctx, store, s, crlPrefix+issuerID)
}

// listResponse answers a LIST; none is logical.ErrNotFound, as Vault
// answers an empty LIST with 404.
func listResponse(keys []string, what string) (*logical.Response, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("pki: no %s: %w", what, logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func isNotFound(err error) bool { return errors.Is(err, logical.ErrNotFound) }

// store is the engine's JSON storage (errors name "pki" and wrap
// ErrCorrupt for an entry that does not decode).
var store = framework.JSONStore{Engine: "pki", Corrupt: ErrCorrupt}

// getJSON decodes the entry at key into out; found=false when absent or
// on error.
func getJSON(ctx context.Context, s logical.Storage, key string, out any) (bool, error) {
	return store.Get(ctx, s, key, out)
}

// putJSON stores v at key.
func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	return store.Put(ctx, s, key, v)
}

// deleteKey removes key.
func deleteKey(ctx context.Context, s logical.Storage, key string) error {
	return store.Delete(ctx, s, key)
}

// listKeys lists the names under prefix.
func listKeys(ctx context.Context, s logical.Storage, prefix string) ([]string, error) {
	return store.List(ctx, s, prefix)
}
