package audit

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"time"
)

// maxBatch bounds the entries one write carries.
const maxBatch = 256

// syncer is a writer that can flush to stable storage.
type syncer interface{ Sync() error }

// run is the writer goroutine.
func (d *Device) run() {
	defer close(d.done)
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

// shutdown writes what is queued, a final checkpoint, syncs and closes.
func (d *Device) shutdown(batch []*item) {
	for {
		batch = d.drain(batch[:0])
		if len(batch) == 0 {
			break
		}
		d.writeBatch(batch)
	}
	err := d.writeCheckpoint()
	if serr := d.sync(); err == nil {
		err = serr
	}
	if d.closeW != nil {
		if cerr := d.closeW(); err == nil && cerr != nil {
			err = fmt.Errorf("audit: close log: %w", cerr)
		}
	}
	d.closeErr = err
}

// writeBatch encodes the batch, writes it in one call and answers each
// item according to the fsync mode.
func (d *Device) writeBatch(batch []*item) {
	err := d.broken
	if err == nil && d.syncErr != nil {
		// The entries before were acknowledged but may not be on disk:
		// refuse this batch so the failure is seen, then retry.
		err, d.syncErr = d.syncErr, nil
	}
	if err == nil {
		err = d.appendBatch(batch)
	}
	if err == nil && d.opts.Fsync == FsyncAlways {
		err = d.sync()
	}
	if err == nil && d.opts.Fsync == FsyncBatch && d.timerC == nil {
		d.armTimer()
	}
	for _, it := range batch {
		it.res <- err
	}
}

// appendBatch encodes and writes the batch; on a failed write the chain
// position is restored (and a partial write breaks the device until
// Reopen, since the log then ends mid-line).
func (d *Device) appendBatch(batch []*item) error {
	saved := d.chain
	d.buf.Reset()
	for _, it := range batch {
		if err := d.encodeEntry(it); err != nil {
			d.restore(saved)
			return err
		}
		if d.chain.sinceCP >= uint64(d.opts.CheckpointEvery) {
			if err := d.encodeCheckpoint(); err != nil {
				d.restore(saved)
				return err
			}
		}
	}
	if err := d.flushBuf(); err != nil {
		d.restore(saved)
		return err
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
	return nil
}

// encodeEntry appends the entry's line and ratchets the key generation
// when due. A line carries the generation its caller encoded it with: the
// one current then, so a generation covers RatchetEvery entries plus
// those encoded concurrently with the switch.
func (d *Device) encodeEntry(it *item) error {
	line := chainLine(make([]byte, 0, len(it.body)+100), it.body, d.chain.Seq+1, d.chain.PrevHash)
	d.chain.genCount++
	d.chain.sinceCP++
	d.appendLine(line)
	if d.chain.genCount >= uint64(d.opts.RatchetEvery) {
		d.chain.Gen++
		d.chain.genCount = 0
		d.publishGen()
	}
	return nil
}

// restore puts the chain back after a failed write.
func (d *Device) restore(saved chainState) {
	d.chain = saved
	d.publishGen()
}

// encodeCheckpoint appends a signed checkpoint line.
func (d *Device) encodeCheckpoint() error {
	cp := wireCheckpoint{
		Time: formatTime(time.Now()), Type: TypeCheckpoint, HMACKeyGen: d.chain.Gen,
		Seq: d.chain.Seq + 1, PrevHash: d.chain.PrevHash, Count: d.chain.sinceCP,
		KeyID: KeyID(d.opts.SigningKey.Public().(ed25519.PublicKey)),
	}
	line, err := checkpointLine(&cp, d.opts.SigningKey)
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
	d.chain.Seq++
	d.chain.PrevHash = lineHash(line)
}

// writeCheckpoint writes a checkpoint on its own (Reopen, Close).
func (d *Device) writeCheckpoint() error {
	if d.broken != nil {
		return d.broken
	}
	saved := d.chain
	d.buf.Reset()
	if err := d.encodeCheckpoint(); err != nil {
		d.chain = saved
		return err
	}
	if err := d.flushBuf(); err != nil {
		d.chain = saved
		return err
	}
	return nil
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
