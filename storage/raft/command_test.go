package raft

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
)

func TestCommandRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ops  []*storage.Op
	}{
		{"single put", []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "a", Value: []byte("v")}}}},
		{"empty value", []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "a"}}}},
		{"delete", []*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "a/b"}}}},
		{"mixed, long", []*storage.Op{
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: strings.Repeat("k", 300), Value: bytes.Repeat([]byte{0, 1}, 70000)}},
			{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "x"}},
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: "y", Value: []byte{0xff}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := encodeBatch(tc.ops)
			if len(buf) != encodedSize(tc.ops) {
				t.Fatalf("encoded %d bytes, encodedSize says %d", len(buf), encodedSize(tc.ops))
			}
			got, err := decodeBatch(buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.ops) {
				t.Fatalf("decoded %d ops, want %d", len(got), len(tc.ops))
			}
			for i, op := range tc.ops {
				g := got[i]
				if g.kind != op.Kind || string(g.key) != op.Entry.Key || !bytes.Equal(g.value, op.Entry.Value) {
					t.Fatalf("op %d: got %v %q (%d bytes)", i, g.kind, g.key, len(g.value))
				}
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	valid := encodeBatch([]*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "k", Value: []byte("v")}}})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{commandVersion}},
		{"future version", append([]byte{2}, valid[1:]...)},
		{"unknown type", append([]byte{commandVersion, 9}, valid[2:]...)},
		{"truncated", valid[:len(valid)-1]},
		{"trailing bytes", append(append([]byte{}, valid...), 0)},
		{"unknown op kind", []byte{commandVersion, cmdBatch, 1, 7, 1, 'k'}},
		{"huge count", []byte{commandVersion, cmdBatch, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"non-minimal varint", []byte{commandVersion, cmdBatch, 0x80, 0x00}},
		{"key past end", []byte{commandVersion, cmdBatch, 1, 2, 100, 'k'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeBatch(tc.data); !errors.Is(err, errBadCommand) {
				t.Fatalf("decodeBatch = %v, want errBadCommand", err)
			}
		})
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([]*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "k", Value: []byte("v")}}}))
	f.Add(encodeBatch([]*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "k"}}}))
	f.Add([]byte{commandVersion, cmdBatch, 0})
	f.Add(encodeMulti([][]byte{{commandVersion, cmdBatch, 0}, {1}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if batches, errs, _, err := decodeEntry(data); err == nil && len(batches) != len(errs) {
			t.Fatalf("decodeEntry: %d batches, %d errors", len(batches), len(errs))
		}
		ops, err := decodeBatch(data)
		if err != nil {
			return
		}
		// Anything that decodes re-encodes to the same bytes.
		in := make([]*storage.Op, len(ops))
		for i, op := range ops {
			in[i] = &storage.Op{Kind: op.kind, Entry: &storage.Entry{Key: string(op.key), Value: op.value}}
		}
		if again := encodeBatch(in); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n%x\n%x", data, again)
		}
	})
}
