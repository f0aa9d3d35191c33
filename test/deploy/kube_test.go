package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// helmEnv keeps helm's cache, config and data out of $HOME.
func helmEnv(t testing.TB) []string {
	dir := t.TempDir()
	return []string{"HELM_CACHE_HOME=" + filepath.Join(dir, "cache"), "HELM_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"HELM_DATA_HOME=" + filepath.Join(dir, "data")}
}

// kubeconform validates files against the generated schemas, strictly
// (unknown fields and duplicate keys are errors, a kind without schema is
// an error), and returns its output and error.
func kubeconform(t testing.TB, files ...string) (string, error) {
	t.Helper()
	bin := tool(t, "kubeconform")
	args := append([]string{"-strict", "-summary", "-verbose",
		"-schema-location", filepath.Join(kubeSchemas(t), "{{ .ResourceKind }}{{ .KindSuffix }}.json")}, files...)
	return runErr("", bin, args...)
}

// TestKubernetesManifestsValidate validates deploy/kubernetes with
// kubeconform against the Kubernetes API schemas.
func TestKubernetesManifestsValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir(t, "kubernetes"), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	out, err := kubeconform(t, files...)
	if err != nil {
		t.Fatalf("kubeconform: %v\n%s", err, out)
	}
	docs := decodeDocs(t, readAll(t, files...))
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[d.str("kind")]++
	}
	for kind, n := range map[string]int{"StatefulSet": 1, "Service": 2, "PodDisruptionBudget": 1, "ConfigMap": 1, "ServiceAccount": 1} {
		if kinds[kind] != n {
			t.Errorf("%d %s, want %d (kinds %v)", kinds[kind], kind, n, kinds)
		}
	}
	checkManifests(t, docs, manifestWant{name: "vaultd", replicas: 3, tls: true, audit: true})
	t.Logf("kubeconform: %s", lastLines(out, 1))
}

// TestKubeconformRejectsUnknownField shows the validation is real: a
// misspelt StatefulSet field and a wrong type are errors.
func TestKubeconformRejectsUnknownField(t *testing.T) {
	raw, err := os.ReadFile(deployDir(t, "kubernetes", "statefulset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"unknown field": {"  replicas: 3\n", "  replica: 3\n"},
		"wrong type":    {"  replicas: 3\n", "  replicas: three\n"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "statefulset.yaml")
			if !bytes.Contains(raw, []byte(edit[0])) {
				t.Fatalf("statefulset.yaml has no %q", edit[0])
			}
			if err := os.WriteFile(bad, bytes.Replace(raw, []byte(edit[0]), []byte(edit[1]), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := kubeconform(t, bad); err == nil {
				t.Fatalf("kubeconform accepted a StatefulSet with %s:\n%s", name, out)
			}
		})
	}
}

// chartCases are value sets the chart must lint, render and validate
// with, and what their manifests must show.
var chartCases = []struct {
	name string
	set  []string
	want manifestWant
}{
	{"defaults", nil, manifestWant{name: "sv-secretumvault", replicas: 3, tls: true, audit: true}},
	{"five replicas, storage class, static seal", []string{"replicas=5", "storage.storageClass=fast-ssd",
		"audit.storageClass=standard", "staticSeal.secretName=sv-seal"},
		manifestWant{name: "sv-secretumvault", replicas: 5, tls: true, audit: true, storageClass: "fast-ssd", staticSeal: true}},
	{"no TLS, no audit", []string{"tls.enabled=false", "audit.enabled=false"},
		manifestWant{name: "sv-secretumvault", replicas: 3}},
	{"audit options, audit API disabled", []string{"audit.options.hmac_accessor=false", "audit.disableAPI=true", "audit.path=primary/"},
		manifestWant{name: "sv-secretumvault", replicas: 3, tls: true, audit: true, auditPath: "primary/"}},
}

// TestHelmChart runs helm lint --strict and helm template for each value
// set, validates the rendered manifests with kubeconform and checks what
// the values must change.
func TestHelmChart(t *testing.T) {
	helm := tool(t, "helm")
	chart := deployDir(t, "helm", "secretumvault")
	env := helmEnv(t)
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			var sets []string
			for _, s := range tc.set {
				sets = append(sets, "--set", s)
			}
			if out, err := runEnv("", env, helm, append([]string{"lint", "--strict", chart}, sets...)...); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			rendered, err := runEnv("", env, helm, append([]string{"template", "sv", chart, "--namespace", "vault"}, sets...)...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, rendered)
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, []byte(rendered), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := kubeconform(t, file); err != nil {
				t.Fatalf("kubeconform: %v\n%s", err, out)
			}
			checkManifests(t, decodeDocs(t, []byte(rendered)), tc.want)
		})
	}
}

// TestHelmLintRejectsBadValues: values.schema.json refuses wrong types.
func TestHelmLintRejectsBadValues(t *testing.T) {
	helm := tool(t, "helm")
	chart := deployDir(t, "helm", "secretumvault")
	for _, set := range []string{"replicas=three", "storage.size=lots", "tls.minVersion=ssl3"} {
		if out, err := runEnv("", helmEnv(t), helm, "lint", "--strict", chart, "--set", set); err == nil {
			t.Errorf("helm lint accepted --set %s:\n%s", set, out)
		}
	}
}

// manifestWant is what a rendering must contain.
type manifestWant struct {
	name         string
	replicas     int
	tls, audit   bool
	storageClass string
	auditPath    string
	staticSeal   bool
}

// checkManifests checks the StatefulSet, Services, PDB and vaultd.hcl of
// a rendering against want.
func checkManifests(t *testing.T, docs []doc, want manifestWant) {
	t.Helper()
	sts := findDoc(t, docs, "StatefulSet", want.name)
	if got := sts.int("spec", "replicas"); got != want.replicas {
		t.Errorf("StatefulSet replicas %d, want %d", got, want.replicas)
	}
	internal := want.name + "-internal"
	if got := sts.str("spec", "serviceName"); got != internal {
		t.Errorf("StatefulSet serviceName %q, want %q", got, internal)
	}
	claims := sts.list("spec", "volumeClaimTemplates")
	if want.audit != (len(claims) == 2) {
		t.Errorf("%d volume claim templates with audit=%v", len(claims), want.audit)
	}
	if len(claims) > 0 {
		if got := doc(claims[0].(map[string]any)).str("spec", "storageClassName"); got != want.storageClass {
			t.Errorf("data storageClassName %q, want %q", got, want.storageClass)
		}
	}
	headless := findDoc(t, docs, "Service", internal)
	if headless.str("spec", "clusterIP") != "None" || headless.val("spec", "publishNotReadyAddresses") != true {
		t.Errorf("Service %s is not headless with publishNotReadyAddresses", internal)
	}
	pdb := findDoc(t, docs, "PodDisruptionBudget", want.name)
	if pdb.int("spec", "maxUnavailable") != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", pdb.val("spec", "maxUnavailable"))
	}
	hcl := findDoc(t, docs, "ConfigMap", want.name+"-config").str("data", "vaultd.hcl")
	checkHCL(t, hcl, want, internal)
}

// checkHCL checks the rendered vaultd.hcl text.
func checkHCL(t *testing.T, hcl string, want manifestWant, internal string) {
	t.Helper()
	scheme := "http"
	if want.tls {
		scheme = "https"
	}
	norm := strings.Join(strings.Fields(hcl), " ")
	for i := range want.replicas {
		join := fmt.Sprintf("leader_api_addr = %q", fmt.Sprintf("%s://%s-%d.%s:8200", scheme, want.name, i, internal))
		if !strings.Contains(norm, join) {
			t.Errorf("vaultd.hcl lacks retry_join to pod %d (%s):\n%s", i, join, hcl)
		}
	}
	if got := strings.Count(norm, "retry_join {"); got != want.replicas {
		t.Errorf("%d retry_join blocks, want %d", got, want.replicas)
	}
	for text, ok := range map[string]bool{
		"tls_cert_file":                         want.tls,
		"tls_disable = true":                    !want.tls,
		`audit "file"`:                          want.audit,
		`seal "static"`:                         want.staticSeal,
		"unauthenticated_metrics_access = true": true,
		`node_id = "__POD_NAME__"`:              true,
	} {
		if strings.Contains(norm, text) != ok {
			t.Errorf("vaultd.hcl: contains %q = %v, want %v:\n%s", text, !ok, ok, hcl)
		}
	}
	if want.auditPath != "" && !strings.Contains(hcl, fmt.Sprintf("audit \"file\" %q", want.auditPath)) {
		t.Errorf("vaultd.hcl lacks audit path %q:\n%s", want.auditPath, hcl)
	}
}

// doc is one decoded YAML document.
type doc map[string]any

// val follows keys through nested maps.
func (d doc) val(keys ...string) any {
	var cur any = map[string]any(d)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (d doc) str(keys ...string) string { s, _ := d.val(keys...).(string); return s }
func (d doc) int(keys ...string) int    { n, _ := d.val(keys...).(int); return n }
func (d doc) list(keys ...string) []any { l, _ := d.val(keys...).([]any); return l }

// decodeDocs splits a multi-document YAML stream.
func decodeDocs(t testing.TB, raw []byte) []doc {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var out []doc
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode YAML: %v", err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// findDoc returns the document of kind named name.
func findDoc(t testing.TB, docs []doc, kind, name string) doc {
	t.Helper()
	for _, d := range docs {
		if d.str("kind") == kind && d.str("metadata", "name") == name {
			return d
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	return nil
}

// readAll concatenates files as one YAML stream.
func readAll(t testing.TB, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(raw)
	}
	return b.Bytes()
}
