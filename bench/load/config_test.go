package load_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

func validConfig() load.Config {
	c := load.DefaultConfig()
	c.Token = "tok-SECRET-123"
	return c
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*load.Config)
		wantErr error
		field   string // substring the message must contain
	}{
		{"defaults with token", func(*load.Config) {}, nil, ""},
		{"localhost", func(c *load.Config) { c.Addrs = []string{"http://localhost:8200"} }, nil, ""},
		{"ipv6 loopback", func(c *load.Config) { c.Addrs = []string{"https://[::1]:8200"} }, nil, ""},
		{"127/8", func(c *load.Config) { c.Addrs = []string{"http://127.0.0.2:8200", "http://127.0.0.1:8210"} }, nil, ""},
		{"requests instead of duration", func(c *load.Config) { c.Duration, c.Requests = 0, 10 }, nil, ""},
		{"remote refused", func(c *load.Config) { c.Addrs = []string{"http://10.1.2.3:8200"} }, load.ErrRemoteAddr, "10.1.2.3"},
		{"remote name refused", func(c *load.Config) { c.Addrs = []string{"http://127.0.0.1:8200", "http://vault.example.com:8200"} }, load.ErrRemoteAddr, "example.com"},
		{"remote allowed", func(c *load.Config) { c.Addrs, c.AllowRemote = []string{"http://10.1.2.3:8200"}, true }, nil, ""},
		{"no addr", func(c *load.Config) { c.Addrs = nil }, load.ErrInvalidConfig, "addr"},
		{"bad scheme", func(c *load.Config) { c.Addrs = []string{"ftp://127.0.0.1"} }, load.ErrInvalidConfig, "scheme"},
		{"no scheme", func(c *load.Config) { c.Addrs = []string{"127.0.0.1:8200"} }, load.ErrInvalidConfig, "addr"},
		{"path in addr", func(c *load.Config) { c.Addrs = []string{"http://127.0.0.1:8200/v1"} }, load.ErrInvalidConfig, "host:port"},
		{"no token", func(c *load.Config) { c.Token = "" }, load.ErrInvalidConfig, "token"},
		{"empty mount", func(c *load.Config) { c.Mount = "" }, load.ErrInvalidConfig, "mount"},
		{"slashed mount", func(c *load.Config) { c.Mount = "/secret/" }, load.ErrInvalidConfig, "mount"},
		{"unknown workload", func(c *load.Config) { c.Workload = "delete" }, load.ErrInvalidConfig, "workload"},
		{"read pct 101", func(c *load.Config) { c.ReadPercent = 101 }, load.ErrInvalidConfig, "read-pct"},
		{"read pct -1", func(c *load.Config) { c.ReadPercent = -1 }, load.ErrInvalidConfig, "read-pct"},
		{"zero clients", func(c *load.Config) { c.Clients = 0 }, load.ErrInvalidConfig, "clients"},
		{"neither bound", func(c *load.Config) { c.Duration = 0 }, load.ErrInvalidConfig, "duration/requests"},
		{"both bounds", func(c *load.Config) { c.Requests = 5 }, load.ErrInvalidConfig, "duration/requests"},
		{"negative duration", func(c *load.Config) { c.Duration, c.Requests = -time.Second, 5 }, load.ErrInvalidConfig, "negative"},
		{"zero keys", func(c *load.Config) { c.Keys = 0 }, load.ErrInvalidConfig, "keys"},
		{"zero value size", func(c *load.Config) { c.ValueSize = 0 }, load.ErrInvalidConfig, "value-size"},
		{"huge value size", func(c *load.Config) { c.ValueSize = load.MaxValueSize + 1 }, load.ErrInvalidConfig, "value-size"},
		{"empty prefix", func(c *load.Config) { c.KeyPrefix = "" }, load.ErrInvalidConfig, "key-prefix"},
		{"zero timeout", func(c *load.Config) { c.Timeout = 0 }, load.ErrInvalidConfig, "timeout"},
		{"zero outage threshold counts every window", func(c *load.Config) { c.OutageThreshold = 0 }, nil, ""},
		{"negative outage threshold", func(c *load.Config) { c.OutageThreshold = -time.Millisecond }, load.ErrInvalidConfig, "outage-threshold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %q, want it to name %q", err, tc.field)
			}
			if strings.Contains(err.Error(), "tok-SECRET") {
				t.Fatalf("error leaks the token: %q", err)
			}
		})
	}
}

func TestParseAddrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"http://127.0.0.1:8200", []string{"http://127.0.0.1:8200"}},
		{" http://127.0.0.1:8200/ , ,http://localhost:8210", []string{"http://127.0.0.1:8200", "http://localhost:8210"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := load.ParseAddrs(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("ParseAddrs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestKeyPath(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.KeyPrefix = "a/b"
	if got := c.KeyPath(42); got != "a/b/key-0000042" {
		t.Fatalf("KeyPath(42) = %q", got)
	}
}
