package cluster

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// opKind is the operation of a KV register map.
type opKind uint8

const (
	opGet opKind = iota
	opPut
)

// kvInput is one operation on one key. Put values are unique per run, so a
// value read names the put that wrote it.
type kvInput struct {
	Op    opKind
	Key   string
	Value string // put only
}

// kvOutput is what an operation returned. A put has no output beyond
// success; a put whose outcome is unknown is never given an output at all
// (its return event comes after every other event).
type kvOutput struct {
	Value  string // get: the value read
	Exists bool   // get: false if the key was absent
}

// register is the model state of one key (the map is partitioned by key).
type register struct {
	Value  string
	Exists bool
}

// kvModel is a map of independent registers: put(k, v) sets k, get(k)
// returns k's value or absent. Histories are partitioned by key, so each
// partition is checked against a single register.
var kvModel = porcupine.Model{
	Partition:      partitionOps,
	PartitionEvent: partitionEvents,
	Init:           func() any { return register{} },
	Step: func(state, input, output any) (bool, any) {
		st, in := state.(register), input.(kvInput)
		if in.Op == opPut {
			return true, register{Value: in.Value, Exists: true}
		}
		out, _ := output.(kvOutput)
		return out == kvOutput(st), st
	},
	DescribeOperation: describeOp,
	DescribeState: func(state any) string {
		if st := state.(register); st.Exists {
			return fmt.Sprintf("%q", st.Value)
		}
		return "absent"
	},
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return fmt.Sprint(info)
	},
}

func describeOp(input, output any) string {
	in := input.(kvInput)
	if in.Op == opPut {
		if _, known := output.(kvOutput); !known {
			return fmt.Sprintf("put(%s, %q) -> ?", in.Key, in.Value)
		}
		return fmt.Sprintf("put(%s, %q)", in.Key, in.Value)
	}
	out, _ := output.(kvOutput)
	if !out.Exists {
		return fmt.Sprintf("get(%s) -> absent", in.Key)
	}
	return fmt.Sprintf("get(%s) -> %q", in.Key, out.Value)
}

// partitionEvents splits a history by key; a return event follows its call.
func partitionEvents(history []porcupine.Event) [][]porcupine.Event {
	byKey := map[string][]porcupine.Event{}
	keyOf := map[int]string{}
	for _, e := range history {
		if e.Kind == porcupine.CallEvent {
			keyOf[e.Id] = e.Value.(kvInput).Key
		}
		k := keyOf[e.Id]
		byKey[k] = append(byKey[k], e)
	}
	return sortedParts(byKey)
}

// partitionOps splits an operation history by key.
func partitionOps(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(kvInput).Key
		byKey[k] = append(byKey[k], op)
	}
	return sortedParts(byKey)
}

// sortedParts returns the map's values ordered by key, so that partitions
// (and visualizations) come out in a stable order.
func sortedParts[T any](m map[string][]T) [][]T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// checkHistory runs porcupine on the events. If the result is not Ok it
// writes the visualization to a temp file and returns its path; if htmlPath
// is set it writes the visualization there whatever the result.
func checkHistory(events []porcupine.Event, timeout time.Duration, htmlPath string) (porcupine.CheckResult, string, error) {
	res, info := porcupine.CheckEventsVerbose(kvModel, events, timeout)
	if res == porcupine.Ok && htmlPath == "" {
		return res, "", nil
	}
	if htmlPath == "" {
		f, err := os.CreateTemp("", "secretum-linearizability-*.html")
		if err != nil {
			return res, "", fmt.Errorf("create visualization file: %w", err)
		}
		htmlPath = f.Name()
		f.Close()
	}
	if err := porcupine.VisualizePath(kvModel, info, htmlPath); err != nil {
		return res, "", fmt.Errorf("write visualization %s: %w", htmlPath, err)
	}
	return res, htmlPath, nil
}
