package main

import (
	"strings"
	"testing"
)

const auditBase = `
storage "raft" { path = "/var/lib/vaultd" }
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
`

func TestParseAuditBlocks(t *testing.T) {
	cfg, warnings, err := ParseConfig(auditBase + `
allow_audit_log_raw = true
disable_audit_api   = true
audit_health_checks = true
audit "file" "ops" {
  description = "to disk"
  options {
    file_path = "/var/log/vaultd/audit.log"
    mode      = "0640"
    log_raw   = true
  }
}
audit "socket" {
  options {
    address = "127.0.0.1:9090"
  }
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings = %q", warnings)
	}
	ac := cfg.auditConfig()
	if !ac.Policy.AllowLogRaw || ac.Policy.AllowPrefix || !ac.DisableAPIChanges || !ac.AuditHealth {
		t.Fatalf("audit settings = %+v", ac)
	}
	if len(ac.Devices) != 2 {
		t.Fatalf("devices = %+v", ac.Devices)
	}
	f, s := ac.Devices[0], ac.Devices[1]
	if f.Type != "file" || f.Path != "ops" || f.Description != "to disk" || f.Options["file_path"] != "/var/log/vaultd/audit.log" || f.Options["log_raw"] != "true" || f.Options["mode"] != "0640" {
		t.Fatalf("file block = %+v", f)
	}
	if s.Type != "socket" || s.Path != "socket" || s.Options["address"] != "127.0.0.1:9090" {
		t.Fatalf("socket block = %+v", s)
	}
}

func TestParseAuditBlocksRefusesBadDevices(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"log_raw not allowed", `audit "file" "a" { options { file_path = "/x" log_raw = true } }`, "log_raw"},
		{"prefix not allowed", `audit "file" "a" { options { file_path = "/x" prefix = "#!/bin/sh" } }`, "prefix"},
		{"unknown type", `audit "kafka" "a" { options { x = "y" } }`, "unknown audit device type"},
		{"duplicate path", `audit "file" "a" { options { file_path = "/x" } }` + "\n" + `audit "file" "a/" { options { file_path = "/y" } }`, "duplicate"},
		{"missing file_path", `audit "file" "a" { }`, "file_path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseConfig(auditBase + tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
