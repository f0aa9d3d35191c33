package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	good := `
storage "raft" {
  path    = "/var/lib/vaultd"
  node_id = "node1"
  retry_join {
    leader_api_addr = "http://127.0.0.1:8210"
  }
  retry_join {
    leader_api_addr = "https://127.0.0.1:8220"
    leader_ca_cert  = "PEM"
  }
}
listener "tcp" {
  address         = "127.0.0.1:8200"
  cluster_address = "127.0.0.1:8201"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:8200"
cluster_addr  = "https://127.0.0.1:8201"
disable_mlock = true
log_level     = "debug"
log_format    = "json"
telemetry { foo = 1 }
`
	cfg, warnings, err := ParseConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Type != "raft" || cfg.Storage.Path != "/var/lib/vaultd" || cfg.Storage.NodeID != "node1" {
		t.Errorf("storage = %+v", cfg.Storage)
	}
	if len(cfg.Storage.RetryJoin) != 2 || cfg.Storage.RetryJoin[1].LeaderAPIAddr != "https://127.0.0.1:8220" || cfg.Storage.RetryJoin[1].LeaderCACert != "PEM" {
		t.Errorf("retry_join = %+v", cfg.Storage.RetryJoin)
	}
	if cfg.Listener.Address != "127.0.0.1:8200" || !cfg.Listener.TLSDisable || cfg.clusterListenAddr() != "127.0.0.1:8201" {
		t.Errorf("listener = %+v", cfg.Listener)
	}
	if cfg.APIAddr != "http://127.0.0.1:8200" || !cfg.DisableMlock || cfg.LogFormat != "json" {
		t.Errorf("top level = %+v", cfg)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "telemetry") {
		t.Errorf("warnings = %q", warnings)
	}

	bad := []struct {
		name, text, want string
	}{
		{"syntax", `storage "raft" {`, "parse config"},
		{"no storage", `listener "tcp" { address = "x:1" tls_disable = true }`, "storage block is required"},
		{"wrong storage", `storage "consul" { path = "x" }` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }`, `storage "consul"`},
		{"no path", `storage "raft" { node_id = "a" }` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }`, "storage.path"},
		{"no tls files", `storage "raft" { path = "p" }` + "\n" + `listener "tcp" { address = "x:1" }`, "tls_cert_file"},
		{"bad level", `storage "raft" { path = "p" }` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }` + "\nlog_level = \"loud\"", "log_level"},
		{"empty retry_join", `storage "raft" {
  path = "p"
  retry_join { }
}` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }`, "retry_join.leader_api_addr"},
		{"two listeners", `storage "raft" { path = "p" }` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }` + "\n" + `listener "tcp" { address = "x:2" tls_disable = true }`, "only one listener"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseConfig(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestClusterListenAddrDefaults(t *testing.T) {
	c := &Config{Listener: ListenerConfig{Address: "127.0.0.1:8200"}}
	if got := c.clusterListenAddr(); got != "127.0.0.1:8201" {
		t.Fatalf("default cluster address = %q", got)
	}
	if got := c.clusterAdvertiseAddr(); got != "127.0.0.1:8201" {
		t.Fatalf("default advertised cluster address = %q", got)
	}
	c.ClusterAddr = "https://127.0.0.1:9999"
	if got := c.clusterAdvertiseAddr(); got != "127.0.0.1:9999" {
		t.Fatalf("cluster_addr advertised = %q", got)
	}
}

func TestParseStaticSeal(t *testing.T) {
	dir := t.TempDir()
	keyFile := dir + "/k"
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := `storage "raft" { path = "p" }` + "\n" + `listener "tcp" { address = "x:1" tls_disable = true }` + "\n"
	cfg, _, err := ParseConfig(base + `seal "static" { key_file = "` + keyFile + `" }`)
	if err != nil || cfg.Seal == nil || cfg.Seal.Type != "static" {
		t.Fatalf("seal = %+v, %v", cfg, err)
	}
	key, err := cfg.Seal.staticSealKey()
	if err != nil || len(key) != 32 || key[0] != 0xab {
		t.Fatalf("key = %x, %v", key, err)
	}
	if _, _, err := ParseConfig(base + `seal "awskms" { key_id = "x" }`); err == nil {
		t.Fatal("unsupported seal accepted")
	}
	if err := os.WriteFile(keyFile, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Seal.staticSealKey(); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestSnapshotInterval(t *testing.T) {
	const rest = `
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}`
	tests := []struct {
		name    string
		setting string // the snapshot_interval line, "" for none
		want    time.Duration
		wantErr string
	}{
		{name: "unset", want: 0},
		{name: "Go duration", setting: `snapshot_interval = "2m"`, want: 2 * time.Minute},
		{name: "seconds as a string", setting: `snapshot_interval = "120"`, want: 120 * time.Second},
		{name: "seconds as a number", setting: `snapshot_interval = 90`, want: 90 * time.Second},
		{name: "days", setting: `snapshot_interval = "1d"`, want: 24 * time.Hour},
		{name: "garbage", setting: `snapshot_interval = "soon"`, wantErr: `storage.snapshot_interval: invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{name: "negative", setting: `snapshot_interval = "-5s"`, wantErr: "storage.snapshot_interval: must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := ParseConfig("storage \"raft\" {\n  path = \"p\"\n  " + tc.setting + "\n}\n" + rest)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := cfg.Storage.snapshotInterval(); err != nil || got != tc.want {
				t.Fatalf("snapshotInterval() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestClusterCertTTL(t *testing.T) {
	const base = "storage \"raft\" {\n  path = \"p\"\n}\nlistener \"tcp\" {\n  address     = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n"
	tests := []struct {
		name, setting string
		want          time.Duration
		wantErr       string
	}{
		{name: "unset (membership's default)", want: 0},
		{name: "hours", setting: `cluster_cert_ttl = "24h"`, want: 24 * time.Hour},
		{name: "short, for tests", setting: `cluster_cert_ttl = "30s"`, want: 30 * time.Second},
		{name: "too short", setting: `cluster_cert_ttl = "5s"`, wantErr: "cluster_cert_ttl 5s is shorter than 10s"},
		{name: "garbage", setting: `cluster_cert_ttl = "soon"`, wantErr: "cluster_cert_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, warnings, err := ParseConfig(base + tc.setting + "\n")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(warnings) != 0 {
				t.Fatalf("%v, warnings %q", err, warnings)
			}
			if got, err := cfg.clusterCertTTL(); err != nil || got != tc.want {
				t.Fatalf("clusterCertTTL() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseRotationPolicies(t *testing.T) {
	cfg, _, err := ParseConfig(`
storage "raft" { path = "/tmp/x"  node_id = "n1" }
listener "tcp" { address = "127.0.0.1:8200"  tls_disable = true }
rotation_check_interval = "2s"
rotation_policy "prod-db" {
  match    = "database/static-roles/*"
  schedule = "CRON_TZ=UTC 0 0 * * 0"
  max_age  = "30d"
  warn_at  = "25d"
  tags     = { env = "prod" }
  notify { url = "https://hooks.example.com/r"  secret = "k" }
}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RotationPolicies) != 1 || cfg.RotationCheckInterval != "2s" {
		t.Fatalf("policies %+v, interval %q", cfg.RotationPolicies, cfg.RotationCheckInterval)
	}
	p := cfg.RotationPolicies[0]
	if p.Name != "prod-db" || p.MaxAge != 30*24*time.Hour || p.WarnAt != 25*24*time.Hour || p.Enforce != "rotate" ||
		p.Tags["env"] != "prod" || len(p.Notify) != 1 || p.Notify[0].Secret != "k" || p.Source != "config" {
		t.Fatalf("policy = %+v", p)
	}
	for _, bad := range []struct{ body, want string }{
		{`rotation_policy "x" { match = "a/*"  schedule = "every day" }`, "schedule"},
		{`rotation_policy "x" { match = "a/*"  max_age = "1d"  warn_at = "2d" }`, "warn_at"},
		{`rotation_policy "x" { match = "a/*"  max_age = "soon" }`, "max_age"},
		{`rotation_policy "x" { match = "a/*"  max_age = "1h" }
rotation_policy "x" { match = "b/*"  max_age = "1h" }`, "twice"},
	} {
		_, _, err := ParseConfig(`storage "raft" { path = "/tmp/x"  node_id = "n1" }
listener "tcp" { address = "127.0.0.1:8200"  tls_disable = true }
` + bad.body)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want one naming %s", bad.body, err, bad.want)
		}
	}
}
