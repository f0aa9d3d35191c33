package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The Kubernetes schemas kubeconform validates against. They cannot be
// downloaded here (kubeconform's default registry is a web site), so they
// are made from the OpenAPI v3 documents that the k8s.io/kubernetes Go
// module ships in api/openapi-spec/v3, fetched from the Go module proxy
// with `go mod download` (about 21 MB, once per module cache): one
// standalone JSON schema per kind, with additionalProperties: false on
// every object that lists its properties (kubeconform's "strict" schemas),
// so an unknown or misspelt field is an error.

// k8sModule is the Kubernetes release whose API the manifests target.
const k8sModule = "k8s.io/kubernetes@v1.37.2"

// k8sGroupFiles are the OpenAPI documents of the API groups the manifests
// use.
var k8sGroupFiles = []string{"api__v1_openapi.json", "apis__apps__v1_openapi.json", "apis__policy__v1_openapi.json"}

// k8sKinds are the kinds that get a schema; a manifest of another kind
// fails validation (no schema), it is never skipped.
var k8sKinds = map[string]bool{
	"ConfigMap": true, "Secret": true, "Service": true, "ServiceAccount": true,
	"StatefulSet": true, "PodDisruptionBudget": true,
}

var (
	schemaOnce sync.Once
	schemaDir  string
	schemaErr  error
)

// kubeSchemas returns the directory of generated schemas, named as
// kubeconform's -schema-location template
// DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json expects
// (statefulset-apps-v1.json, service-v1.json).
func kubeSchemas(t testing.TB) string {
	t.Helper()
	schemaOnce.Do(func() {
		var spec string
		if spec, schemaErr = k8sOpenAPIDir(); schemaErr != nil {
			return
		}
		if schemaDir, schemaErr = os.MkdirTemp("", "secretum-k8s-schemas-"); schemaErr != nil {
			return
		}
		for _, f := range k8sGroupFiles {
			if schemaErr = writeKindSchemas(filepath.Join(spec, f), schemaDir); schemaErr != nil {
				return
			}
		}
	})
	if schemaErr != nil {
		t.Fatalf("kubernetes schemas: %v", schemaErr)
	}
	return schemaDir
}

// k8sOpenAPIDir downloads (or finds in the module cache) k8sModule and
// returns its api/openapi-spec/v3 directory.
func k8sOpenAPIDir() (string, error) {
	tmp, err := os.MkdirTemp("", "secretum-modfetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// Outside this module, so that go.mod is neither read nor changed.
	out, err := runEnv(tmp, []string{"GOFLAGS=-mod=mod", "GO111MODULE=on"}, "go", "mod", "download", "-json", k8sModule)
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v\n%s", k8sModule, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %v\n%s", k8sModule, err, out)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", k8sModule, info.Error)
	}
	return filepath.Join(info.Dir, "api", "openapi-spec", "v3"), nil
}

// writeKindSchemas writes one schema file per kind of k8sKinds defined in
// the OpenAPI document at path.
func writeKindSchemas(path, outDir string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	schemas := doc.Components.Schemas
	for _, s := range schemas {
		strictify(s)
	}
	for name, s := range schemas {
		gvks, _ := s["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if !k8sKinds[kind] {
				continue
			}
			out, err := json.Marshal(map[string]any{
				"description": fmt.Sprintf("%s from the OpenAPI v3 document of %s", name, k8sModule),
				"allOf":       []any{map[string]any{"$ref": "#/components/schemas/" + name}},
				"components":  map[string]any{"schemas": schemas},
			})
			if err != nil {
				return err
			}
			file := strings.ToLower(kind) + kindSuffix(group, version) + ".json"
			if err := os.WriteFile(filepath.Join(outDir, file), out, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// kindSuffix is kubeconform's {{ .KindSuffix }}: "-v1" for the core
// group, "-apps-v1" for apps/v1, "-policy-v1" for policy/v1 (the first
// label of a dotted group).
func kindSuffix(group, version string) string {
	if group == "" {
		return "-" + strings.ToLower(version)
	}
	return "-" + strings.ToLower(strings.Split(group, ".")[0]) + "-" + strings.ToLower(version)
}

// strictify sets additionalProperties: false on every object schema that
// lists properties and does not say otherwise, walking nested schemas.
func strictify(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			if ps, ok := p.(map[string]any); ok {
				strictify(ps)
			}
		}
		_, has := s["additionalProperties"]
		if preserve, _ := s["x-kubernetes-preserve-unknown-fields"].(bool); !has && !preserve {
			s["additionalProperties"] = false
		}
	}
	for _, key := range []string{"items", "additionalProperties", "not"} {
		if sub, ok := s[key].(map[string]any); ok {
			strictify(sub)
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[key].([]any)
		for _, sub := range list {
			if m, ok := sub.(map[string]any); ok {
				strictify(m)
			}
		}
	}
}
