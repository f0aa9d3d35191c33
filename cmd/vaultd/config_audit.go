package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/server/core"
)

// AuditSettings are the top-level audit keys of the configuration.
type AuditSettings struct {
	// AllowLogRaw permits devices with log_raw=true (nothing HMAC'd).
	AllowLogRaw bool `hcl:"allow_audit_log_raw"`
	// AllowPrefixing permits the prefix option (OpenBao's name).
	AllowPrefixing bool `hcl:"allow_audit_log_prefixing"`
	// DisableAPI refuses sys/audit/:path writes: only audit blocks
	// declare devices.
	DisableAPI bool `hcl:"disable_audit_api"`
	// HealthChecks audits sys/health, sys/seal-status, sys/leader and
	// metrics scrapes too.
	HealthChecks bool `hcl:"audit_health_checks"`
}

// auditKeys are the top-level keys audit settings and blocks use.
var auditKeys = []string{"audit", "allow_audit_log_raw", "allow_audit_log_prefixing", "disable_audit_api", "audit_health_checks"}

// auditBlock is the body of an `audit "TYPE" "PATH" { ... }` block.
type auditBlock struct {
	Description string         `hcl:"description"`
	Local       bool           `hcl:"local"`
	Options     map[string]any `hcl:"options"`
}

// decodeAudit decodes every audit block: `audit "file" "file/" {
// description = "..."; options { file_path = "/var/log/vault_audit.log" } }`
// (OpenBao's form; the path label defaults to the type). Option values
// may be strings, numbers or booleans.
func decodeAudit(list *ast.ObjectList) ([]core.AuditDeclaration, error) {
	var out []core.AuditDeclaration
	seen := map[string]bool{}
	for _, item := range list.Filter("audit").Items {
		if len(item.Keys) < 1 || len(item.Keys) > 2 {
			return nil, fmt.Errorf("config: audit block needs a type and a path: audit \"file\" \"file/\" { }")
		}
		d := core.AuditDeclaration{Type: item.Keys[0].Token.Value().(string)}
		d.Path = d.Type
		if len(item.Keys) == 2 {
			d.Path = item.Keys[1].Token.Value().(string)
		}
		var b auditBlock
		if err := hcl.DecodeObject(&b, item.Val); err != nil {
			return nil, fmt.Errorf("config: audit %q: %w", d.Path, err)
		}
		d.Description, d.Local = b.Description, b.Local
		d.Options = map[string]string{}
		for k, v := range b.Options {
			d.Options[k] = fmt.Sprint(v)
		}
		key := strings.Trim(d.Path, "/")
		if key == "" || seen[key] {
			return nil, fmt.Errorf("config: audit %q: empty or duplicate path", d.Path)
		}
		seen[key] = true
		out = append(out, d)
	}
	return out, nil
}

// auditConfig is the core's audit configuration.
func (c *Config) auditConfig() core.AuditConfig {
	return core.AuditConfig{
		Devices:           c.AuditDevices,
		Policy:            audit.Policy{AllowLogRaw: c.AuditSettings.AllowLogRaw, AllowPrefix: c.AuditSettings.AllowPrefixing},
		DisableAPIChanges: c.AuditSettings.DisableAPI,
		AuditHealth:       c.AuditSettings.HealthChecks,
	}
}

// validateAudit checks each declared device's options against the
// policy, so a bad block fails at start-up rather than on activation.
func (c *Config) validateAudit() error {
	p := c.auditConfig().Policy
	for _, d := range c.AuditDevices {
		if err := audit.ValidateConfig(audit.DeviceConfig{Type: d.Type, Options: d.Options}, p); err != nil {
			return fmt.Errorf("config: audit %q: %w", d.Path, err)
		}
	}
	return nil
}
