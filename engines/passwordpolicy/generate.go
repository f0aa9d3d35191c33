package passwordpolicy

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	// maxRejects bounds how many drawn values rejection sampling may
	// refuse in one Generate. An honest source is refused with probability
	// below n/2^32 per draw (n ≤ the charset size), so reaching the bound
	// means the source is broken (for example, it returns constant bytes).
	maxRejects = 1024
	// maxEmptyReads bounds consecutive reads that return no data and no
	// error, the way bufio guards against io.ErrNoProgress.
	maxEmptyReads = 100
	// minBuffer is the least buffer size, so a short policy that needs
	// a second read (after rejected draws) still reads in bulk.
	minBuffer = 64
)

// generate builds one password: each rule's min-chars runes from its own
// charset, the rest from the union, then a uniform shuffle.
func generate(ctx context.Context, p *Policy, r io.Reader) (string, error) {
	if r == nil {
		r = cryptorand.Reader
	}
	// One uint32 per rune drawn plus one per shuffle step, with slack for
	// the rare rejected value: usually a single read.
	d := &drawer{ctx: ctx, r: r, buf: make([]byte, 0, max(minBuffer, 4*2*p.length+16))}
	defer d.wipe()
	out := make([]rune, 0, p.length)
	defer clear(out[:cap(out)])
	for _, rl := range p.rules {
		for range rl.min {
			c, err := pick(d, rl.charset)
			if err != nil {
				return "", err
			}
			out = append(out, c)
		}
	}
	for len(out) < p.length {
		c, err := pick(d, p.union)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	if err := shuffle(d, out); err != nil {
		return "", err
	}
	return runesString(out), nil
}

// pick draws one rune uniformly from set.
func pick(d *drawer, set []rune) (rune, error) {
	i, err := d.index(len(set))
	if err != nil {
		return 0, err
	}
	return set[i], nil
}

// shuffle permutes s uniformly (Fisher–Yates with unbiased indices).
func shuffle(d *drawer, s []rune) error {
	for i := len(s) - 1; i > 0; i-- {
		j, err := d.index(i + 1)
		if err != nil {
			return err
		}
		s[i], s[j] = s[j], s[i]
	}
	return nil
}

// runesString converts without leaving an extra copy in a growable buffer.
func runesString(rs []rune) string {
	n := 0
	for _, c := range rs {
		n += utf8.RuneLen(c)
	}
	var b strings.Builder
	b.Grow(n)
	for _, c := range rs {
		b.WriteRune(c)
	}
	return b.String()
}

// drawer turns a byte stream into unbiased indices. It is used by one
// goroutine for one password.
type drawer struct {
	ctx     context.Context
	r       io.Reader
	buf     []byte // unread bytes are buf[off:]
	off     int
	rejects int
}

// index returns a uniform integer in [0, n), 0 < n ≤ 2^32. A uint32 v is
// accepted only below the largest multiple of n that fits in 2^32, so
// v % n is exactly uniform; others are drawn again.
func (d *drawer) index(n int) (int, error) {
	bound := uint64(n)
	limit := (1 << 32) - (1<<32)%bound
	for {
		v, err := d.uint32()
		if err != nil {
			return 0, err
		}
		if uint64(v) < limit {
			return int(uint64(v) % bound), nil
		}
		d.rejects++
		if d.rejects > maxRejects {
			return 0, fmt.Errorf("%w: rejected %d drawn values; the source is not random", ErrRandomSource, d.rejects)
		}
	}
}

// uint32 takes the next four bytes, reading more when the buffer is out.
func (d *drawer) uint32() (uint32, error) {
	if len(d.buf)-d.off < 4 {
		if err := d.fill(); err != nil {
			return 0, err
		}
	}
	v := binary.LittleEndian.Uint32(d.buf[d.off:])
	d.off += 4
	return v, nil
}

// fill moves the unread bytes to the front and reads until at least four
// bytes are available, asking for a full buffer each time. ctx is checked
// before each read.
func (d *drawer) fill() error {
	keep := copy(d.buf[:cap(d.buf)], d.buf[d.off:])
	d.buf, d.off = d.buf[:keep], 0
	for empty := 0; len(d.buf) < 4; {
		if err := d.ctx.Err(); err != nil {
			return fmt.Errorf("passwordpolicy: generate: %w", err)
		}
		n, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.buf = d.buf[:len(d.buf)+n]
		switch {
		case len(d.buf) >= 4:
			// enough for a draw; an error, if any, comes back on the next read
		case err != nil:
			return fmt.Errorf("%w: %w", ErrRandomSource, err)
		case n > 0:
			empty = 0
		default:
			if empty++; empty >= maxEmptyReads {
				return fmt.Errorf("%w: %w", ErrRandomSource, io.ErrNoProgress)
			}
		}
	}
	return nil
}

// wipe clears the random bytes, which determine the password.
func (d *drawer) wipe() { clear(d.buf[:cap(d.buf)]) }
