package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// certLife is the lifetime of the test cluster's listener certificate:
// under the 14 days of SecretumVaultCertificateExpiresSoon, over the 2
// days of SecretumVaultCertificateExpiresVerySoon.
const certLife = 10 * 24 * time.Hour

// TestPrometheusScrapesCluster runs Debian's Prometheus and blackbox
// exporter with the shipped deploy/prometheus files against a real 3-node
// vaultd cluster (TLS listeners, retry_join, unauthenticated metrics):
// every node is scraped (up == 1) and serves the request histogram, every
// shipped rule loads and evaluates, every dashboard query evaluates, the
// certificate-expiry alert fires for the 10-day certificate, and sealing
// the active node fires SecretumVaultSealed for that node while another
// node takes over (no SecretumVaultNoLeader).
func TestPrometheusScrapesCluster(t *testing.T) {
	promBin, bbBin := tool(t, "prometheus"), tool(t, "prometheus-blackbox-exporter")
	ca := newTestCA(t, t.TempDir(), certLife)
	c := startCluster(t, 3, ca)
	c.initUnseal()
	for i := range c.Nodes { // traffic on every node: some 200s, some 403s
		if _, err := c.client(i, c.init.RootToken).Sys().ListMounts(); err != nil {
			t.Fatalf("list mounts on node%d: %v", i, err)
		}
		if _, err := c.client(i, "not-a-token").Sys().ListMounts(); err == nil {
			t.Fatalf("node%d listed mounts for a bad token", i)
		}
	}
	bbAddr, promAddr := freePort(t), freePort(t)
	dir := prometheusDir(t, ca, c, bbAddr)
	startDaemon(t, bbBin, "http://"+bbAddr+"/metrics",
		"--config.file="+filepath.Join(dir, "blackbox.yml"), "--web.listen-address="+bbAddr)
	startDaemon(t, promBin, "http://"+promAddr+"/-/ready",
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	p := &promAPI{base: "http://" + promAddr, hc: &http.Client{Timeout: 10 * time.Second}}
	instances := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		instances[i] = n.APIAddr
	}

	eventually(t, "up == 1 for every node in both jobs", time.Minute, func() error {
		for _, job := range []string{"secretumvault", "secretumvault-health"} {
			if err := wantInstances(p, fmt.Sprintf(`up{job=%q} == 1`, job), instances); err != nil {
				return fmt.Errorf("job %s: %w", job, err)
			}
		}
		return nil
	})
	eventually(t, "secretum_vault_request_duration_seconds on every node", 30*time.Second, func() error {
		return wantInstances(p, `count by (instance) (secretum_vault_request_duration_seconds_count{job="secretumvault"})`, instances)
	})
	eventually(t, "one active node and two standbys in sys/health", 30*time.Second, func() error {
		got, err := p.query(`probe_http_status_code{job="secretumvault-health"}`)
		if err != nil {
			return err
		}
		var codes []int
		for _, s := range got {
			codes = append(codes, int(s.float()))
		}
		slices.Sort(codes)
		if !slices.Equal(codes, []int{200, 429, 429}) {
			return fmt.Errorf("status codes %v", codes)
		}
		return nil
	})
	checkRulesLoaded(t, p)
	checkDashboardQueries(t, p)
	eventually(t, "SecretumVaultCertificateExpiresSoon firing on every node", 30*time.Second, func() error {
		return wantAlert(p, "SecretumVaultCertificateExpiresSoon", "firing", instances)
	})
	assertNoAlert(t, p, "SecretumVaultCertificateExpiresVerySoon", "SecretumVaultSealed", "SecretumVaultNoLeader", "SecretumVaultNodeDown")

	active := c.activeNode(30 * time.Second)
	if err := c.client(active, c.init.RootToken).Sys().Seal(); err != nil {
		t.Fatalf("seal node%d: %v", active, err)
	}
	if code := c.health(active); code != http.StatusServiceUnavailable {
		t.Fatalf("sealed node%d: sys/health %d, want 503", active, code)
	}
	start := time.Now()
	eventually(t, "SecretumVaultSealed firing for the sealed node", 2*time.Minute, func() error {
		return wantAlert(p, "SecretumVaultSealed", "firing", []string{c.Nodes[active].APIAddr})
	})
	t.Logf("SecretumVaultSealed fired %v after sealing node%d", time.Since(start).Round(time.Second), active)
	if next := c.activeNode(30 * time.Second); next == active {
		t.Fatalf("the sealed node%d is still active", active)
	}
	assertNoAlert(t, p, "SecretumVaultNoLeader", "SecretumVaultNodeDown")
}

// prometheusDir copies deploy/prometheus into a temp dir and points it at
// the test: the target list names the cluster's nodes, the CA files are
// the test CA, the blackbox exporter is at bbAddr, and scrapes and rule
// evaluations run every second. Everything else is the shipped files.
func prometheusDir(t testing.TB, ca *testCA, c *testCluster, bbAddr string) string {
	t.Helper()
	dir := t.TempDir()
	src := deployDir(t, "prometheus")
	for _, f := range []string{"rules/secretumvault.rules.yml"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	var cfg map[string]any
	readYAML(t, filepath.Join(src, "prometheus.yml"), &cfg)
	global := cfg["global"].(map[string]any)
	global["scrape_interval"], global["evaluation_interval"], global["scrape_timeout"] = "1s", "1s", "1s"
	for _, j := range cfg["scrape_configs"].([]any) {
		job := j.(map[string]any)
		if tc, ok := job["tls_config"].(map[string]any); ok {
			tc["ca_file"] = ca.CAFile
		}
		for _, r := range asSlice(job["relabel_configs"]) {
			rc := r.(map[string]any)
			if rc["target_label"] == "__address__" && rc["replacement"] == "127.0.0.1:9115" {
				rc["replacement"] = bbAddr
			}
		}
	}
	writeYAML(t, filepath.Join(dir, "prometheus.yml"), cfg)
	var bb map[string]any
	readYAML(t, filepath.Join(src, "blackbox.yml"), &bb)
	mod := bb["modules"].(map[string]any)["secretumvault_health"].(map[string]any)
	mod["http"].(map[string]any)["tls_config"].(map[string]any)["ca_file"] = ca.CAFile
	writeYAML(t, filepath.Join(dir, "blackbox.yml"), bb)
	var targets []string
	for _, n := range c.Nodes {
		targets = append(targets, n.APIAddr)
	}
	writeYAML(t, filepath.Join(dir, "targets", "secretumvault.yml"),
		[]any{map[string]any{"targets": targets, "labels": map[string]string{"cluster": "deploy-test"}}})
	return dir
}

// checkRulesLoaded asserts that Prometheus loaded every group and rule of
// the shipped rules file and evaluated each without error.
func checkRulesLoaded(t *testing.T, p *promAPI) {
	t.Helper()
	var shipped struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Record string `yaml:"record"`
				Alert  string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, deployDir(t, "prometheus", "rules", "secretumvault.rules.yml"), &shipped)
	eventually(t, "every shipped rule loaded and evaluated", 30*time.Second, func() error {
		groups, err := p.rules()
		if err != nil {
			return err
		}
		loaded := map[string]string{}
		for _, g := range groups {
			for _, r := range g.Rules {
				loaded[g.Name+"/"+r.Name] = r.Health + " " + r.LastError
			}
		}
		for _, g := range shipped.Groups {
			for _, r := range g.Rules {
				key := g.Name + "/" + r.Record + r.Alert
				if h, ok := loaded[key]; !ok {
					return fmt.Errorf("rule %s not loaded", key)
				} else if strings.TrimSpace(h) != "ok" {
					return fmt.Errorf("rule %s: health %q", key, h)
				}
			}
		}
		return nil
	})
}

// dashboardVar matches Grafana's variables in the dashboard's queries.
var dashboardVar = regexp.MustCompile(`\$(__rate_interval|__interval|__range|cluster)`)

// checkDashboardQueries evaluates every query of the Grafana dashboard
// (variables substituted) and asserts that the request and node-state
// panels show data.
func checkDashboardQueries(t *testing.T, p *promAPI) {
	t.Helper()
	raw, err := os.ReadFile(deployDir(t, "grafana", "secretumvault.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	vars := map[string]string{"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$cluster": ".*"}
	mustHaveData := map[string]bool{"Requests by status": true, "Request latency percentiles": true, "Node state (sys/health)": true}
	for _, panel := range dash.Panels {
		for _, target := range panel.Targets {
			expr := dashboardVar.ReplaceAllStringFunc(target.Expr, func(v string) string { return vars[v] })
			eventually(t, "dashboard panel "+panel.Title, 30*time.Second, func() error {
				got, err := p.query(expr)
				if err != nil {
					return err
				}
				if mustHaveData[panel.Title] && len(got) == 0 {
					return fmt.Errorf("%s: no data", expr)
				}
				return nil
			})
		}
	}
}

// wantInstances checks that expr returns one series per instance.
func wantInstances(p *promAPI, expr string, instances []string) error {
	got, err := p.query(expr)
	if err != nil {
		return err
	}
	var have []string
	for _, s := range got {
		have = append(have, s.Metric["instance"])
	}
	slices.Sort(have)
	want := slices.Sorted(slices.Values(instances))
	if !slices.Equal(have, want) {
		return fmt.Errorf("%s: instances %v, want %v", expr, have, want)
	}
	return nil
}

// wantAlert checks that alert name is in state for exactly instances.
func wantAlert(p *promAPI, name, state string, instances []string) error {
	alerts, err := p.alerts()
	if err != nil {
		return err
	}
	var have []string
	for _, a := range alerts {
		if a.Labels["alertname"] == name && a.State == state {
			have = append(have, a.Labels["instance"])
		}
	}
	slices.Sort(have)
	if want := slices.Sorted(slices.Values(instances)); !slices.Equal(have, want) {
		return fmt.Errorf("%s %s for %v, want %v (alerts: %v)", name, state, have, want, alerts)
	}
	return nil
}

// assertNoAlert fails if any of names is firing.
func assertNoAlert(t *testing.T, p *promAPI, names ...string) {
	t.Helper()
	alerts, err := p.alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		// Pending is not an alert yet: the takeover after a seal may
		// leave no active node for a probe or two, which the rule's
		// `for:` exists to ride out.
		if slices.Contains(names, a.Labels["alertname"]) && a.State == "firing" {
			t.Errorf("unexpected alert %s (%s) for %s", a.Labels["alertname"], a.State, a.Labels["instance"])
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func readYAML(t testing.TB, path string, out any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeYAML(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
