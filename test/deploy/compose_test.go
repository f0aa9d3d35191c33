package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeFile checks deploy/compose/compose.yaml without Docker (not
// installed here): three vaultd services, each with its own config file
// whose node_id, api_addr and cluster_addr name the service, retry_join
// from vaultd-2 and vaultd-3 to vaultd-1, and a data and an audit volume
// per node. docker compose config is the check to add where Docker is.
func TestComposeFile(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Hostname string   `yaml:"hostname"`
			Command  []string `yaml:"command"`
			Volumes  []string `yaml:"volumes"`
			ReadOnly bool     `yaml:"read_only"`
			CapDrop  []string `yaml:"cap_drop"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	readYAML(t, deployDir(t, "compose", "compose.yaml"), &compose)
	if len(compose.Services) != 3 {
		t.Fatalf("%d services, want 3", len(compose.Services))
	}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("vaultd-%d", i)
		svc, ok := compose.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if svc.Hostname != name || !svc.ReadOnly || len(svc.CapDrop) != 1 || svc.CapDrop[0] != "ALL" {
			t.Errorf("%s: hostname %q read_only %v cap_drop %v", name, svc.Hostname, svc.ReadOnly, svc.CapDrop)
		}
		var config string
		for _, v := range svc.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			if strings.HasPrefix(dst, "/etc/vaultd/vaultd.hcl") {
				config = filepath.Join(deployDir(t, "compose"), src)
			}
			if strings.HasPrefix(src, name+"-") {
				if _, ok := compose.Volumes[src]; !ok {
					t.Errorf("%s: volume %s is not declared", name, src)
				}
			}
		}
		raw, err := os.ReadFile(config)
		if err != nil {
			t.Fatalf("%s: config: %v", name, err)
		}
		hcl := strings.Join(strings.Fields(string(raw)), " ")
		for _, want := range []string{
			fmt.Sprintf("node_id = %q", name), fmt.Sprintf("api_addr = \"https://%s:8200\"", name),
			fmt.Sprintf("cluster_addr = \"https://%s:8201\"", name), "unauthenticated_metrics_access = true",
			`audit "file" "file/"`,
		} {
			if !strings.Contains(hcl, want) {
				t.Errorf("%s: %s lacks %s", name, config, want)
			}
		}
		joins := strings.Contains(hcl, `leader_api_addr = "https://vaultd-1:8200"`)
		if joins != (i != 1) {
			t.Errorf("%s: retry_join to vaultd-1 = %v", name, joins)
		}
	}
}
