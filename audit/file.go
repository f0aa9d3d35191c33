package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultFileMode is the mode of a new log file.
const DefaultFileMode os.FileMode = 0o600

// FileOptions configure a file device.
type FileOptions struct {
	Options
	// Mode is the permission of a file the device creates (default 0600).
	Mode os.FileMode
}

// FileDevice is a Device writing to a file, rotated by rename: move the
// file aside, then call Reopen.
//
// A batch that fails to write leaves no partial line: the device knows
// the file's size before each batch and truncates the file back to it
// when a write fails or is short. The batch fails, the chain position is
// kept, and the next batch is written normally. Only when bytes were
// written and the truncation fails too does the device stop writing (the
// file then ends mid-line) until Reopen.
type FileDevice struct {
	*Device
	path string
	mode os.FileMode
}

// file is what a logFile needs of an *os.File (tests wrap one to inject
// failures).
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// opener opens the log at path for appending and returns its size.
type opener func(path string, mode os.FileMode) (file, int64, error)

// OpenFile opens (or creates) the log at path and starts its device. The
// chain continues from the file's last line (an empty file continues
// from opts.Resume, or starts a new chain); the device's first line is
// an open checkpoint at seq max(last seq + 1, Floor, 1) (see Options). A
// file that ends mid-line is refused with ErrTornTail: run Verify, then
// move it aside.
func OpenFile(path string, opts FileOptions) (*FileDevice, error) {
	return openFile(path, opts, openAppend)
}

// openFile is OpenFile with the file opened by open.
func openFile(path string, opts FileOptions, open opener) (*FileDevice, error) {
	o := opts.Options.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	mode := opts.Mode
	if mode == 0 {
		mode = DefaultFileMode
	}
	f, size, err := open(path, mode)
	if err != nil {
		return nil, err
	}
	start, err := lastPosition(path, o.Prefix)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if start.Seq == 0 && o.Resume != nil {
		start = *o.Resume
	}
	fd := &FileDevice{path: path, mode: mode}
	cur := &logFile{f: f, size: size}
	reopen := func() (io.Writer, error) {
		nf, size, err := open(path, mode)
		if err != nil {
			return nil, err
		}
		cur.f.Close()
		cur = &logFile{f: nf, size: size}
		return cur, nil
	}
	fd.Device, err = startDevice(cur, o, start, reopen, func() error { return cur.f.Close() })
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	return fd, nil
}

// openAppend opens path with O_APPEND, creating it with mode.
func openAppend(path string, mode os.FileMode) (file, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("audit: open log: %w", err)
	}
	return f, st.Size(), nil
}

// logFile is the file a FileDevice writes; it keeps the file's size so
// that a failed write can be undone.
type logFile struct {
	f    file
	size int64
}

// Write writes p; on a failed or short write it truncates the file back
// to its size before and returns 0 (nothing written), or, if that fails
// after a partial write, the bytes left in the file.
func (l *logFile) Write(p []byte) (int, error) {
	n, err := l.f.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err == nil {
		l.size += int64(n)
		return n, nil
	}
	if terr := l.f.Truncate(l.size); terr != nil && n > 0 {
		return n, fmt.Errorf("%w; removing the partial batch failed: %w", err, terr)
	}
	return 0, err
}

// Sync implements syncer.
func (l *logFile) Sync() error { return l.f.Sync() }

// Path returns the log's path.
func (d *FileDevice) Path() string { return d.path }

// Reopen ends the current file with a rotate checkpoint, syncs it, and
// opens a new file at the path (after the old one was renamed away),
// which begins with an open checkpoint; the chain continues in it. It
// also clears a torn-write failure.
func (d *FileDevice) Reopen() error {
	return d.control(func() error {
		err := d.rotate()
		d.syncMu.Lock() // no batch sync of the old file once it is closed
		w, oerr := d.reopen()
		if oerr == nil {
			d.w = w
		}
		d.syncMu.Unlock()
		if oerr != nil {
			return errors.Join(err, oerr)
		}
		d.broken = nil
		d.chain.needOpen = true
		if oerr := d.appendLines(nil, ""); oerr != nil {
			return errors.Join(err, oerr)
		}
		return errors.Join(err, d.afterWrite())
	})
}

// ReadPosition returns the position of the log at path: its last line
// (seq 0 and ZeroHash for an empty file). Use it as Options.Resume when
// opening a fresh file after a rotation made while the server was down:
// the position of the rotated file. A log written with Options.Prefix
// needs ReadPositionPrefix.
func ReadPosition(path string) (Position, error) {
	return ReadPositionPrefix(path, "")
}

// ReadPositionPrefix is ReadPosition of a log whose lines start with
// prefix (Options.Prefix).
func ReadPositionPrefix(path, prefix string) (Position, error) {
	p, err := lastPosition(path, prefix)
	if err != nil {
		return Position{}, fmt.Errorf("audit: read position of %s: %w", path, err)
	}
	return p, nil
}

// lastPosition reads the last line of the log at path, whose lines
// start with prefix.
func lastPosition(path, prefix string) (Position, error) {
	r, err := os.Open(path)
	if err != nil {
		return Position{}, err
	}
	defer r.Close()
	line, err := lastLine(r)
	if err != nil || line == nil {
		return Position{PrevHash: ZeroHash}, err
	}
	js, ok := bytes.CutPrefix(line, []byte(prefix))
	if !ok {
		return Position{}, fmt.Errorf("audit: last line does not start with the prefix")
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil || h.Seq == nil {
		return Position{}, fmt.Errorf("audit: last line is not an audit entry")
	}
	return Position{Seq: *h.Seq, PrevHash: lineHash(line), Gen: h.HMACKeyGen}, nil
}

// lastLine returns the last line of r without its newline (nil for an
// empty file), reading backwards in chunks.
func lastLine(r *os.File) ([]byte, error) {
	st, err := r.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return nil, nil
	}
	const chunk = 64 << 10
	var tail []byte
	for off := size; off > 0; {
		n := min(int64(chunk), off)
		off -= n
		b := make([]byte, n)
		if _, err := r.ReadAt(b, off); err != nil {
			return nil, err
		}
		tail = append(b, tail...)
		if tail[len(tail)-1] != '\n' {
			return nil, ErrTornTail
		}
		if i := bytes.LastIndexByte(tail[:len(tail)-1], '\n'); i >= 0 {
			return tail[i+1 : len(tail)-1], nil
		}
	}
	return tail[:len(tail)-1], nil
}
