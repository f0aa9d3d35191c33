package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-secure-stdlib/parseutil"

	"github.com/secretumvault/secretumvault/client"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "90", want: 90 * time.Second},
		{in: "+90", want: 90 * time.Second},
		{in: "-5", want: -5 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1.5s", want: 1500 * time.Millisecond},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "-1d", want: -24 * time.Hour},
		{in: "9223372036", want: 9223372036 * time.Second},
		{in: "1.5", wantErr: true},
		{in: "1d12h", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: " 30", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "9223372037", wantErr: true},
		{in: "106752d", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := client.ParseDuration(tc.in)
			if tc.wantErr {
				if !errors.Is(err, client.ErrInvalidArgument) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want ErrInvalidArgument", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDurationErrorText(t *testing.T) {
	t.Parallel()
	if _, err := client.ParseDuration("soon"); err == nil || err.Error() != `client: invalid argument: invalid duration "soon"` {
		t.Fatalf("error = %v", err)
	}
	long := strings.Repeat("x", 100)
	if _, err := client.ParseDuration(long); err == nil || !strings.HasSuffix(err.Error(), `"`+long[:64]+`"...`) {
		t.Fatalf("long input error = %v", err)
	}
}

// durationCorpus holds strings on which ParseDuration must agree with
// Vault's parseutil.ParseDurationSecond (the server's parser is checked
// against the same reference in engines/framework).
var durationCorpus = []string{
	"", "0", "-0", "+0", "1", "90", "+90", "-90", "007", "3600",
	"9223372036", "-9223372036", "9223372037", "-9223372037",
	"9223372036854775807", "-9223372036854775808", "99999999999999999999",
	"1d", "7d", "+2d", "-1d", "0d", "106751d", "-106751d", "106752d", "-106752d",
	"d", "1.5d", "1d12h", "12h1d", "1D", "dd", "1dd", " 1d", "1d ",
	"1h", "1h30m", "1.5h", "90m", "1.5s", "250ms", "3µs", "3us", "10ns",
	"-2m", "+2m", ".5s", "0s", "2562047h", "2562048h",
	"1.5", "1e3", "0x10", "1_000", " 30", "30 ", "\t30", "  ", "soon", "5y", "s", "-", "+",
}

func TestParseDurationMatchesParseutil(t *testing.T) {
	t.Parallel()
	for _, in := range durationCorpus {
		want, wantErr := parseutil.ParseDurationSecond(in)
		got, err := client.ParseDuration(in)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; parseutil says %v, %v", in, got, err, want, wantErr)
		}
	}
}

// FuzzParseDuration checks ParseDuration never panics and agrees with
// parseutil on every string. Run with
// go test ./client -run '^$' -fuzz FuzzParseDuration.
func FuzzParseDuration(f *testing.F) {
	for _, in := range durationCorpus {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, wantErr := parseutil.ParseDurationSecond(in)
		got, err := client.ParseDuration(in)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Fatalf("ParseDuration(%q) = %v, %v; parseutil says %v, %v", in, got, err, want, wantErr)
		}
	})
}
