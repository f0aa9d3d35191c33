package deploy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestShippedConfigsBoot starts the real vaultd with each shipped node
// configuration — systemd's vaultd.hcl, compose's vaultd-1..3.hcl, the
// Kubernetes ConfigMap and the Helm chart's rendered ConfigMap — after
// moving its files into a temp dir and its addresses onto free loopback
// ports (the join targets onto a port where nothing listens): vaultd
// parses it, validates its audit and seal blocks, warns of no unknown key
// and serves its API over the configured TLS.
func TestShippedConfigsBoot(t *testing.T) {
	bin := vaultdBinary(t)
	cases := []bootCase{
		{"systemd", readFileT(deployDir(t, "systemd", "vaultd.hcl")), map[string]string{
			"/var/lib/vaultd": "data", "/etc/vaultd/ca.pem": "ca", "/etc/vaultd/tls.crt": "cert",
			"/run/credentials/vaultd.service/tls.key": "key", "/run/credentials/vaultd.service/static-seal.key": "seal",
			"/var/log/vaultd/audit.log": "audit",
		}, map[string]string{
			"0.0.0.0:8200": "api", "0.0.0.0:8201": "cluster", "vaultd-1.example.internal:8200": "api",
			"vaultd-1.example.internal:8201": "cluster", "vaultd-2.example.internal:8200": "dead", "vaultd-3.example.internal:8200": "dead",
		}},
		composeCase(1), composeCase(2), composeCase(3),
		{"kubernetes", kubeConfigMapHCL("vaultd-0"), kubeFiles("ca.crt"), podAddrs("vaultd", "vaultd-internal")},
		{"helm, static seal", helmConfigHCL("sv-secretumvault-0", "staticSeal.secretName=seal"), kubeFiles("ca.crt"),
			podAddrs("sv-secretumvault", "sv-secretumvault-internal")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t, t.TempDir(), certLife)
			dir := t.TempDir()
			api, cluster, dead := freePort(t), freePort(t), freePort(t)
			ports := map[string]string{"api": api, "cluster": cluster, "dead": dead}
			var pairs []string
			for from, to := range tc.files {
				pairs = append(pairs, from, bootFile(t, dir, ca, to))
			}
			for from, to := range tc.addrs {
				pairs = append(pairs, from, ports[to])
			}
			hcl := longestFirst(pairs).Replace(tc.hcl(t))
			if left := systemPath.FindAllString(hcl, -1); len(left) > 0 {
				t.Fatalf("paths or hosts left to rewrite: %v\n%s", left, hcl)
			}
			log := bootNode(t, bin, dir, hcl, ca, api)
			if strings.Contains(log, "unknown configuration key") {
				t.Errorf("vaultd warned of unknown keys:\n%s", log)
			}
			if strings.Contains(log, `"leader":"https://`+api+`"`) {
				t.Errorf("the node tried to join itself (a self-listing retry_join holds its API):\n%s", log)
			}
		})
	}
}

// bootCase is a shipped config and how to move it into a test.
type bootCase struct {
	name string
	hcl  func(t *testing.T) string
	// files maps the config's paths to test files (see bootFile).
	files map[string]string
	// addrs maps host:port strings to "api", "cluster" or "dead".
	addrs map[string]string
}

// composeCase is deploy/compose's config of vaultd-i.
func composeCase(i int) bootCase {
	name := fmt.Sprintf("vaultd-%d", i)
	addrs := map[string]string{"0.0.0.0:8200": "api", "0.0.0.0:8201": "cluster", name + ":8200": "api", name + ":8201": "cluster"}
	if i != 1 {
		addrs["vaultd-1:8200"] = "dead"
	}
	return bootCase{"compose " + name, readFileT(filepath.Join(repoRoot, "deploy", "compose", "config", name+".hcl")), map[string]string{
		"/vault/data": "data", "/vault/tls/ca.pem": "ca", "/vault/tls/vaultd.crt": "cert", "/vault/tls/vaultd.key": "key",
		"/vault/audit/audit.log": "audit",
	}, addrs}
}

// systemPath matches what a rewritten config must no longer name.
var systemPath = regexp.MustCompile(`"/(var|etc|run|vault)/[^"]*"|0\.0\.0\.0|[a-z0-9-]+\.(example\.internal|[a-z-]+-internal)|__POD_NAME__|vaultd-[0-9]:`)

// bootFile makes the test file a config path stands for.
func bootFile(t *testing.T, dir string, ca *testCA, kind string) string {
	t.Helper()
	switch kind {
	case "ca":
		return ca.CAFile
	case "cert":
		return ca.CertFile
	case "key":
		return ca.KeyFile
	case "data":
		return filepath.Join(dir, "data")
	case "audit":
		return filepath.Join(dir, "audit.log")
	case "seal":
		p := filepath.Join(dir, "static-seal.key")
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatalf("unknown boot file %q", kind)
	return ""
}

// bootNode starts vaultd with hcl and waits for its API on api (TLS with
// the test CA); it returns the node's log after stopping it.
func bootNode(t *testing.T, bin, dir, hcl string, ca *testCA, api string) string {
	t.Helper()
	cfg := filepath.Join(dir, "vaultd.hcl")
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &vaultNode{ID: "boot", APIAddr: api, exited: make(chan struct{})}
	n.cmd = exec.Command(bin, "-config", cfg)
	n.cmd.Dir = dir
	w := &syncWriter{w: &n.log}
	n.cmd.Stdout, n.cmd.Stderr = w, w
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	c := &testCluster{t: t, ca: ca, Nodes: []*vaultNode{n}}
	err := c.waitAPI(n, 30*time.Second)
	c.stop()
	if err != nil {
		t.Fatalf("%v; config:\n%s\nlog:\n%s", err, hcl, n.log.String())
	}
	return n.log.String()
}

// longestFirst is a Replacer trying longer "from" strings first.
func longestFirst(pairs []string) *strings.Replacer {
	type pair struct{ from, to string }
	var ps []pair
	for i := 0; i+1 < len(pairs); i += 2 {
		ps = append(ps, pair{pairs[i], pairs[i+1]})
	}
	for i := range ps { // insertion sort by length, longest first
		for j := i; j > 0 && len(ps[j].from) > len(ps[j-1].from); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.from, p.to)
	}
	return strings.NewReplacer(out...)
}

// kubeFiles are the pod paths of the Kubernetes configs; caName is the CA
// file's name in the TLS Secret.
func kubeFiles(caName string) map[string]string {
	return map[string]string{
		"/vault/data": "data", "/vault/tls/" + caName: "ca", "/vault/tls/tls.crt": "cert", "/vault/tls/tls.key": "key",
		"/vault/audit/audit.log": "audit", "/vault/seal/static-seal.key": "seal",
	}
}

// podAddrs maps pod 0's addresses to the node's ports and the other pods'
// to the dead port.
func podAddrs(name, internal string) map[string]string {
	m := map[string]string{"0.0.0.0:8200": "api", "0.0.0.0:8201": "cluster"}
	for i := range 3 {
		host := fmt.Sprintf("%s-%d.%s", name, i, internal)
		m[host+":8200"], m[host+":8201"] = "dead", "dead"
		if i == 0 {
			m[host+":8200"], m[host+":8201"] = "api", "cluster"
		}
	}
	return m
}

// readFileT returns a function reading path.
func readFileT(path string) func(t *testing.T) string {
	return func(t *testing.T) string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
}

// kubeConfigMapHCL returns the vaultd.hcl that deploy/kubernetes's
// render-config init container makes for pod from the ConfigMap.
func kubeConfigMapHCL(pod string) func(t *testing.T) string {
	return func(t *testing.T) string {
		files, err := filepath.Glob(filepath.Join(deployDir(t, "kubernetes"), "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return renderPodConfig(t, decodeDocs(t, readAll(t, files...)), "vaultd", pod)
	}
}

// helmConfigHCL renders the chart with sets and returns the vaultd.hcl its
// render-config init container makes for pod.
func helmConfigHCL(pod string, sets ...string) func(t *testing.T) string {
	return func(t *testing.T) string {
		args := []string{"template", "sv", deployDir(t, "helm", "secretumvault")}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		out, err := runEnv("", helmEnv(t), tool(t, "helm"), args...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, out)
		}
		return renderPodConfig(t, decodeDocs(t, []byte(out)), "sv-secretumvault", pod)
	}
}

// renderPodConfig runs the StatefulSet's render-config script with
// /bin/sh, as the init container does (POD_NAME set, the ConfigMap's
// vaultd.hcl as the template; only the two file paths point into a temp
// dir), and returns the config it wrote.
func renderPodConfig(t *testing.T, docs []doc, name, pod string) string {
	t.Helper()
	sts := findDoc(t, docs, "StatefulSet", name)
	inits := sts.list("spec", "template", "spec", "initContainers")
	if len(inits) != 1 {
		t.Fatalf("%d init containers, want render-config", len(inits))
	}
	init := doc(inits[0].(map[string]any))
	cmd, args := init.list("command"), init.list("args")
	if len(cmd) != 2 || cmd[0] != "/bin/sh" || cmd[1] != "-ec" || len(args) != 1 {
		t.Fatalf("render-config runs %v %v, want /bin/sh -ec SCRIPT", cmd, args)
	}
	dir := t.TempDir()
	tmpl, out := filepath.Join(dir, "template.hcl"), filepath.Join(dir, "vaultd.hcl")
	hcl := findDoc(t, docs, "ConfigMap", name+"-config").str("data", "vaultd.hcl")
	if err := os.WriteFile(tmpl, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.NewReplacer("/etc/vaultd-template/vaultd.hcl", tmpl, "/etc/vaultd/vaultd.hcl", out).Replace(args[0].(string))
	if o, err := runEnv(dir, []string{"POD_NAME=" + pod}, "/bin/sh", "-ec", script); err != nil {
		t.Fatalf("render-config: %v\n%s", err, o)
	}
	rendered, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`leader_api_addr = "https?://` + regexp.QuoteMeta(pod) + `\.`).Match(rendered) {
		t.Fatalf("render-config kept %s's own retry_join line:\n%s", pod, rendered)
	}
	return string(rendered)
}
