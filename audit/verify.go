package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Reason says why Verify rejected a line.
type Reason string

// Reasons of a failed verification.
const (
	// ReasonEdited: a line's bytes are not those the next line's
	// prev_hash commits to, a line is not a valid entry, or a checkpoint
	// naming the device key does not verify over its content.
	ReasonEdited Reason = "edited"
	// ReasonDropped: seq jumps and the missing seq appears nowhere later.
	ReasonDropped Reason = "dropped"
	// ReasonReordered: seq jumps to a seq that comes later, or goes back
	// to a seq not equal to an earlier line's content.
	ReasonReordered Reason = "reordered"
	// ReasonTruncated: a file ends mid-line; or the last line of the log
	// is not a close or rotate checkpoint (a device writes one on Close
	// and Reopen, so a cleanly closed log ends with one; a live log, or
	// one cut by a crash or power loss, does not — see
	// VerifyOptions.AllowOpenTail); or a device restarted (an open
	// checkpoint) after a line that is not a close or rotate checkpoint:
	// the previous run stopped uncleanly and the entries it wrote last
	// may be lost (see VerifyOptions.AllowUncleanStop).
	ReasonTruncated Reason = "truncated"
	// ReasonDuplicated: a line repeats an earlier line (same seq).
	ReasonDuplicated Reason = "duplicated"
	// ReasonUnsigned: a checkpoint not signed by the device key (its
	// key_id names another key, or its signature field is malformed).
	ReasonUnsigned Reason = "unsigned"
)

// Problem is the first bad line of a log.
type Problem struct {
	// File and Line (1-based) locate the line; Seq is its seq (0 if it
	// has none).
	File   string
	Line   int
	Seq    uint64
	Reason Reason
	// Detail explains, without quoting log content.
	Detail string
}

// Report is the result of Verify.
type Report struct {
	// OK is true when no problem was found.
	OK bool
	// Entries counts request and response lines, Checkpoints the
	// checkpoints whose signature verified, Unchecked those not checked
	// (no public key given).
	Entries, Checkpoints, Unchecked int
	// FirstSeq and LastSeq are the seq range read.
	FirstSeq, LastSeq uint64
	// OpenTail counts entries after the last checkpoint (with
	// AllowOpenTail).
	OpenTail int
	// Segments counts open checkpoints (device starts and new files);
	// Gaps the forward seq jumps among them (a start above the previous
	// seq + 1, where the seqs between were reserved by another node or
	// run); UncleanStops the starts not preceded by a close or rotate
	// checkpoint (with AllowUncleanStop).
	Segments, Gaps, UncleanStops int
	// Problem is the first bad line, nil when OK.
	Problem *Problem
}

// Source is one file of a log, oldest first.
type Source struct {
	Name string
	R    io.Reader
}

// VerifyOptions relax Verify.
type VerifyOptions struct {
	// AllowOpenTail accepts a log whose last line is not a checkpoint (a
	// live device's log); the entries after the last checkpoint are
	// counted in Report.OpenTail.
	AllowOpenTail bool
	// AllowPartialHead accepts a log whose first line is not seq 1 (the
	// oldest rotated files were removed).
	AllowPartialHead bool
	// AllowUncleanStop accepts a device start after a run that stopped
	// without a closing checkpoint (a crash or power loss); such starts
	// are counted in Report.UncleanStops.
	AllowUncleanStop bool
	// Prefix is the Options.Prefix the log was written with: every line
	// must start with it (a line that does not is edited).
	Prefix string
}

// Verify checks the log made of the files at paths, oldest first
// (audit.log.1, then audit.log: the chain continues across files). pub is
// the device's public key; nil skips checkpoint signatures (counted as
// Unchecked). The error is an I/O failure; a bad log is a Report with a
// Problem.
func Verify(pub ed25519.PublicKey, paths ...string) (Report, error) {
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		defer f.Close()
		srcs = append(srcs, Source{Name: p, R: f})
	}
	return VerifySources(pub, VerifyOptions{}, srcs...)
}

// lineKind is an entry or a checkpoint with its reason.
type lineKind uint8

// Line kinds; kindCheckpoint is a checkpoint without a reason (written
// before reasons existed) or an interval one.
const (
	kindEntry lineKind = iota
	kindCheckpoint
	kindOpen
	kindClosing // close or rotate
)

// checkpointKinds maps a checkpoint's reason to its kind.
var checkpointKinds = map[string]lineKind{
	CheckpointOpen: kindOpen, CheckpointInterval: kindCheckpoint,
	CheckpointRotate: kindClosing, CheckpointClose: kindClosing,
}

// lineInfo is what the ordering pass keeps of each line (about 100
// bytes: Verify holds one per line of the log in memory).
type lineInfo struct {
	file, line int
	seq        uint64
	prev, hash [sha256.Size]byte
	kind       lineKind
}

// verifier carries one verification.
type verifier struct {
	pub    ed25519.PublicKey
	opts   VerifyOptions
	prefix []byte
	names  []string
	lines  []lineInfo
	rep    Report
}

// VerifySources is Verify over readers, with options.
func VerifySources(pub ed25519.PublicKey, opts VerifyOptions, srcs ...Source) (Report, error) {
	v := &verifier{pub: pub, opts: opts, prefix: []byte(opts.Prefix)}
	for i, s := range srcs {
		v.names = append(v.names, s.Name)
		p, err := v.read(i, s.R)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify %s: %w", s.Name, err)
		}
		if p != nil {
			return v.fail(p), nil
		}
	}
	if p := v.order(); p != nil {
		return v.fail(p), nil
	}
	v.rep.OK = true
	return v.rep, nil
}

func (v *verifier) fail(p *Problem) Report {
	v.rep.Problem = p
	return v.rep
}

func (v *verifier) problem(file, line int, seq uint64, r Reason, format string, a ...any) *Problem {
	return &Problem{File: v.names[file], Line: line, Seq: seq, Reason: r, Detail: fmt.Sprintf(format, a...)}
}

// read parses a file's lines, checking each line alone (JSON shape,
// checkpoint signatures); ordering is checked by order.
func (v *verifier) read(file int, r io.Reader) (*Problem, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(raw) > 0 {
				return v.problem(file, n, 0, ReasonTruncated, "file ends mid-line"), nil
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if p := v.readLine(file, n, raw[:len(raw)-1]); p != nil {
			return p, nil
		}
	}
}

func (v *verifier) readLine(file, n int, line []byte) *Problem {
	js, ok := bytes.CutPrefix(line, v.prefix)
	if !ok {
		return v.problem(file, n, 0, ReasonEdited, "line does not start with the prefix")
	}
	var h header
	var prev [sha256.Size]byte
	if err := json.Unmarshal(js, &h); err != nil || h.Seq == nil || !decodeHash(&prev, h.PrevHash) {
		return v.problem(file, n, 0, ReasonEdited, "not an audit entry")
	}
	li := lineInfo{file: file, line: n, seq: *h.Seq, prev: prev, hash: sha256.Sum256(line)}
	switch h.Type {
	case TypeRequest, TypeResponse:
	case TypeCheckpoint:
		li.kind = kindCheckpoint
		if h.Reason != nil {
			if li.kind, ok = checkpointKinds[*h.Reason]; !ok {
				return v.problem(file, n, li.seq, ReasonEdited, "unknown checkpoint reason")
			}
		}
		if p := v.checkCheckpoint(file, n, &h, line); p != nil {
			return p
		}
	default:
		return v.problem(file, n, li.seq, ReasonEdited, "unknown entry type")
	}
	v.lines = append(v.lines, li)
	return nil
}

// checkCheckpoint verifies a checkpoint's signature with the device key.
func (v *verifier) checkCheckpoint(file, n int, h *header, line []byte) *Problem {
	if v.pub == nil {
		v.rep.Unchecked++
		return nil
	}
	msg, sig, err := splitCheckpoint(line)
	if err != nil {
		return v.problem(file, n, *h.Seq, ReasonUnsigned, "checkpoint signature malformed")
	}
	if h.KeyID != KeyID(v.pub) {
		return v.problem(file, n, *h.Seq, ReasonUnsigned, "checkpoint names another key than the device key")
	}
	if !ed25519.Verify(v.pub, msg, sig) {
		return v.problem(file, n, *h.Seq, ReasonEdited, "checkpoint signature does not verify over its content")
	}
	v.rep.Checkpoints++
	return nil
}

// order checks seq and prev_hash along the lines and the log's end.
func (v *verifier) order() *Problem {
	if len(v.lines) == 0 {
		return nil
	}
	if p := v.head(v.lines[0]); p != nil {
		return p
	}
	for i := 1; i < len(v.lines); i++ {
		if p := v.step(i); p != nil {
			return p
		}
		v.count(v.lines[i])
	}
	last := v.lines[len(v.lines)-1]
	v.rep.LastSeq = last.seq
	if last.kind != kindClosing && !v.opts.AllowOpenTail {
		return v.at(last, ReasonTruncated, "log does not end with a close or rotate checkpoint")
	}
	return nil
}

// head checks the first line: a new chain starts with a zero prev_hash,
// at seq 1 or at an open checkpoint (a first start above a Floor).
func (v *verifier) head(first lineInfo) *Problem {
	fresh := first.prev == [sha256.Size]byte{}
	if !v.opts.AllowPartialHead && (!fresh || first.seq != 1 && first.kind != kindOpen) {
		return v.at(first, ReasonDropped, "log does not start at seq 1 with a zero prev_hash")
	}
	if fresh && first.kind == kindOpen && first.seq > 1 {
		v.rep.Gaps++
	}
	v.rep.FirstSeq = first.seq
	v.count(first)
	return nil
}

func (v *verifier) count(li lineInfo) {
	switch li.kind {
	case kindEntry:
		v.rep.Entries++
		v.rep.OpenTail++
	case kindOpen:
		v.rep.Segments++
		v.rep.OpenTail = 0
	default:
		v.rep.OpenTail = 0
	}
}

func (v *verifier) at(li lineInfo, r Reason, format string, a ...any) *Problem {
	return v.problem(li.file, li.line, li.seq, r, format, a...)
}

// step checks line i against line i-1 (all lines before i are a valid
// chain of increasing seqs). Only an open checkpoint that commits to the
// line before it may jump forward.
func (v *verifier) step(i int) *Problem {
	prev, cur := v.lines[i-1], v.lines[i]
	want := prev.seq + 1
	switch {
	case cur.seq == want && cur.prev == prev.hash:
		return v.start(prev, cur)
	case cur.kind == kindOpen && cur.seq > want && cur.prev == prev.hash:
		v.rep.Gaps++
		return v.start(prev, cur)
	case cur.seq == want:
		return v.editedAt(i)
	case cur.seq <= prev.seq:
		if j, ok := v.find(i, cur.seq); ok && v.lines[j].hash == cur.hash {
			return v.at(cur, ReasonDuplicated, "repeats seq %d", cur.seq)
		}
		return v.at(cur, ReasonReordered, "seq goes back from %d", prev.seq)
	case v.later(i, want):
		return v.at(cur, ReasonReordered, "seq %d comes before seq %d", cur.seq, want)
	default:
		return v.at(cur, ReasonDropped, "seq %d to %d missing", want, cur.seq-1)
	}
}

// start checks a device start (an open checkpoint cur) after prev: the
// run before must have ended with a closing checkpoint.
func (v *verifier) start(prev, cur lineInfo) *Problem {
	if cur.kind != kindOpen || prev.kind == kindClosing {
		return nil
	}
	if v.opts.AllowUncleanStop {
		v.rep.UncleanStops++
		return nil
	}
	return v.at(prev, ReasonTruncated,
		"device stopped without a closing checkpoint before seq %d; entries written after seq %d may be lost", cur.seq, prev.seq)
}

// find returns the index of seq among the lines before i (whose seqs
// increase).
func (v *verifier) find(i int, seq uint64) (int, bool) {
	j := sort.Search(i, func(k int) bool { return v.lines[k].seq >= seq })
	return j, j < i && v.lines[j].seq == seq
}

// editedAt locates an edit found at line i, whose prev_hash does not
// match line i-1: if line i's own hash is not what line i+1 commits to
// either, line i was edited (its prev_hash field); otherwise line i-1.
func (v *verifier) editedAt(i int) *Problem {
	cur := v.lines[i]
	if i+1 < len(v.lines) && v.lines[i+1].seq == cur.seq+1 && v.lines[i+1].prev != cur.hash {
		return v.at(cur, ReasonEdited, "line does not match the hash the next line commits to")
	}
	return v.at(v.lines[i-1], ReasonEdited, "line does not match the hash the next line commits to")
}

// later reports whether seq appears after line i.
func (v *verifier) later(i int, seq uint64) bool {
	for _, li := range v.lines[i+1:] {
		if li.seq == seq {
			return true
		}
	}
	return false
}

// decodeHash parses a 64-digit hex hash.
func decodeHash(dst *[sha256.Size]byte, s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err == nil
}
