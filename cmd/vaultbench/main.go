// Command vaultbench is a load generator for SecretumVault (or any server
// speaking the Vault KV v2 HTTP API). It reports total requests, errors by
// status code, requests per second, p50/p95/p99/max latency and
// availability, for the whole run and per request kind.
//
// Usage:
//
//	vaultbench -addr http://127.0.0.1:8200[,http://127.0.0.1:8210,...] -token T \
//	  [-mount secret] [-workload write|read|mixed] [-read-pct 90] [-clients 16] \
//	  [-duration 30s | -requests N] [-keys 1000] [-value-size 256] \
//	  [-key-prefix vaultbench] [-timeout 10s] [-outage-threshold 250ms] \
//	  [-format text|json] [-allow-remote] [-tls-skip-verify]
//
// Start a dev server and measure a 90/10 read/write mix for ten seconds:
//
//	vaultd -dev -dev-root-token-id=root &
//	vaultbench -token root -workload mixed -read-pct 90 -clients 8 -duration 10s
//
// Clients are spread round-robin over the addresses; each has its own
// keep-alive connection. The read and mixed workloads first write every
// key once (not measured). Writes cycle through the keys
// <mount>/data/<key-prefix>/key-NNNNNNN; reads pick a random key. The run
// stops after -duration or after -requests requests, whichever is given
// (exactly one; -requests wins over the default duration), or on Ctrl-C,
// and the report is printed either way.
//
// Availability: an outage window is a stretch without a successful
// request that holds at least one failure, from the last success before
// the failures (or the first failure) to the next success (or the end of
// the run). For every row with errors the text report adds a line such as
//
//	availability (write): 1 outage(s) > 250ms; longest 1.52s (2.01s..3.53s, recovered)
//
// giving how many windows were longer than -outage-threshold, the longest
// one and its start and end as offsets from the start of the measured
// phase ("end, not recovered" when no request succeeded after it). The
// JSON report carries the same figures in every "availability" object
// (outages, longest_outage_ms, longest_outage_start_ms, recovery_ms,
// recovered) and the threshold as outage_threshold_ms. Kill a leader
// during a write run to measure a failover.
//
// The token defaults to $VAULT_TOKEN and is never printed. Addresses must be
// loopback (127.0.0.0/8, ::1, localhost) unless -allow-remote is given.
//
// Exit status: 0 when every request succeeded, 1 when the run completed
// with request errors or could not run, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/secretumvault/secretumvault/bench/load"
)

// options are the parsed command line: the run config and the output format.
type options struct {
	cfg    load.Config
	format string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "vaultbench:", err)
		return 2
	}
	rep, err := load.Run(ctx, opts.cfg)
	if err != nil {
		fmt.Fprintln(stderr, "vaultbench:", err)
		return 1
	}
	if err := writeReport(stdout, rep, opts.format); err != nil {
		fmt.Fprintln(stderr, "vaultbench:", err)
		return 1
	}
	if rep.Total.Errors > 0 {
		return 1
	}
	return 0
}

// writeReport prints rep in format, "text" or "json": the command's one
// printer.
func writeReport(w io.Writer, rep *load.Report, format string) error {
	if format == "json" {
		return rep.WriteJSON(w)
	}
	return rep.WriteText(w)
}

// parseFlags turns args into options and validates them, so that every
// usage error is reported before any traffic is sent.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	def := load.DefaultConfig()
	o := &options{cfg: def}
	c := &o.cfg
	fs := flag.NewFlagSet("vaultbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrs := fs.String("addr", def.Addrs[0], "comma-separated server addresses")
	workload := fs.String("workload", string(def.Workload), "write, read or mixed")
	fs.StringVar(&c.Token, "token", "", "token sent as X-Vault-Token (default $VAULT_TOKEN)")
	fs.StringVar(&c.Mount, "mount", def.Mount, "kv-v2 mount path")
	fs.IntVar(&c.ReadPercent, "read-pct", def.ReadPercent, "percentage of reads in the mixed workload")
	fs.IntVar(&c.Clients, "clients", def.Clients, "concurrent clients")
	fs.DurationVar(&c.Duration, "duration", def.Duration, "run length (exclusive with -requests)")
	fs.IntVar(&c.Requests, "requests", 0, "total requests to send (exclusive with -duration)")
	fs.IntVar(&c.Keys, "keys", def.Keys, "distinct keys")
	fs.IntVar(&c.ValueSize, "value-size", def.ValueSize, "bytes per written value")
	fs.StringVar(&c.KeyPrefix, "key-prefix", def.KeyPrefix, "path under the mount for the keys")
	fs.DurationVar(&c.Timeout, "timeout", def.Timeout, "per-request timeout")
	fs.DurationVar(&c.OutageThreshold, "outage-threshold", def.OutageThreshold, "count outage windows (no successful request) longer than this")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "permit non-loopback addresses")
	fs.BoolVar(&c.InsecureSkipVerify, "tls-skip-verify", false, "do not verify TLS certificates")
	fs.StringVar(&o.format, "format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["requests"] && !set["duration"] {
		c.Duration = 0 // -requests alone replaces the default duration
	}
	if c.Token == "" {
		c.Token = getenv("VAULT_TOKEN")
	}
	c.Addrs = load.ParseAddrs(*addrs)
	c.Workload = load.Workload(*workload)
	if o.format != "text" && o.format != "json" {
		return nil, fmt.Errorf("format: %q is not text or json", o.format)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}
