package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// textMarshaler is a leaf type the fast paths do not know.
type textMarshaler struct{ v string }

func (t textMarshaler) MarshalText() ([]byte, error) { return []byte("<" + t.v + ">"), nil }

// failingMarshaler cannot be encoded.
type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, fmt.Errorf("no") }

// trickyStrings are strings whose escaping encoding/json does its own way.
var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\nret\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é ü 日本語 🎉", "line\u2028para\u2029sep", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate",
	"trailing \xe2\x82", strings.Repeat("long ", 200),
}

// equivalenceEntries are entries covering every field and data shape.
func equivalenceEntries() []*Entry {
	nested := map[string]any{
		"s": "v", "n": 42, "i64": int64(-7), "f": 3.5, "tiny": 1e-9, "huge": 1e22, "neg0": math.Copysign(0, -1),
		"b": true, "nil": nil, "num": json.Number("12.50"), "list": []any{"x", 1, false, nil, map[string]any{"deep": "y"}},
		"strs": []string{"a", "<b>"}, "smap": map[string]string{"z": "1", "a": "&"}, "empty": map[string]any{},
		"nilmap": map[string]any(nil), "nillist": []any(nil), "nilstrs": []string(nil), "nilsmap": map[string]string(nil),
		"u8": uint8(9), "f32": float32(0.1), "time": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		"text": textMarshaler{"t&t"}, "ints": []int{1, 2}, "imap": map[string]int{"k": 1}, "nan": math.NaN(),
		"inf": math.Inf(1), "ptr": (*int)(nil), "bytes": []byte("raw<>"),
	}
	for i, s := range trickyStrings {
		nested[fmt.Sprintf("tricky%02d", i)] = s
		nested[s] = i // tricky keys
	}
	full := &Entry{
		Time: time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)), RequestID: "req<1>",
		Operation: "update", Path: "secret/data/a&b", MountType: "kv", RemoteAddr: "10.0.0.1:5",
		Unauthenticated: true,
		Auth: Auth{
			ClientToken: "hvs.token", Accessor: "acc", EntityID: "ent", DisplayName: "name\u2028",
			Policies: []string{"default", "<p>"}, Metadata: map[string]string{"b": "2", "a": "\x01", "": "empty"},
		},
		Decision:     Decision{Allowed: true, PolicyIDs: []string{"p1", "p\"2"}},
		RequestData:  map[string]any{"password": "pw", "nested": nested},
		ResponseData: map[string]any{"data": nested, "lease": "x"},
		Error:        "permission denied <&>", LeaseID: "lease/1", Status: 403,
	}
	encodable := *full // raw encodes it without the values JSON refuses
	encodable.RequestData = map[string]any{"nested": maps.Clone(nested)}
	for _, k := range []string{"nan", "inf"} {
		delete(encodable.RequestData["nested"].(map[string]any), k)
	}
	small := []any{false, true, "", 0, 1, 63, 64, -1, 0.0, 1.0, 63.0, 63.5, 64.0, math.Copysign(0, -1), int64(3), json.Number("3")}
	entries := []*Entry{
		{RequestData: map[string]any{"small": small, "again": small}, ResponseData: map[string]any{"x": small}},
		&encodable,
		{}, // zero: every optional field omitted
		{Time: time.Unix(0, 1), RequestData: map[string]any{}, ResponseData: map[string]any{}},
		{RequestData: map[string]any{"only": nil}, ResponseData: map[string]any{"x": []any{}}, Status: 200},
		{Auth: Auth{Policies: []string{}, Metadata: map[string]string{}}, Decision: Decision{PolicyIDs: []string{}}},
		{Time: time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), Error: "e", Status: -1},
		full,
	}
	for _, s := range trickyStrings {
		entries = append(entries, &Entry{
			RequestID: s, Operation: s, Path: s, MountType: s, RemoteAddr: s, Error: s, LeaseID: s,
			Auth:        Auth{ClientToken: s, Accessor: s, DisplayName: s, EntityID: s, Policies: []string{s}, Metadata: map[string]string{s: s}},
			RequestData: map[string]any{s: s}, ResponseData: map[string]any{s: []any{s}},
		})
	}
	return append(entries, randomEntries(200)...)
}

// randomEntries are entries with random data trees.
func randomEntries(n int) []*Entry {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]*Entry, n)
	for i := range out {
		out[i] = &Entry{
			Time: time.Unix(r.Int64N(1<<40), r.Int64N(1e9)), RequestID: randString(r), Path: randString(r),
			Auth:         Auth{ClientToken: randString(r), Accessor: randString(r), Metadata: map[string]string{randString(r): randString(r)}},
			RequestData:  randMap(r, 3),
			ResponseData: randMap(r, 3),
			Status:       r.IntN(600),
		}
	}
	return out
}

func randString(r *rand.Rand) string {
	const alphabet = "ab<>&\"\\\n\x00é\u2028\xff"
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randMap(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range r.IntN(5) {
		m[randString(r)] = randValue(r, depth)
	}
	return m
}

func randValue(r *rand.Rand, depth int) any {
	k := r.IntN(9)
	if depth == 0 {
		k %= 5
	}
	switch k {
	case 0:
		return randString(r)
	case 1:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(50)-25))
	case 2:
		return r.IntN(2) == 0
	case 3:
		return nil
	case 4:
		return r.Int()
	case 5:
		return randMap(r, depth-1)
	case 6:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randValue(r, depth-1)
		}
		return l
	case 7:
		return []string{randString(r), randString(r)}
	default:
		return map[string]string{randString(r): randString(r)}
	}
}

// TestEncoderMatchesReference: the append encoder writes byte for byte
// what the reference encoder (encoding/json over an HMAC'd copy) writes,
// for every entry type and encoding, and fails where it fails.
func TestEncoderMatchesReference(t *testing.T) {
	key := deriveKey(make([]byte, RootKeySize), 7)
	encodings := []struct {
		name string
		enc  encoding
	}{
		{"hmac", encoding{}},
		{"plain accessor", encoding{plainAccessor: true}},
		{"raw", encoding{raw: true}},
	}
	entries := equivalenceEntries()
	for _, tt := range encodings {
		t.Run(tt.name, func(t *testing.T) {
			x := newEntryEncoder(7, key, tt.enc) // one encoder: its caches and stacks carry over
			compared := 0
			for i, e := range entries {
				for _, typ := range []string{TypeRequest, TypeResponse} {
					want, werr := refEntryBody(typ, e, newHasher(key), 7, tt.enc)
					got, gerr := x.appendEntry([]byte("keep"), typ, e)
					if (werr != nil) != (gerr != nil) || werr != nil && werr.Error() != gerr.Error() {
						t.Fatalf("entry %d %s: error %v, reference %v", i, typ, gerr, werr)
					}
					if werr == nil && !bytes.Equal(got, append([]byte("keep"), want...)) {
						t.Fatalf("entry %d %s:\n got %s\nwant keep%s", i, typ, got, want)
					}
					if werr == nil {
						compared++
					}
					if werr != nil && string(got) != "keep" {
						t.Fatalf("entry %d %s: a failed encode left %q", i, typ, got)
					}
				}
			}
			if compared < len(entries) {
				t.Fatalf("only %d of %d lines compared", compared, 2*len(entries))
			}
		})
	}
}

// TestEncoderRawErrors: data that encoding/json refuses fails a raw entry
// with the reference's error; HMAC'd, it is recorded as its type.
func TestEncoderRawErrors(t *testing.T) {
	key := deriveKey(make([]byte, RootKeySize), 1)
	for _, v := range []any{math.NaN(), math.Inf(-1), failingMarshaler{}, make(chan int), map[string]any{"f": func() {}}} {
		e := &Entry{RequestData: map[string]any{"v": v}}
		for _, enc := range []encoding{{}, {raw: true}} {
			want, werr := refEntryBody(TypeRequest, e, newHasher(key), 1, enc)
			got, gerr := newEntryEncoder(1, key, enc).appendEntry(nil, TypeRequest, e)
			if enc.raw != (gerr != nil) {
				t.Fatalf("%T raw=%v: error %v", v, enc.raw, gerr)
			}
			if (werr != nil) != (gerr != nil) || gerr != nil && gerr.Error() != werr.Error() || !bytes.Equal(got, want) {
				t.Fatalf("%T raw=%v: got %q %v, reference %q %v", v, enc.raw, got, gerr, want, werr)
			}
		}
	}
}

// TestSecretCacheFollowsValue: the cached client_token and accessor HMACs
// change with the value and never leak one caller's HMAC into another's
// line.
func TestSecretCacheFollowsValue(t *testing.T) {
	key := deriveKey(make([]byte, RootKeySize), 3)
	x := newEntryEncoder(3, key, encoding{})
	ref := newHasher(key)
	for _, tok := range []string{"a", "a", "b", "", "b", "bb", "ba", "a"} {
		e := &Entry{Auth: Auth{ClientToken: tok, Accessor: tok + "-acc"}}
		got, err := x.appendEntry(nil, TypeRequest, e)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := refEntryBody(TypeRequest, e, ref, 3, encoding{})
		if !bytes.Equal(got, want) {
			t.Fatalf("token %q: got %s, want %s", tok, got, want)
		}
	}
}

// TestResponseClear: the keys an engine vouches for are written as they
// are; every other value, however nested, stays HMAC'd.
func TestResponseClear(t *testing.T) {
	key := deriveKey(make([]byte, RootKeySize), 1)
	e := &Entry{
		ResponseData: map[string]any{
			"serial_number": "1a:2b", "key_version": 3, "private_key": "-----BEGIN PRIVATE KEY-----",
			"nested": map[string]any{"serial_number": "inner"},
		},
		ResponseClear: []string{"serial_number", "key_version", "absent"},
	}
	line, err := newEntryEncoder(1, key, encoding{}).appendEntry(nil, TypeResponse, e)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Response struct {
			Data map[string]any `json:"data"`
		} `json:"response"`
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	d := got.Response.Data
	if d["serial_number"] != "1a:2b" || d["key_version"] != float64(3) {
		t.Fatalf("clear keys HMAC'd or changed: %v", d)
	}
	if pk, _ := d["private_key"].(string); !strings.HasPrefix(pk, "hmac-sha256:") {
		t.Fatalf("private_key not HMAC'd: %v", d["private_key"])
	}
	if inner, _ := d["nested"].(map[string]any)["serial_number"].(string); !strings.HasPrefix(inner, "hmac-sha256:") {
		t.Fatalf("a nested key of a clear name is not HMAC'd: %v", d["nested"])
	}
	if bytes.Contains(line, []byte("BEGIN PRIVATE KEY")) {
		t.Fatal("the private key reached the line")
	}
}
