package raft

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/storage"
)

// Command encoding. Every raft log entry of type LogCommand written by this
// package carries one command, either a batch (one caller's Put, Delete or
// Transaction):
//
//	byte    version   (commandVersion = 1)
//	byte    type      (cmdBatch = 1)
//	uvarint n         number of ops
//	n times:
//	  byte    kind      (storage.OpPut = 1, storage.OpDelete = 2)
//	  uvarint keyLen, keyLen bytes of key
//	  uvarint valLen, valLen bytes of value   (OpPut only)
//
// or a group of batches from concurrent callers (group commit, see
// proposer.go), whose FSM response is one error per batch:
//
//	byte    version   (commandVersion = 1)
//	byte    type      (cmdMulti = 2)
//	uvarint n         number of batches
//	n times: uvarint len, len bytes of a complete cmdBatch command
//
// Each batch is applied all-or-nothing, independently of the others in its
// group. Varints must be minimal, so a command has exactly one encoding.
// Decoders reject unknown versions and types, so a node never
// half-understands a newer command; a future version adds a type (e.g.
// membership metadata) or bumps the version byte, and nodes are upgraded
// before it is proposed.
const (
	commandVersion byte = 1
	cmdBatch       byte = 1
	cmdMulti       byte = 2
)

// multiOverhead bounds the bytes cmdMulti adds per batch (a length varint)
// and once (version, type, count).
const multiOverhead = binary.MaxVarintLen64

// errBadCommand marks a log entry the FSM cannot decode.
var errBadCommand = errors.New("raft: malformed command")

// encodedSize returns the exact encoded length of ops.
func encodedSize(ops []*storage.Op) int {
	n := 2 + uvarintLen(uint64(len(ops)))
	for _, op := range ops {
		n += 1 + uvarintLen(uint64(len(op.Entry.Key))) + len(op.Entry.Key)
		if op.Kind == storage.OpPut {
			n += uvarintLen(uint64(len(op.Entry.Value))) + len(op.Entry.Value)
		}
	}
	return n
}

// encodeBatch encodes ops as a cmdBatch command. The caller has validated
// them (see validateOps).
func encodeBatch(ops []*storage.Op) []byte {
	buf := make([]byte, 0, encodedSize(ops))
	buf = append(buf, commandVersion, cmdBatch)
	buf = binary.AppendUvarint(buf, uint64(len(ops)))
	for _, op := range ops {
		buf = append(buf, byte(op.Kind))
		buf = binary.AppendUvarint(buf, uint64(len(op.Entry.Key)))
		buf = append(buf, op.Entry.Key...)
		if op.Kind == storage.OpPut {
			buf = binary.AppendUvarint(buf, uint64(len(op.Entry.Value)))
			buf = append(buf, op.Entry.Value...)
		}
	}
	return buf
}

// encodeMulti groups complete cmdBatch commands into one cmdMulti command.
func encodeMulti(cmds [][]byte) []byte {
	n := 2 + uvarintLen(uint64(len(cmds)))
	for _, c := range cmds {
		n += uvarintLen(uint64(len(c))) + len(c)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, commandVersion, cmdMulti)
	buf = binary.AppendUvarint(buf, uint64(len(cmds)))
	for _, c := range cmds {
		buf = binary.AppendUvarint(buf, uint64(len(c)))
		buf = append(buf, c...)
	}
	return buf
}

// decodeEntry decodes a log entry's command into its batches; multi says
// whether it was a cmdMulti (whose response is one error per batch). An
// undecodable sub-batch fails alone: its slot in batchErrs is set.
func decodeEntry(data []byte) (batches [][]decodedOp, batchErrs []error, multi bool, err error) {
	if len(data) >= 2 && data[0] == commandVersion && data[1] == cmdMulti {
		d := decoder{buf: data[2:]}
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.buf)) {
			return nil, nil, true, fmt.Errorf("%w: bad batch count", errBadCommand)
		}
		subs := make([][]byte, 0, n)
		for i := uint64(0); i < n; i++ {
			subs = append(subs, d.bytes())
		}
		if d.err != nil || len(d.buf) != 0 {
			return nil, nil, true, fmt.Errorf("%w: bad group framing", errBadCommand)
		}
		batches = make([][]decodedOp, len(subs))
		batchErrs = make([]error, len(subs))
		for i, sub := range subs {
			batches[i], batchErrs[i] = decodeBatch(sub)
		}
		return batches, batchErrs, true, nil
	}
	ops, err := decodeBatch(data)
	if err != nil {
		return nil, nil, false, err
	}
	return [][]decodedOp{ops}, []error{nil}, false, nil
}

// decodedOp is one op of a decoded batch. key and value alias the log
// entry's buffer; bbolt copies them on Put.
type decodedOp struct {
	kind  storage.OpKind
	key   []byte
	value []byte
}

// decodeBatch decodes a command written by encodeBatch. It never panics on
// malformed input.
func decodeBatch(data []byte) ([]decodedOp, error) {
	if len(data) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", errBadCommand, len(data))
	}
	if data[0] != commandVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errBadCommand, data[0])
	}
	if data[1] != cmdBatch {
		return nil, fmt.Errorf("%w: unknown type %d", errBadCommand, data[1])
	}
	d := decoder{buf: data[2:]}
	n := d.uvarint()
	// Every op takes at least 2 bytes, which bounds the allocation.
	if d.err != nil || n > uint64(len(d.buf))/2 {
		return nil, fmt.Errorf("%w: bad op count", errBadCommand)
	}
	ops := make([]decodedOp, 0, n)
	for i := uint64(0); i < n; i++ {
		op := decodedOp{kind: storage.OpKind(d.byte())}
		op.key = d.bytes()
		switch op.kind {
		case storage.OpPut:
			op.value = d.bytes()
		case storage.OpDelete:
		default:
			return nil, fmt.Errorf("%w: op %d: unknown kind %d", errBadCommand, i, op.kind)
		}
		if d.err != nil {
			return nil, fmt.Errorf("%w: op %d: %w", errBadCommand, i, d.err)
		}
		ops = append(ops, op)
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadCommand, len(d.buf))
	}
	return ops, nil
}

// decoder reads from buf, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

var (
	errShort        = errors.New("truncated")
	errNonCanonical = errors.New("non-minimal varint")
)

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) < 1 {
		d.err = errShort
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	if n != uvarintLen(v) {
		d.err = errNonCanonical // one command, one encoding
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = errShort
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
