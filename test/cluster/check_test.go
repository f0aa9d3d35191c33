package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// checkFinal verifies, after every fault is undone, that each key's final
// reads (one per node) agree and are consistent with the acknowledged
// writes: the value read was written by a put that was not superseded by an
// acknowledged put called after it returned, and an absent key was never
// acknowledged as written. It returns one error per violation.
func checkFinal(ops []recOp, final map[string][]kvOutput) []error {
	var errs []error
	for key, reads := range final {
		for _, r := range reads[1:] {
			if r != reads[0] {
				errs = append(errs, fmt.Errorf("key %s: nodes disagree after recovery: %v", key, reads))
				break
			}
		}
		if err := checkKeyFinal(ops, key, reads[0]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkKeyFinal(ops []recOp, key string, got kvOutput) error {
	var writer *recOp
	var acked []*recOp
	for i := range ops {
		op := &ops[i]
		if op.in.Op != opPut || op.in.Key != key {
			continue
		}
		if op.outcome == returned {
			acked = append(acked, op)
		}
		if got.Exists && op.in.Value == got.Value {
			writer = op
		}
	}
	switch {
	case !got.Exists && len(acked) > 0:
		return fmt.Errorf("key %s: acknowledged write lost: %d puts acknowledged (last %q), final read absent",
			key, len(acked), acked[len(acked)-1].in.Value)
	case !got.Exists:
		return nil
	case writer == nil:
		return fmt.Errorf("key %s: final read %q was never written", key, got.Value)
	case writer.outcome == dropped:
		return fmt.Errorf("key %s: final read %q was written by a put that failed definitely", key, got.Value)
	case writer.outcome != returned:
		return nil // an open put may take effect after everything else
	}
	for _, q := range acked {
		if q.call > writer.ret {
			return fmt.Errorf("key %s: acknowledged write lost: final read %q (put returned at %v) but put %q was called at %v and acknowledged",
				key, got.Value, writer.ret, q.in.Value, q.call)
		}
	}
	return nil
}

// requireLinearizable fails t unless the recorded history is linearizable
// (naming the visualization file if not) and the final reads keep every
// acknowledged write. $SECRETUM_LINEARIZABILITY_HTML, if set, is a path
// where the visualization is written whatever the result.
func requireLinearizable(t *testing.T, rec *Recorder, final map[string][]kvOutput) {
	t.Helper()
	st := rec.Stats()
	t.Logf("history: %d acknowledged puts, %d unknown puts (%d of them seen by a read), %d failed puts, %d gets, %d failed gets",
		st.AckedPuts, st.UnknownPuts, st.UnknownSeen, st.FailedPuts, st.OkGets, st.FailedGets)
	for _, err := range checkFinal(rec.snapshot(), final) {
		t.Error(err)
	}
	start := time.Now()
	res, html, err := checkHistory(rec.Events(), 5*time.Minute, os.Getenv("SECRETUM_LINEARIZABILITY_HTML"))
	if err != nil {
		t.Error(err)
	}
	t.Logf("porcupine: %v in %v", res, time.Since(start).Round(time.Millisecond))
	switch res {
	case porcupine.Ok:
		if html != "" {
			t.Logf("visualization written to %s", html)
		}
	case porcupine.Illegal:
		t.Fatalf("history is not linearizable; visualization: %s", html)
	default:
		t.Fatalf("porcupine could not decide within its timeout (%v), so linearizability is not proven; visualization: %s", res, html)
	}
}

// requireStaleReadDetected appends one stale read to the recorded history
// (a get after everything that returns an acknowledged value the final
// reads show was overwritten) and fails t unless porcupine rejects it: the
// check that passed on the real history is able to fail on it.
func requireStaleReadDetected(t *testing.T, rec *Recorder, final map[string][]kvOutput) {
	t.Helper()
	events := rec.Events()
	for _, op := range rec.snapshot() {
		fin := final[op.in.Key]
		if op.in.Op != opPut || op.outcome != returned || len(fin) == 0 || fin[0].Value == op.in.Value {
			continue
		}
		id := len(events) + 1_000_000
		events = append(events,
			porcupine.Event{Kind: porcupine.CallEvent, Id: id, Value: kvInput{Op: opGet, Key: op.in.Key}},
			porcupine.Event{Kind: porcupine.ReturnEvent, Id: id, Value: kvOutput{Value: op.in.Value, Exists: true}})
		res, html, err := checkHistory(events, time.Minute, "")
		if html != "" {
			os.Remove(html)
		}
		if err != nil || res != porcupine.Illegal {
			t.Fatalf("a stale read of %s = %q appended to the history was not caught: %v, %v", op.in.Key, op.in.Value, res, err)
		}
		return
	}
	t.Fatal("no overwritten acknowledged value to build a stale read from")
}
