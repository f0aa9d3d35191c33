package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(*testing.T, *options)
		wantErr string
	}{
		{name: "defaults need a token", args: nil, wantErr: "token"},
		{name: "token from env", args: nil, env: map[string]string{"VAULT_TOKEN": "e"}, check: func(t *testing.T, o *options) {
			if o.cfg.Token != "e" || o.cfg.Duration != 30*time.Second || o.cfg.Clients != 16 || o.format != "text" || o.cfg.OutageThreshold != 250*time.Millisecond ||
				!slices.Equal(o.cfg.Addrs, []string{"http://127.0.0.1:8200"}) || o.cfg.Workload != load.WorkloadWrite {
				t.Fatalf("options = %+v", o.cfg)
			}
		}},
		{name: "flag token wins", args: []string{"-token", "f"}, env: map[string]string{"VAULT_TOKEN": "e"}, check: func(t *testing.T, o *options) {
			if o.cfg.Token != "f" {
				t.Fatalf("token = %q", o.cfg.Token)
			}
		}},
		{name: "full set", args: []string{"-token", "t", "-addr", "http://127.0.0.1:8200,http://localhost:8210/", "-mount", "kv",
			"-workload", "mixed", "-read-pct", "75", "-clients", "3", "-duration", "5s", "-keys", "10", "-value-size", "32", "-format", "json"},
			check: func(t *testing.T, o *options) {
				c := o.cfg
				if !slices.Equal(c.Addrs, []string{"http://127.0.0.1:8200", "http://localhost:8210"}) || c.Mount != "kv" ||
					c.Workload != load.WorkloadMixed || c.ReadPercent != 75 || c.Clients != 3 || c.Duration != 5*time.Second ||
					c.Keys != 10 || c.ValueSize != 32 || o.format != "json" {
					t.Fatalf("options = %+v format %q", c, o.format)
				}
			}},
		{name: "outage threshold", args: []string{"-token", "t", "-outage-threshold", "1.5s"}, check: func(t *testing.T, o *options) {
			if o.cfg.OutageThreshold != 1500*time.Millisecond {
				t.Fatalf("outage threshold = %v", o.cfg.OutageThreshold)
			}
		}},
		{name: "negative outage threshold", args: []string{"-token", "t", "-outage-threshold", "-1s"}, wantErr: "outage-threshold"},
		{name: "requests replaces default duration", args: []string{"-token", "t", "-requests", "100"}, check: func(t *testing.T, o *options) {
			if o.cfg.Requests != 100 || o.cfg.Duration != 0 {
				t.Fatalf("requests %d duration %v", o.cfg.Requests, o.cfg.Duration)
			}
		}},
		{name: "requests and duration both", args: []string{"-token", "t", "-requests", "100", "-duration", "1s"}, wantErr: "duration/requests"},
		{name: "remote refused", args: []string{"-token", "t", "-addr", "http://203.0.113.7:8200"}, wantErr: "non-loopback"},
		{name: "remote allowed", args: []string{"-token", "t", "-addr", "http://203.0.113.7:8200", "-allow-remote"}, check: func(t *testing.T, o *options) {
			if !o.cfg.AllowRemote {
				t.Fatal("allow-remote not set")
			}
		}},
		{name: "bad workload", args: []string{"-token", "t", "-workload", "scan"}, wantErr: "workload"},
		{name: "bad format", args: []string{"-token", "t", "-format", "yaml"}, wantErr: "format"},
		{name: "bad read pct", args: []string{"-token", "t", "-read-pct", "120"}, wantErr: "read-pct"},
		{name: "zero clients", args: []string{"-token", "t", "-clients", "0"}, wantErr: "clients"},
		{name: "unknown flag", args: []string{"-token", "t", "-bogus"}, wantErr: "bogus"},
		{name: "stray argument", args: []string{"-token", "t", "extra"}, wantErr: "unexpected"},
		{name: "not a duration", args: []string{"-token", "t", "-duration", "soon"}, wantErr: "duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseFlags(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFlags = %v, want error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-clients", "0"}, env(nil), &out, &errOut); code != 2 {
		t.Fatalf("bad flags exit = %d", code)
	}
	if code := run(context.Background(), []string{"-h"}, env(nil), &out, &errOut); code != 0 {
		t.Fatalf("-h exit = %d", code)
	}
	if _, err := parseFlags([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h = %v", err)
	}
}

// TestRunJSONAgainstRealServer runs the command end to end against a real
// in-process server and parses its JSON output.
func TestRunJSONAgainstRealServer(t *testing.T) {
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.InitializeDev(context.Background(), "s3cret-root"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(c, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer hs.Close()

	var out, errOut bytes.Buffer
	args := []string{"-addr", hs.URL, "-workload", "read", "-clients", "2", "-requests", "200", "-keys", "20", "-format", "json"}
	if code := run(context.Background(), args, env(map[string]string{"VAULT_TOKEN": "s3cret-root"}), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	var rep load.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, out.String())
	}
	r := rep.ByKind[load.KindRead]
	if rep.Total.Requests != 200 || rep.Total.Errors != 0 || r == nil || r.Requests != 200 || rep.Total.Latency.P99 <= 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.OutageThresholdMS != 250 || rep.Total.Availability != (load.Availability{Recovered: true}) || !strings.Contains(out.String(), `"longest_outage_ms": 0`) {
		t.Fatalf("availability of a clean run: threshold %v, %+v\n%s", rep.OutageThresholdMS, rep.Total.Availability, out.String())
	}
	if strings.Contains(out.String()+errOut.String(), "s3cret-root") {
		t.Fatal("output contains the token")
	}

	// Text output and exit status 1 once the token is wrong.
	out.Reset()
	args = []string{"-addr", hs.URL, "-token", "wrong", "-clients", "1", "-requests", "5"}
	if code := run(context.Background(), args, env(nil), &out, &errOut); code != 1 {
		t.Fatalf("errors exit = %d", code)
	}
	if !strings.Contains(out.String(), "errors (all): 403=5") || !strings.Contains(out.String(), "availability (all): ") ||
		!strings.Contains(out.String(), "..end, not recovered)") {
		t.Fatalf("text report:\n%s", out.String())
	}
}
