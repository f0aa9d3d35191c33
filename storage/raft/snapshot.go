package raft

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// fsmSnapshot is a point-in-time view of the FSM: an open bbolt read tx
// begun on the FSM goroutine, so it matches exactly the applied index it
// records. Persist streams it while applies continue.
//
// Caveat: bbolt cannot grow its mmap while a read tx is open, so once the
// file outgrows initialMmapSize a write that needs to grow it waits for
// Persist to finish.
type fsmSnapshot struct {
	tx *bbolt.Tx
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) {
	if err := f.failure(); err != nil {
		return nil, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, fmt.Errorf("raft: snapshot: fsm closed")
	}
	tx, err := f.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("raft: snapshot: begin tx: %w", err)
	}
	return &fsmSnapshot{tx: tx}, nil
}

// Persist implements raft.FSMSnapshot: the snapshot is the bbolt file
// itself, as written by tx.WriteTo.
func (s *fsmSnapshot) Persist(sink hraft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raft: persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("raft: persist snapshot: close sink: %w", err)
	}
	return nil
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() { _ = s.tx.Rollback() }

// Restore implements raft.FSM: it replaces the bbolt file with the
// snapshot atomically. The stream (from snapshotStore.Open: a position
// header, then the bbolt file) is written to a temp file and fsynced,
// checked to be a valid FSM file, stamped with the snapshot's raft index
// and term as the applied position, then renamed over the live file (the
// directory is fsynced too) and reopened. A crash at any point leaves
// either the old or the new file in place.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	index, term, hasPos, data, err := readPos(rc)
	if err != nil {
		return fmt.Errorf("raft: restore: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(f.path), fsmRestoreFile)
	if err := writeFileSync(tmp, data); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("raft: restore: %w", err)
	}
	var pos *position
	if hasPos {
		pos = &position{index: index, term: term}
	}
	if err := prepareFSMFile(tmp, pos); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("raft: restore: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db != nil {
		if err := f.db.Close(); err != nil {
			return fmt.Errorf("raft: restore: close fsm: %w", err)
		}
		f.db = nil
	}
	if err := os.Rename(tmp, f.path); err != nil {
		f.fail(err)
		return fmt.Errorf("raft: restore: rename: %w", err)
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		f.fail(err)
		return fmt.Errorf("raft: restore: %w", err)
	}
	if err := f.open(); err != nil {
		f.fail(err)
		return fmt.Errorf("raft: restore: %w", err)
	}
	f.logger.Info("raft: fsm restored from snapshot", "applied_index", f.appliedIndex())
	return nil
}

// writeFileSync copies r into a new file at path and fsyncs it.
func writeFileSync(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		_ = out.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return out.Close()
}

var errNoBuckets = errors.New("missing buckets")

// position is a raft log position.
type position struct {
	index, term uint64
}

// prepareFSMFile opens path, checks it holds our buckets and, when pos is
// set, records pos as the applied raft position.
func prepareFSMFile(path string, pos *position) error {
	opts := boltOptions()
	opts.InitialMmapSize = 0
	db, err := bbolt.Open(path, 0o600, opts)
	if err != nil {
		return fmt.Errorf("snapshot is not a bbolt file: %w", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if tx.Bucket(bucketData) == nil || meta == nil {
			return fmt.Errorf("snapshot: %w", errNoBuckets)
		}
		if pos == nil {
			return nil
		}
		if err := meta.Put(keyAppliedIndex, u64(pos.index)); err != nil {
			return err
		}
		return meta.Put(keyAppliedTerm, u64(pos.term))
	})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", path, cerr)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
