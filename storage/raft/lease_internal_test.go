package raft

import (
	"testing"

	hraft "github.com/hashicorp/raft"
)

func TestQuorumStart(t *testing.T) {
	tr := newAckTracker()
	tr.record("b", 5, 100)
	tr.record("c", 5, 300)
	tr.record("d", 4, 900) // an older term: no use in term 5
	tr.record("e", 5, 50)
	tr.record("e", 5, 40) // older than what e already acknowledged: ignored
	voters3 := []hraft.ServerID{"a", "b", "c"}
	voters5 := []hraft.ServerID{"a", "b", "c", "d", "e"}
	tests := []struct {
		name   string
		voters []hraft.ServerID
		term   uint64
		want   int64
		ok     bool
	}{
		{"single node: self is the quorum", []hraft.ServerID{"a"}, 5, 1000, true},
		{"3 voters: second newest", voters3, 5, 300, true},
		{"5 voters: third newest, stale term skipped", voters5, 5, 100, true},
		{"other term: only self", voters3, 6, 0, false},
		{"no voters", nil, 5, 0, false},
		{"leader not a voter", []hraft.ServerID{"b", "c", "e"}, 5, 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tr.quorumStart("a", tc.voters, tc.term, 1000)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("quorumStart = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
