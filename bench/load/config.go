package load

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors returned by Config.Validate and Run; match with errors.Is.
var (
	// ErrInvalidConfig means a Config field is out of range; the message
	// names the field.
	ErrInvalidConfig = errors.New("load: invalid config")
	// ErrRemoteAddr means an address is not a loopback host and
	// Config.AllowRemote is false.
	ErrRemoteAddr = errors.New("load: non-loopback address refused (use -allow-remote)")
	// ErrSetup means pre-writing the keys of a read workload failed.
	ErrSetup = errors.New("load: setup failed")
)

// Workload names the request mix a run sends.
type Workload string

// The workloads Run knows.
const (
	// WorkloadWrite sends only kv-v2 writes.
	WorkloadWrite Workload = "write"
	// WorkloadRead pre-writes every key, then sends only reads.
	WorkloadRead Workload = "read"
	// WorkloadMixed pre-writes every key, then sends ReadPercent reads and
	// the rest writes.
	WorkloadMixed Workload = "mixed"
)

// Config describes one load run. Build it from DefaultConfig; Run calls
// Validate.
type Config struct {
	// Addrs are the server base URLs (http://127.0.0.1:8200); clients are
	// spread over them round-robin.
	Addrs []string
	// Token is sent as X-Vault-Token. It is never printed.
	Token string
	// Mount is the kv-v2 mount path, without slashes ("secret").
	Mount string
	// Workload is the request mix.
	Workload Workload
	// ReadPercent is the share of reads in WorkloadMixed, 0..100.
	ReadPercent int
	// Clients is the number of concurrent clients (goroutines).
	Clients int
	// Duration bounds the run in time; Requests bounds it in count.
	// Exactly one of them is non-zero.
	Duration time.Duration
	// Requests is the total number of measured requests over all clients.
	Requests int
	// Keys is the number of distinct keys the run touches.
	Keys int
	// ValueSize is the length in bytes of each written value.
	ValueSize int
	// KeyPrefix is the path under the mount where keys live.
	KeyPrefix string
	// Timeout bounds each single HTTP request.
	Timeout time.Duration
	// OutageThreshold is the length an outage window (see Availability)
	// must exceed to be counted in Availability.Outages; 0 counts every
	// window. Shorter windows still count for the longest one.
	OutageThreshold time.Duration
	// AllowRemote permits non-loopback addresses.
	AllowRemote bool
	// InsecureSkipVerify disables TLS certificate checks (https dev servers).
	InsecureSkipVerify bool
}

// DefaultConfig returns the defaults of the vaultbench command.
func DefaultConfig() Config {
	return Config{
		Addrs:           []string{"http://127.0.0.1:8200"},
		Mount:           "secret",
		Workload:        WorkloadWrite,
		ReadPercent:     90,
		Clients:         16,
		Duration:        30 * time.Second,
		Keys:            1000,
		ValueSize:       256,
		KeyPrefix:       "vaultbench",
		Timeout:         10 * time.Second,
		OutageThreshold: 250 * time.Millisecond,
	}
}

// MaxValueSize caps Config.ValueSize (the server's default request limit is
// far above it; this only keeps a typo from allocating gigabytes).
const MaxValueSize = 16 << 20

// Validate checks every field and returns an error wrapping
// ErrInvalidConfig (or ErrRemoteAddr) that names the offending field.
func (c *Config) Validate() error {
	if err := c.validateShape(); err != nil {
		return err
	}
	for _, a := range c.Addrs {
		if err := checkAddr(a, c.AllowRemote); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateShape() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.Addrs) == 0:
		return bad("addr: at least one address is required")
	case c.Token == "":
		return bad("token: required")
	case c.Mount == "" || strings.Trim(c.Mount, "/") != c.Mount:
		return bad("mount: %q must be non-empty without leading or trailing slash", c.Mount)
	case c.Workload != WorkloadWrite && c.Workload != WorkloadRead && c.Workload != WorkloadMixed:
		return bad("workload: %q is not write, read or mixed", c.Workload)
	case c.ReadPercent < 0 || c.ReadPercent > 100:
		return bad("read-pct: %d is outside 0..100", c.ReadPercent)
	case c.Clients < 1:
		return bad("clients: %d must be >= 1", c.Clients)
	case (c.Duration > 0) == (c.Requests > 0):
		return bad("duration/requests: exactly one must be positive (duration=%s requests=%d)", c.Duration, c.Requests)
	case c.Duration < 0 || c.Requests < 0:
		return bad("duration/requests: must not be negative")
	case c.Keys < 1:
		return bad("keys: %d must be >= 1", c.Keys)
	case c.ValueSize < 1 || c.ValueSize > MaxValueSize:
		return bad("value-size: %d is outside 1..%d", c.ValueSize, MaxValueSize)
	case c.KeyPrefix == "" || strings.Trim(c.KeyPrefix, "/") != c.KeyPrefix:
		return bad("key-prefix: %q must be non-empty without leading or trailing slash", c.KeyPrefix)
	case c.Timeout <= 0:
		return bad("timeout: %s must be positive", c.Timeout)
	case c.OutageThreshold < 0:
		return bad("outage-threshold: %s must not be negative", c.OutageThreshold)
	}
	return nil
}

// checkAddr accepts an http(s) URL with a host; unless allowRemote, the
// host must be localhost or a loopback IP literal.
func checkAddr(addr string, allowRemote bool) error {
	u, err := url.Parse(addr)
	if err != nil {
		return fmt.Errorf("%w: addr %q: %w", ErrInvalidConfig, addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: addr %q: scheme must be http or https", ErrInvalidConfig, addr)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%w: addr %q: want scheme://host:port only", ErrInvalidConfig, addr)
	}
	if allowRemote || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRemoteAddr, addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAddrs splits a comma-separated address list, trimming blanks and
// trailing slashes and dropping empty items.
func ParseAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimRight(strings.TrimSpace(a), "/")
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// KeyPath returns the path of key i relative to the mount's data/ prefix:
// the run reads and writes <addr>/v1/<Mount>/data/<KeyPath(i)>.
func (c *Config) KeyPath(i int) string {
	return fmt.Sprintf("%s/key-%07d", c.KeyPrefix, i)
}
