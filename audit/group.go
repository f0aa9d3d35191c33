package audit

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"
)

// Group commit.
//
// Writing is a role, held by one goroutine at a time: the writer state
// of a Device (chain, reservation, buffers, the writer itself) belongs to
// the holder. A caller that finds the role free takes it and writes its
// own line, with no handoff to another goroutine. A caller that finds it
// held queues its item and waits; when the holder has written its batch
// it answers the entries it wrote and hands the role to the first item
// still queued, whose goroutine then writes every entry queued by then
// in one write (up to maxBatch), and so on: one write per batch, and the
// role moves only to a goroutine that had to be woken anyway.
//
// Background work (the open checkpoint at start, Reopen, Close) queues
// for the role like an entry and runs when handed it; the batch sync
// needs no role (see batchSync).
//
// Bounds: a queued caller waits at most Options.Wait: one watchdog timer
// (expire) fails the entries that have waited that long, queued or in a
// write still in progress, with ErrTimeout (an entry in that write may
// still be written). A caller whose ctx ends leaves the queue. A caller
// holding the role is bounded by the writer itself: a file write, a
// socket write under its WriteTimeout deadline, and with FsyncAlways the
// sync. A queued caller first spins briefly (see spin): on a multicore
// machine the write it waits for is often over before a park and wakeup
// would be.

// itemState is where an item stands; guarded by Device.mu.
type itemState uint8

const (
	// queued: waiting in Device.queue.
	queued itemState = iota
	// taken: in a batch being written.
	taken
	// done: answered (err is set).
	done
	// lead: handed the writer role, not yet acting.
	lead
	// abandoned: its caller gave up while it was queued or led.
	abandoned
)

// item is an entry or a task waiting for the writer role.
type item struct {
	// body is an entry's line but the chain fields, encoded by its
	// caller; nil for a task.
	body  []byte
	state itemState
	err   error
	// wake is signalled once: when the item is answered or handed the
	// role (state says which).
	wake chan struct{}
	// queuedAt is when an entry was queued; the watchdog fails it with
	// ErrTimeout once it has waited Options.Wait.
	queuedAt time.Time
	// orphan: failed by the watchdog while its batch was being written;
	// the writer still holds it, so it is not recycled.
	orphan bool
}

// newItem returns a pooled item for an entry.
func (d *Device) newItem() *item {
	if it, _ := d.items.Get().(*item); it != nil {
		return it
	}
	return &item{wake: make(chan struct{}, 1)}
}

// recycle pools an item whose wake signal was consumed (or never sent).
func (d *Device) recycle(it *item) {
	if cap(it.body) > maxKeptBody {
		it.body = nil
	}
	it.body, it.state, it.err, it.orphan = it.body[:0], queued, nil, false
	d.items.Put(it)
}

// maxKeptBody is the largest entry buffer an item keeps in the pool.
const maxKeptBody = 64 << 10

// log encodes e and records its line through the group commit.
func (d *Device) log(ctx context.Context, typ string, e *Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	it := d.newItem()
	var err error
	if it.body, err = d.encode(it.body[:0], typ, e); err != nil {
		d.recycle(it)
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.recycle(it)
		return ErrClosed
	}
	if d.busy {
		it.queuedAt = time.Now()
		d.queue = append(d.queue, it)
		d.watchLocked()
		d.mu.Unlock()
		return d.wait(ctx, it)
	}
	d.busy = true
	d.mu.Unlock()
	d.lead(it)
	err = it.err
	d.recycle(it)
	return err
}

// wait waits for a queued entry to be answered (the watchdog answers it
// with ErrTimeout after Options.Wait), or to be handed the role (then
// writes its batch), or for ctx to end.
func (d *Device) wait(ctx context.Context, it *item) error {
	if d.spin(it) {
		return d.woken(it)
	}
	done := ctx.Done()
	if done == nil {
		<-it.wake
		return d.woken(it)
	}
	select {
	case <-it.wake:
		return d.woken(it)
	case <-done:
	}
	if !d.abandon(it) {
		<-it.wake // answered or handed the role meanwhile
		return d.woken(it)
	}
	return fmt.Errorf("audit: %w", ctx.Err())
}

// spinFor is how long a queued caller polls for its answer, yielding
// its processor, before it parks: a few writes, so that a caller queued
// behind a write in progress is answered without parking and waking an
// idle processor. Only as many callers spin as there are processors
// besides the writer's; the others park at once.
const spinFor = 50 * time.Microsecond

// spin polls it's wake signal for up to spinFor, yielding its processor
// to any other goroutine in between; true when the signal came.
func (d *Device) spin(it *item) bool {
	if n := d.spinners.Add(1); n > d.maxSpinners {
		d.spinners.Add(-1)
		return false
	}
	defer d.spinners.Add(-1)
	start := time.Now()
	for {
		select {
		case <-it.wake:
			return true
		default:
		}
		if time.Since(start) > spinFor {
			return false
		}
		runtime.Gosched()
	}
}

// woken acts on an item's wake signal and returns the entry's result.
func (d *Device) woken(it *item) error {
	if it.state == lead {
		d.lead(it)
	}
	err := it.err
	if !it.orphan {
		d.recycle(it)
	}
	return err
}

// abandon takes a queued or led item out of the group commit when its
// caller gives up; it returns false when the item was answered or
// handed the role meanwhile (its signal is then pending), true when the
// caller may return (the item is then never recycled: a late answer may
// still signal it).
func (d *Device) abandon(it *item) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch it.state {
	case queued:
		d.queue = slices.DeleteFunc(d.queue, func(q *item) bool { return q == it })
	case lead:
		// Handed the role and gone without using it: pass it on. The
		// signal already sent stays in wake, which is not reused.
		d.releaseLocked()
	case taken:
		// Being written: its caller leaves it to the writer.
		return true
	default: // done
		return false
	}
	it.state = abandoned
	return true
}

// acquire takes the writer role for a task, waiting behind the queued
// items. With a timeout channel it gives up (false) when that fires.
func (d *Device) acquire(timeout <-chan time.Time) bool {
	d.mu.Lock()
	if !d.busy {
		d.busy = true
		d.mu.Unlock()
		return true
	}
	it := &item{wake: make(chan struct{}, 1)}
	d.queue = append(d.queue, it)
	d.mu.Unlock()
	select {
	case <-it.wake:
		return true
	case <-timeout:
		if d.abandon(it) {
			return false
		}
		<-it.wake
		return true
	}
}

// release hands the writer role on (see releaseLocked).
func (d *Device) release() {
	d.mu.Lock()
	d.releaseLocked()
	d.mu.Unlock()
}

// releaseLocked hands the writer role to the first queued item, or
// frees it when none is queued.
func (d *Device) releaseLocked() {
	if len(d.queue) == 0 {
		d.busy = false
		return
	}
	next := d.queue[0]
	d.queue = slices.Delete(d.queue, 0, 1)
	next.state = lead
	next.wake <- struct{}{}
}

// lead writes self's entry with the entries queued now, holding the
// writer role, answers them and hands the role on. self's result is in
// self.err.
func (d *Device) lead(self *item) {
	batch := append(d.batch[:0], self)
	d.mu.Lock()
	batch = d.takeLocked(batch)
	d.mu.Unlock()
	err := d.writeBatch(batch)
	d.mu.Lock()
	d.answerLocked(batch, self, err)
	d.releaseLocked()
	d.mu.Unlock()
}

// answer gives a written batch its result (see answerLocked).
func (d *Device) answer(batch []*item, self *item, err error) {
	d.mu.Lock()
	d.answerLocked(batch, self, err)
	d.mu.Unlock()
}

// answerLocked gives every entry of the batch its result and wakes its
// caller (self's caller is the one running; the watchdog answered the
// entries no longer taken). The holder of the writer role calls it; the
// batch slice is its to reuse.
func (d *Device) answerLocked(batch []*item, self *item, err error) {
	for _, it := range batch {
		switch {
		case it == self:
			it.state, it.err = done, err
		case it.state == taken:
			it.state, it.err = done, err
			it.wake <- struct{}{}
		}
	}
	clear(batch)
	d.batch = batch[:0]
	d.inflight = nil
}

// takeLocked moves the queued entries into batch, up to maxBatch, in
// order; tasks stay queued.
func (d *Device) takeLocked(batch []*item) []*item {
	kept := d.queue[:0]
	for _, it := range d.queue {
		if it.body == nil || len(batch) == maxBatch {
			kept = append(kept, it)
			continue
		}
		it.state = taken
		batch = append(batch, it)
	}
	clear(d.queue[len(kept):])
	d.queue = kept
	d.inflight = batch
	return batch
}

// watchLocked arms the watchdog for a newly queued entry unless it is
// armed: then it fires for an older one first.
func (d *Device) watchLocked() {
	if d.watchArmed {
		return
	}
	d.watchArmed = true
	if d.watch == nil {
		d.watch = time.AfterFunc(d.opts.Wait, d.expire)
		return
	}
	d.watch.Reset(d.opts.Wait)
}

// expire is the watchdog: it fails with ErrTimeout the entries that have
// waited Options.Wait, queued or in a write still in progress, and arms
// itself for the oldest of the others. One timer serves every waiting
// caller, and under load it fires about once per Wait.
func (d *Device) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	cutoff := now.Add(-d.opts.Wait)
	var oldest time.Time
	track := func(it *item, orphan bool) bool {
		if !it.queuedAt.After(cutoff) {
			it.state, it.err, it.orphan = done, fmt.Errorf("%w (%s)", ErrTimeout, d.opts.Wait), orphan
			it.wake <- struct{}{}
			return false
		}
		if oldest.IsZero() || it.queuedAt.Before(oldest) {
			oldest = it.queuedAt
		}
		return true
	}
	d.queue = slices.DeleteFunc(d.queue, func(it *item) bool {
		return it.body != nil && !track(it, false)
	})
	for _, it := range d.inflight {
		if it.state == taken {
			track(it, true)
		}
	}
	if oldest.IsZero() {
		d.watchArmed = false
		return
	}
	d.watch.Reset(oldest.Add(d.opts.Wait).Sub(now))
}

// control runs f holding the writer role and waits for it, at most
// Options.Wait in all: a busy writer fails it with ErrTimeout (f then
// does not run, or, if it had started, finishes on its own).
func (d *Device) control(f func() error) error {
	t := time.NewTimer(d.opts.Wait)
	defer t.Stop()
	if !d.acquire(t.C) {
		return fmt.Errorf("%w (%s): writer busy", ErrTimeout, d.opts.Wait)
	}
	res := make(chan error, 1)
	go func() {
		defer d.release()
		if d.finished {
			res <- ErrClosed
			return
		}
		res <- f()
	}()
	select {
	case err := <-res:
		return err
	case <-t.C:
		return fmt.Errorf("%w (%s): writer busy", ErrTimeout, d.opts.Wait)
	}
}
