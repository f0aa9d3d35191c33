package client

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration the way a Vault server, the Vault CLI
// and Vault's SDK do (parseutil.ParseDurationSecond on a string), for
// flags and environment variables such as VAULT_CLIENT_TIMEOUT:
//
//   - "" is 0;
//   - a decimal integer is seconds ("90", "+90", "-5");
//   - an integer followed by "d" is days ("7d");
//   - anything else must be a Go duration ("1h30m", "1.5s", "250ms").
//
// Spaces are not trimmed, fractional seconds need a unit ("1.5" is an
// error, "1.5s" is not), days do not combine with other units ("1d12h"
// is an error) and a duration beyond time.Duration's range (about ±292
// years) is an error. Negative durations are returned; callers decide.
// Errors wrap ErrInvalidArgument.
//
// The server parses request fields with engines/framework.ParseDuration,
// which the SDK may not import; both are tested against parseutil on the
// same inputs, so a value this accepts the server accepts alike.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return scaleDuration(n, time.Second, s)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, invalidArg("invalid duration %s", quoteShort(s))
		}
		return scaleDuration(n, 24*time.Hour, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalidArg("invalid duration %s", quoteShort(s))
	}
	return d, nil
}

// scaleDuration returns n units, or an error when that overflows.
func scaleDuration(n int64, unit time.Duration, s string) (time.Duration, error) {
	limit := math.MaxInt64 / int64(unit)
	if n > limit || n < -limit {
		return 0, invalidArg("invalid duration %s: out of range", quoteShort(s))
	}
	return time.Duration(n) * unit, nil
}

// quoteShort quotes at most the first 64 bytes of s for an error message.
func quoteShort(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:64], "")) + "..."
}
