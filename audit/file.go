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
type FileDevice struct {
	*Device
	path string
	mode os.FileMode
}

// OpenFile opens (or creates) the log at path and starts its device. The
// chain continues from the file's last line (seq+1, that line's hash, a
// new HMAC key generation); an empty file continues from opts.Resume or
// starts at seq 1. A file that ends mid-line is refused with ErrTornTail:
// run Verify, then move it aside.
func OpenFile(path string, opts FileOptions) (*FileDevice, error) {
	o := opts.Options.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	mode := opts.Mode
	if mode == 0 {
		mode = DefaultFileMode
	}
	f, err := openAppend(path, mode)
	if err != nil {
		return nil, err
	}
	start, err := lastPosition(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if start.Seq == 0 && o.Resume != nil {
		start = *o.Resume
	}
	fd := &FileDevice{path: path, mode: mode}
	cur := f
	reopen := func() (io.Writer, error) {
		nf, err := openAppend(path, mode)
		if err != nil {
			return nil, err
		}
		cur.Close()
		cur = nf
		return nf, nil
	}
	fd.Device = startDevice(f, o, start, reopen, func() error { return cur.Close() })
	return fd, nil
}

func openAppend(path string, mode os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	return f, nil
}

// Path returns the log's path.
func (d *FileDevice) Path() string { return d.path }

// Reopen ends the current file with a checkpoint, syncs it, and opens a
// new file at the path (after the old one was renamed away); the chain
// continues in the new file. It also clears a torn-write failure.
func (d *FileDevice) Reopen() error {
	return d.control(func() error {
		err := d.writeCheckpoint()
		if serr := d.sync(); err == nil {
			err = serr
		}
		w, oerr := d.reopen()
		if oerr != nil {
			return errors.Join(err, oerr)
		}
		d.w, d.broken = w, nil
		return err
	})
}

// ReadPosition returns the position of the log at path: its last line
// (seq 0 and ZeroHash for an empty file). Use it as Options.Resume when
// opening a fresh file after a rotation made while the server was down:
// the position of the rotated file.
func ReadPosition(path string) (Position, error) {
	p, err := lastPosition(path)
	if err != nil {
		return Position{}, fmt.Errorf("audit: read position of %s: %w", path, err)
	}
	return p, nil
}

// lastPosition reads the last line of the log at path.
func lastPosition(path string) (Position, error) {
	r, err := os.Open(path)
	if err != nil {
		return Position{}, err
	}
	defer r.Close()
	line, err := lastLine(r)
	if err != nil || line == nil {
		return Position{PrevHash: ZeroHash}, err
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil || h.Seq == nil {
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
