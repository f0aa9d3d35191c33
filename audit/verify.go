package audit

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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
	// ReasonTruncated: a file ends mid-line, or the last line of the log
	// is not a checkpoint (a device writes one on Close and Reopen, so a
	// cleanly closed log ends with one; a live log, or one cut after a
	// crash, does not — see VerifyOptions.AllowOpenTail).
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

// lineInfo is what the ordering pass keeps of each line (about 100
// bytes: Verify holds one per line of the log in memory).
type lineInfo struct {
	file, line int
	seq        uint64
	prev, hash [sha256.Size]byte
	checkpoint bool
}

// verifier carries one verification.
type verifier struct {
	pub   ed25519.PublicKey
	opts  VerifyOptions
	names []string
	lines []lineInfo
	rep   Report
}

// VerifySources is Verify over readers, with options.
func VerifySources(pub ed25519.PublicKey, opts VerifyOptions, srcs ...Source) (Report, error) {
	v := &verifier{pub: pub, opts: opts}
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
	var h header
	var prev [sha256.Size]byte
	if err := json.Unmarshal(line, &h); err != nil || h.Seq == nil || !decodeHash(&prev, h.PrevHash) {
		return v.problem(file, n, 0, ReasonEdited, "not an audit entry")
	}
	li := lineInfo{file: file, line: n, seq: *h.Seq, prev: prev, hash: sha256.Sum256(line)}
	switch h.Type {
	case TypeRequest, TypeResponse:
	case TypeCheckpoint:
		li.checkpoint = true
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
	first := v.lines[0]
	if !v.opts.AllowPartialHead && (first.seq != 1 || first.prev != [sha256.Size]byte{}) {
		return v.at(first, ReasonDropped, "log does not start at seq 1 with a zero prev_hash")
	}
	v.rep.FirstSeq = first.seq
	v.count(first)
	for i := 1; i < len(v.lines); i++ {
		if p := v.step(i); p != nil {
			return p
		}
		v.count(v.lines[i])
	}
	last := v.lines[len(v.lines)-1]
	v.rep.LastSeq = last.seq
	if !last.checkpoint && !v.opts.AllowOpenTail {
		return v.at(last, ReasonTruncated, "log does not end with a checkpoint")
	}
	return nil
}

func (v *verifier) count(li lineInfo) {
	if li.checkpoint {
		v.rep.OpenTail = 0
		return
	}
	v.rep.Entries++
	v.rep.OpenTail++
}

func (v *verifier) at(li lineInfo, r Reason, format string, a ...any) *Problem {
	return v.problem(li.file, li.line, li.seq, r, format, a...)
}

// step checks line i against line i-1 (all lines before i are a valid
// chain of consecutive seqs).
func (v *verifier) step(i int) *Problem {
	prev, cur := v.lines[i-1], v.lines[i]
	want := prev.seq + 1
	switch {
	case cur.seq == want && cur.prev == prev.hash:
		return nil
	case cur.seq == want:
		return v.editedAt(i)
	case cur.seq <= prev.seq:
		if j := int(cur.seq - v.lines[0].seq); cur.seq >= v.lines[0].seq && v.lines[j].hash == cur.hash {
			return v.at(cur, ReasonDuplicated, "repeats seq %d", cur.seq)
		}
		return v.at(cur, ReasonReordered, "seq goes back from %d", prev.seq)
	case v.later(i, want):
		return v.at(cur, ReasonReordered, "seq %d comes before seq %d", cur.seq, want)
	default:
		return v.at(cur, ReasonDropped, "seq %d to %d missing", want, cur.seq-1)
	}
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
