package apidoc

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/api-reference.md")

const (
	referenceFile = "../../docs/api-reference.md"
	openapiFile   = "../../proto/openapi/secretumvault.swagger.json"
)

// TestAPIReferenceUpToDate fails when docs/api-reference.md is not what
// the code serves (make generate rewrites it with -update).
func TestAPIReferenceUpToDate(t *testing.T) {
	got, err := Render(openapiFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"`/v1/sys/health`", "`secret/data/(?P<path>", "`pki/issue/", "`transit/encrypt/", "`sys/rotation/policies/", "`auth/userpass/"} {
		if !strings.Contains(got, want) {
			t.Errorf("the reference lacks %s", want)
		}
	}
	if *update {
		if err := os.WriteFile(referenceFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(referenceFile)
	if err != nil || string(have) != got {
		t.Fatalf("docs/api-reference.md is out of date (%v): run make generate", err)
	}
}
