package deploy

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPromtoolCheckRules: the shipped rules parse, their expressions and
// templates are valid (promtool check rules).
func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "promtool")
	out := run(t, "", promtool, "check", "rules", deployDir(t, "prometheus", "rules", "secretumvault.rules.yml"))
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules:\n%s", out)
	}
}

// TestPromtoolRuleUnitTests runs the alert rules' unit tests
// (deploy/prometheus/rules/secretumvault.rules.test.yml): each alert fires
// on the series it is about, with the labels and annotations operators
// see, after its for: duration and not before.
func TestPromtoolRuleUnitTests(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := deployDir(t, "prometheus", "rules")
	out := run(t, dir, promtool, "test", "rules", "secretumvault.rules.test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// TestPromtoolCheckConfig checks the shipped prometheus.yml as shipped
// (syntax: its CA file lives on the Prometheus host), then in full, with
// its files present, as the live test runs it; and the blackbox
// exporter's module file with the exporter's own --config.check.
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	shipped := deployDir(t, "prometheus", "prometheus.yml")
	if out := run(t, "", promtool, "check", "config", "--syntax-only", shipped); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check config --syntax-only:\n%s", out)
	}
	ca := newTestCA(t, t.TempDir(), certLife)
	c := &testCluster{ca: ca, Nodes: []*vaultNode{{APIAddr: "127.0.0.1:8200"}, {APIAddr: "127.0.0.1:8210"}, {APIAddr: "127.0.0.1:8220"}}}
	dir := prometheusDir(t, ca, c, "127.0.0.1:9115")
	if out := run(t, "", promtool, "check", "config", filepath.Join(dir, "prometheus.yml")); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check config:\n%s", out)
	}
	bb := tool(t, "prometheus-blackbox-exporter")
	run(t, "", bb, "--config.check", "--config.file="+filepath.Join(dir, "blackbox.yml"))
}
