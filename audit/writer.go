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

// run is the writer goroutine. Its first line is the open checkpoint;
// if that write fails it is retried before the next batch.
func (d *Device) run() {
	defer close(d.done)
	defer d.cancel()
	if err := d.appendLines(nil, ""); err == nil {
		d.afterWrite()
	}
	batch := make([]*item, 0, maxBatch)
	for {
		select {
		case it := <-d.reqs:
			batch = d.drain(append(batch[:0], it))
			d.writeBatch(batch)
		case <-d.timerC:
			d.timerC = nil
			d.syncErr = d.sync()
		case f := <-d.ctl:
			f()
		case r := <-d.resv.c:
			d.extended(r)
		case <-d.quit:
			d.shutdown(batch)
			return
		}
	}
}

// drain appends the items already waiting, up to maxBatch.
func (d *Device) drain(batch []*item) []*item {
	for len(batch) < maxBatch {
		select {
		case it := <-d.reqs:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// shutdown writes what is queued, a close checkpoint, syncs and closes.
func (d *Device) shutdown(batch []*item) {
	if d.crashed.Load() {
		d.closeErr = d.closeLog()
		return
	}
	for {
		batch = d.drain(batch[:0])
		if len(batch) == 0 {
			break
		}
		d.writeBatch(batch)
	}
	err := d.appendLines(nil, CheckpointClose)
	if serr := d.sync(); err == nil {
		err = serr
	}
	if cerr := d.closeLog(); err == nil {
		err = cerr
	}
	d.closeErr = err
}

// closeLog closes the writer when the device owns it.
func (d *Device) closeLog() error {
	if d.closeW == nil {
		return nil
	}
	if err := d.closeW(); err != nil {
		return fmt.Errorf("audit: close log: %w", err)
	}
	return nil
}

// writeBatch encodes the batch, writes it in one call and answers each
// item according to the fsync mode.
func (d *Device) writeBatch(batch []*item) {
	var err error
	if d.syncErr != nil {
		// The entries before were acknowledged but may not be on disk:
		// refuse this batch so the failure is seen, then retry.
		err, d.syncErr = d.syncErr, nil
	}
	if err == nil {
		err = d.appendLines(batch, "")
	}
	if err == nil {
		err = d.afterWrite()
	}
	d.maybeExtend()
	for _, it := range batch {
		it.res <- err
	}
}

// afterWrite syncs or schedules the sync of what was just written.
func (d *Device) afterWrite() error {
	switch {
	case d.opts.Fsync == FsyncAlways:
		return d.sync()
	case d.opts.Fsync == FsyncBatch && d.timerC == nil:
		d.armTimer()
	}
	return nil
}

// appendLines writes, in one call: the file's open checkpoint when it is
// still due, the batch's entries (with the interval checkpoints due
// among them), then a checkpoint for reason when it is not "". On any
// failure nothing is kept: the chain position is restored (and a write
// that leaves a partial line in the log breaks the device until Reopen).
func (d *Device) appendLines(batch []*item, reason string) error {
	if d.broken != nil {
		return d.broken
	}
	saved := d.chain
	d.buf.Reset()
	err := d.encodeLines(batch, reason)
	if err == nil && d.buf.Len() > 0 {
		err = d.flushBuf()
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
	n, err := d.w.Write(d.buf.Bytes())
	if err == nil && n < d.buf.Len() {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			d.broken = fmt.Errorf("audit: log torn by a partial write: %w", err)
		}
		return fmt.Errorf("audit: write log: %w", err)
	}
	d.mu.Lock()
	d.pos = d.chain.Position
	d.mu.Unlock()
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
	line := chainLine(make([]byte, 0, len(d.opts.Prefix)+len(it.body)+100), d.opts.Prefix, it.body, d.chain.next, d.chain.PrevHash)
	d.chain.genCount++
	d.chain.sinceCP++
	d.appendLine(line)
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
		Seq: d.chain.next, PrevHash: d.chain.PrevHash, Count: d.chain.sinceCP,
		KeyID: d.keyID, Reason: reason,
	}
	line, err := checkpointLine(d.opts.Prefix, &cp, d.opts.SigningKey)
	if err != nil {
		return err
	}
	d.chain.sinceCP = 0
	d.appendLine(line)
	return nil
}

// appendLine adds a line to the buffer and advances the chain.
func (d *Device) appendLine(line []byte) {
	d.buf.Write(line)
	d.buf.WriteByte('\n')
	d.chain.Seq = d.chain.next
	d.chain.next++
	d.chain.PrevHash = lineHash(line)
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

// armTimer schedules the batch sync.
func (d *Device) armTimer() {
	if d.timer == nil {
		d.timer = time.NewTimer(BatchWindow)
	} else {
		d.timer.Reset(BatchWindow)
	}
	d.timerC = d.timer.C
}
