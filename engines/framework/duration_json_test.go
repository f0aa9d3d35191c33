package framework_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
)

func TestDurationUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    time.Duration
		wantErr bool
	}{
		{name: "integer seconds", json: `90`, want: 90 * time.Second},
		{name: "negative seconds", json: `-5`, want: -5 * time.Second},
		{name: "numeric string", json: `"3600"`, want: time.Hour},
		{name: "Go duration", json: `"1h30m"`, want: 90 * time.Minute},
		{name: "days", json: `"7d"`, want: 7 * 24 * time.Hour},
		{name: "empty string", json: `""`, want: 0},
		{name: "escaped string", json: `"1\u0068"`, want: time.Hour},
		{name: "fractional number", json: `1.5`, wantErr: true},
		{name: "exponent number", json: `1e3`, wantErr: true},
		{name: "bad string", json: `"soon"`, wantErr: true},
		{name: "bool", json: `true`, wantErr: true},
		{name: "object", json: `{}`, wantErr: true},
		{name: "list", json: `["1h"]`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v struct {
				D framework.Duration `json:"d"`
			}
			err := json.Unmarshal([]byte(`{"d":`+tc.json+`}`), &v)
			if tc.wantErr {
				if !errors.Is(err, framework.ErrInvalidDuration) {
					t.Fatalf("Unmarshal(%s) = %v (value %v), want ErrInvalidDuration", tc.json, err, v.D)
				}
				return
			}
			if err != nil || v.D.Duration() != tc.want {
				t.Fatalf("Unmarshal(%s) = %v, %v; want %v", tc.json, v.D, err, tc.want)
			}
		})
	}
}

// TestDurationOptionalField is the shape sys/mounts config uses: a
// *Duration tells absent and null (nil) from "" and 0 (zero).
func TestDurationOptionalField(t *testing.T) {
	type config struct {
		TTL *framework.Duration `json:"ttl"`
	}
	tests := []struct {
		name    string
		json    string
		wantNil bool
		want    time.Duration
	}{
		{name: "absent", json: `{}`, wantNil: true},
		{name: "null", json: `{"ttl":null}`, wantNil: true},
		{name: "empty string", json: `{"ttl":""}`, want: 0},
		{name: "zero", json: `{"ttl":0}`, want: 0},
		{name: "seconds", json: `{"ttl":"60"}`, want: time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c config
			if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
				t.Fatal(err)
			}
			if (c.TTL == nil) != tc.wantNil || (c.TTL != nil && c.TTL.Duration() != tc.want) {
				t.Fatalf("Unmarshal(%s) = %v, want nil=%v %v", tc.json, c.TTL, tc.wantNil, tc.want)
			}
		})
	}
	// null into a value field leaves it untouched, as for other types.
	v := struct {
		D framework.Duration `json:"d"`
	}{D: framework.Duration(time.Hour)}
	if err := json.Unmarshal([]byte(`{"d":null}`), &v); err != nil || v.D.Duration() != time.Hour {
		t.Fatalf("null into a set value: %v, %v", v.D, err)
	}
}

// TestDurationFromRequestData decodes request data the way server/api
// hands it over (numbers as json.Number) through a JSON round trip.
func TestDurationFromRequestData(t *testing.T) {
	data := map[string]any{"a": json.Number("30"), "b": "1h", "c": float64(45)}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		A, B, C framework.Duration
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Duration() != 30*time.Second || v.B.Duration() != time.Hour || v.C.Duration() != 45*time.Second {
		t.Fatalf("decoded %v %v %v", v.A, v.B, v.C)
	}
}

func TestDurationMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, `0`},
		{"hour", time.Hour, `3600`},
		{"sub-second truncated", 1500 * time.Millisecond, `1`},
		{"negative", -90 * time.Second, `-90`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(framework.Duration(tc.in))
			if err != nil || string(b) != tc.want {
				t.Fatalf("Marshal(%v) = %s, %v; want %s", tc.in, b, err, tc.want)
			}
			var back framework.Duration
			if err := json.Unmarshal(b, &back); err != nil || back.Duration() != tc.in.Truncate(time.Second) {
				t.Fatalf("round trip of %v = %v, %v", tc.in, back, err)
			}
		})
	}
	if got := framework.Duration(90 * time.Minute).String(); got != "1h30m0s" {
		t.Fatalf("String() = %q", got)
	}
}
