package cluster

import (
	"fmt"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Recorder logs the call and return of every operation of concurrent
// clients, in the order they happen. Each event is appended under one
// mutex, so the log order is a real-time order: a call is logged before
// the request is sent and a return after the answer arrived. Times (from
// the monotonic clock, since the Recorder was made) are kept for the
// visualization and the final-read check.
//
// An operation ends in one of three ways: Return (it took effect and
// returned this output), Unknown (a put whose outcome is unknown: timeout,
// connection error, 5xx; see Events), or Drop (it certainly had no effect:
// a failed get, or a put refused with a 4xx or before a connection was
// made). An operation ends once; later calls for it are ignored. All
// methods are safe for concurrent use.
type Recorder struct {
	start time.Time

	mu  sync.Mutex
	log []recEvent
	ops []*recOp
}

// recEvent is one logged call or return, pointing at its operation.
type recEvent struct {
	op   int
	kind porcupine.EventKind
}

// outcome is how an operation ended.
type outcome uint8

const (
	pending outcome = iota
	returned
	unknown
	dropped
)

// recOp is one operation and what became of it.
type recOp struct {
	client  int
	node    int
	in      kvInput
	out     kvOutput
	call    time.Duration
	ret     time.Duration
	outcome outcome
}

// NewRecorder starts the clock.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Call logs the invocation of in by client (a process id) against node and
// returns the operation's id.
func (r *Recorder) Call(client, node int, in kvInput) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := len(r.ops)
	r.ops = append(r.ops, &recOp{client: client, node: node, in: in, call: time.Since(r.start)})
	r.log = append(r.log, recEvent{op: id, kind: porcupine.CallEvent})
	return id
}

// Return logs that operation id completed with out.
func (r *Recorder) Return(id int, out kvOutput) {
	r.finish(id, returned, out)
}

// Unknown marks a put whose effect is unknown: it stays open forever.
func (r *Recorder) Unknown(id int) { r.finish(id, unknown, kvOutput{}) }

// Drop removes an operation that certainly had no effect.
func (r *Recorder) Drop(id int) { r.finish(id, dropped, kvOutput{}) }

func (r *Recorder) finish(id int, o outcome, out kvOutput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op := r.ops[id]
	if op.outcome != pending {
		return // the first outcome stands
	}
	if o == unknown && op.in.Op != opPut {
		o = dropped // a get that did not answer tells nothing
	}
	op.outcome, op.out, op.ret = o, out, time.Since(r.start)
	if o == returned {
		r.log = append(r.log, recEvent{op: id, kind: porcupine.ReturnEvent})
	}
}

// Events returns the history for porcupine: every call and return in log
// order, without dropped operations (nor gets still pending), followed by
// the return events of the puts whose outcome is unknown or still pending,
// which makes their intervals open: they may take effect at any point after
// their call, or never be observed.
//
// An open put whose value no get returned is left out: with no deletes, a
// history is linearizable with it if and only if it is without it (put it
// last, or drop it: nothing could observe it in between). Leaving these out
// keeps porcupine's search small when many requests time out.
func (r *Recorder) Events() []porcupine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	read := r.valuesRead()
	open := func(op *recOp) bool {
		return op.in.Op == opPut && (op.outcome == unknown || op.outcome == pending)
	}
	var out []porcupine.Event
	for _, e := range r.log {
		op := r.ops[e.op]
		if op.outcome == dropped || (op.outcome == pending && op.in.Op == opGet) || (open(op) && !read[op.in.Value]) {
			continue
		}
		ev := porcupine.Event{ClientId: op.client, Kind: e.kind, Id: e.op, Value: op.in}
		if e.kind == porcupine.ReturnEvent {
			ev.Value = op.out
			ev.Metadata = r.describe(op)
		}
		out = append(out, ev)
	}
	for id, op := range r.ops {
		if open(op) && read[op.in.Value] {
			out = append(out, porcupine.Event{ClientId: op.client, Kind: porcupine.ReturnEvent, Id: id, Metadata: r.describe(op)})
		}
	}
	return out
}

func (r *Recorder) describe(op *recOp) string {
	if op.outcome != returned {
		return fmt.Sprintf("node%d, called at %v, outcome unknown", op.node, op.call.Round(time.Millisecond))
	}
	return fmt.Sprintf("node%d, %v .. %v", op.node, op.call.Round(time.Millisecond), op.ret.Round(time.Millisecond))
}

// RecorderStats counts operations by kind and outcome.
type RecorderStats struct {
	AckedPuts, UnknownPuts, FailedPuts int
	OkGets, FailedGets                 int
	// UnknownSeen counts the unknown puts whose value a get returned: they
	// took effect although their client saw a failure.
	UnknownSeen int
}

// Stats counts the recorded operations.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s RecorderStats
	read := r.valuesRead()
	for _, op := range r.ops {
		if op.in.Op == opPut && op.outcome == unknown && read[op.in.Value] {
			s.UnknownSeen++
		}
		switch {
		case op.in.Op == opPut && op.outcome == returned:
			s.AckedPuts++
		case op.in.Op == opPut && op.outcome == dropped:
			s.FailedPuts++
		case op.in.Op == opPut:
			s.UnknownPuts++
		case op.outcome == returned:
			s.OkGets++
		default:
			s.FailedGets++
		}
	}
	return s
}

// valuesRead is the set of values some get returned. The caller holds r.mu.
func (r *Recorder) valuesRead() map[string]bool {
	read := map[string]bool{}
	for _, op := range r.ops {
		if op.in.Op == opGet && op.outcome == returned && op.out.Exists {
			read[op.out.Value] = true
		}
	}
	return read
}

// snapshot copies the operations (for checks that need their times).
func (r *Recorder) snapshot() []recOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]recOp, len(r.ops))
	for i, op := range r.ops {
		out[i] = *op
	}
	return out
}
