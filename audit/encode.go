package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file is the entry encoder: it appends an entry's line body to a
// buffer by hand, byte for byte what encoding/json (without HTML
// escaping) wrote for the wire structs this package used to marshal
// (format_ref_test.go keeps them as the reference), HMAC'ing secrets as
// it goes instead of building an HMAC'd copy of the data.

// entryEncoder encodes entries under one key generation. It is not safe
// for concurrent use (a Device pools them).
type entryEncoder struct {
	gen uint64
	h   *hasher
	enc encoding
	// keys is a stack of sorted map keys, reused across entries.
	keys []string
	// token and accessor cache the last client_token and accessor HMACs.
	token, accessor hmacCache
	// scratch holds a non-string leaf's JSON before it is HMAC'd.
	scratch []byte
	// small caches the HMACs of the commonest leaves, which are no
	// secrets: false, true, "" and the integers 0 to smallInts-1.
	small [smallFirstInt + smallInts]struct {
		ok  bool
		out [hmacLen]byte
	}
}

// Slots of entryEncoder.small.
const (
	smallFalse = iota
	smallTrue
	smallEmpty
	smallFirstInt
	smallInts = 64
)

// hmacCache remembers the HMAC of the last value it saw (keeping that
// value, the caller's string, in memory until the next one or the end of
// the generation; it is never written).
type hmacCache struct {
	in  string
	out [hmacLen]byte
	ok  bool
}

// newEntryEncoder returns an encoder for generation gen with its key.
func newEntryEncoder(gen uint64, key []byte, enc encoding) *entryEncoder {
	return &entryEncoder{gen: gen, h: newHasher(key), enc: enc}
}

// appendEntry appends to dst the body of an entry line: the whole line
// but its prefix and chain fields (see chainLine), its secrets HMAC'd
// unless the encoding says otherwise. It only reads e; on failure dst
// is returned as it was.
func (x *entryEncoder) appendEntry(dst []byte, typ string, e *Entry) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, timeFormat)
	dst = append(dst, `","type":`...)
	dst = appendString(dst, typ)
	dst = x.appendAuth(append(dst, `,"auth":`...), &e.Auth)
	dst, err := x.appendRequest(append(dst, `,"request":`...), e)
	if err == nil && typ == TypeResponse {
		dst, err = x.appendResponse(append(dst, `,"response":`...), e)
	}
	if err != nil {
		return dst[:start], fmt.Errorf("audit: encode %s entry: %w", typ, err)
	}
	if e.Error != "" {
		dst = appendString(append(dst, `,"error":`...), e.Error)
	}
	dst = append(dst, `,"cedar":{"decision":"`...)
	dst = append(dst, decision(e.Decision.Allowed)...)
	dst = append(dst, '"')
	if len(e.Decision.PolicyIDs) > 0 {
		dst = appendStrings(append(dst, `,"policy_ids":`...), e.Decision.PolicyIDs)
	}
	dst = append(dst, `},"hmac_key_gen":`...)
	dst = strconv.AppendUint(dst, x.gen, 10)
	return append(dst, '}'), nil
}

// fields writes the members of one JSON object, each only when set
// (omitempty), with the commas between them.
type fields struct {
	dst   []byte
	first bool
}

func openObject(dst []byte) fields { return fields{dst: append(dst, '{'), first: true} }

// name starts the member called n (n needs no escaping).
func (f *fields) name(n string) {
	if !f.first {
		f.dst = append(f.dst, ',')
	}
	f.first = false
	f.dst = append(f.dst, '"')
	f.dst = append(f.dst, n...)
	f.dst = append(f.dst, '"', ':')
}

// str writes the string member n when v is not empty.
func (f *fields) str(n, v string) {
	if v != "" {
		f.name(n)
		f.dst = appendString(f.dst, v)
	}
}

func (f *fields) close() []byte { return append(f.dst, '}') }

// appendAuth appends Vault's "auth" object.
func (x *entryEncoder) appendAuth(dst []byte, a *Auth) []byte {
	f := openObject(dst)
	if a.ClientToken != "" {
		f.name("client_token")
		f.dst = x.appendSecret(f.dst, &x.token, a.ClientToken, x.enc.raw)
	}
	if a.Accessor != "" {
		f.name("accessor")
		f.dst = x.appendSecret(f.dst, &x.accessor, a.Accessor, x.enc.raw || x.enc.plainAccessor)
	}
	f.str("display_name", a.DisplayName)
	if len(a.Policies) > 0 {
		f.name("policies")
		f.dst = appendStrings(f.dst, a.Policies)
	}
	if len(a.Metadata) > 0 {
		f.name("metadata")
		f.dst = x.appendStringMap(f.dst, a.Metadata, false)
	}
	f.str("entity_id", a.EntityID)
	return f.close()
}

// appendSecret appends v in the clear, or its HMAC through the cache c.
func (x *entryEncoder) appendSecret(dst []byte, c *hmacCache, v string, clear bool) []byte {
	if clear {
		return appendString(dst, v)
	}
	if !c.ok || !equalString(c.in, v) {
		x.h.sumString(c.out[:0], v)
		c.in, c.ok = v, true
	}
	dst = append(dst, '"')
	dst = append(dst, c.out[:]...)
	return append(dst, '"')
}

// equalString compares two strings of equal length in time independent
// of their contents (a cached client token is compared with a caller's).
func equalString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// appendRequest appends Vault's "request" object.
func (x *entryEncoder) appendRequest(dst []byte, e *Entry) ([]byte, error) {
	f := openObject(dst)
	f.str("id", e.RequestID)
	f.str("operation", e.Operation)
	f.str("mount_type", e.MountType)
	f.str("path", e.Path)
	if len(e.RequestData) > 0 {
		f.name("data")
		var err error
		if f.dst, err = x.appendData(f.dst, e.RequestData); err != nil {
			return dst, err
		}
	}
	f.str("remote_address", e.RemoteAddr)
	if e.Unauthenticated {
		f.name("unauthenticated")
		f.dst = append(f.dst, "true"...)
	}
	return f.close(), nil
}

// appendResponse appends Vault's "response" object.
func (x *entryEncoder) appendResponse(dst []byte, e *Entry) ([]byte, error) {
	f := openObject(dst)
	if e.LeaseID != "" {
		f.name("secret")
		f.dst = appendString(append(f.dst, `{"lease_id":`...), e.LeaseID)
		f.dst = append(f.dst, '}')
	}
	if len(e.ResponseData) > 0 {
		f.name("data")
		var err error
		if len(e.ResponseClear) > 0 && !x.enc.raw {
			f.dst, err = x.appendPartlyClearMap(f.dst, e.ResponseData, e.ResponseClear)
		} else {
			f.dst, err = x.appendData(f.dst, e.ResponseData)
		}
		if err != nil {
			return dst, err
		}
	}
	if e.Status != 0 {
		f.name("status_code")
		f.dst = strconv.AppendInt(f.dst, int64(e.Status), 10)
	}
	return f.close(), nil
}

// appendData appends request or response data: HMAC'd leaf by leaf, or
// as is with Options.LogRaw.
func (x *entryEncoder) appendData(dst []byte, m map[string]any) ([]byte, error) {
	if x.enc.raw {
		return x.appendRawMap(dst, m)
	}
	return x.appendHMACMap(dst, m), nil
}

// sortedKeys pushes m's keys, sorted, on the key stack; the caller pops
// them with x.keys = x.keys[:mark].
func sortedKeys[V any](x *entryEncoder, m map[string]V) (keys []string, mark int) {
	mark = len(x.keys)
	for k := range m {
		x.keys = append(x.keys, k)
	}
	keys = x.keys[mark:]
	slices.Sort(keys)
	return keys, mark
}

// appendHMACMap appends a map with every leaf HMAC'd (see hmacValue in
// the package doc: maps and lists keep their shape, null stays null).
func (x *entryEncoder) appendHMACMap(dst []byte, m map[string]any) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	keys, mark := sortedKeys(x, m)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendString(dst, k), ':')
		dst = x.appendHMACValue(dst, m[k])
	}
	x.keys = x.keys[:mark]
	return append(dst, '}')
}

// appendPartlyClearMap appends top-level data with the values of the keys
// in clear as they are and every other leaf HMAC'd.
func (x *entryEncoder) appendPartlyClearMap(dst []byte, m map[string]any, clear []string) ([]byte, error) {
	keys, mark := sortedKeys(x, m)
	defer func() { x.keys = x.keys[:mark] }()
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendString(dst, k), ':')
		if !slices.Contains(clear, k) {
			dst = x.appendHMACValue(dst, m[k])
			continue
		}
		var err error
		if dst, err = x.appendRawValue(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendHMACValue appends the HMAC'd form of one data value. A nil
// []any, []string or map[string]string is written empty, as the copy the
// reference encoder HMAC'd was; a nil map[string]any as null.
func (x *entryEncoder) appendHMACValue(dst []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...)
	case map[string]any:
		return x.appendHMACMap(dst, t)
	case []any:
		dst = append(dst, '[')
		for i, y := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = x.appendHMACValue(dst, y)
		}
		return append(dst, ']')
	case []string:
		dst = append(dst, '[')
		for i, y := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = x.appendHMAC(dst, y)
		}
		return append(dst, ']')
	case map[string]string:
		return x.appendStringMap(dst, t, true)
	case string:
		if t == "" {
			return x.appendSmall(dst, smallEmpty, v)
		}
		return x.appendHMAC(dst, t)
	case json.Number:
		return x.appendHMAC(dst, t.String())
	}
	if slot, ok := smallSlot(v); ok {
		return x.appendSmall(dst, slot, v)
	}
	x.scratch = appendLeafJSON(x.scratch[:0], v)
	dst = append(dst, '"')
	dst = x.h.sum(dst, x.scratch)
	return append(dst, '"')
}

// smallSlot returns the cache slot of a leaf that has one.
func smallSlot(v any) (int, bool) {
	switch t := v.(type) {
	case bool:
		if t {
			return smallTrue, true
		}
		return smallFalse, true
	case int:
		if t >= 0 && t < smallInts {
			return smallFirstInt + t, true
		}
	case float64:
		// Whole numbers format as integers; -0 formats as "-0".
		if t >= 0 && t < smallInts && t == math.Trunc(t) && !math.Signbit(t) {
			return smallFirstInt + int(t), true
		}
	}
	return 0, false
}

// appendSmall appends the quoted HMAC of leaf v through its cache slot.
func (x *entryEncoder) appendSmall(dst []byte, slot int, v any) []byte {
	c := &x.small[slot]
	if !c.ok {
		var in []byte
		if s, ok := v.(string); ok {
			in = append(x.scratch[:0], s...)
		} else {
			in = appendLeafJSON(x.scratch[:0], v)
		}
		x.h.sum(c.out[:0], in)
		c.ok = true
	}
	dst = append(dst, '"')
	dst = append(dst, c.out[:]...)
	return append(dst, '"')
}

// appendHMAC appends the quoted HMAC of s.
func (x *entryEncoder) appendHMAC(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = x.h.sumString(dst, s)
	return append(dst, '"')
}

// appendLeafJSON appends what json.Marshal (HTML escaping on) makes of a
// non-string leaf, or its Go type name when it cannot be encoded: the
// bytes a leaf's HMAC covers.
func appendLeafJSON(dst []byte, v any) []byte {
	switch t := v.(type) {
	case bool:
		return strconv.AppendBool(dst, t)
	case int:
		return strconv.AppendInt(dst, int64(t), 10)
	case int64:
		return strconv.AppendInt(dst, t, 10)
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return append(dst, "float64"...)
		}
		return appendFloat64(dst, t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// An unencodable value is still recorded, without content.
		return fmt.Appendf(dst, "%T", v)
	}
	return append(dst, b...)
}

// appendStringMap appends a map[string]string, its values HMAC'd when
// hmac is set (sorted keys, as encoding/json).
func (x *entryEncoder) appendStringMap(dst []byte, m map[string]string, hmac bool) []byte {
	if m == nil && !hmac {
		return append(dst, "null"...)
	}
	keys, mark := sortedKeys(x, m)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendString(dst, k), ':')
		if hmac {
			dst = x.appendHMAC(dst, m[k])
		} else {
			dst = appendString(dst, m[k])
		}
	}
	x.keys = x.keys[:mark]
	return append(dst, '}')
}

// appendRawMap appends a map as encoding/json does.
func (x *entryEncoder) appendRawMap(dst []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	keys, mark := sortedKeys(x, m)
	defer func() { x.keys = x.keys[:mark] }()
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendString(dst, k), ':')
		var err error
		if dst, err = x.appendRawValue(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendRawValue appends v as encoding/json (HTML escaping off) does.
func (x *entryEncoder) appendRawValue(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, t), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case int:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	case float64:
		if !math.IsInf(t, 0) && !math.IsNaN(t) {
			return appendFloat64(dst, t), nil
		}
	case map[string]any:
		return x.appendRawMap(dst, t)
	case []any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, y := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = x.appendRawValue(dst, y); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		if t == nil {
			return append(dst, "null"...), nil
		}
		return appendStrings(dst, t), nil
	case map[string]string:
		return x.appendStringMap(dst, t, false), nil
	}
	return appendJSON(dst, v)
}

// appendJSON appends what a json.Encoder without HTML escaping writes
// for v, without its newline.
func appendJSON(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// appendStrings appends a JSON array of strings.
func appendStrings(dst []byte, l []string) []byte {
	dst = append(dst, '[')
	for i, s := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendFloat64 formats a finite float as encoding/json does (ES6
// number formatting).
func appendFloat64(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// jsonSafe[b] says that ASCII byte b needs no escaping in a JSON string
// (everything but control characters, '"' and '\\').
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendString appends s as a JSON string exactly as encoding/json does
// without HTML escaping: short escapes for \b \f \n \r \t, \u00XX for
// other control characters, \ufffd for each invalid UTF-8 byte, and
// \u2028 and \u2029 escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// release drops buffers grown past what is worth keeping in a pool.
func (x *entryEncoder) release() {
	if cap(x.scratch) > maxKeptScratch {
		x.scratch = nil
	}
	if cap(x.keys) > 1024 {
		x.keys = nil
	}
	clear(x.keys[:cap(x.keys)])
}
