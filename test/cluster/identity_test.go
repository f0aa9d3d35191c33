package cluster

import (
	"testing"
	"time"
)

// TestStandbyReportsClusterIdentity: every unsealed node, standbys
// included, reports the cluster's name and id in sys/seal-status and
// sys/health, as the active node does.
func TestStandbyReportsClusterIdentity(t *testing.T) {
	c, _ := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	want, err := c.Client(leader, "").Sys().SealStatus()
	if err != nil || want.ClusterName == "" || want.ClusterID == "" {
		t.Fatalf("active seal-status %+v, %v: want a cluster name and id", want, err)
	}
	for _, i := range c.Others(leader) {
		st, err := c.Client(i, "").Sys().SealStatus()
		if err != nil || st.ClusterName != want.ClusterName || st.ClusterID != want.ClusterID {
			t.Errorf("standby node%d seal-status %+v, %v; want cluster %q (%s)", i, st, err, want.ClusterName, want.ClusterID)
		}
		h, err := c.Client(i, "").Sys().Health()
		if err != nil || h.ClusterName != want.ClusterName || h.ClusterID != want.ClusterID || !h.Standby {
			t.Errorf("standby node%d health %+v, %v", i, h, err)
		}
	}
}
