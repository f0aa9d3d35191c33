package audit

import (
	"fmt"
	"io"
	"time"
)

// maxBatch bounds the entries one write carries.
const maxBatch = 256

// syncer is a writer that can flush to stable storage.
type syncer interface{ Sync() error }

// writeOpen writes the open checkpoint at start, holding the writer role
// that startDevice took for it; if the write fails, the next batch
// retries it.
func (d *Device) writeOpen() {
	defer d.release()
	if err := d.appendLines(nil, ""); err == nil {
		d.afterWrite()
	}
}

// shutdown writes what is queued, a close checkpoint, syncs and closes
// the log (a crash only closes it), holding the writer role; then the
// device is finished: whatever is still queued or comes later fails with
// ErrClosed.
func (d *Device) shutdown() {
	defer close(d.done)
	defer d.cancel()
	d.acquire(nil)
	defer d.release()
	if d.syncTimer != nil {
		d.syncTimer.Stop()
	}
	if d.crashed.Load() {
		d.finished = true
		d.closeErr = d.closeLog()
		d.failQueued()
		return
	}
	for {
		d.mu.Lock()
		batch := d.takeLocked(d.batch[:0])
		d.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		err := d.writeBatch(batch)
		d.answer(batch, nil, err)
	}
	err := d.appendLines(nil, CheckpointClose)
	if serr := d.sync(); err == nil {
		err = serr
	}
	if cerr := d.closeLog(); err == nil {
		err = cerr
	}
	d.finished = true
	d.closeErr = err
}

// failQueued answers the queued entries with ErrClosed.
func (d *Device) failQueued() {
	d.mu.Lock()
	batch := d.takeLocked(d.batch[:0])
	d.mu.Unlock()
	d.answer(batch, nil, ErrClosed)
}

// closeLog closes the writer when the device owns it.
func (d *Device) closeLog() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.logClosed = true
	if d.closeW == nil {
		return nil
	}
	if err := d.closeW(); err != nil {
		return fmt.Errorf("audit: close log: %w", err)
	}
	return nil
}

// writeBatch writes the batch's entries in one call and, with
// FsyncAlways, syncs them; it returns the batch's result.
func (d *Device) writeBatch(batch []*item) error {
	if d.finished {
		return ErrClosed
	}
	var err error
	if failed := d.syncFailed.Swap(nil); failed != nil {
		// The entries before were acknowledged but may not be on disk:
		// refuse this batch so the failure is seen, then retry.
		err = *failed
	}
	if err == nil {
		err = d.appendLines(batch, "")
	}
	if err == nil {
		err = d.afterWrite()
	}
	d.maybeExtend()
	return err
}

// afterWrite syncs or schedules the sync of what was just written.
func (d *Device) afterWrite() error {
	switch {
	case d.opts.Fsync == FsyncAlways:
		return d.sync()
	case d.opts.Fsync == FsyncBatch && !d.syncArmed.Load():
		if _, ok := d.w.(syncer); ok {
			d.armSync()
		}
	}
	return nil
}

// appendLines writes, in one call: the file's open checkpoint when it is
// still due, the batch's entries (with the interval checkpoints due
// among them), then a checkpoint for reason when it is not "". On any
// failure nothing is kept: the chain position is restored (and a write
// that leaves a partial line in the log breaks the device until Reopen).
func (d *Device) appendLines(batch []*item, reason string) error {
	d.pollExtension()
	if d.broken != nil {
		return d.broken
	}
	saved := d.chain
	d.out = d.out[:0]
	err := d.encodeLines(batch, reason)
	if err == nil && len(d.out) > 0 {
		err = d.flushBuf()
	}
	if cap(d.out) > maxKeptBuf {
		d.out = nil
	}
	if err != nil {
		d.restore(saved)
	}
	return err
}

// encodeLines encodes appendLines' lines into the buffer.
func (d *Device) encodeLines(batch []*item, reason string) error {
	if d.chain.needOpen {
		if err := d.encodeCheckpoint(CheckpointOpen); err != nil {
			return err
		}
		d.chain.needOpen = false
	}
	for _, it := range batch {
		if err := d.encodeEntry(it); err != nil {
			return err
		}
		if d.chain.sinceCP >= uint64(d.opts.CheckpointEvery) {
			if err := d.encodeCheckpoint(CheckpointInterval); err != nil {
				return err
			}
		}
	}
	if reason != "" {
		return d.encodeCheckpoint(reason)
	}
	return nil
}

// flushBuf writes the buffered lines and publishes the position.
func (d *Device) flushBuf() error {
	n, err := d.w.Write(d.out)
	if err == nil && n < len(d.out) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			d.broken = fmt.Errorf("audit: log torn by a partial write: %w", err)
		}
		return fmt.Errorf("audit: write log: %w", err)
	}
	d.mu.Lock()
	d.pos = d.chain.chainPos
	d.mu.Unlock()
	if d.tail.active(time.Now()) {
		d.tail.add(d.out)
	}
	d.publishGen()
	return nil
}

// encodeEntry appends the entry's line and ratchets the key generation
// when due. A line carries the generation its caller encoded it with: the
// one current then, so a generation covers RatchetEvery entries plus
// those encoded concurrently with the switch. A new generation is
// published to callers only once the batch that reached it is written,
// so no line ever names a generation above its seq.
func (d *Device) encodeEntry(it *item) error {
	if err := d.room(false); err != nil {
		return err
	}
	start := len(d.out)
	d.out = chainLine(d.out, d.opts.Prefix, it.body, d.chain.next, d.chain.prev[:])
	d.chain.genCount++
	d.chain.sinceCP++
	d.advance(start)
	if d.chain.genCount >= uint64(d.opts.RatchetEvery) {
		d.chain.Gen++
		d.chain.genCount = 0
	}
	return nil
}

// restore puts the chain back after a failed write (the generation
// callers encode with did not move: see encodeEntry).
func (d *Device) restore(saved chainState) { d.chain = saved }

// encodeCheckpoint appends a signed checkpoint line for reason.
func (d *Device) encodeCheckpoint(reason string) error {
	if err := d.room(reason == CheckpointClose || reason == CheckpointRotate); err != nil {
		return err
	}
	cp := wireCheckpoint{
		Time: formatTime(time.Now()), Type: TypeCheckpoint, HMACKeyGen: d.chain.Gen,
		Seq: d.chain.next, PrevHash: string(d.chain.prev[:]), Count: d.chain.sinceCP,
		KeyID: d.keyID, Reason: reason,
	}
	line, err := checkpointLine(d.opts.Prefix, &cp, d.opts.SigningKey)
	if err != nil {
		return err
	}
	d.chain.sinceCP = 0
	start := len(d.out)
	d.out = append(d.out, line...)
	d.advance(start)
	return nil
}

// advance ends the line at d.out[start:] and moves the chain past it.
func (d *Device) advance(start int) {
	d.chain.prev.set(d.out[start:])
	d.out = append(d.out, '\n')
	d.chain.Seq = d.chain.next
	d.chain.next++
}

// rotate ends the current file with a rotate checkpoint (after its open
// checkpoint, if that was never written) and syncs it.
func (d *Device) rotate() error {
	err := d.appendLines(nil, CheckpointRotate)
	if serr := d.sync(); err == nil {
		err = serr
	}
	return err
}

// sync flushes the writer to disk when it can and the mode allows.
func (d *Device) sync() error {
	s, ok := d.w.(syncer)
	if !ok || d.opts.Fsync == FsyncNever {
		return nil
	}
	if err := s.Sync(); err != nil {
		return fmt.Errorf("audit: sync log: %w", err)
	}
	return nil
}

// armSync schedules the batch sync of what was just written. A write
// that finds it armed is covered by the sync that disarms it, which
// starts after that write.
func (d *Device) armSync() {
	d.syncArmed.Store(true)
	if d.syncTimer == nil {
		d.syncTimer = time.AfterFunc(BatchWindow, d.batchSync)
		return
	}
	d.syncTimer.Reset(BatchWindow)
}

// batchSync is the batch sync, run by its timer while writes go on; a
// failure is reported to the next batch.
func (d *Device) batchSync() {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if d.logClosed || !d.syncArmed.Swap(false) {
		return
	}
	if err := d.sync(); err != nil {
		d.syncFailed.Store(&err)
	}
}
