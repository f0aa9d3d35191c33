package raft_test

import (
	"testing"
	"time"
)

// TestPeerContacts checks the leader's view of its followers: fresh
// acknowledgements in the current term from live ones, a growing age for
// a stopped one, nothing on a follower that never led.
func TestPeerContacts(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	ls := c.nodes[l]
	term := ls.CurrentTerm()
	if term == 0 {
		t.Fatal("leader's CurrentTerm is 0")
	}
	var followers []int
	for i := range c.nodes {
		if i != l {
			followers = append(followers, i)
		}
	}
	// Heartbeats run every HeartbeatTimeout/10 (20 ms here).
	deadline := time.Now().Add(5 * time.Second)
	for {
		pc := ls.PeerContacts()
		fresh := 0
		for _, f := range followers {
			if p, ok := pc[c.cfgs[f].NodeID]; ok && p.Term == term && p.Age < time.Second {
				fresh++
			}
		}
		if fresh == len(followers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader's contacts never showed both followers fresh in term %d: %+v", term, pc)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := ls.PeerContacts()[c.cfgs[l].NodeID]; ok {
		t.Fatal("the leader lists itself among its contacts")
	}
	for _, f := range followers {
		if c.nodes[f].CurrentTerm() != term {
			t.Fatalf("follower %d term %d, leader's %d", f, c.nodes[f].CurrentTerm(), term)
		}
		if pc := c.nodes[f].PeerContacts(); len(pc) != 0 && c.nodes[f].CurrentTerm() == term {
			// A follower that once led may keep old entries, but this
			// cluster's first leader never changed.
			t.Fatalf("follower %d has contacts %+v", f, pc)
		}
	}

	stopped, alive := followers[0], followers[1]
	c.stop(stopped)
	time.Sleep(1200 * time.Millisecond)
	pc := ls.PeerContacts()
	if p := pc[c.cfgs[stopped].NodeID]; p.Age < time.Second {
		t.Fatalf("stopped follower's contact age %v, want >= 1s", p.Age)
	}
	if p := pc[c.cfgs[alive].NodeID]; p.Term != term || p.Age > 500*time.Millisecond {
		t.Fatalf("live follower's contact %+v, want term %d and a fresh age", p, term)
	}
}
