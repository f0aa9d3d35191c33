package raft

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	hraft "github.com/hashicorp/raft"
)

// snapshotStore is raft's file snapshot store with one addition: the
// stream Open returns starts with a position header (posHeader) carrying
// the raft index and term the snapshot stands for. fsm.Restore reads it
// and records that position as the FSM's applied index, which matters
// for user restores (RestoreSnapshot): their bbolt file comes from another
// cluster or an older time, and the applied index it records means
// nothing in this cluster's log.
//
// The files on disk hold the bare bbolt data. Sinks drop a position header
// at the start of what they receive, so a follower installing the
// leader's snapshot (which raft streams from Open) stores bare data too.
type snapshotStore struct {
	*hraft.FileSnapshotStore
}

var _ hraft.SnapshotStore = (*snapshotStore)(nil)

// posHeader: 8 bytes posMagic, uint64 index, uint64 term (big-endian).
// A bbolt file starts with page 0's id (eight zero bytes), never posMagic.
const posHeaderLen = 24

var posMagic = []byte("SVSNPOS1")

func encodePos(index, term uint64) []byte {
	b := append([]byte{}, posMagic...)
	b = binary.BigEndian.AppendUint64(b, index)
	return binary.BigEndian.AppendUint64(b, term)
}

// Open implements raft.SnapshotStore.
func (s *snapshotStore) Open(id string) (*hraft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.FileSnapshotStore.Open(id)
	if err != nil {
		return nil, nil, err
	}
	m := *meta
	m.Size += posHeaderLen
	r := io.MultiReader(bytes.NewReader(encodePos(m.Index, m.Term)), rc)
	return &m, readCloser{Reader: r, Closer: rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Create implements raft.SnapshotStore.
func (s *snapshotStore) Create(version hraft.SnapshotVersion, index, term uint64, configuration hraft.Configuration,
	configurationIndex uint64, trans hraft.Transport) (hraft.SnapshotSink, error) {
	sink, err := s.FileSnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	return &posSink{SnapshotSink: sink}, nil
}

// posSink drops a position header at the start of the stream.
type posSink struct {
	hraft.SnapshotSink
	head []byte // first bytes, until posHeaderLen are seen
	done bool
}

// Write implements io.Writer; it reports every byte of p as written.
func (p *posSink) Write(b []byte) (int, error) {
	n := len(b)
	if !p.done {
		take := min(posHeaderLen-len(p.head), len(b))
		p.head = append(p.head, b[:take]...)
		b = b[take:]
		if len(p.head) < posHeaderLen {
			return n, nil
		}
		if err := p.flushHead(); err != nil {
			return 0, err
		}
	}
	if len(b) > 0 {
		if _, err := p.SnapshotSink.Write(b); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// flushHead writes the buffered start unless it is a position header.
func (p *posSink) flushHead() error {
	p.done = true
	if len(p.head) == posHeaderLen && bytes.HasPrefix(p.head, posMagic) {
		return nil
	}
	_, err := p.SnapshotSink.Write(p.head)
	return err
}

// Close implements io.Closer.
func (p *posSink) Close() error {
	if !p.done {
		if err := p.flushHead(); err != nil {
			_ = p.SnapshotSink.Cancel()
			return err
		}
	}
	return p.SnapshotSink.Close()
}

// readPos reads the position header from the start of r. It returns the
// position (ok false if r has none) and a reader of the bbolt data.
func readPos(r io.Reader) (index, term uint64, ok bool, data io.Reader, err error) {
	head := make([]byte, posHeaderLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, 0, false, nil, fmt.Errorf("read snapshot: %w", err)
	}
	if n == posHeaderLen && bytes.HasPrefix(head, posMagic) {
		return binary.BigEndian.Uint64(head[8:]), binary.BigEndian.Uint64(head[16:]), true, r, nil
	}
	return 0, 0, false, io.MultiReader(bytes.NewReader(head[:n]), r), nil
}
