package audit

import (
	"context"
	"fmt"
	"math"
)

// reservation is the writer's seq bound (see Options.Reserve).
type reservation struct {
	// bound: no line is written at a seq >= bound (MaxUint64 without
	// Reserve).
	bound uint64
	// busy: an extension is in flight; its result arrives on c.
	busy bool
	c    chan reserveResult
	// err is the last extension's failure (nil once one succeeds).
	err error
}

// reserveResult is the outcome of one extension.
type reserveResult struct {
	upTo uint64
	err  error
}

// reserveStart reserves the seqs below seq0+ReserveBlock before a device
// starts, bounded by Options.Wait even when Reserve ignores its ctx.
func reserveStart(o Options, seq0 uint64) (reservation, error) {
	if o.Reserve == nil {
		return reservation{bound: math.MaxUint64}, nil
	}
	upTo := seq0 + o.ReserveBlock
	ctx, cancel := context.WithTimeout(context.Background(), o.Wait)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- o.Reserve(ctx, upTo) }()
	select {
	case err := <-res:
		if err != nil {
			return reservation{}, fmt.Errorf("%w: reserve seqs below %d: %w", ErrReservation, upTo, err)
		}
	case <-ctx.Done():
		return reservation{}, fmt.Errorf("%w: reserve seqs below %d: no answer within %s: %w", ErrReservation, upTo, o.Wait, ctx.Err())
	}
	return reservation{bound: upTo, c: make(chan reserveResult, 1)}, nil
}

// room says whether the next line fits under the bound: a closing
// checkpoint (rotate, close) may take the last seq below it, any other
// line must leave that seq free.
func (d *Device) room(closing bool) error {
	limit := d.resv.bound
	if !closing {
		limit--
	}
	if d.chain.next < limit {
		return nil
	}
	if d.resv.err != nil {
		return fmt.Errorf("%w: seq %d reaches the reserved bound %d (last extension: %w)", ErrReservation, d.chain.next, d.resv.bound, d.resv.err)
	}
	return fmt.Errorf("%w: seq %d reaches the reserved bound %d (extension pending)", ErrReservation, d.chain.next, d.resv.bound)
}

// maybeExtend starts an extension when the next seq is within half a
// block of the bound and none is in flight.
func (d *Device) maybeExtend() {
	r := &d.resv
	if d.opts.Reserve == nil || r.busy || d.chain.next < r.bound-d.opts.ReserveBlock/2 {
		return
	}
	r.busy = true
	upTo := r.bound + d.opts.ReserveBlock
	reserve, wait, ctx, c := d.opts.Reserve, d.opts.Wait, d.ctx, r.c
	go func() {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		c <- reserveResult{upTo: upTo, err: reserve(ctx, upTo)}
	}()
}

// pollExtension applies the result of the extension in flight, if it
// has come (the holder of the writer role calls it before writing).
func (d *Device) pollExtension() {
	select {
	case res := <-d.resv.c:
		d.extended(res)
	default:
	}
}

// extended applies an extension's result.
func (d *Device) extended(res reserveResult) {
	r := &d.resv
	r.busy = false
	r.err = res.err
	if res.err == nil && res.upTo > r.bound {
		r.bound = res.upTo
	}
}
