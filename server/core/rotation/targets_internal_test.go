package rotation

import "testing"

func TestReachable(t *testing.T) {
	for _, tc := range []struct {
		mount    string
		prefixes []string
		want     bool
	}{
		{"secret/", []string{"secret/data/app/"}, true},
		{"secret/", []string{""}, true}, // a policy matching "*"
		{"team/secret/", []string{"team/"}, true},
		{"secret/", []string{"database/static-roles/"}, false},
		{"secret2/", []string{"secret/data/"}, false},
		{"secret/", nil, false},
	} {
		if got := reachable(tc.mount, tc.prefixes); got != tc.want {
			t.Errorf("reachable(%q, %q) = %v", tc.mount, tc.prefixes, got)
		}
	}
}
