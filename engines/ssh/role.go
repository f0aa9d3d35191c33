package ssh

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Role key types and algorithm_signer values (Vault's).
const (
	keyTypeCA      = "ca"
	keyTypeOTP     = "otp"
	keyTypeDynamic = "dynamic"
	// signerDefault signs with the CA key's default algorithm
	// (rsa-sha2-256 for an RSA key).
	signerDefault = "default"
)

// roleInput is a role write. Vault replaces the whole role on a write,
// so absent fields take their defaults.
type roleInput struct {
	KeyType                string            `json:"key_type"`
	DefaultUser            string            `json:"default_user"`
	DefaultUserTemplate    bool              `json:"default_user_template"`
	AllowedUsers           string            `json:"allowed_users"`
	AllowedUsersTemplate   bool              `json:"allowed_users_template"`
	AllowedDomains         string            `json:"allowed_domains"`
	AllowedDomainsTemplate bool              `json:"allowed_domains_template"`
	TTL                    time.Duration     `json:"ttl"`
	MaxTTL                 time.Duration     `json:"max_ttl"`
	AllowedCriticalOptions string            `json:"allowed_critical_options"`
	AllowedExtensions      string            `json:"allowed_extensions"`
	DefaultCriticalOptions map[string]string `json:"default_critical_options"`
	DefaultExtensions      map[string]string `json:"default_extensions"`
	DefaultExtTemplate     bool              `json:"default_extensions_template"`
	AllowUserCertificates  bool              `json:"allow_user_certificates"`
	AllowHostCertificates  bool              `json:"allow_host_certificates"`
	AllowBareDomains       bool              `json:"allow_bare_domains"`
	AllowSubdomains        bool              `json:"allow_subdomains"`
	AllowUserKeyIDs        bool              `json:"allow_user_key_ids"`
	AllowEmptyPrincipals   bool              `json:"allow_empty_principals"`
	KeyIDFormat            string            `json:"key_id_format"`
	AllowedUserKeyLengths  map[string]any    `json:"allowed_user_key_lengths"`
	AlgorithmSigner        string            `json:"algorithm_signer"`
	NotBeforeDuration      time.Duration     `json:"not_before_duration"`
}

// toRole validates the input and builds the role it describes. Errors
// name the offending field.
func (in *roleInput) toRole() (*role, error) {
	if err := in.checkUnsupported(); err != nil {
		return nil, err
	}
	algo, err := checkAlgorithmSigner(in.AlgorithmSigner)
	if err != nil {
		return nil, err
	}
	lengths, err := parseKeyLengths(in.AllowedUserKeyLengths)
	if err != nil {
		return nil, err
	}
	switch {
	case !in.AllowUserCertificates && !in.AllowHostCertificates:
		return nil, logical.InvalidRequest("allow_user_certificates", "Either 'allow_user_certificates' or 'allow_host_certificates' must be set to 'true'")
	case in.TTL < 0:
		return nil, logical.InvalidRequest("ttl", "must not be negative")
	case in.MaxTTL < 0:
		return nil, logical.InvalidRequest("max_ttl", "must not be negative")
	case in.TTL != 0 && in.MaxTTL != 0 && in.TTL > in.MaxTTL:
		return nil, logical.InvalidRequest("ttl", `"ttl" value must be less than "max_ttl" when both are specified`)
	case in.NotBeforeDuration < 0:
		return nil, logical.InvalidRequest("not_before_duration", "must not be negative")
	}
	return &role{
		KeyType:                keyTypeCA,
		DefaultUser:            strings.TrimSpace(in.DefaultUser),
		AllowedUsers:           in.AllowedUsers,
		AllowedDomains:         in.AllowedDomains,
		TTL:                    in.TTL,
		MaxTTL:                 in.MaxTTL,
		AllowedCriticalOptions: in.AllowedCriticalOptions,
		AllowedExtensions:      in.AllowedExtensions,
		DefaultCriticalOptions: nonNilMap(in.DefaultCriticalOptions),
		DefaultExtensions:      nonNilMap(in.DefaultExtensions),
		AllowUserCertificates:  in.AllowUserCertificates,
		AllowHostCertificates:  in.AllowHostCertificates,
		AllowBareDomains:       in.AllowBareDomains,
		AllowSubdomains:        in.AllowSubdomains,
		AllowUserKeyIDs:        in.AllowUserKeyIDs,
		KeyIDFormat:            in.KeyIDFormat,
		AllowedUserKeyLengths:  lengths,
		AlgorithmSigner:        algo,
		NotBeforeDuration:      in.NotBeforeDuration,
	}, nil
}

// checkUnsupported refuses what this engine does not do: key types
// other than "ca", identity templating, certificates without principals.
func (in *roleInput) checkUnsupported() error {
	switch strings.ToLower(in.KeyType) {
	case keyTypeCA:
	case "":
		return logical.InvalidRequest("key_type", "missing key type")
	case keyTypeOTP:
		return logical.InvalidRequest("key_type", `only "ca" roles are supported: the otp key type is not implemented`)
	case keyTypeDynamic:
		return logical.InvalidRequest("key_type", "dynamic key type roles are no longer supported")
	default:
		return logical.InvalidRequest("key_type", "invalid key type")
	}
	for field, on := range map[string]bool{
		"allowed_users_template":      in.AllowedUsersTemplate,
		"allowed_domains_template":    in.AllowedDomainsTemplate,
		"default_user_template":       in.DefaultUserTemplate,
		"default_extensions_template": in.DefaultExtTemplate,
	} {
		if on {
			return logical.InvalidRequest(field, "identity templating is not supported by this server")
		}
	}
	if in.AllowEmptyPrincipals {
		return logical.InvalidRequest("allow_empty_principals", "certificates without principals are valid for any user or host and are never signed")
	}
	return nil
}

// checkAlgorithmSigner resolves algorithm_signer: "" and "default" are
// the key's default (rsa-sha2-256 for RSA keys). ssh-rsa (SHA-1), which
// Vault accepts, is refused: OpenSSH no longer accepts it from a CA.
func checkAlgorithmSigner(s string) (string, error) {
	switch s {
	case "", signerDefault:
		return signerDefault, nil
	case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
		return s, nil
	case ssh.KeyAlgoRSA:
		return "", logical.InvalidRequest("algorithm_signer", "ssh-rsa (SHA-1) signatures are refused by OpenSSH; use rsa-sha2-256 or rsa-sha2-512")
	}
	return "", logical.InvalidRequest("algorithm_signer", "unknown algorithm signer %q (rsa-sha2-256, rsa-sha2-512 or default)", s)
}

// keyLengthNames are the allowed_user_key_lengths keys Vault knows.
var keyLengthNames = []string{
	"rsa", ssh.KeyAlgoRSA, "ecdsa", "ec", ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	"ed25519", ssh.KeyAlgoED25519,
}

// parseKeyLengths parses allowed_user_key_lengths: key type → a size
// or a list of sizes.
func parseKeyLengths(raw map[string]any) (map[string][]int, error) {
	out := make(map[string][]int, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(keyLengthNames, name) {
			return nil, logical.InvalidRequest("allowed_user_key_lengths", "unknown key type %q", name)
		}
		var vals []any
		if l, ok := raw[name].([]any); ok {
			vals = l
		} else {
			vals = []any{raw[name]}
		}
		for _, v := range vals {
			n, err := toInt(v)
			if err != nil || n < 0 {
				return nil, logical.InvalidRequest("allowed_user_key_lengths", "error processing allowed_user_key_lengths: %q: not a key size", name)
			}
			out[name] = append(out[name], n)
		}
	}
	return out, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("not an integer")
		}
		return int(x), nil
	case json.Number:
		return strconv.Atoi(x.String())
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("not an integer")
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// data renders the role as Vault's role read does.
func (r *role) data() map[string]any {
	lengths := r.AllowedUserKeyLengths
	if lengths == nil {
		lengths = map[string][]int{}
	}
	return map[string]any{
		"key_type":                           r.KeyType,
		"default_user":                       r.DefaultUser,
		"default_user_template":              false,
		"allowed_users":                      r.AllowedUsers,
		"allowed_users_template":             false,
		"allowed_domains":                    r.AllowedDomains,
		"allowed_domains_template":           false,
		"ttl":                                int64(r.TTL / time.Second),
		"max_ttl":                            int64(r.MaxTTL / time.Second),
		"allowed_critical_options":           r.AllowedCriticalOptions,
		"allowed_extensions":                 r.AllowedExtensions,
		"default_critical_options":           nonNilMap(r.DefaultCriticalOptions),
		"default_extensions":                 nonNilMap(r.DefaultExtensions),
		"default_extensions_template":        false,
		"allow_user_certificates":            r.AllowUserCertificates,
		"allow_host_certificates":            r.AllowHostCertificates,
		"allow_bare_domains":                 r.AllowBareDomains,
		"allow_subdomains":                   r.AllowSubdomains,
		"allow_user_key_ids":                 r.AllowUserKeyIDs,
		"allow_empty_principals":             false,
		"allow_commas_in_identity_templates": false,
		"key_id_format":                      r.KeyIDFormat,
		"allowed_user_key_lengths":           lengths,
		"algorithm_signer":                   r.AlgorithmSigner,
		"not_before_duration":                int64(r.NotBeforeDuration / time.Second),
	}
}
