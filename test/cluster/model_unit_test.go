package cluster

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// step is one action on a Recorder in a hand-built history: call op `op`
// (its index among the calls), or end it.
type step struct {
	call *kvInput  // call a new operation
	end  int       // else: end the operation with this index...
	how  outcome   // ...this way
	out  *kvOutput // ...with this output (returned only)
}

func put(k, v string) step { return step{call: &kvInput{Op: opPut, Key: k, Value: v}} }
func get(k string) step    { return step{call: &kvInput{Op: opGet, Key: k}} }
func ok(i int) step        { return step{end: i, how: returned, out: &kvOutput{}} }
func saw(i int, v string) step {
	return step{end: i, how: returned, out: &kvOutput{Value: v, Exists: true}}
}
func absent(i int) step  { return step{end: i, how: returned, out: &kvOutput{}} }
func lost(i int) step    { return step{end: i, how: unknown} }
func refused(i int) step { return step{end: i, how: dropped} }

// replay runs steps through a Recorder and returns it.
func replay(steps []step) *Recorder {
	rec := NewRecorder()
	var ids []int
	for _, s := range steps {
		if s.call != nil {
			ids = append(ids, rec.Call(0, 0, *s.call))
			continue
		}
		switch s.how {
		case returned:
			rec.Return(ids[s.end], *s.out)
		case unknown:
			rec.Unknown(ids[s.end])
		case dropped:
			rec.Drop(ids[s.end])
		}
	}
	return rec
}

// TestModelCatchesViolations proves the model and the Recorder: illegal
// hand-built histories are rejected (with a visualization), legal ones pass.
func TestModelCatchesViolations(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  porcupine.CheckResult
	}{
		{"stale read after an acknowledged put", []step{put("x", "1"), ok(0), get("x"), absent(1)}, porcupine.Illegal},
		{"old value after an acknowledged overwrite",
			[]step{put("x", "1"), ok(0), put("x", "2"), ok(1), get("x"), saw(2, "1")}, porcupine.Illegal},
		{"read of the new value, then of the old one",
			[]step{put("x", "1"), ok(0), put("x", "2"), get("x"), saw(2, "2"), get("x"), saw(3, "1"), ok(1)}, porcupine.Illegal},
		{"value nobody wrote", []step{get("x"), saw(0, "9")}, porcupine.Illegal},
		{"sequential put and get", []step{put("x", "1"), ok(0), get("x"), saw(1, "1")}, porcupine.Ok},
		{"concurrent read may see the old value",
			[]step{put("x", "1"), get("x"), absent(1), ok(0)}, porcupine.Ok},
		{"concurrent read may see the new value",
			[]step{put("x", "1"), get("x"), saw(1, "1"), ok(0)}, porcupine.Ok},
		{"unknown put may take effect much later",
			[]step{put("x", "1"), lost(0), get("x"), absent(1), get("x"), saw(2, "1")}, porcupine.Ok},
		{"unknown put may never take effect",
			[]step{put("x", "1"), lost(0), get("x"), absent(1)}, porcupine.Ok},
		{"unknown put cannot be undone once seen",
			[]step{put("x", "1"), lost(0), get("x"), saw(1, "1"), get("x"), absent(2)}, porcupine.Illegal},
		{"refused put never takes effect",
			[]step{put("x", "1"), refused(0), get("x"), saw(1, "1")}, porcupine.Illegal},
		{"failed get is dropped", []step{put("x", "1"), ok(0), get("x"), refused(1)}, porcupine.Ok},
		{"keys are independent", []step{put("x", "1"), ok(0), get("y"), absent(1)}, porcupine.Ok},
		{"violation on one key among several",
			[]step{put("y", "1"), ok(0), put("x", "1"), ok(1), get("y"), saw(2, "1"), get("x"), absent(3)}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, html, err := checkHistory(replay(tt.steps).Events(), 10*time.Second, "")
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Fatalf("porcupine = %v, want %v", res, tt.want)
			}
			if res == porcupine.Ok {
				return
			}
			defer os.Remove(html)
			b, err := os.ReadFile(html)
			if err != nil || !strings.Contains(string(b), "<html") {
				t.Fatalf("visualization %s not written: %v", html, err)
			}
		})
	}
}

func TestRecorderEvents(t *testing.T) {
	// put x=1 (op 0) ends unknown, get x (op 1) returns absent, put x=2
	// (op 2) is refused, get x (op 3) is still pending.
	rec := replay([]step{put("x", "1"), get("x"), put("x", "2"), lost(0), refused(2), absent(1), get("x"),
		get("x"), saw(4, "1"), // someone saw the unknown put's value: it stays
		put("x", "3"), lost(5), // an unknown put nobody saw: left out
	})
	type ev struct {
		kind porcupine.EventKind
		id   int
	}
	want := []ev{
		{porcupine.CallEvent, 0}, {porcupine.CallEvent, 1}, {porcupine.ReturnEvent, 1},
		{porcupine.CallEvent, 4}, {porcupine.ReturnEvent, 4},
		{porcupine.ReturnEvent, 0}, // the unknown put's return comes after everything
	}
	var got []ev
	for _, e := range rec.Events() {
		got = append(got, ev{e.Kind, e.Id})
	}
	if len(got) != len(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events = %v, want %v", got, want)
		}
	}
	if st := rec.Stats(); st.UnknownPuts != 2 || st.UnknownSeen != 1 || st.FailedPuts != 1 || st.OkGets != 2 || st.FailedGets != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCheckFinal(t *testing.T) {
	s := time.Second
	putOp := func(v string, call, ret time.Duration, o outcome) recOp {
		return recOp{in: kvInput{Op: opPut, Key: "x", Value: v}, call: call, ret: ret, outcome: o}
	}
	val := func(v string) kvOutput { return kvOutput{Value: v, Exists: true} }
	tests := []struct {
		name    string
		ops     []recOp
		reads   []kvOutput
		wantErr string
	}{
		{"last acknowledged value", []recOp{putOp("1", 1*s, 2*s, returned), putOp("2", 3*s, 4*s, returned)},
			[]kvOutput{val("2"), val("2")}, ""},
		{"overlapping puts, either may win", []recOp{putOp("1", 1*s, 4*s, returned), putOp("2", 2*s, 3*s, returned)},
			[]kvOutput{val("1")}, ""},
		{"an unknown put may win", []recOp{putOp("1", 1*s, 2*s, returned), putOp("2", 0, 0, unknown)},
			[]kvOutput{val("2")}, ""},
		{"never written and absent", []recOp{putOp("1", 1*s, 2*s, unknown)}, []kvOutput{{}}, ""},
		{"acknowledged write lost, key absent", []recOp{putOp("1", 1*s, 2*s, returned)},
			[]kvOutput{{}}, "acknowledged write lost"},
		{"acknowledged overwrite lost", []recOp{putOp("1", 1*s, 2*s, returned), putOp("2", 3*s, 4*s, returned)},
			[]kvOutput{val("1")}, "acknowledged write lost"},
		{"value never written", []recOp{putOp("1", 1*s, 2*s, returned)}, []kvOutput{val("7")}, "never written"},
		{"refused put applied", []recOp{putOp("1", 1*s, 2*s, dropped)}, []kvOutput{val("1")}, "failed definitely"},
		{"nodes disagree", []recOp{putOp("1", 1*s, 2*s, returned), putOp("2", 3*s, 4*s, unknown)},
			[]kvOutput{val("1"), val("2")}, "disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := checkFinal(tt.ops, map[string][]kvOutput{"x": tt.reads})
			if tt.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.wantErr) {
				t.Fatalf("errors = %v, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}
