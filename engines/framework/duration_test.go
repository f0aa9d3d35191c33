package framework_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-secure-stdlib/parseutil"

	"github.com/secretumvault/secretumvault/engines/framework"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    time.Duration
		wantErr bool
	}{
		{name: "nil", in: nil, want: 0},
		{name: "empty string", in: "", want: 0},
		{name: "time.Duration", in: 1500 * time.Millisecond, want: 1500 * time.Millisecond},
		{name: "int seconds", in: 90, want: 90 * time.Second},
		{name: "int8 seconds", in: int8(-3), want: -3 * time.Second},
		{name: "int16 seconds", in: int16(300), want: 300 * time.Second},
		{name: "int32 seconds", in: int32(60), want: time.Minute},
		{name: "int64 seconds", in: int64(3600), want: time.Hour},
		{name: "uint seconds", in: uint(5), want: 5 * time.Second},
		{name: "uint8 seconds", in: uint8(5), want: 5 * time.Second},
		{name: "uint16 seconds", in: uint16(5), want: 5 * time.Second},
		{name: "uint32 seconds", in: uint32(5), want: 5 * time.Second},
		{name: "uint64 seconds", in: uint64(5), want: 5 * time.Second},
		{name: "float seconds", in: float64(60), want: time.Minute},
		{name: "float truncates toward zero", in: 1.9, want: time.Second},
		{name: "negative float truncates toward zero", in: -1.9, want: -time.Second},
		{name: "float below one second", in: 0.5, want: 0},
		{name: "float32 seconds", in: float32(2.5), want: 2 * time.Second},
		{name: "negative int", in: -30, want: -30 * time.Second},
		{name: "numeric string", in: "3600", want: time.Hour},
		{name: "signed numeric string", in: "+30", want: 30 * time.Second},
		{name: "negative numeric string", in: "-30", want: -30 * time.Second},
		{name: "leading zeros", in: "007", want: 7 * time.Second},
		{name: "json.Number", in: json.Number("30"), want: 30 * time.Second},
		{name: "json.Number negative", in: json.Number("-1"), want: -time.Second},
		{name: "Go duration", in: "1h30m", want: 90 * time.Minute},
		{name: "Go duration fractional", in: "1.5s", want: 1500 * time.Millisecond},
		{name: "Go duration sub-second", in: "250ms", want: 250 * time.Millisecond},
		{name: "Go duration micro sign", in: "3µs", want: 3 * time.Microsecond},
		{name: "Go duration negative", in: "-2m", want: -2 * time.Minute},
		{name: "Go duration zero", in: "0s", want: 0},
		{name: "days", in: "7d", want: 7 * 24 * time.Hour},
		{name: "negative days", in: "-1d", want: -24 * time.Hour},
		{name: "zero days", in: "0d", want: 0},
		{name: "largest seconds", in: "9223372036", want: 9223372036 * time.Second},
		{name: "largest days", in: "106751d", want: 106751 * 24 * time.Hour},
		{name: "largest float seconds", in: float64(9223372036), want: 9223372036 * time.Second},

		{name: "fractional numeric string", in: "1.5", wantErr: true},
		{name: "fractional json.Number", in: json.Number("1.5"), wantErr: true},
		{name: "exponent json.Number", in: json.Number("1e3"), wantErr: true},
		{name: "days combined with hours", in: "1d12h", wantErr: true},
		{name: "hours then days", in: "12h1d", wantErr: true},
		{name: "fractional days", in: "1.5d", wantErr: true},
		{name: "bare d", in: "d", wantErr: true},
		{name: "leading space", in: " 30", wantErr: true},
		{name: "trailing space", in: "1h ", wantErr: true},
		{name: "only spaces", in: "  ", wantErr: true},
		{name: "word", in: "soon", wantErr: true},
		{name: "unknown unit", in: "5y", wantErr: true},
		{name: "hex", in: "0x10", wantErr: true},
		{name: "underscores", in: "1_000", wantErr: true},
		{name: "seconds overflow", in: "9223372037", wantErr: true},
		{name: "int64 overflow in string", in: "99999999999999999999", wantErr: true},
		{name: "days overflow", in: "106752d", wantErr: true},
		{name: "Go duration overflow", in: "2562048h", wantErr: true},
		{name: "int overflow", in: int64(9223372037), wantErr: true},
		{name: "negative int overflow", in: int64(-9223372037), wantErr: true},
		{name: "uint64 beyond int64", in: uint64(math.MaxUint64), wantErr: true},
		{name: "float overflow", in: 1e10, wantErr: true},
		{name: "float NaN", in: math.NaN(), wantErr: true},
		{name: "float +Inf", in: math.Inf(1), wantErr: true},
		{name: "bool", in: true, wantErr: true},
		{name: "list", in: []any{"1h"}, wantErr: true},
		{name: "object", in: map[string]any{}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := framework.ParseDuration(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%#v) = %v, want an error", tc.in, got)
				}
				if !errors.Is(err, framework.ErrInvalidDuration) {
					t.Fatalf("ParseDuration(%#v) error %v does not wrap ErrInvalidDuration", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%#v) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDurationErrorText(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		in   any
		want string
	}{
		// The input is never repeated: a secret sent in the wrong field
		// would reach the audit log.
		{"unparsable string is not quoted", "soon", `invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{"bad days", "1.5d", `invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{"overflow", "106752d", `invalid duration: out of range`},
		{"long input", long, `invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{"multibyte input", strings.Repeat("é", 40), `invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{"wrong kind names the kind only", true, `invalid duration: expected seconds or a duration string such as "1h", got a bool`},
		{"number out of range", int64(1) << 40, `invalid duration: 1099511627776 seconds is out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := framework.ParseDuration(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// referenceCorpus holds inputs on which ParseDuration must agree exactly
// with Vault's parseutil.ParseDurationSecond: same value, or both failing.
var referenceCorpus = []any{
	nil, "", "0", "-0", "+0", "1", "90", "+90", "-90", "007", "3600",
	"9223372036", "-9223372036", "9223372037", "-9223372037",
	"9223372036854775807", "-9223372036854775808", "99999999999999999999",
	"1d", "7d", "+2d", "-1d", "0d", "106751d", "-106751d", "106752d", "-106752d",
	"d", "1.5d", "1d12h", "12h1d", "1D", "dd", "1dd", " 1d", "1d ",
	"1h", "1h30m", "1.5h", "90m", "1.5s", "250ms", "3µs", "3us", "3μs", "10ns",
	"-2m", "+2m", ".5s", "5.s", "0s", "0", "1h-30m", "2562047h", "2562048h",
	"1.5", "1e3", "0x10", "1_000", " 30", "30 ", "\t30", "1h ", "  ", "soon",
	"5y", "s", "-", "+", "1 h", "１", "Inf", "NaN",
	json.Number("30"), json.Number("-1"), json.Number("1.5"), json.Number("1e3"),
	json.Number(""), json.Number("7d"),
	0, 1, -1, 90, math.MaxInt32, math.MinInt32,
	int32(60), int64(3600), int64(9223372036), int64(-9223372036),
	int64(9223372037), int64(-9223372037), int64(math.MaxInt64), int64(math.MinInt64),
	uint(5), uint32(5), uint64(5), uint64(9223372036), uint64(9223372037), uint64(math.MaxInt64),
	float64(0), float64(60), 1.9, -1.9, 0.5, -0.5, 1e9, 9223372036.9, -9223372036.9,
	9223372037.0, 1e10, -1e10, 1e300, math.Inf(1), math.Inf(-1), math.MaxFloat64,
	float32(2.5), float32(-2.5), float32(1e20),
	time.Duration(0), 1500 * time.Millisecond, time.Duration(math.MinInt64),
	true, false, []any{"1h"}, map[string]any{}, struct{}{},
}

func TestParseDurationMatchesParseutil(t *testing.T) {
	for _, in := range referenceCorpus {
		want, wantErr := parseutil.ParseDurationSecond(in)
		got, err := framework.ParseDuration(in)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("ParseDuration(%#v) = %v, %v; parseutil says %v, %v", in, got, err, want, wantErr)
		}
	}
}

// TestParseDurationBeyondParseutil pins the inputs on which ParseDuration
// deliberately departs from parseutil: Go-typed values no request or
// config decoder produces, where parseutil refuses a small integer kind or
// answers with a wrapped-around or platform-dependent value.
func TestParseDurationBeyondParseutil(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    time.Duration
		wantErr bool
	}{
		{name: "int8 (parseutil: unsupported)", in: int8(5), want: 5 * time.Second},
		{name: "int16 (parseutil: unsupported)", in: int16(5), want: 5 * time.Second},
		{name: "uint8 (parseutil: unsupported)", in: uint8(5), want: 5 * time.Second},
		{name: "uint16 (parseutil: unsupported)", in: uint16(5), want: 5 * time.Second},
		{name: "uint64 max (parseutil: wraps to -1s)", in: uint64(math.MaxUint64), wantErr: true},
		{name: "NaN (parseutil: platform-dependent)", in: math.NaN(), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := framework.ParseDuration(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseDuration(%#v) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzParseDuration checks ParseDuration never panics and agrees with
// parseutil on every string, as a string and as a json.Number, and on the
// integer and float (seconds) forms. Run with
// go test ./engines/framework -run '^$' -fuzz FuzzParseDuration.
func FuzzParseDuration(f *testing.F) {
	for _, in := range referenceCorpus {
		switch x := in.(type) {
		case string:
			f.Add(x, int64(0), 0.0)
		case int64:
			f.Add("", x, 0.0)
		case float64:
			f.Add("", int64(0), x)
		}
	}
	f.Fuzz(func(t *testing.T, s string, n int64, x float64) {
		inputs := []any{s, json.Number(s), n, x}
		if math.IsNaN(x) {
			inputs = inputs[:3] // parseutil's NaN answer is platform-dependent
		}
		for _, in := range inputs {
			want, wantErr := parseutil.ParseDurationSecond(in)
			got, err := framework.ParseDuration(in)
			if (err != nil) != (wantErr != nil) || got != want {
				t.Fatalf("ParseDuration(%#v) = %v, %v; parseutil says %v, %v", in, got, err, want, wantErr)
			}
			if err != nil && !errors.Is(err, framework.ErrInvalidDuration) {
				t.Fatalf("ParseDuration(%#v) error %v does not wrap ErrInvalidDuration", in, err)
			}
		}
	})
}
