package raft

import (
	"io"

	hraft "github.com/hashicorp/raft"
)

// snapshotStore is raft's file snapshot store, with Open returning a
// reader that also carries the snapshot's metadata. raft hands that
// reader to fsm.Restore, which so learns the raft index and term the
// snapshot stands for and records them as the FSM's applied position.
// This matters for user restores (RestoreSnapshot): the bbolt file inside
// comes from another cluster or an older time, and the applied index it
// records means nothing in this cluster's log.
type snapshotStore struct {
	*hraft.FileSnapshotStore
}

var _ hraft.SnapshotStore = (*snapshotStore)(nil)

// Open implements raft.SnapshotStore.
func (s *snapshotStore) Open(id string) (*hraft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.FileSnapshotStore.Open(id)
	if err != nil {
		return nil, nil, err
	}
	return meta, &metaReader{ReadCloser: rc, index: meta.Index, term: meta.Term}, nil
}

// metaReader is a snapshot stream and the raft position it stands for.
type metaReader struct {
	io.ReadCloser
	index, term uint64
}
