package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/server/core/rotation"
	"github.com/secretumvault/secretumvault/server/membership"
)

// Config is a vaultd configuration file (a subset of Vault's HCL).
type Config struct {
	Storage      StorageConfig
	Listener     ListenerConfig
	Seal         *SealConfig
	APIAddr      string `hcl:"api_addr"`
	ClusterAddr  string `hcl:"cluster_addr"`
	DisableMlock bool   `hcl:"disable_mlock"`
	LogLevel     string `hcl:"log_level"`
	LogFormat    string `hcl:"log_format"`
	// UI serves the web UI at /ui/ (Vault's `ui = true`).
	UI bool `hcl:"ui"`
	// ClusterCertTTL is the lifetime of the node certificates of the
	// cluster port ("72h" by default; members renew theirs after two
	// thirds of it): see clusterCertTTL.
	ClusterCertTTL string `hcl:"cluster_cert_ttl"`
	// AuditSettings are the top-level audit keys; AuditDevices the audit
	// blocks (decoded by decodeAudit). See config_audit.go.
	AuditSettings AuditSettings
	AuditDevices  []core.AuditDeclaration
	// RotationPolicies are the rotation_policy blocks (config_rotation.go).
	RotationPolicies []*rotation.Policy
	// RotationCheckInterval is how often the rotation scheduler checks
	// ages, quarantines and drift ("10s" by default).
	RotationCheckInterval string `hcl:"rotation_check_interval"`
	// RotationWebhookHosts are the hosts a KV rotate_webhook may call.
	RotationWebhookHosts []string `hcl:"rotation_webhook_hosts"`
}

// StorageConfig is the storage "raft" { ... } block.
type StorageConfig struct {
	Type      string
	Path      string      `hcl:"path"`
	NodeID    string      `hcl:"node_id"`
	RetryJoin []RetryJoin // decoded block by block: see decodeRetryJoin
	// SnapshotThreshold and TrailingLogs tune log compaction as Vault's
	// raft storage options of the same names (0: the defaults).
	SnapshotThreshold int    `hcl:"snapshot_threshold"`
	TrailingLogs      int    `hcl:"trailing_logs"`
	SnapshotInterval  string `hcl:"snapshot_interval"` // see snapshotInterval
	// WALSegmentSize is the raft log segment size in bytes (compaction
	// frees whole segments); 0 keeps raft-wal's default.
	WALSegmentSize int `hcl:"wal_segment_size"`
}

// snapshotInterval parses snapshot_interval (how often raft checks whether
// to snapshot) as Vault's raft storage does, with
// parseutil.ParseDurationSecond semantics (framework.ParseDuration): "2m",
// "120s" or 120 seconds; 0 when unset (raft's default). A negative interval
// is refused.
func (s *StorageConfig) snapshotInterval() (time.Duration, error) {
	d, err := framework.ParseDuration(s.SnapshotInterval)
	if err != nil {
		return 0, fmt.Errorf("config: storage.snapshot_interval: %w", err)
	}
	if d < 0 {
		return 0, errors.New("config: storage.snapshot_interval: must not be negative")
	}
	return d, nil
}

// clusterCertTTL parses cluster_cert_ttl (framework.ParseDuration: "72h",
// "30s" or seconds); 0 when unset (membership's default, 72h). It may not
// be shorter than membership.MinNodeCertTTL: short lifetimes are for
// tests of renewal.
func (c *Config) clusterCertTTL() (time.Duration, error) {
	d, err := framework.ParseDuration(c.ClusterCertTTL)
	if err != nil {
		return 0, fmt.Errorf("config: cluster_cert_ttl: %w", err)
	}
	if d != 0 && d < membership.MinNodeCertTTL {
		return 0, fmt.Errorf("config: cluster_cert_ttl %v is shorter than %v", d, membership.MinNodeCertTTL)
	}
	return d, nil
}

// RetryJoin is a retry_join { ... } block inside storage "raft": an
// uninitialised node keeps asking these leaders to let it join.
type RetryJoin struct {
	LeaderAPIAddr string `hcl:"leader_api_addr"`
	LeaderCACert  string `hcl:"leader_ca_cert"`
	// The *_file forms name PEM files, as in Vault.
	LeaderCACertFile     string `hcl:"leader_ca_cert_file"`
	LeaderClientCertFile string `hcl:"leader_client_cert_file"`
	LeaderClientKeyFile  string `hcl:"leader_client_key_file"`
}

// joinParams reads the PEM files of a retry_join block.
func (j RetryJoin) joinParams() (*membership.JoinParams, error) {
	p := &membership.JoinParams{LeaderAPIAddr: j.LeaderAPIAddr, LeaderCACert: j.LeaderCACert}
	for _, f := range []struct {
		path string
		into *string
	}{{j.LeaderCACertFile, &p.LeaderCACert}, {j.LeaderClientCertFile, &p.LeaderClientCert}, {j.LeaderClientKeyFile, &p.LeaderClientKey}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("retry_join: %w", err)
		}
		*f.into = string(b)
	}
	return p, nil
}

// SealConfig is the optional seal "static" { key_file } block: a 32-byte
// key (raw, hex or base64 in the file) that unseals the node unattended.
type SealConfig struct {
	Type    string
	KeyFile string `hcl:"key_file"`
}

// ListenerConfig is the listener "tcp" { ... } block.
type ListenerConfig struct {
	Type           string
	Address        string `hcl:"address"`
	ClusterAddress string `hcl:"cluster_address"`
	TLSDisable     bool   `hcl:"tls_disable"`
	TLSCertFile    string `hcl:"tls_cert_file"`
	TLSKeyFile     string `hcl:"tls_key_file"`
	TLSMinVersion  string `hcl:"tls_min_version"`
	// HTTP server limits under Vault's names; durations are "10s" or a
	// number of seconds, unset or 0 means the default (listener.go).
	HTTPReadHeaderTimeout any `hcl:"http_read_header_timeout"`
	HTTPReadTimeout       any `hcl:"http_read_timeout"`
	HTTPWriteTimeout      any `hcl:"http_write_timeout"`
	HTTPIdleTimeout       any `hcl:"http_idle_timeout"`
	// HTTPMaxHeaderBytes has no Vault equivalent (Vault keeps net/http's
	// 1 MiB); 0 means api.DefaultMaxHeaderBytes.
	HTTPMaxHeaderBytes int               `hcl:"http_max_header_bytes"`
	Telemetry          ListenerTelemetry `hcl:"telemetry"`
	// DisableUnauthedRekeyEndpoints and
	// DisableUnauthedGenerateRootEndpoints (true or "true") turn off the
	// unauthenticated sys/rekey/* and sys/generate-root/* ceremonies on
	// this listener, as in Vault and OpenBao.
	DisableUnauthedRekeyEndpoints        any `hcl:"disable_unauthed_rekey_endpoints"`
	DisableUnauthedGenerateRootEndpoints any `hcl:"disable_unauthed_generate_root_endpoints"`
}

// ListenerTelemetry is the telemetry { ... } block inside the listener.
type ListenerTelemetry struct {
	// UnauthenticatedMetricsAccess (true or "true", as Vault accepts)
	// serves /v1/sys/metrics?format=prometheus without a token.
	UnauthenticatedMetricsAccess any `hcl:"unauthenticated_metrics_access"`
}

// topLevelKeys are the keys Config understands; others are reported.
var topLevelKeys = map[string]bool{
	"storage": true, "listener": true, "api_addr": true, "cluster_addr": true,
	"disable_mlock": true, "log_level": true, "seal": true, "log_format": true, "ui": true, "cluster_name": true,
	"cluster_cert_ttl": true, "rotation_policy": true, "rotation_check_interval": true, "rotation_webhook_hosts": true,
}

func init() {
	for _, k := range auditKeys {
		topLevelKeys[k] = true
	}
}

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (*Config, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(string(raw))
}

// ParseConfig parses HCL text; it returns warnings for keys it ignores.
func ParseConfig(text string) (*Config, []string, error) {
	file, err := hcl.Parse(text)
	if err != nil {
		return nil, nil, fmt.Errorf("parse config: %w", err)
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, nil, errors.New("parse config: top level must be an object")
	}
	cfg := &Config{}
	if err := hcl.DecodeObject(cfg, file.Node); err != nil {
		return nil, nil, fmt.Errorf("parse config: %w", err)
	}
	var warnings []string
	for _, item := range list.Items {
		if k := item.Keys[0].Token.Value().(string); !topLevelKeys[k] {
			warnings = append(warnings, fmt.Sprintf("unknown configuration key %q ignored", k))
		}
	}
	// The generic decode above may have half-filled the labelled blocks.
	cfg.Storage, cfg.Listener, cfg.AuditSettings = StorageConfig{}, ListenerConfig{}, AuditSettings{}
	if err := decodeBlock(list, "storage", &cfg.Storage.Type, &cfg.Storage); err != nil {
		return nil, nil, err
	}
	if err := decodeRetryJoin(list, &cfg.Storage); err != nil {
		return nil, nil, err
	}
	if err := decodeBlock(list, "listener", &cfg.Listener.Type, &cfg.Listener); err != nil {
		return nil, nil, err
	}
	if len(list.Filter("seal").Items) > 0 {
		cfg.Seal = &SealConfig{}
		if err := decodeBlock(list, "seal", &cfg.Seal.Type, cfg.Seal); err != nil {
			return nil, nil, err
		}
	}
	if cfg.AuditDevices, err = decodeAudit(list); err != nil {
		return nil, nil, err
	}
	if cfg.RotationPolicies, err = decodeRotation(list); err != nil {
		return nil, nil, err
	}
	if err := hcl.DecodeObject(&cfg.AuditSettings, file.Node); err != nil {
		return nil, nil, fmt.Errorf("parse config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if err := cfg.validateAudit(); err != nil {
		return nil, nil, err
	}
	return cfg, warnings, nil
}

// decodeBlock decodes the single labelled block `name "label" { ... }`.
func decodeBlock(list *ast.ObjectList, name string, label *string, into any) error {
	items := list.Filter(name).Items
	switch {
	case len(items) == 0:
		return fmt.Errorf("config: a %s block is required", name)
	case len(items) > 1:
		return fmt.Errorf("config: only one %s block is supported", name)
	case len(items[0].Keys) != 1:
		return fmt.Errorf("config: %s block needs exactly one label, e.g. %s \"...\" { }", name, name)
	}
	if err := hcl.DecodeObject(into, items[0].Val); err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	*label = items[0].Keys[0].Token.Value().(string)
	return nil
}

// decodeRetryJoin decodes each retry_join block of the storage block on
// its own: hcl v1 splits multi-key blocks when decoding a slice of structs.
func decodeRetryJoin(list *ast.ObjectList, into *StorageConfig) error {
	obj, ok := list.Filter("storage").Items[0].Val.(*ast.ObjectType)
	if !ok {
		return nil
	}
	for _, item := range obj.List.Filter("retry_join").Items {
		var rj RetryJoin
		if err := hcl.DecodeObject(&rj, item.Val); err != nil {
			return fmt.Errorf("config: storage.retry_join: %w", err)
		}
		into.RetryJoin = append(into.RetryJoin, rj)
	}
	return nil
}

// Validate reports the first invalid field by name.
func (c *Config) Validate() error {
	switch {
	case c.Storage.Type != "raft":
		return fmt.Errorf("config: storage %q is not supported (use \"raft\")", c.Storage.Type)
	case c.Storage.Path == "":
		return errors.New("config: storage.path is required")
	case c.Listener.Type != "tcp":
		return fmt.Errorf("config: listener %q is not supported (use \"tcp\")", c.Listener.Type)
	case hasEmptyJoin(c.Storage.RetryJoin):
		return errors.New("config: storage.retry_join.leader_api_addr is required")
	case c.Listener.Address == "":
		return errors.New("config: listener.address is required")
	case !c.Listener.TLSDisable && (c.Listener.TLSCertFile == "" || c.Listener.TLSKeyFile == ""):
		return errors.New("config: listener.tls_cert_file and tls_key_file are required unless tls_disable = true")
	}
	if _, err := c.Listener.apiConfig(); err != nil {
		return err
	}
	if _, err := c.Storage.snapshotInterval(); err != nil {
		return err
	}
	if _, err := c.clusterCertTTL(); err != nil {
		return err
	}
	if c.Seal != nil && (c.Seal.Type != "static" || c.Seal.KeyFile == "") {
		return fmt.Errorf("config: seal %q: only seal \"static\" { key_file = \"...\" } is supported", c.Seal.Type)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	switch c.LogFormat {
	case "", "standard", "json":
	default:
		return fmt.Errorf("config: log_format %q is not one of standard, json", c.LogFormat)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "trace", "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "err":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("config: log_level %q is not one of trace, debug, info, warn, error", s)
}

// clusterListenAddr is where raft listens: listener.cluster_address, else
// the host of cluster_addr, else the API port + 1 (Vault's default).
func (c *Config) clusterListenAddr() string {
	if c.Listener.ClusterAddress != "" {
		return c.Listener.ClusterAddress
	}
	return portPlusOne(c.Listener.Address)
}

// clusterAdvertiseAddr is the cluster address peers dial: the host:port
// of cluster_addr, else the cluster listen address.
func (c *Config) clusterAdvertiseAddr() string {
	if c.ClusterAddr == "" {
		return c.clusterListenAddr()
	}
	a := c.ClusterAddr
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	return strings.TrimSuffix(a, "/")
}

// portPlusOne returns host:port+1 for a host:port address.
func portPlusOne(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1))
}

func hasEmptyJoin(joins []RetryJoin) bool {
	for _, j := range joins {
		if j.LeaderAPIAddr == "" {
			return true
		}
	}
	return false
}

// staticSealKey reads the static seal key file: 32 raw bytes, or 64 hex
// characters, or base64 of 32 bytes.
func (s *SealConfig) staticSealKey() ([]byte, error) {
	raw, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("seal static: %w", err)
	}
	if len(raw) == 32 {
		return raw, nil
	}
	text := strings.TrimSpace(string(raw))
	if k, err := hex.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, fmt.Errorf("seal static: %s must hold a 32-byte key (raw, hex or base64)", s.KeyFile)
}
