package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Device types, as sys/audit/:path and the server configuration name
// them.
const (
	TypeFile   = "file"
	TypeSocket = "socket"
	TypeSyslog = "syslog"
	TypeStdout = "stdout"
)

// DeviceConfig is an audit device as sys/audit/:path (Vault's "type" and
// "options") or a server-configuration audit block declares it.
type DeviceConfig struct {
	Type    string
	Options map[string]string
}

// Policy is what the server configuration allows devices to do.
type Policy struct {
	// AllowLogRaw permits log_raw=true (nothing HMAC'd).
	AllowLogRaw bool
	// AllowPrefix permits the prefix option (a prefix can make a log file
	// something other than a log, OpenBao CVE-2025-54997).
	AllowPrefix bool
}

// Keys are a device's secrets: its HMAC root key and checkpoint signing
// key. They are generated at enable time and stored through the barrier.
type Keys struct {
	HMACRoot []byte
	Signing  ed25519.PrivateKey
}

// NewKeys generates a device's keys.
func NewKeys() (Keys, error) {
	root := make([]byte, RootKeySize)
	if _, err := rand.Read(root); err != nil {
		return Keys{}, fmt.Errorf("audit: generate HMAC key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: generate signing key: %w", err)
	}
	return Keys{HMACRoot: root, Signing: priv}, nil
}

// Chain is where a device's chain may continue: the replicated seq
// reservation (see Options.Floor and Options.Reserve).
type Chain struct {
	Floor   uint64
	Reserve func(ctx context.Context, upTo uint64) error
}

// The options every device type takes, and each type's own.
var (
	commonOptions = []string{"format", "prefix", "hmac_accessor", "log_raw", "wait", "ratchet_every", "checkpoint_every", "elide_list_responses"}
	typeOptions   = map[string][]string{
		TypeFile:   {"file_path", "path", "mode", "fsync"},
		TypeSocket: {"address", "socket_type", "write_timeout"},
		TypeSyslog: {"facility", "tag", "address", "network", "write_timeout"},
		TypeStdout: {},
	}
)

// spec is a validated DeviceConfig.
type spec struct {
	cfg  DeviceConfig
	opts Options
	mode os.FileMode
}

// ValidateConfig checks a device's type and options against the policy;
// its errors wrap logical.ErrInvalidRequest and name the option.
func ValidateConfig(c DeviceConfig, p Policy) error {
	_, err := parseSpec(c, p)
	return err
}

// Open starts the device c describes with its keys and chain. A *Device
// (or, for files, a *FileDevice, which also has Reopen) is returned as a
// Sink.
func Open(c DeviceConfig, p Policy, k Keys, ch Chain) (Sink, error) {
	s, err := parseSpec(c, p)
	if err != nil {
		return nil, err
	}
	o := s.opts
	o.RootKey, o.SigningKey = k.HMACRoot, k.Signing
	o.Floor, o.Reserve = ch.Floor, ch.Reserve
	switch c.Type {
	case TypeStdout:
		return NewStdoutDevice(o)
	case TypeSocket:
		return NewSocketDevice(socketOptions(c.Options), o)
	case TypeSyslog:
		return NewSyslogDevice(syslogOptions(c.Options), o)
	}
	switch path := filePath(c.Options); path {
	case "stdout":
		return NewStdoutDevice(o)
	case "discard":
		return NewWriterDevice(io.Discard, o)
	default:
		return openLocked(path, FileOptions{Options: o, Mode: s.mode})
	}
}

// lockedFile is a file device holding an exclusive lock on its file, so
// two devices (two nodes of a cluster sharing a machine, both briefly
// active during a leadership change) never append to one file at once:
// the second waits (fails, and is retried) until the first closed.
type lockedFile struct {
	*FileDevice
	lock *os.File
}

// Close implements Sink: the device closes, then the lock is released.
func (l *lockedFile) Close() error {
	err := l.FileDevice.Close()
	if cerr := l.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audit: release lock of %s: %w", l.Path(), cerr)
	}
	return err
}

// openLocked locks a regular file (creating it) and opens its device;
// other files (/dev/full, a FIFO) are opened without a lock.
func openLocked(path string, fo FileOptions) (Sink, error) {
	mode := fo.Mode
	if mode == 0 {
		mode = DefaultFileMode
	}
	lf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	if st, err := lf.Stat(); err != nil || !st.Mode().IsRegular() {
		lf.Close()
		return OpenFile(path, fo)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("audit: %s is in use by another audit device (another node on this machine?): %w", path, err)
	}
	d, err := OpenFile(path, fo)
	if err != nil {
		lf.Close()
		return nil, err
	}
	return &lockedFile{FileDevice: d, lock: lf}, nil
}

func bad(opt, format string, a ...any) error {
	return logical.InvalidRequest(opt, "audit: "+format, a...)
}

// parseSpec validates c and derives the device options.
func parseSpec(c DeviceConfig, p Policy) (*spec, error) {
	own, ok := typeOptions[c.Type]
	if !ok {
		return nil, bad("type", "unknown audit device type %q (file, socket, syslog or stdout)", c.Type)
	}
	for k := range c.Options {
		if !slices.Contains(commonOptions, k) && !slices.Contains(own, k) {
			return nil, bad(k, "option %q is not an option of a %s device", k, c.Type)
		}
	}
	s := &spec{cfg: c, opts: DefaultOptions()}
	steps := []func(*spec, Policy) error{parseCommon, parseRaw, parseCounts, parseTypeOptions}
	for _, step := range steps {
		if err := step(s, p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseCommon reads format, prefix, hmac_accessor and wait.
func parseCommon(s *spec, p Policy) error {
	o := s.cfg.Options
	if f, ok := o["format"]; ok && f != "json" {
		return bad("format", "format must be json")
	}
	if pre, ok := o["prefix"]; ok && pre != "" {
		if !p.AllowPrefix {
			return bad("prefix", "the prefix option is not allowed by the server configuration (allow_audit_log_prefixing)")
		}
		s.opts.Prefix = pre
	}
	hmacAcc, err := boolOption(o, "hmac_accessor", true)
	if err != nil {
		return err
	}
	s.opts.PlainAccessor = !hmacAcc
	if elide, err := boolOption(o, "elide_list_responses", false); err != nil || elide {
		if err == nil {
			err = bad("elide_list_responses", "elide_list_responses is not supported")
		}
		return err
	}
	if w, ok := o["wait"]; ok {
		d, err := durationOption("wait", w)
		if err != nil {
			return err
		}
		s.opts.Wait = d
	}
	return nil
}

// parseRaw reads log_raw, which the policy must allow.
func parseRaw(s *spec, p Policy) error {
	raw, err := boolOption(s.cfg.Options, "log_raw", false)
	if err != nil {
		return err
	}
	if raw && !p.AllowLogRaw {
		return bad("log_raw", "log_raw is not allowed by the server configuration (allow_audit_log_raw)")
	}
	s.opts.LogRaw = raw
	return nil
}

// parseCounts reads ratchet_every and checkpoint_every.
func parseCounts(s *spec, _ Policy) error {
	for name, dst := range map[string]*int{"ratchet_every": &s.opts.RatchetEvery, "checkpoint_every": &s.opts.CheckpointEvery} {
		v, ok := s.cfg.Options[name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<20 {
			return bad(name, "%s must be an integer between 1 and %d", name, 1<<20)
		}
		*dst = n
	}
	return nil
}

// parseTypeOptions checks the options of the device's type.
func parseTypeOptions(s *spec, _ Policy) error {
	o := s.cfg.Options
	switch s.cfg.Type {
	case TypeFile:
		return parseFile(s)
	case TypeSocket:
		if o["address"] == "" {
			return bad("address", "a socket device needs an address")
		}
		if err := timeoutOption(o); err != nil {
			return err
		}
		return socketOptions(o).Validate()
	case TypeSyslog:
		if err := timeoutOption(o); err != nil {
			return err
		}
		return syslogOptions(o).Validate()
	}
	return nil
}

// parseFile checks file_path, mode and fsync.
func parseFile(s *spec) error {
	o := s.cfg.Options
	if filePath(o) == "" {
		return bad("file_path", "a file device needs file_path")
	}
	if m, ok := o["mode"]; ok {
		v, err := strconv.ParseUint(m, 8, 32)
		if err != nil || v > 0o777 {
			return bad("mode", "mode must be an octal permission like 0600")
		}
		s.mode = os.FileMode(v)
	}
	if f, ok := o["fsync"]; ok {
		s.opts.Fsync = FsyncMode(f)
		switch s.opts.Fsync {
		case FsyncBatch, FsyncAlways, FsyncNever:
		default:
			return bad("fsync", "fsync must be batch, always or never")
		}
	}
	return nil
}

// filePath is file_path (Vault also accepts the older "path").
func filePath(o map[string]string) string {
	if p := o["file_path"]; p != "" {
		return p
	}
	return o["path"]
}

func socketOptions(o map[string]string) SocketOptions {
	so := SocketOptions{Network: o["socket_type"], Address: o["address"]}
	so.WriteTimeout, _ = durationOption("write_timeout", o["write_timeout"])
	return so
}

func syslogOptions(o map[string]string) SyslogOptions {
	so := SyslogOptions{Network: o["network"], Address: o["address"], Facility: o["facility"], Tag: o["tag"]}
	so.WriteTimeout, _ = durationOption("write_timeout", o["write_timeout"])
	return so
}

// timeoutOption checks write_timeout.
func timeoutOption(o map[string]string) error {
	_, err := durationOption("write_timeout", o["write_timeout"])
	return err
}

// durationOption parses a Go duration ("2s") or a number of seconds; ""
// is 0.
func durationOption(name, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil {
			return 0, bad(name, "%s must be a duration like 2s", name)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d <= 0 || d > time.Minute {
		return 0, bad(name, "%s must be between 0 and 1m", name)
	}
	return d, nil
}

// Option errors never repeat the value (it would reach the audit log).

// boolOption parses a "true"/"false" option (Vault's parseutil forms).
func boolOption(o map[string]string, name string, def bool) (bool, error) {
	v, ok := o[name]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return false, bad(name, "%s must be true or false", name)
	}
	return b, nil
}
