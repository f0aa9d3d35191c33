package api_test

import (
	"net/http"
	"testing"

	"github.com/secretumvault/secretumvault/server/api"
)

// The web UI is served only when the configuration says `ui = true`
// (Vault's default: off).
func TestUIOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		on   bool
		want int
	}{{false, http.StatusNotFound}, {true, http.StatusOK}} {
		ts := newTestServer(t, api.Options{UI: tc.on})
		resp, err := ts.client.Get(ts.url + "/ui/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("UI %v: GET /ui/ = %d, want %d", tc.on, resp.StatusCode, tc.want)
		}
	}
}
