package framework

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration the way Vault does everywhere it takes
// one (go-secure-stdlib/parseutil.ParseDurationSecond, which Vault's
// TypeDurationSecond fields, token store, sys/mounts and raft config use):
//
//   - nil and "" are 0;
//   - a time.Duration is returned as is;
//   - an integer of any Go kind is a number of seconds;
//   - a float is a number of seconds truncated toward zero to a whole
//     second (1.9 → 1s, -1.9 → -1s);
//   - a string or json.Number holding a decimal integer is seconds ("90",
//     "+90", "-5"); an integer followed by "d" is days ("7d", "-1d");
//     anything else must be a Go duration ("1h30m", "1.5s", "250ms").
//
// As in Vault, a string is not trimmed (" 30" is an error), a fractional
// or exponent number in a string or json.Number is an error ("1.5",
// "1e3": JSON bodies decoded with UseNumber keep their numbers as
// json.Number, so {"ttl": 1.5} is refused, as Vault refuses it), days do
// not combine with other units ("1d12h", "1.5d") and a bool is an error.
// Negative durations are returned, not refused: whether one makes sense
// is the caller's decision.
//
// Where ParseDuration departs from parseutil it is on Go-typed values no
// request or config decoder produces: int8, int16, uint8 and uint16 are
// seconds like the other integer kinds (parseutil refuses them); an
// unsigned value above math.MaxInt64 seconds is out of range (parseutil
// wraps it around, so the largest uint64 becomes -1s); NaN is an error
// (parseutil's answer depends on the platform's float conversion). On
// every other input the result equals parseutil's, success or failure
// alike; only the error messages differ. A duration beyond
// time.Duration's range (about ±292 years) is an error, as in parseutil.
// Every error wraps ErrInvalidDuration and never quotes the input: a
// value sent in the wrong field may be a secret, and the error text is
// written to the audit log in the clear.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case time.Duration:
		return x, nil
	case string:
		return parseDurationString(x)
	case json.Number:
		return parseDurationString(string(x))
	case int:
		return secondsInt(int64(x))
	case int8:
		return secondsInt(int64(x))
	case int16:
		return secondsInt(int64(x))
	case int32:
		return secondsInt(int64(x))
	case int64:
		return secondsInt(x)
	case uint:
		return secondsUint(uint64(x))
	case uint8:
		return secondsInt(int64(x))
	case uint16:
		return secondsInt(int64(x))
	case uint32:
		return secondsInt(int64(x))
	case uint64:
		return secondsUint(x)
	case float32:
		return secondsFloat(float64(x))
	case float64:
		return secondsFloat(x)
	}
	return 0, fmt.Errorf("%w: expected seconds or a duration string such as \"1h\", got %s", ErrInvalidDuration, kindOf(v))
}

// maxSeconds is the largest whole number of seconds a time.Duration holds;
// -maxSeconds is the smallest (math.MinInt64 is not a whole second).
const maxSeconds = math.MaxInt64 / int64(time.Second)

func parseDurationString(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return scaled(n, time.Second, s)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: not a number of seconds or a duration such as \"1h30m\" or \"7d\"", ErrInvalidDuration)
		}
		return scaled(n, 24*time.Hour, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: not a number of seconds or a duration such as \"1h30m\" or \"7d\"", ErrInvalidDuration)
	}
	return d, nil
}

// scaled returns n units, or an error naming s when that overflows.
func scaled(n int64, unit time.Duration, s string) (time.Duration, error) {
	limit := math.MaxInt64 / int64(unit)
	if n > limit || n < -limit {
		return 0, fmt.Errorf("%w: out of range", ErrInvalidDuration)
	}
	return time.Duration(n) * unit, nil
}

func secondsInt(n int64) (time.Duration, error) {
	if n > maxSeconds || n < -maxSeconds {
		return 0, fmt.Errorf("%w: %d seconds is out of range", ErrInvalidDuration, n)
	}
	return time.Duration(n) * time.Second, nil
}

func secondsUint(n uint64) (time.Duration, error) {
	if n > uint64(maxSeconds) {
		return 0, fmt.Errorf("%w: %d seconds is out of range", ErrInvalidDuration, n)
	}
	return time.Duration(n) * time.Second, nil
}

func secondsFloat(f float64) (time.Duration, error) {
	f = math.Trunc(f)
	if math.IsNaN(f) || f > float64(maxSeconds) || f < -float64(maxSeconds) {
		return 0, fmt.Errorf("%w: %g seconds is out of range", ErrInvalidDuration, f)
	}
	return time.Duration(int64(f)) * time.Second, nil
}

// Duration is a time.Duration for JSON-decoded config and request structs.
// It decodes every form ParseDuration accepts: a JSON number (integer
// seconds; kept as json.Number, so 1.5 is refused as Vault refuses it), a
// string of seconds, a Go duration string or days ("90", "1h30m", "7d"),
// and "" for 0. JSON null leaves the value unchanged (use *Duration to
// tell "absent or null" from "0"). It encodes as whole seconds, truncated
// toward zero, the way Vault reports TTLs. FieldData.Decode and DecodeData
// fill a Duration field from a TypeDuration schema field as well.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var raw any
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidDuration, err)
		}
		raw = s
	} else {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidDuration, err)
		}
	}
	v, err := ParseDuration(raw)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler: whole seconds, as a JSON number.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(time.Duration(d)/time.Second), 10), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("1h30m0s").
func (d Duration) String() string { return time.Duration(d).String() }
