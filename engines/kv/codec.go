package kv

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Key metadata is stored in a compact binary form rather than JSON: it is
// decoded on every read, and JSON's cost grows with the number of
// versions (timestamps are the bulk of it). Layout, all integers varints:
//
//	byte     format (metadataFormatV1)
//	uvarint  flags (bit 0: cas_required)
//	varint   created_time, updated_time (Unix ns; 0 = unset)
//	uvarint  current_version, oldest_version, max_versions
//	varint   delete_version_after (ns)
//	uvarint  n custom_metadata pairs, then n × (uvarint len, key, uvarint len, value), keys sorted
//	uvarint  n versions, then n × (uvarint version, varint created, varint deletion, byte destroyed), strictly ascending
const metadataFormatV1 = 1

const flagCASRequired = 1 << 0

func encodeMetadata(m *keyMetadata) []byte {
	buf := make([]byte, 0, 64+len(m.Versions)*24)
	buf = append(buf, metadataFormatV1)
	var flags uint64
	if m.CASRequired {
		flags |= flagCASRequired
	}
	buf = binary.AppendUvarint(buf, flags)
	buf = binary.AppendVarint(buf, unixNano(m.CreatedTime))
	buf = binary.AppendVarint(buf, unixNano(m.UpdatedTime))
	buf = binary.AppendUvarint(buf, uint64(m.CurrentVersion))
	buf = binary.AppendUvarint(buf, uint64(m.OldestVersion))
	buf = binary.AppendUvarint(buf, uint64(m.MaxVersions))
	buf = binary.AppendVarint(buf, int64(m.DeleteVersionAfter))
	buf = binary.AppendUvarint(buf, uint64(len(m.CustomMetadata)))
	for _, k := range slices.Sorted(maps.Keys(m.CustomMetadata)) {
		buf = appendString(buf, k)
		buf = appendString(buf, m.CustomMetadata[k])
	}
	buf = binary.AppendUvarint(buf, uint64(len(m.Versions)))
	for i := range m.Versions {
		vm := &m.Versions[i]
		buf = binary.AppendUvarint(buf, uint64(vm.Version))
		buf = binary.AppendVarint(buf, unixNano(vm.CreatedTime))
		buf = binary.AppendVarint(buf, unixNano(vm.DeletionTime))
		destroyed := byte(0)
		if vm.Destroyed {
			destroyed = 1
		}
		buf = append(buf, destroyed)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decoder reads the varint stream; the first error sticks.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("truncated or overlong varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("truncated or overlong varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// int reads a uvarint no greater than limit. Element counts are limited
// by the bytes left, which bounds any allocation to the entry's size.
func (d *decoder) int(limit uint64) int {
	v := d.uvarint()
	if d.err == nil && v > limit {
		d.err = fmt.Errorf("value %d exceeds %d", v, limit)
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.err = fmt.Errorf("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("string length %d exceeds the %d bytes left", n, len(d.buf))
	}
	if d.err != nil {
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

// maxVersion bounds decoded version numbers and limits well inside int
// (on every platform the version counter can still be incremented).
const maxVersion = 1<<31 - 2

func decodeMetadata(buf []byte) (*keyMetadata, error) {
	if len(buf) == 0 || buf[0] != metadataFormatV1 {
		return nil, fmt.Errorf("unknown metadata format")
	}
	d := &decoder{buf: buf[1:]}
	m := &keyMetadata{}
	m.CASRequired = d.uvarint()&flagCASRequired != 0
	m.CreatedTime = fromUnixNano(d.varint())
	m.UpdatedTime = fromUnixNano(d.varint())
	m.CurrentVersion = d.int(maxVersion)
	m.OldestVersion = d.int(maxVersion)
	m.MaxVersions = d.int(maxVersion)
	m.DeleteVersionAfter = time.Duration(d.varint())
	if n := d.int(uint64(len(d.buf))); n > 0 {
		m.CustomMetadata = make(map[string]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.string()
			m.CustomMetadata[k] = d.string()
		}
	}
	n := d.int(uint64(len(d.buf)))
	m.Versions = make([]versionMeta, 0, n)
	last := 0
	for i := 0; i < n && d.err == nil; i++ {
		vm := versionMeta{
			Version:      d.int(maxVersion),
			CreatedTime:  fromUnixNano(d.varint()),
			DeletionTime: fromUnixNano(d.varint()),
			Destroyed:    d.byte() == 1,
		}
		if d.err == nil && vm.Version <= last {
			d.err = fmt.Errorf("versions out of order")
		}
		last = vm.Version
		m.Versions = append(m.Versions, vm)
	}
	if d.err == nil && last > m.CurrentVersion {
		d.err = fmt.Errorf("version %d beyond current version %d", last, m.CurrentVersion)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}
