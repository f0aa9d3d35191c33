package raft

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/secretumvault/secretumvault/storage"
)

// fsm is the replicated state machine: every committed command is applied
// to one bbolt file.
//
// Contract (hashicorp/raft): Apply/ApplyBatch and Restore run on raft's
// single FSM goroutine, never concurrently with each other; Snapshot runs
// on that goroutine too, but the returned snapshot's Persist runs
// concurrently with later applies (it holds its own read tx). Reads from
// the Store may run at any time.
//
// Applied index: each bbolt Update tx that applies log entries also records
// the index and term of the last entry (bucketMeta). raft is configured with
// NoSnapshotRestoreOnStart, so after a restart it replays the log from the
// latest snapshot's index; entries at or below the recorded index are
// already in the file and are skipped rather than re-applied blindly.
//
// Failure: if a bbolt commit fails (disk error) the state machine can no
// longer promise to equal the log, so it latches ErrFSMFailed: every later
// apply and read fails until the process restarts, and the restart replays
// the log from the last index bbolt durably recorded.
type fsm struct {
	path   string
	logger *slog.Logger

	mu sync.RWMutex // guards db: swapped by Restore, nil after close
	db *bbolt.DB

	applied atomic.Uint64         // mirrors keyAppliedIndex
	failed  atomic.Pointer[error] // latched fatal error, see type doc

	waitMu sync.Mutex
	waitCh chan struct{} // closed and replaced when applied changes
}

var _ hraft.BatchingFSM = (*fsm)(nil)

// initialMmapSize is the FSM file's initial mmap size. bbolt cannot grow
// (remap) the file while a read tx is open, and a snapshot holds one for
// as long as it streams, so a large initial mapping (address space, not
// memory or disk) keeps applies from stalling behind snapshots until the
// file outgrows it.
const initialMmapSize = 1 << 30

// boltOptions are used for the FSM file. Every Update fsyncs (a write is
// acknowledged only after it is durable in both the raft log and bbolt);
// the freelist is rebuilt on open instead of written on every commit.
func boltOptions() *bbolt.Options {
	return &bbolt.Options{
		Timeout:         time.Second,
		NoFreelistSync:  true,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	}
}

// openFSM opens (creating if needed) the bbolt file at path.
func openFSM(path string, logger *slog.Logger) (*fsm, error) {
	f := &fsm{path: path, logger: logger}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

// open opens f.path, ensures the buckets exist and loads the applied index.
// The caller holds f.mu or has exclusive access.
func (f *fsm) open() error {
	db, err := bbolt.Open(f.path, 0o600, boltOptions())
	if err != nil {
		return fmt.Errorf("raft: open fsm %s: %w", f.path, err)
	}
	var applied uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketData, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		applied = readUint64(tx.Bucket(bucketMeta), keyAppliedIndex)
		return nil
	})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("raft: init fsm %s: %w", f.path, err)
	}
	f.db = db
	f.setApplied(applied)
	return nil
}

// setApplied records the applied index and wakes WaitApplied callers.
func (f *fsm) setApplied(index uint64) {
	f.applied.Store(index)
	f.waitMu.Lock()
	if f.waitCh != nil {
		close(f.waitCh)
		f.waitCh = nil
	}
	f.waitMu.Unlock()
}

// appliedChanged returns a channel closed at the next setApplied (or
// failure). Read appliedIndex after taking it.
func (f *fsm) appliedChanged() <-chan struct{} {
	f.waitMu.Lock()
	defer f.waitMu.Unlock()
	if f.waitCh == nil {
		f.waitCh = make(chan struct{})
	}
	return f.waitCh
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *hraft.Log) any {
	return f.ApplyBatch([]*hraft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: all entries of the batch are
// applied in one bbolt Update tx (one fsync). Each write batch is validated
// as a whole first, so a bad one fails alone, with no effect, and the
// others still apply. The response for a cmdBatch entry is nil or an
// error; for a cmdMulti entry, an []error with one slot per batch.
func (f *fsm) ApplyBatch(logs []*hraft.Log) []any {
	resps := make([]any, len(logs))
	if err := f.failure(); err != nil {
		return fill(resps, err)
	}
	applied := f.applied.Load()
	var work [][]decodedOp
	var last *hraft.Log
	for i, l := range logs {
		if l.Index <= applied {
			continue // already in bbolt: replay after restart
		}
		last = l
		if l.Type != hraft.LogCommand {
			continue
		}
		var ok [][]decodedOp
		resps[i], ok = prepare(l.Data)
		work = append(work, ok...)
	}
	if last == nil {
		return resps
	}
	if err := f.commit(work, last); err != nil {
		f.fail(err)
		return fill(resps, f.failure())
	}
	f.setApplied(last.Index)
	return resps
}

// prepare decodes and validates one entry. It returns the entry's response
// (as if every valid batch commits) and the valid batches to apply.
func prepare(data []byte) (resp any, valid [][]decodedOp) {
	batches, errs, multi, err := decodeEntry(data)
	if err != nil {
		return err, nil
	}
	for i, ops := range batches {
		if errs[i] == nil {
			errs[i] = validateDecoded(ops)
		}
		if errs[i] == nil {
			valid = append(valid, ops)
		}
	}
	if multi {
		return errs, valid
	}
	if errs[0] != nil {
		return errs[0], valid
	}
	return nil, valid
}

// commit applies work and records last as the applied entry, in one tx.
func (f *fsm) commit(work [][]decodedOp, last *hraft.Log) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return storage.ErrClosed
	}
	return f.db.Update(func(tx *bbolt.Tx) error {
		data := tx.Bucket(bucketData)
		for _, ops := range work {
			for _, op := range ops {
				if err := applyOp(data, op); err != nil {
					return err
				}
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyAppliedIndex, u64(last.Index)); err != nil {
			return err
		}
		return meta.Put(keyAppliedTerm, u64(last.Term))
	})
}

func applyOp(b *bbolt.Bucket, op decodedOp) error {
	if op.kind == storage.OpDelete {
		return b.Delete(op.key)
	}
	return b.Put(op.key, op.value)
}

// validateDecoded applies, deterministically, the checks the proposer made
// (a node must not trust its peers' encoders).
func validateDecoded(ops []decodedOp) error {
	for i, op := range ops {
		if len(op.key) == 0 || bytes.IndexByte(op.key, 0) >= 0 {
			return fmt.Errorf("raft: op %d: %w", i, storage.ErrInvalidKey)
		}
		if len(op.key) > bbolt.MaxKeySize || len(op.value) > bbolt.MaxValueSize {
			return fmt.Errorf("raft: op %d: %w", i, storage.ErrTooLarge)
		}
	}
	return nil
}

// get returns a copy of key's value, or nil, false.
func (f *fsm) get(key string) ([]byte, bool, error) {
	var val []byte
	var found bool
	err := f.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketData).Get([]byte(key))
		if v != nil {
			val, found = slices.Clone(v), true
			if val == nil {
				val = []byte{}
			}
		}
		return nil
	})
	return val, found, err
}

// list implements the storage.Backend List contract. Keys inside a
// "directory" are skipped with one cursor Seek past the directory, so the
// cost follows the number of children, not descendants.
func (f *fsm) list(prefix string) ([]string, error) {
	var keys []string
	err := f.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketData).Cursor()
		p := []byte(prefix)
		k, _ := c.Seek(p)
		for k != nil && bytes.HasPrefix(k, p) {
			rest := k[len(p):]
			i := bytes.IndexByte(rest, '/')
			if i < 0 {
				keys = append(keys, string(k))
				k, _ = c.Next()
				continue
			}
			dir := k[:len(p)+i+1]
			keys = append(keys, string(dir))
			// '/'+1 == '0': the first key sorting after every "dir/..." key.
			next := append(slices.Clone(dir[:len(dir)-1]), '/'+1)
			k, _ = c.Seek(next)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return storage.ListChildren(prefix, keys), nil
}

// view runs fn in a read-only tx.
func (f *fsm) view(fn func(*bbolt.Tx) error) error {
	if err := f.failure(); err != nil {
		return err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return storage.ErrClosed
	}
	if err := f.db.View(fn); err != nil {
		return fmt.Errorf("raft: read fsm: %w", err)
	}
	return nil
}

// appliedIndex returns the index of the last applied log entry.
func (f *fsm) appliedIndex() uint64 { return f.applied.Load() }

func (f *fsm) fail(err error) {
	wrapped := fmt.Errorf("%w: %w", ErrFSMFailed, err)
	if f.failed.CompareAndSwap(nil, &wrapped) {
		f.logger.Error("raft: fsm failed; restart the node to replay the log", "error", err)
		f.setApplied(f.applied.Load()) // wake WaitApplied to see the failure
	}
}

func (f *fsm) failure() error {
	if p := f.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// close closes the bbolt file; later reads return storage.ErrClosed.
func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	if err != nil {
		return fmt.Errorf("raft: close fsm: %w", err)
	}
	return nil
}

// fill sets every response to err: nothing in the batch was applied.
func fill(resps []any, err error) []any {
	for i := range resps {
		resps[i] = err
	}
	return resps
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readUint64(b *bbolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
