package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// logSlice is the cut of a log that WriteBundle exports.
type logSlice struct {
	files []sliceFile
	// report is the verification of the slice, whole that of the log.
	report, whole Report
	inRange       int
}

// sliceFile is the part of one log file in the slice.
type sliceFile struct {
	source            string
	data              []byte
	lines             int
	firstSeq, lastSeq uint64
}

// keptLine is a line the cutter holds.
type keptLine struct {
	file       int
	data       []byte // without its newline
	seq        uint64
	prevZero   bool // prev_hash is ZeroHash
	checkpoint bool
	// ge and le: an entry whose time is at or after Since, at or before
	// Until.
	ge, le bool
}

// lineHead is what the cutter reads of a line.
type lineHead struct {
	Time     string  `json:"time"`
	Type     string  `json:"type"`
	Seq      *uint64 `json:"seq"`
	PrevHash string  `json:"prev_hash"`
}

// cutter receives the bytes of the log, file after file, as Verify reads
// them, and keeps the lines from the candidate anchor on: before the
// first entry at or after Since, the lines since the last checkpoint (or
// the log's start); after it, every line.
type cutter struct {
	ctx          context.Context // nil: not cancelled
	since, until time.Time
	prefix       []byte
	file         int
	partial      []byte
	kept         []keptLine
	started      bool
}

// fileSink feeds the bytes of file i to the cutter.
type fileSink struct {
	c *cutter
	i int
}

func (s fileSink) Write(p []byte) (int, error) {
	if s.c.ctx != nil && s.c.ctx.Err() != nil {
		return 0, s.c.ctx.Err()
	}
	s.c.write(s.i, p)
	return len(p), nil
}

func (c *cutter) write(file int, p []byte) {
	if file != c.file {
		c.partial, c.file = nil, file // a file ending mid-line: its torn line is no line
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			return
		}
		line := append(c.partial, p[:i]...)
		c.partial = nil
		c.line(bytes.Clone(line))
		p = p[i+1:]
	}
}

func (c *cutter) line(b []byte) {
	var h lineHead
	kl := keptLine{file: c.file, data: b}
	if js, ok := bytes.CutPrefix(b, c.prefix); ok && json.Unmarshal(js, &h) == nil && h.Seq != nil {
		kl.seq, kl.prevZero = *h.Seq, h.PrevHash == ZeroHash
		kl.checkpoint = h.Type == TypeCheckpoint
		if t, err := time.Parse(time.RFC3339Nano, h.Time); err == nil && (h.Type == TypeRequest || h.Type == TypeResponse) {
			kl.ge, kl.le = !t.Before(c.since), !t.After(c.until)
		}
	}
	if !c.started {
		if kl.checkpoint {
			clear(c.kept)
			c.kept = c.kept[:0]
		}
		c.started = kl.ge
	}
	c.kept = append(c.kept, kl)
}

// slice trims the kept lines after the first checkpoint at or after the
// last entry at or before Until.
func (c *cutter) slice() []keptLine {
	last := 0
	for i, kl := range c.kept {
		if kl.le {
			last = i
		}
	}
	for i := last; i < len(c.kept); i++ {
		if c.kept[i].checkpoint {
			return c.kept[:i+1]
		}
	}
	return c.kept
}

// cutLog reads the whole log once, verifying it and cutting the slice,
// then verifies the slice.
func cutLog(ctx context.Context, pub ed25519.PublicKey, in *BundleInput) (*logSlice, error) {
	c := &cutter{ctx: ctx, since: in.Since, until: in.Until, prefix: []byte(in.Prefix)}
	srcs := make([]Source, len(in.Logs))
	for i, s := range in.Logs {
		srcs[i] = Source{Name: s.Name, R: io.TeeReader(s.R, fileSink{c, i})}
	}
	whole, err := VerifySources(pub, bundleVerifyOptions(in.Prefix), srcs...)
	if err != nil {
		return nil, fmt.Errorf("audit: bundle: %w", err)
	}
	for _, s := range srcs { // the rest of the log, after a problem
		if _, err := io.Copy(io.Discard, s.R); err != nil {
			return nil, fmt.Errorf("audit: bundle: read %s: %w", s.Name, err)
		}
	}
	lines := c.slice()
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: the log holds no line", ErrSliceInvalid)
	}
	sl := &logSlice{whole: whole, files: groupLines(in.Logs, lines)}
	for _, kl := range lines {
		if kl.ge && kl.le {
			sl.inRange++
		}
	}
	if err := sl.verify(pub, in.Prefix, in.Sign != nil); err != nil {
		return nil, err
	}
	if first := lines[0]; !first.checkpoint && (first.seq != 1 || !first.prevZero) {
		return nil, ErrNoAnchor
	}
	return sl, nil
}

// groupLines splits the slice into its files.
func groupLines(logs []Source, lines []keptLine) []sliceFile {
	var files []sliceFile
	for i, kl := range lines {
		if i == 0 || kl.file != lines[i-1].file {
			files = append(files, sliceFile{source: logs[kl.file].Name, firstSeq: kl.seq})
		}
		f := &files[len(files)-1]
		f.data = append(append(f.data, kl.data...), '\n')
		f.lines++
		f.lastSeq = kl.seq
	}
	return files
}

// verify checks the slice as the bundle's verifier will.
func (sl *logSlice) verify(pub ed25519.PublicKey, prefix string, signed bool) error {
	srcs := make([]Source, len(sl.files))
	for i, f := range sl.files {
		srcs[i] = Source{Name: logFileName(f.source), R: bytes.NewReader(f.data)}
	}
	rep, err := VerifySources(pub, bundleVerifyOptions(prefix), srcs...)
	if err != nil {
		return fmt.Errorf("audit: bundle: %w", err)
	}
	if !rep.OK {
		p := rep.Problem
		return fmt.Errorf("%w: %s:%d: seq %d: %s: %s", ErrSliceInvalid, p.File, p.Line, p.Seq, p.Reason, p.Detail)
	}
	if rep.OpenTail > 0 && !signed {
		return fmt.Errorf("%w (%d entries after it)", ErrUnsignedTail, rep.OpenTail)
	}
	sl.report = rep
	return nil
}

// bundleVerifyOptions are the options of every verification of a bundle:
// a range may start after the log's first line, end in a live log, and
// span a device's unclean stop (the reports count them).
func bundleVerifyOptions(prefix string) VerifyOptions {
	return VerifyOptions{AllowOpenTail: true, AllowPartialHead: true, AllowUncleanStop: true, Prefix: prefix}
}
